from .dynamic_resnet import (DynamicResNet, SpaceMismatchError, build_space,
                             space_from_tensor, space_to_tensor)
from .resnet_base import BottleneckResNetBase, make_res_layer
from .subnet_resnet import SubnetResLayer, SubnetResNet

__all__ = [
    'BottleneckResNetBase', 'DynamicResNet', 'SpaceMismatchError',
    'SubnetResLayer', 'SubnetResNet', 'build_space', 'make_res_layer',
    'space_from_tensor', 'space_to_tensor'
]
