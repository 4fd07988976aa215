"""`DynamicResNet`: the weight-sharing supernet (paper §3.2, Table 1)."""
from typing import List, Optional, Union

import torch

from mmdata.errors import ConfigError
from mmdata.registry import MODELS
from mmdata.space import Arch, ResNetSpace
from ..utils.dynamic_ops import (DynamicConv2d, dynamic_norm_class,
                                 set_active_out)
from .resnet_base import BottleneckResNetBase


def build_space(space: Union[None, dict, ResNetSpace]) -> ResNetSpace:
    """A :class:`ResNetSpace` from a config dict (``None``: paper Table 1)."""
    if space is None:
        return ResNetSpace()
    if isinstance(space, ResNetSpace):
        return space
    return ResNetSpace.from_dict(dict(space))


class SpaceMismatchError(ConfigError):
    """Weights of a supernet with another search space."""


def space_to_tensor(space: ResNetSpace) -> torch.Tensor:
    """The space's 9 (low, high, step) grids as a flat int64 tensor."""
    grids = [space.stem, *space.widths, *space.depths]
    return torch.tensor([v for grid in grids for v in grid], dtype=torch.long)


def space_from_tensor(tensor: torch.Tensor) -> ResNetSpace:
    """Inverse of :func:`space_to_tensor`."""
    values = [int(v) for v in tensor.flatten().tolist()]
    if len(values) != 27:
        raise ValueError(f'a space grid tensor has 27 values, got {values}')
    grids = [tuple(values[i:i + 3]) for i in range(0, 27, 3)]
    return ResNetSpace(grids[0], grids[1:5], grids[5:9])


@MODELS.register_module()
class DynamicResNet(BottleneckResNetBase):
    """Bottleneck ResNet supernet holding the weights of the space's max arch.

    :meth:`set_arch` selects a sub-network: the first ``d`` blocks of each
    stage and the first ``k`` channels of every conv and norm (running
    statistics included). The max arch is active after construction.

    Args:
        space (dict | ResNetSpace, optional): Search space as
            ``dict(stem=(lo, hi, step), widths=[...], depths=[...])``.
            Defaults to paper Table 1.
        norm_cfg (dict): ``dict(type='BN')`` or ``dict(type='SyncBN')``,
            plus any norm argument. Defaults to BN.
        **kwargs: Other arguments of :class:`BottleneckResNetBase`
            (``in_channels``, ``strides``, ``dilations``, ``out_indices``,
            ``frozen_stages``, ``norm_eval``, ``with_cp``,
            ``zero_init_residual``, ``init_cfg``).
    """

    def __init__(self,
                 space: Union[None, dict, ResNetSpace] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 **kwargs) -> None:
        self.space = build_space(space)
        dynamic_norm = dict(
            norm_cfg, type=dynamic_norm_class(norm_cfg['type']))
        super().__init__(
            self.space.max_arch,
            conv_layer=DynamicConv2d,
            norm_cfg=dynamic_norm,
            num_stages=4,
            **kwargs)
        self.set_arch(self.space.max_arch)
        # saved in checkpoints: the (low, high, step) grids of the space
        self.register_buffer('space_grid', space_to_tensor(self.space))

    @property
    def arch(self) -> Arch:
        """The active sub-network."""
        return self._arch

    def set_arch(self, arch: Union[Arch, str, dict]) -> None:
        """Activate ``arch`` (validated against the space)."""
        arch = self.space.validate(Arch.from_any(arch))
        set_active_out(self.conv1, arch.stem)
        for name, width, depth in zip(self.res_layers, arch.widths,
                                      arch.depths):
            for block in getattr(self, name)[:depth]:
                set_active_out(block.conv1, width)
                set_active_out(block.conv2, width)
                set_active_out(block.conv3, 4 * width)
                if block.downsample is not None:
                    set_active_out(block.downsample[0], 4 * width)
        self._arch = arch

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        """Refuse weights of a supernet with another space."""
        key = prefix + 'space_grid'
        if key in state_dict:
            saved = space_from_tensor(state_dict[key])
            if saved != self.space:
                raise SpaceMismatchError(
                    f'the checkpoint holds a supernet of space {saved!r}, but '
                    f'the config builds {self.space!r}; use the config the '
                    'checkpoint was trained with')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def active_depths(self) -> tuple:
        return self._arch.depths

    def out_channels(self, arch: Optional[Arch] = None) -> List[int]:
        """Output channels of the ``out_indices`` stages for ``arch``."""
        arch = self._arch if arch is None else arch
        return [arch.out_channels[i] for i in self.out_indices]
