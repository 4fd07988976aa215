"""What paper Algorithm 1 fixes for every SSL method.

* The student is a weight-sharing supernet (``DynamicResNet`` + dynamic neck).
* The teacher is a separate copy, always run with the MAX arch, updated only
  as an EMA of the student (by the ``TeacherEMA`` hook), never by gradients.
* Each iteration samples the set Omega of student archs, identical on all
  ranks, and logs each student's loss as ``loss_<name>``. By default each
  student is back-propagated right after its forward (``backward=
  'per_student'``), so one student's activations are alive at a time; the
  gradients equal those of the summed loss (``backward='summed'``: one
  backward of all students).
"""
import copy
from abc import abstractmethod
from contextlib import nullcontext
from typing import (Callable, ContextManager, Dict, List, Optional, Sequence,
                    Tuple, Union)

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmpretrain.models.selfsup.base import BaseSelfSupervisor
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.structures import DataSample
from torch import Tensor

from mmdata.errors import ConfigError
from mmdata.space import Arch
from .omega import parse_omega, sample_omega

# MoCo v2's loss head (InfoNCE, temperature 0.2), the default of the
# contrastive methods
CONTRASTIVE_HEAD = dict(
    type='mmpretrain.ContrastiveHead',
    loss=dict(type='mmpretrain.CrossEntropyLoss'),
    temperature=0.2)


class SupernetSelfSupervisor(BaseSelfSupervisor):
    """Base class of self-supervised supernet training (paper Alg. 1).

    Args:
        backbone (dict): A ``mmdata.DynamicResNet`` config.
        neck (dict): A neck whose input follows the arch, e.g.
            ``mmdata.DynamicMoCoV2Neck``.
        head (dict, optional): Loss head config.
        omega (str | dict): Student archs per iteration: ``'paper'`` (max
            + 2 random, default), ``'sandwich'`` (max, min, 1 random) or
            ``dict(fixed=('max', 'min', 'Depth [..] Width [..]'),
            num_random=N)``.
        seed (int): Seed of arch sampling (combined with the step count, so
            resumed runs draw the same archs).
        teacher_arch (str): ``'max'`` (default, paper Alg. 1): the teacher
            runs the max arch for every student; ``'same'`` (paper Table 8
            ablation): for each student, the teacher runs that student's
            arch (the queues keep the max-arch teacher's keys).
        backward (str): ``'per_student'`` (default): back-propagate each
            student right after its forward, the max arch last (under DDP,
            use ``model_wrapper_cfg=dict(type='mmdata.SupernetDDP')``: the
            gradients are synchronised once, on that last student);
            ``'summed'``: one backward of the summed losses (peak memory
            about |Omega| students). Same gradients.
        data_preprocessor (dict, optional): Defaults to mmpretrain's
            ``SelfSupDataPreprocessor``.
        init_cfg (dict | list, optional): Initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 omega: Union[str, dict] = 'paper',
                 seed: int = 0,
                 teacher_arch: str = 'max',
                 backward: str = 'per_student',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if not hasattr(self.backbone, 'set_arch'):
            raise TypeError('the backbone of a supernet algorithm must be a '
                            f'mmdata.DynamicResNet, got '
                            f'{type(self.backbone).__name__}')
        self.space = self.backbone.space
        self.omega_fixed, self.num_random = parse_omega(omega, self.space)
        if backward not in ('per_student', 'summed'):
            raise ConfigError(f"backward={backward!r}: choose 'per_student' "
                              "or 'summed'")
        if backward == 'summed' and getattr(self.backbone, 'with_cp', False):
            # checkpointed blocks are recomputed in backward with the arch
            # active then, which the summed path has changed
            raise ConfigError("backbone.with_cp=True needs backward="
                              "'per_student' (got 'summed')")
        self.backward_mode = backward
        if teacher_arch not in ('max', 'same'):
            raise ConfigError(f"teacher_arch={teacher_arch!r}: choose 'max' "
                              "or 'same'")
        self.teacher_arch = teacher_arch
        self.seed = seed
        # iterations done; saved in checkpoints so resumed runs sample the
        # same archs as uninterrupted ones
        self.register_buffer('step', torch.zeros((), dtype=torch.long))
        self.teacher = self._build_teacher()

    def sample_omega(self) -> List[Tuple[str, Arch]]:
        """The (name, arch) students of this iteration (equal on all
        ranks, see :func:`~.omega.sample_omega`)."""
        return sample_omega(self.space, self.omega_fixed, self.num_random,
                            self.seed, int(self.step))

    # --------------------------------------------------------------- teacher
    def _build_teacher(self) -> nn.Module:
        teacher = nn.ModuleDict(
            dict(
                backbone=copy.deepcopy(self.backbone),
                neck=copy.deepcopy(self.neck)))
        teacher.backbone.set_arch(self.space.max_arch)
        for param in teacher.parameters():
            param.requires_grad = False
        return teacher

    def init_weights(self) -> None:
        super().init_weights()
        # start the teacher from the student's initial weights
        self.copy_student_to_teacher()

    @torch.no_grad()
    def copy_student_to_teacher(self) -> None:
        for t, s in zip(self._teacher_params(), self._student_params()):
            t.copy_(s)
        for name, buf in self.teacher.named_buffers():
            buf.copy_(dict(self._student_buffers())[name])

    def _student_params(self) -> List[Tensor]:
        return [*self.backbone.parameters(), *self.neck.parameters()]

    def _teacher_params(self) -> List[Tensor]:
        return [
            *self.teacher.backbone.parameters(),
            *self.teacher.neck.parameters()
        ]

    def _student_buffers(self):
        for prefix, module in (('backbone', self.backbone), ('neck',
                                                             self.neck)):
            for name, buf in module.named_buffers():
                yield f'{prefix}.{name}', buf

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """teacher <- momentum * teacher + (1 - momentum) * student."""
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f'momentum={momentum}, allowed 0..1')
        teacher, student = self._teacher_params(), self._student_params()
        torch._foreach_mul_(teacher, momentum)
        torch._foreach_add_(
            teacher, [s.detach() for s in student], alpha=1.0 - momentum)

    def teacher_forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Teacher neck output for ``x`` (max arch, no gradient)."""
        with torch.no_grad():
            return self.teacher.neck(self.teacher.backbone(x))

    def normalized_teacher_keys(self, x: Tensor) -> List[Tensor]:
        """The teacher's L2-normalised float32 outputs for ``x``, with
        shuffle-BN across ranks as MoCo (a no-op on one process)."""
        if get_dist_info()[1] == 1:
            return [
                F.normalize(o.float(), dim=1) for o in self.teacher_forward(x)
            ]
        x, idx_unshuffle = batch_shuffle_ddp(x)
        return [
            batch_unshuffle_ddp(F.normalize(o.float(), dim=1), idx_unshuffle)
            for o in self.teacher_forward(x)
        ]

    @staticmethod
    def float32(x: Tensor):
        """A block where autocast is off: logits, softmax, log-softmax and
        losses computed in it (on float32 inputs) stay float32 under AMP."""
        return torch.autocast(device_type=x.device.type, enabled=False)

    def student_forward(self, x: Tensor, arch: Arch) -> Tuple[Tensor, ...]:
        """Student neck output for ``x`` with ``arch`` active."""
        self.backbone.set_arch(arch)
        return self.neck(self.backbone(x))

    # ------------------------------------------------------------------ loss
    @staticmethod
    def _check_views(inputs) -> None:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ConfigError('supernet SSL needs 2 views per image (a '
                              'MultiView pipeline with num_views=2)')

    def forward(self,
                inputs,
                data_samples=None,
                mode: str = 'tensor',
                arch: Optional[Arch] = None,
                targets=None):
        """mmpretrain's modes, plus ``'student'``: the loss of student
        ``arch`` against ``targets`` (one forward per student, so that DDP
        can back-propagate students one by one)."""
        if mode == 'student':
            return self.student_loss(inputs, arch, targets)
        return super().forward(inputs, data_samples, mode)

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        if self.backward_mode == 'summed':
            return super().train_step(data, optim_wrapper)
        return self.per_student_step(data, optim_wrapper, self, nullcontext)

    def per_student_step(
            self, data, optim_wrapper, network: nn.Module,
            no_sync: Callable[[], ContextManager]) -> Dict[str, Tensor]:
        """One training step that back-propagates each student of Omega
        right after its forward: teacher targets once (no gradient), the
        students in Omega's order with the max arch moved last, gradients
        accumulated and, under DDP, synchronised only on the last student
        (``no_sync`` around the others). ``network`` runs the students (this
        model, or its DDP wrapper); AMP loss scaling and gradient
        accumulation go through ``optim_wrapper`` as in the summed path."""
        with optim_wrapper.optim_context(network):
            data = self.data_preprocessor(data, True)
            inputs = data['inputs']
            self._check_views(inputs)
            targets = self.teacher_targets(inputs)
        self.last_omega = omega = self.sample_omega()
        order = sorted(omega, key=lambda s: s[1] == self.space.max_arch)
        losses = {}
        for i, (name, arch) in enumerate(order):
            last = i == len(order) - 1
            with nullcontext() if last else no_sync():
                with optim_wrapper.optim_context(network):
                    loss = network(
                        inputs,
                        mode='student',
                        arch=arch,
                        targets=self.targets_for(inputs, arch, targets))
                losses[f'loss_{name}'] = loss.detach()
                if last:
                    optim_wrapper.update_params(loss)
                else:  # accumulate, without counting an optimizer step
                    scaled = optim_wrapper.scale_loss(loss)
                    scaler = getattr(optim_wrapper, 'loss_scaler', None)
                    (scaler.scale(scaled) if scaler else scaled).backward()
        self._end_step(targets)
        _, log_vars = self.parse_losses({
            f'loss_{name}': losses[f'loss_{name}']
            for name, _ in omega
        })
        return log_vars

    def loss(self, inputs: List[Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, Tensor]:
        """Teacher targets once, then one loss per student of Omega."""
        self._check_views(inputs)
        targets = self.teacher_targets(inputs)
        losses = {}
        self.last_omega = omega = self.sample_omega()
        for name, arch in omega:
            losses[f'loss_{name}'] = self.student_loss(
                inputs, arch, self.targets_for(inputs, arch, targets))
        self._end_step(targets)
        return losses

    def _end_step(self, targets) -> None:
        """After all students: back to the max arch, the method's
        ``after_students`` (e.g. enqueue), one more step counted."""
        self.backbone.set_arch(self.space.max_arch)
        self.after_students(targets)
        self.step += 1

    def targets_for(self, inputs: List[Tensor], arch: Arch, max_targets):
        """The teacher targets of student ``arch``: the max arch's
        (``max_targets``), or with ``teacher_arch='same'`` the teacher run
        with ``arch``."""
        if self.teacher_arch == 'max' or arch == self.space.max_arch:
            return max_targets
        self.teacher.backbone.set_arch(arch)
        try:
            return self.teacher_targets(inputs)
        finally:
            self.teacher.backbone.set_arch(self.space.max_arch)

    @abstractmethod
    def teacher_targets(self, inputs: List[Tensor]):
        """Everything the students are compared with (computed once)."""

    @abstractmethod
    def student_loss(self, inputs: List[Tensor], arch: Arch,
                     targets) -> Tensor:
        """Loss of the student ``arch`` against the teacher targets."""

    def after_students(self, targets) -> None:
        """Hook after all students, e.g. to enqueue teacher keys once."""

    def extract_feat(self,
                     inputs: Tensor,
                     arch: Optional[Arch] = None) -> Sequence[Tensor]:
        """Backbone features of ``arch`` (default: the active one)."""
        if arch is not None:
            self.backbone.set_arch(arch)
        return self.backbone(inputs)
