"""Weight-sharing layers: a sub-network uses the first ``k`` channels.

Input channels follow the incoming tensor; output channels follow
``active_out_channels`` (convs / linears), set by the owning supernet.
"""
from typing import Optional, Tuple

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules._functions import SyncBatchNorm as _SyncBNFunction


def _check_in(module: nn.Module, got: int, allowed: int) -> None:
    if got > allowed:
        raise ValueError(f'{type(module).__name__} got {got} input channels, '
                         f'more than its maximum {allowed}')


class DynamicConv2d(nn.Conv2d):
    """``nn.Conv2d`` that runs with the first input / output channels."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.groups != 1:
            raise ValueError('DynamicConv2d supports groups=1 only')
        self.active_out_channels = self.out_channels

    def forward(self, x: Tensor) -> Tensor:
        cin, cout = x.shape[1], self.active_out_channels
        _check_in(self, cin, self.in_channels)
        if cin == self.in_channels and cout == self.out_channels:
            return super().forward(x)
        weight = self.weight[:cout, :cin].contiguous()
        bias = None if self.bias is None else self.bias[:cout]
        return self._conv_forward(x, weight, bias)


class DynamicLinear(nn.Linear):
    """``nn.Linear`` that runs with the first input / output features."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.active_out_features = self.out_features

    def forward(self, x: Tensor) -> Tensor:
        cin, cout = x.shape[-1], self.active_out_features
        _check_in(self, cin, self.in_features)
        bias = None if self.bias is None else self.bias[:cout]
        return F.linear(x, self.weight[:cout, :cin], bias)


class _DynamicNormMixin:
    """Batch norm over the first ``C`` channels of its input: affine params
    and running statistics of those channels are sliced (the statistics
    read and updated in place), exactly as the full-width norm computes."""

    _abbr_ = 'bn'

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        _check_in(self, c, self.num_features)
        if c == self.num_features:
            return super().forward(x)
        self._check_input_dim(x)
        factor, bn_training = self._factor_and_mode()
        return self._normalize(x, *self._sliced(c), bn_training, factor)

    def _normalize(self, x: Tensor, weight: Optional[Tensor],
                   bias: Optional[Tensor], mean: Optional[Tensor],
                   var: Optional[Tensor], bn_training: bool,
                   factor: float) -> Tensor:
        return F.batch_norm(x, mean, var, weight, bias, bn_training, factor,
                            self.eps)

    def _sliced(self, c: int) -> Tuple[Optional[Tensor], ...]:
        weight = self.weight[:c] if self.affine else None
        bias = self.bias[:c] if self.affine else None
        use_stats = not self.training or self.track_running_stats
        mean = self.running_mean[:c] if (
            use_stats and self.running_mean is not None) else None
        var = self.running_var[:c] if (
            use_stats and self.running_var is not None) else None
        return weight, bias, mean, var

    def _factor_and_mode(self) -> Tuple[float, bool]:
        """Momentum factor (updates ``num_batches_tracked``) and whether batch
        statistics are used, exactly as ``nn.BatchNorm``."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats \
                and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = (1.0 / float(self.num_batches_tracked)
                      if self.momentum is None else self.momentum)
        bn_training = self.training or (self.running_mean is None
                                        and self.running_var is None)
        return factor, bn_training


class DynamicBatchNorm2d(_DynamicNormMixin, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over the first ``C`` channels of its input."""


class DynamicBatchNorm1d(_DynamicNormMixin, nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the first ``C`` features of its input."""


class DynamicSyncBatchNorm(_DynamicNormMixin, nn.SyncBatchNorm):
    """``nn.SyncBatchNorm`` over the first ``C`` channels of its input.

    Statistics are synchronised across the process group in distributed
    training (on the devices ``nn.SyncBatchNorm`` supports); otherwise it
    behaves as :class:`DynamicBatchNorm2d`.
    """

    def _normalize(self, x: Tensor, weight: Optional[Tensor],
                   bias: Optional[Tensor], mean: Optional[Tensor],
                   var: Optional[Tensor], bn_training: bool,
                   factor: float) -> Tensor:
        need_sync = bn_training and self.training and \
            dist.is_available() and dist.is_initialized()
        if need_sync:
            group = self.process_group or dist.group.WORLD
            world_size = dist.get_world_size(group)
            need_sync = world_size > 1
        if not need_sync:
            return super()._normalize(x, weight, bias, mean, var, bn_training,
                                      factor)
        return _SyncBNFunction.apply(x, weight, bias, mean, var, self.eps,
                                     factor, group, world_size)


def dynamic_norm_class(norm_type: str) -> type:
    """Dynamic class for an mmcv norm type name (``BN``, ``SyncBN``)."""
    table = {
        'BN': DynamicBatchNorm2d,
        'BN2d': DynamicBatchNorm2d,
        'SyncBN': DynamicSyncBatchNorm,
        'BN1d': DynamicBatchNorm1d,
    }
    if norm_type not in table:
        raise ValueError(f'norm type {norm_type!r} is not supported by the '
                         f'supernet; choose one of {sorted(table)}')
    return table[norm_type]


@torch.no_grad()
def set_active_out(module: nn.Module, channels: int) -> None:
    """Set the number of output channels a dynamic conv / linear produces."""
    if isinstance(module, DynamicConv2d):
        limit, attr = module.out_channels, 'active_out_channels'
    elif isinstance(module, DynamicLinear):
        limit, attr = module.out_features, 'active_out_features'
    else:
        raise TypeError(f'{type(module).__name__} is not a dynamic layer')
    if not 0 < channels <= limit:
        raise ValueError(f'{channels} output channels requested, allowed '
                         f'1..{limit}')
    setattr(module, attr, channels)
