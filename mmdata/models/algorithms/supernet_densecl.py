"""`SupernetDenseCL`: DenseCL with a supernet student (paper Table 7)."""
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdata.registry import MODELS
from mmdata.space import Arch
from .queue import enqueue, register_queue
from .supernet_moco import SupernetMoCo


@MODELS.register_module()
class SupernetDenseCL(SupernetMoCo):
    """DenseCL supernet training: a global and a dense contrastive loss.

    The teacher embeds view 2 once (global key, dense key grid, pooled dense
    key). Each student embeds view 1; its global query gets InfoNCE against
    the key and queue 1, and every cell of its dense grid against the
    teacher's best-matching cell and queue 2. DenseCL matches cells by
    backbone-feature similarity; student and teacher backbones have
    different widths here, so cells are matched by their (equal-size) dense
    projections instead. ``loss = (1 - lambda) * global + lambda * dense``.

    Args:
        neck (dict): ``mmdata.DynamicDenseCLNeck``.
        head (dict): Defaults to mmpretrain's ``ContrastiveHead`` (t=0.2).
        queue_len (int): Length of both queues. Defaults to 65536.
        feat_dim (int): Embedding size. Defaults to 128.
        loss_lambda (float): Weight of the dense loss. Defaults to 0.5.
        *args, **kwargs: See :class:`SupernetMoCo`.
    """

    def __init__(self, *args, loss_lambda: float = 0.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # MoCo's queue: the global keys
        self.loss_lambda = loss_lambda
        register_queue(self, 'queue2', *self.queue.shape)  # dense cells

    def teacher_targets(self, inputs: List[Tensor]) -> List[Tensor]:
        return self.normalized_teacher_keys(inputs[1])

    def student_loss(self, inputs: List[Tensor], arch: Arch,
                     targets: List[Tensor]) -> Tensor:
        q, q_grid, _ = [
            F.normalize(x.float(), dim=1)
            for x in self.student_forward(inputs[0], arch)
        ]
        k, k_grid, _ = targets
        with self.float32(q):
            pos = (q * k).sum(1, keepdim=True)
            neg = q @ self.queue.clone().detach()
            loss_single = self.head.loss(pos, neg)
            # match each student cell with its most similar teacher cell
            match = (q_grid.transpose(1, 2) @ k_grid).argmax(dim=2)  # N x S2
            matched = torch.gather(
                k_grid, 2,
                match.unsqueeze(1).expand(-1, k_grid.size(1), -1))
            pos_dense = (q_grid * matched).sum(1).reshape(-1, 1)
            cells = q_grid.transpose(1, 2).reshape(-1, q_grid.size(1))
            neg_dense = cells @ self.queue2.clone().detach()
            loss_dense = self.head.loss(pos_dense, neg_dense)
        return (1 - self.loss_lambda) * loss_single + \
            self.loss_lambda * loss_dense

    def after_students(self, targets: List[Tensor]) -> None:
        k, _, k2 = targets
        super().after_students(k)
        enqueue(self.queue2, self.queue2_ptr, k2)
