"""Slice a supernet's weights into plain sub-network state dicts: the
supernet's own business, used by the search, the probes and the export."""
from collections import OrderedDict
from typing import Dict, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmdata.space import Arch
from .dynamic_resnet import DynamicResNet
from .subnet_resnet import SubnetResNet


def slice_state_dict(source: Dict[str, Tensor],
                     target: nn.Module) -> 'OrderedDict[str, Tensor]':
    """Copy, for every key of ``target``, the leading slice of the tensor of
    the same key in ``source`` (first ``k`` along every dimension)."""
    out = OrderedDict()
    for key, ref in target.state_dict().items():
        if key not in source:
            raise KeyError(f'{key} of {type(target).__name__} is not in the '
                           'supernet state dict')
        tensor = source[key]
        if tensor.dim() != ref.dim() or any(
                n > m for n, m in zip(ref.shape, tensor.shape)):
            raise ValueError(f'{key}: cannot slice {tuple(tensor.shape)} to '
                             f'{tuple(ref.shape)}')
        index = tuple(slice(0, n) for n in ref.shape)
        out[key] = tensor[index].clone()
    return out


def export_subnet_state_dict(
        supernet: Union[DynamicResNet, Dict[str, Tensor]],
        arch: Union[Arch, str, dict],
        num_stages: int = 4) -> 'OrderedDict[str, Tensor]':
    """State dict of ``SubnetResNet(arch)`` taken from a supernet.

    Args:
        supernet (DynamicResNet | dict): The supernet backbone or its state
            dict (keys without prefix).
        arch (Arch | str | dict): The sub-network; validated against the
            supernet's space when a module is given.
        num_stages (int): Stages to export (3 for a C4 backbone whose last
            stage becomes the ROI head).
    """
    arch = Arch.from_any(arch)
    if isinstance(supernet, DynamicResNet):
        supernet.space.validate(arch)
        source = supernet.state_dict()
    else:
        source = supernet
    with torch.device('meta'):
        target = SubnetResNet(
            arch, num_stages=num_stages, out_indices=(num_stages - 1, ))
    return slice_state_dict(source, target)


def build_subnet(supernet_state: Dict[str, Tensor],
                 arch: Union[Arch, str, dict], **kwargs) -> SubnetResNet:
    """A ``SubnetResNet(arch, **kwargs)`` holding the supernet's weights."""
    subnet = SubnetResNet(Arch.from_any(arch), **kwargs)
    subnet.load_state_dict(
        export_subnet_state_dict(supernet_state, arch,
                                 kwargs.get('num_stages', 4)))
    return subnet
