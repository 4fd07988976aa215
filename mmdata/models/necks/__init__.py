from .dynamic_densecl_neck import DynamicDenseCLNeck
from .dynamic_mocov2_neck import DynamicMoCoV2Neck

__all__ = ['DynamicDenseCLNeck', 'DynamicMoCoV2Neck']
