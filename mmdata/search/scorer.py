"""Scores candidate archs by how closely their task features on target
images match the max-arch teacher's (paper §3.3).

Memory does not grow with the number of target images: images are streamed
batch by batch, never cached. Candidates are scored in groups: each member
is built (a static copy on the supernet's device) and BN-calibrated in one
pass over the calibration batches; then, per score batch, the teacher's
features are computed once and compared with every member's. The teacher
thus runs once per image and group; only the group's static copies and one
batch of features are alive at a time. Maps with more than
``max_positions`` positions are average-pooled to at most that many
before their relations are compared (bounded cost at detection sizes).
"""
import copy
import math
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from mmdata.errors import UserError
from mmdata.models.backbones import (DynamicResNet, SubnetResNet,
                                     slice_state_dict)
from mmdata.models.utils.calibration import calibrate_bn
from mmdata.space import Arch
from .proxies import PROXIES, check_proxies
from .rankers import build_ranker, check_rankers, ranker_tap
from .settings import SearchSettings
from .similarity import get_similarity
from .taps import TAP_NAMES


class FeatureExtractor(nn.Module):
    """Static backbone (+ neck for ``z``) returning ``{tap: features}``."""

    def __init__(self,
                 backbone: SubnetResNet,
                 neck: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck

    def forward(self, x: Tensor) -> Dict:
        feats = self.backbone(x)
        out = dict(enumerate(feats))
        out['pool'] = feats[-1].mean(dim=(2, 3))
        if self.neck is not None:
            out['z'] = self.neck(feats)[0]
        return out


def static_extractor(supernet: DynamicResNet, neck: Optional[nn.Module],
                     arch: Arch) -> FeatureExtractor:
    """A static copy of ``arch`` (and of the neck) on the supernet's device,
    so calibrating it leaves the supernet untouched. Built on the meta
    device and filled with the supernet's weights: no random init, no
    round trip through host memory."""
    supernet.space.validate(arch)
    with torch.device('meta'):
        backbone = SubnetResNet(
            arch,
            in_channels=supernet.conv1.in_channels,
            strides=supernet.strides,
            dilations=supernet.dilations,
            out_indices=(0, 1, 2, 3))
    # the slices are copies on the supernet's device: assigned, not copied
    # again, and calibrating them leaves the supernet's buffers untouched
    backbone.load_state_dict(
        slice_state_dict(supernet.state_dict(), backbone), assign=True)
    return FeatureExtractor(backbone, copy.deepcopy(neck)).eval()


def bound_positions(x: Tensor, max_positions: Optional[int]) -> Tensor:
    """Average-pool an N x C x H x W map to at most ``max_positions``
    positions (aspect ratio kept); embeddings and small maps pass."""
    if max_positions is None or x.dim() != 4:
        return x
    h, w = x.shape[2:]
    if h * w <= max_positions:
        return x
    scale = math.sqrt(max_positions / (h * w))
    size = (max(1, int(h * scale)), max(1, int(w * scale)))
    return F.adaptive_avg_pool2d(x, size)


class SubnetScorer:
    """Scores candidates against the teacher on streamed target batches.

    Args:
        student (DynamicResNet): Supernet the candidates come from.
        teacher (DynamicResNet): Teacher supernet (run with its max arch).
        student_neck, teacher_neck (nn.Module, optional): Necks, needed for
            the ``z`` tap.
        taps (list): Resolved taps, see :func:`resolve_taps`.
        calib_images (Iterable[Tensor]): Normalised batches for BN
            calibration, iterated once per group (a list or a re-iterable
            loader on the supernet's device).
        score_images (Iterable[Tensor]): Normalised batches to compare on,
            iterated once per group.
        similarity (str), tau (float), chunk (int), memory_mb (float):
            See :func:`mmdata.search.similarity.get_similarity`.
        calibrate_teacher (bool): Recalibrate the teacher's BN on the target
            images too (domain-aware teacher statistics).
        proxies (Sequence[str]): Label-free baselines of
            :mod:`mmdata.search.proxies` computed by :meth:`evaluate` on the
            same BN-calibrated backbone (images: the first score batch).
        max_positions (int, optional): Positions a map keeps for its
            relations (average-pooled above it); ``None`` keeps all.
        rankers (Sequence[str]): Label-free rankers of
            :mod:`mmdata.search.rankers` computed by :meth:`evaluate` over
            the same score images (their features are computed once).
    """

    # yapf: disable
    def __init__(self,
                 student: DynamicResNet,
                 teacher: DynamicResNet,
                 student_neck: Optional[nn.Module],
                 teacher_neck: Optional[nn.Module],
                 taps: Sequence,
                 calib_images: Iterable[Tensor],
                 score_images: Iterable[Tensor],
                 similarity: str = 'relation',
                 tau: float = 0.1,
                 chunk: int = 1024,
                 memory_mb: float = 256.,
                 calibrate_teacher: bool = True,
                 proxies: Sequence[str] = (),
                 max_positions: Optional[int] = None,
                 rankers: Sequence[str] = ()) -> None:
        # yapf: enable
        self.rankers = check_rankers(rankers)
        self.tau = tau
        # the tap each ranker reads, parsed once (not per batch)
        self.ranker_taps = {r: ranker_tap(r) for r in self.rankers}
        needed = list(taps) + list(self.ranker_taps.values())
        if 'z' in needed and (student_neck is None or teacher_neck is None):
            raise ValueError("the 'z' tap needs a model with a neck")
        self.student = student
        self.student_neck = student_neck if 'z' in needed else None
        self.taps = list(taps)
        self.proxies = check_proxies(proxies)
        self.calib_images = calib_images
        self.score_images = score_images
        self.similarity = get_similarity(similarity, tau, chunk, memory_mb)
        self.max_positions = max_positions
        self.teacher = static_extractor(
            teacher, teacher_neck if 'z' in needed else None,
            teacher.space.max_arch)
        if calibrate_teacher:
            calibrate_bn(self.teacher, calib_images, _count(calib_images))
        self.first_batch = next(iter(score_images))
        with torch.no_grad():
            out = self.teacher(self.first_batch)
        for tap in self.taps:
            feats = bound_positions(out[tap], max_positions)
            if feats.dim() == 4 and feats.shape[2:].numel() == 1:
                raise ValueError(
                    f'tap {TAP_NAMES[tap]} is a 1x1 map at this input size: '
                    'spatial relations need more than one position; use '
                    'larger images or another tap')

    @classmethod
    def of_algorithm(cls, model: nn.Module, settings: SearchSettings,
                     calib_images: Iterable[Tensor],
                     score_images: Iterable[Tensor]) -> 'SubnetScorer':
        """The scorer of an mmdata supernet algorithm: candidates from its
        student or EMA teacher (``settings.source``), against its teacher."""
        source = model.teacher if settings.source == 'teacher' else model
        return cls(
            source.backbone,
            model.teacher.backbone,
            source.neck,
            model.teacher.neck,
            settings.taps,
            calib_images,
            score_images,
            similarity=settings.similarity,
            tau=settings.temperature,
            chunk=settings.chunk_size,
            memory_mb=settings.relation_memory_mb,
            calibrate_teacher=settings.calibrate_teacher,
            proxies=settings.proxies,
            max_positions=settings.max_positions,
            rankers=settings.rankers)

    def score(self, arch: Arch) -> Dict[str, float]:
        """``{tap name: mean score over the score images}`` for ``arch``."""
        return self.evaluate(arch)['scores']

    def evaluate(self, arch: Arch) -> Dict[str, Dict[str, float]]:
        """:meth:`evaluate_group` of one arch."""
        return self.evaluate_group([arch])[0]

    def evaluate_group(self, archs: Sequence[Arch]) -> List[Dict]:
        """For each arch: its tap scores (``scores``), its proxies
        (``proxies``), its rankers (``rankers``) and the seconds each took
        (``seconds``; ``score`` is the group's building, calibration and
        comparison time divided by its size, ``rankers`` the candidate's
        own ranker work). A candidate's results do not depend on its
        group."""
        start = time.perf_counter()
        models = [
            static_extractor(self.student, self.student_neck, arch)
            for arch in archs
        ]
        calibrate_bn(
            _Group(models), self.calib_images, _count(self.calib_images))
        scores, rankers, ranker_seconds = self._similarities(models)
        share = (time.perf_counter() - start -
                 sum(ranker_seconds)) / len(archs)
        results = []
        for model, tap_scores, ranks, ranker_time in zip(
                models, scores, rankers, ranker_seconds):
            seconds = dict(score=share)
            if self.rankers:
                seconds['rankers'] = ranker_time
            proxies = {}
            for name in self.proxies:
                start = time.perf_counter()
                proxies[name] = PROXIES[name](model.backbone, self.first_batch)
                seconds[name] = time.perf_counter() - start
            results.append(
                dict(
                    scores=tap_scores,
                    proxies=proxies,
                    rankers=ranks,
                    seconds=seconds))
        return results

    @torch.no_grad()
    def _similarities(
        self, models: List[FeatureExtractor]
    ) -> Tuple[List[Dict[str, float]], List[Dict[str, float]], List[float]]:
        """Every model's mean tap scores, its rankers' values and the
        seconds its rankers took (beyond the shared forward passes)."""
        sums = [{tap: 0. for tap in self.taps} for _ in models]
        ranker_seconds = [0. for _ in models]
        rankers = [{
            name: build_ranker(name, self.tau)
            for name in self.rankers
        } for _ in models]
        needed = set(self.taps) | set(self.ranker_taps.values())
        count = 0
        for images in self.score_images:
            teacher = {
                tap: bound_positions(feats, self.max_positions)
                for tap, feats in self.teacher(images).items() if tap in needed
            }
            # the teacher's relations, once per batch for the whole group
            sides = {
                tap: self.similarity.teacher_side(teacher[tap])
                for tap in self.taps
            }
            for i, (model, total,
                    ranks) in enumerate(zip(models, sums, rankers)):
                out = model(images)
                student = {
                    tap: bound_positions(out[tap], self.max_positions)
                    for tap in needed
                }
                for tap in self.taps:
                    total[tap] += self.similarity(student[tap], teacher[tap],
                                                  sides[tap]).sum().item()
                start = time.perf_counter()
                for name, ranker in ranks.items():
                    tap = self.ranker_taps[name]
                    ranker.update(student[tap], teacher[tap])
                ranker_seconds[i] += time.perf_counter() - start
            count += images.shape[0]
        values = []
        for i, ranks in enumerate(rankers):
            start = time.perf_counter()
            values.append({name: r.value() for name, r in ranks.items()})
            ranker_seconds[i] += time.perf_counter() - start
        return ([{
            TAP_NAMES[tap]: value / count
            for tap, value in total.items()
        } for total in sums], values, ranker_seconds)


def check_finite(arch: Arch, scores: Dict[str, float]) -> None:
    """Refuse a NaN or infinite score: it would be ranked as if it meant
    something (NaN compares false with everything)."""
    bad = {
        tap: value
        for tap, value in scores.items() if not math.isfinite(value)
    }
    if bad:
        tap, value = next(iter(bad.items()))
        raise UserError(
            f'candidate {arch}: its {tap} score is {value} (the features or '
            'their relations are not finite: check the checkpoint\'s weights '
            'and train_cfg.temperature)')


class _Group(nn.Module):
    """Runs several models on one batch (one calibration pass for all)."""

    def __init__(self, models: List[nn.Module]) -> None:
        super().__init__()
        self.models = nn.ModuleList(models)

    def forward(self, x: Tensor) -> None:
        for model in self.models:
            model(x)


def log_cost(seconds: List[Dict[str, float]]) -> None:
    """Log the mean seconds per candidate of the score and each proxy
    (the ``seconds`` of :meth:`SubnetScorer.evaluate_group`; not stored with
    the results, so that results stay reproducible)."""
    if seconds:
        cost = ', '.join(f'{k} {sum(t[k] for t in seconds) / len(seconds):.3f}'
                         for k in seconds[0])
        print_log(
            f'seconds per candidate ({len(seconds)} candidates): '
            f'{cost}',
            logger='current')


def _count(batches: Iterable) -> int:
    return len(batches)  # type: ignore[arg-type]
