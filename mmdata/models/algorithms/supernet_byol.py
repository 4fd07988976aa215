"""`SupernetBYOL`: BYOL with a supernet student (paper Table 7)."""
from typing import List

from torch import Tensor

from mmdata.registry import MODELS
from mmdata.space import Arch
from .base import SupernetSelfSupervisor


@MODELS.register_module()
class SupernetBYOL(SupernetSelfSupervisor):
    """BYOL supernet training.

    The teacher (max arch, EMA; use ``TeacherEMA(cosine=True)`` as BYOL)
    projects both views once; every student of Omega projects both views,
    its predictor (the head) predicts the teacher's projection of the other
    view, and the normalised-MSE (cosine) loss is symmetrised as in
    mmpretrain's BYOL: ``2 * (l(p1, t2) + l(p2, t1))``.

    Args:
        head (dict): mmpretrain ``LatentPredictHead`` with the predictor and
            ``CosineSimilarityLoss``.
        **kwargs: See :class:`SupernetSelfSupervisor`.
    """

    def teacher_targets(self, inputs: List[Tensor]) -> List[Tensor]:
        return [self.teacher_forward(view)[0].float() for view in inputs[:2]]

    def student_loss(self, inputs: List[Tensor], arch: Arch,
                     targets: List[Tensor]) -> Tensor:
        p1 = self.student_forward(inputs[0], arch)[0]
        p2 = self.student_forward(inputs[1], arch)[0]
        with self.float32(p1):
            return 2. * (
                self.head.loss(p1.float(), targets[1]) +
                self.head.loss(p2.float(), targets[0]))
