"""Distributed runs on machines without CUDA (CPU + gloo)."""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def prepare_cpu_distributed(cfg: Config) -> None:
    """Let ``launcher='pytorch'`` runs work when CUDA is unavailable.

    mmengine 0.10.7 calls ``torch.cuda.set_device`` when it initialises the
    process group and gives DDP ``device_ids=[LOCAL_RANK]``; both fail
    without a GPU. Here the process group is initialised with gloo first
    (mmengine then skips its own init) and DDP gets ``device_ids=None``.
    Nothing changes when CUDA is available or the run is not distributed.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'nccl')
    if backend != 'gloo':
        print_log(
            f'dist backend {backend!r} needs CUDA, which is unavailable; '
            'using gloo',
            logger='current',
            level=30)
        dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False)
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
