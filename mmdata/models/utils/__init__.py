from .dynamic_ops import (DynamicBatchNorm1d, DynamicBatchNorm2d,
                          DynamicConv2d, DynamicLinear, DynamicSyncBatchNorm,
                          dynamic_norm_class, set_active_out)

__all__ = [
    'DynamicBatchNorm1d', 'DynamicBatchNorm2d', 'DynamicConv2d',
    'DynamicLinear', 'DynamicSyncBatchNorm', 'dynamic_norm_class',
    'set_active_out'
]
