"""`SupernetMoCo`: MoCo v2 with a supernet student (paper Alg. 1)."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdata.registry import MODELS
from mmdata.space import Arch
from .base import CONTRASTIVE_HEAD, SupernetSelfSupervisor
from .queue import enqueue, register_queue


@MODELS.register_module()
class SupernetMoCo(SupernetSelfSupervisor):
    """MoCo v2 supernet training.

    The teacher (max arch) embeds view 2 once per iteration, with shuffle-BN
    across ranks; every student of Omega embeds view 1 and gets the InfoNCE
    loss against the teacher key and the shared negative queue. Teacher keys
    are enqueued once.

    Args:
        queue_len (int): Negative keys in the queue. Defaults to 65536.
        feat_dim (int): Embedding size. Defaults to 128.
        head (dict): Defaults to mmpretrain's ``ContrastiveHead`` with
            temperature 0.2.
        **kwargs: See :class:`SupernetSelfSupervisor`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 **kwargs) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head or CONTRASTIVE_HEAD,
            **kwargs)
        self.queue_len = queue_len
        register_queue(self, 'queue', feat_dim, queue_len)

    def teacher_targets(self, inputs: List[Tensor]) -> Tensor:
        return self.normalized_teacher_keys(inputs[1])[0]

    def student_loss(self, inputs: List[Tensor], arch: Arch,
                     key: Tensor) -> Tensor:
        query = F.normalize(
            self.student_forward(inputs[0], arch)[0].float(), dim=1)
        with self.float32(query):  # logits and cross-entropy, also under AMP
            pos = torch.einsum('nc,nc->n', query, key.float()).unsqueeze(-1)
            neg = query @ self.queue.clone().detach().float()
            return self.head.loss(pos, neg)

    def after_students(self, key: Tensor) -> None:
        enqueue(self.queue, self.queue_ptr, key)
