"""Static sub-networks for fine-tuning in mmdet / mmseg / mmpretrain."""
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdata.registry import MODELS
from mmdata.space import Arch
from .resnet_base import BottleneckResNetBase, make_res_layer


@MODELS.register_module()
class SubnetResNet(BottleneckResNetBase):
    """A plain bottleneck ResNet with the widths and depths of ``arch``.

    Its state dict keys equal the supernet's, so the weights exported by
    :func:`mmdata.export_subnet_state_dict` load with no missing or
    unexpected key. Use it in any OpenMMLab config::

        backbone=dict(
            type='mmdata.SubnetResNet',
            arch='Depth [3,2,17,3] Width [32,48,96,192,512]',
            init_cfg=dict(type='Pretrained', checkpoint='backbone.pth'))

    Args:
        arch (Arch | str | dict): The sub-network, in paper notation, as a
            dict ``dict(stem=.., widths=[..], depths=[..])`` or an Arch.
        norm_cfg (dict): Norm config (``BN``, ``SyncBN``, ...).
        **kwargs: Other arguments of :class:`BottleneckResNetBase`
            (``in_channels``, ``num_stages``, ``strides``, ``dilations``,
            ``out_indices``, ``frozen_stages``, ``norm_eval``, ``with_cp``,
            ``zero_init_residual``, ``init_cfg``).
    """

    def __init__(self,
                 arch: Union[Arch, str, dict],
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 **kwargs) -> None:
        self.arch = Arch.from_any(arch)
        super().__init__(
            self.arch, conv_layer=nn.Conv2d, norm_cfg=norm_cfg, **kwargs)

    def out_channels(self) -> List[int]:
        """Output channels of the ``out_indices`` stages."""
        return [self.arch.out_channels[i] for i in self.out_indices]


@MODELS.register_module()
class SubnetResLayer(BaseModule):
    """One stage of ``arch`` as a shared head (mmdet Faster R-CNN C4).

    The stage is stored as ``layer{stage + 1}``, the key it has in the
    backbone, so the exported backbone weights initialise it.

    Args:
        arch (Arch | str | dict): The sub-network.
        stage (int): Stage index, 3 (the last stage) for C4 detectors.
        stride (int): Stride of the stage's first block. Defaults to 2.
        dilation (int): Dilation of the 3x3 convs. Defaults to 1.
        norm_cfg (dict): Norm config.
        norm_eval (bool): Keep norms in eval mode. Defaults to True.
        with_cp (bool): Gradient checkpointing.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint='backbone.pth')``.
    """

    def __init__(self,
                 arch: Union[Arch, str, dict],
                 stage: int = 3,
                 stride: int = 2,
                 dilation: int = 1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = True,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 1 <= stage <= 3:
            raise ValueError(f'stage={stage}, allowed 1..3 (stage 0 follows '
                             'the stem, not another stage)')
        self.arch = Arch.from_any(arch)
        self.stage = stage
        self.norm_eval = norm_eval
        self.layer_name = f'layer{stage + 1}'
        self.add_module(
            self.layer_name,
            make_res_layer(4 * self.arch.widths[stage - 1],
                           self.arch.widths[stage], self.arch.depths[stage],
                           stride, dilation, nn.Conv2d, norm_cfg, with_cp))

    @property
    def out_channels(self) -> int:
        return self.arch.out_channels[self.stage]

    def forward(self, x: Tensor) -> Tensor:
        return getattr(self, self.layer_name)(x)

    def train(self, mode: bool = True) -> 'SubnetResLayer':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
