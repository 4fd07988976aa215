"""Scores a candidate arch by how closely its task features on target images
match the max-arch teacher's (paper §3.3)."""
import copy
import time
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmdata.export import export_subnet_state_dict
from mmdata.models.backbones import DynamicResNet, SubnetResNet
from mmdata.space import Arch
from .calibration import calibrate_bn
from .proxies import PROXIES, check_proxies
from .similarity import get_similarity
from .taps import TAP_NAMES


class FeatureExtractor(nn.Module):
    """Static backbone (+ neck for ``z``) returning ``{tap: features}``."""

    def __init__(self, backbone: SubnetResNet,
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
    """A static copy of ``arch`` (and of the neck), so calibrating it leaves
    the supernet untouched."""
    backbone = SubnetResNet(
        arch,
        in_channels=supernet.conv1.in_channels,
        strides=supernet.strides,
        dilations=supernet.dilations,
        out_indices=(0, 1, 2, 3))
    backbone.load_state_dict(export_subnet_state_dict(supernet, arch))
    device = supernet.conv1.weight.device
    return FeatureExtractor(backbone, copy.deepcopy(neck)).to(device).eval()


class SubnetScorer:
    """Teacher features computed once; each candidate is BN-calibrated and
    compared tap by tap.

    Args:
        student (DynamicResNet): Supernet the candidates come from.
        teacher (DynamicResNet): Teacher supernet (run with its max arch).
        student_neck, teacher_neck (nn.Module, optional): Necks, needed for
            the ``z`` tap.
        taps (list): Resolved taps, see :func:`resolve_taps`.
        calib_images (list[Tensor]): Normalised batches for BN calibration.
        score_images (list[Tensor]): Normalised batches to compare on.
        similarity (str), tau (float), chunk (int): See
            :func:`mmdata.search.similarity.get_similarity`.
        calibrate_teacher (bool): Recalibrate the teacher's BN on the target
            images too (domain-aware teacher statistics).
        proxies (Sequence[str]): Label-free baselines of
            :mod:`mmdata.search.proxies` computed by :meth:`evaluate` on the
            same BN-calibrated backbone (images: the first score batch).
    """

    def __init__(self,
                 student: DynamicResNet,
                 teacher: DynamicResNet,
                 student_neck: Optional[nn.Module],
                 teacher_neck: Optional[nn.Module],
                 taps: Sequence,
                 calib_images: List[Tensor],
                 score_images: List[Tensor],
                 similarity: str = 'relation',
                 tau: float = 0.1,
                 chunk: int = 1024,
                 calibrate_teacher: bool = True,
                 proxies: Sequence[str] = ()) -> None:
        if 'z' in taps and (student_neck is None or teacher_neck is None):
            raise ValueError("the 'z' tap needs a model with a neck")
        self.student = student
        self.student_neck = student_neck if 'z' in taps else None
        self.taps = list(taps)
        self.proxies = check_proxies(proxies)
        self.calib_images = calib_images
        self.score_images = score_images
        self.similarity = get_similarity(similarity, tau, chunk)
        teacher_model = static_extractor(
            teacher, teacher_neck if 'z' in taps else None,
            teacher.space.max_arch)
        if calibrate_teacher:
            calibrate_bn(teacher_model, calib_images, len(calib_images))
        self.teacher_features = self._features(teacher_model)
        for tap, feats in self.teacher_features.items():
            if feats[0].dim() == 4 and feats[0].shape[2:].numel() == 1:
                raise ValueError(
                    f'tap {TAP_NAMES[tap]} is a 1x1 map at this input size: '
                    'spatial relations need more than one position; use '
                    'larger images or another tap')

    @torch.no_grad()
    def _features(self, model: FeatureExtractor) -> Dict:
        feats = {tap: [] for tap in self.taps}
        for images in self.score_images:
            out = model(images)
            for tap in self.taps:
                feats[tap].append(out[tap])
        return feats

    def score(self, arch: Arch) -> Dict[str, float]:
        """``{tap name: mean score over the score images}`` for ``arch``."""
        return self.evaluate(arch)['scores']

    def evaluate(self, arch: Arch) -> Dict[str, Dict[str, float]]:
        """The tap scores of ``arch`` (``scores``), its proxies
        (``proxies``) and the seconds each took (``seconds``: ``score``
        includes building and BN calibration)."""
        start = time.perf_counter()
        model = static_extractor(self.student, self.student_neck, arch)
        calibrate_bn(model, self.calib_images, len(self.calib_images))
        scores = self._similarities(model)
        seconds = dict(score=time.perf_counter() - start)
        proxies = {}
        for name in self.proxies:
            start = time.perf_counter()
            proxies[name] = PROXIES[name](model.backbone,
                                          self.score_images[0])
            seconds[name] = time.perf_counter() - start
        return dict(scores=scores, proxies=proxies, seconds=seconds)

    @torch.no_grad()
    def _similarities(self, model: FeatureExtractor) -> Dict[str, float]:
        scores = {tap: [] for tap in self.taps}
        for i, images in enumerate(self.score_images):
            out = model(images)
            for tap in self.taps:
                scores[tap].append(
                    self.similarity(out[tap], self.teacher_features[tap][i]))
        return {
            TAP_NAMES[tap]: torch.cat(values).mean().item()
            for tap, values in scores.items()
        }
