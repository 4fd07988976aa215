from .dynamic_mocov2_neck import DynamicMoCoV2Neck

__all__ = ['DynamicMoCoV2Neck']
