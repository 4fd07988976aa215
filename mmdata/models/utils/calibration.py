"""Batch-norm recalibration of a sub-network on target images."""
import logging
from typing import Iterable

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdata.errors import ConfigError


@torch.no_grad()
def calibrate_bn(model: nn.Module,
                 batches: Iterable[Tensor],
                 num_batches: int,
                 progress: bool = False) -> nn.Module:
    """Re-estimate every BN's running statistics as the plain average over
    ``num_batches`` batches (momentum ``None``), other layers in eval mode.
    When ``batches`` ends earlier, a warning gives the number used.

    Args:
        model (nn.Module): Network to calibrate, in place (pass a static
            subnet, not the supernet, to leave the supernet untouched).
        batches (Iterable[Tensor]): Normalised image batches.
        num_batches (int): Batches to use (>= 1).
        progress (bool): Show a progress bar.

    Returns:
        nn.Module: ``model``, in eval mode.
    """
    if num_batches < 1:
        raise ConfigError(f'num_batches={num_batches}, allowed >= 1')
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    bar = ProgressBar(num_batches) if progress else None
    seen = 0
    for images in batches:
        model(images)
        seen += 1
        if bar:
            bar.update()
        if seen == num_batches:
            break
    if seen == 0:
        raise ConfigError('no batch to calibrate BN on')
    if seen < num_batches:
        print_log(
            f'BN calibration used {seen} batches, fewer than the '
            f'{num_batches} asked: the data ended',
            logger='current',
            level=logging.WARNING)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model.eval()
