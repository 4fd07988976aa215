"""`SupernetDDP`: DDP for supernet SSL that back-propagates student by
student."""
from typing import Dict

from mmengine.model import MMDistributedDataParallel
from torch import Tensor

from mmdata.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class SupernetDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` whose ``train_step`` runs
    :meth:`SupernetSelfSupervisor.per_student_step`: each student of Omega
    is a DDP forward followed by its backward under ``no_sync``, except the
    last (the max arch, which uses every parameter), whose backward
    all-reduces the accumulated gradients once. With ``backward='summed'``
    it is plain ``MMDistributedDataParallel``.

    Use it as ``model_wrapper_cfg = dict(type='mmdata.SupernetDDP',
    broadcast_buffers=False)``.
    """

    def train_step(self, data, optim_wrapper) -> Dict[str, Tensor]:
        if getattr(self.module, 'backward_mode', 'summed') != 'per_student':
            return super().train_step(data, optim_wrapper)
        return self.module.per_student_step(data, optim_wrapper, self,
                                            self.no_sync)
