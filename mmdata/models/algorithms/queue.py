"""The FIFO queue of teacher keys shared by MoCo v2, ReSSL and DenseCL."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather
from torch import Tensor

from mmdata.errors import ConfigError


def register_queue(module: nn.Module, name: str, feat_dim: int,
                   length: int) -> None:
    """Buffers ``name`` (``feat_dim x length`` random unit keys) and
    ``name_ptr`` (the write position) of ``module``."""
    module.register_buffer(name,
                           F.normalize(torch.randn(feat_dim, length), dim=0))
    module.register_buffer(f'{name}_ptr', torch.zeros(1, dtype=torch.long))


@torch.no_grad()
def enqueue(queue: Tensor, ptr: Tensor, keys: Tensor) -> None:
    """Write the keys of all ranks into a (D x K) FIFO queue at ``ptr``."""
    keys = torch.cat(all_gather(keys), dim=0)
    batch, length = keys.shape[0], queue.shape[1]
    if length % batch:
        raise ConfigError(f'queue length {length} must be a multiple of '
                          f'the global batch size {batch}')
    start = int(ptr)
    queue[:, start:start + batch] = keys.t().to(queue.dtype)
    ptr[0] = (start + batch) % length
