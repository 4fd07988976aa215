"""`SupernetReSSL`: ReSSL with a supernet student (paper Table 7)."""
from typing import List

import torch.nn.functional as F
from torch import Tensor

from mmdata.registry import MODELS
from mmdata.space import Arch
from .base import SupernetSelfSupervisor
from .queue import enqueue, register_queue


@MODELS.register_module()
class SupernetReSSL(SupernetSelfSupervisor):
    """ReSSL (relational self-supervised learning) supernet training.

    View 1 (strong augmentation) goes to the students, view 2 (weak
    augmentation) to the teacher. Each embedding's similarities to a queue of
    past teacher embeddings form a distribution (temperature 0.1 for the
    student, 0.04 for the sharper teacher); each student minimises the
    cross-entropy (KL up to a constant) to the teacher's distribution. Teacher
    embeddings are enqueued once per iteration.

    Args:
        queue_len (int): Queue length. Defaults to 65536.
        feat_dim (int): Embedding size. Defaults to 128.
        student_temp (float): Defaults to 0.1.
        teacher_temp (float): Defaults to 0.04.
        **kwargs: See :class:`SupernetSelfSupervisor` (``head`` unused).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 student_temp: float = 0.1,
                 teacher_temp: float = 0.04,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, neck=neck, **kwargs)
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        register_queue(self, 'queue', feat_dim, queue_len)

    def teacher_targets(self, inputs: List[Tensor]) -> dict:
        key = F.normalize(self.teacher_forward(inputs[1])[0].float(), dim=1)
        with self.float32(key):  # a sharp softmax (tau 0.04): never fp16
            relation = F.softmax(
                key @ self.queue.float() / self.teacher_temp, dim=1)
        return dict(key=key, relation=relation)

    def student_loss(self, inputs: List[Tensor], arch: Arch,
                     targets: dict) -> Tensor:
        query = F.normalize(
            self.student_forward(inputs[0], arch)[0].float(), dim=1)
        with self.float32(query):
            log_p = F.log_softmax(
                query @ self.queue.clone().detach().float() /
                self.student_temp,
                dim=1)
            return -(targets['relation'] * log_p).sum(1).mean()

    def after_students(self, targets: dict) -> None:
        enqueue(self.queue, self.queue_ptr, targets['key'])
