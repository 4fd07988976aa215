from .dynamic_resnet import (DynamicResNet, SpaceMismatchError, build_space,
                             space_from_tensor, space_to_tensor)
from .resnet_base import BottleneckResNetBase, make_res_layer
from .slicing import build_subnet, export_subnet_state_dict, slice_state_dict
from .subnet_resnet import SubnetResLayer, SubnetResNet

__all__ = [
    'BottleneckResNetBase', 'DynamicResNet', 'SpaceMismatchError',
    'SubnetResLayer', 'SubnetResNet', 'build_space', 'build_subnet',
    'export_subnet_state_dict', 'make_res_layer', 'slice_state_dict',
    'space_from_tensor', 'space_to_tensor'
]
