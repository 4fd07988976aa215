"""Structure shared by the supernet and the static sub-networks.

Both are PyTorch-style bottleneck ResNets (stride on the 3x3 conv) made of
mmdet's :class:`~mmdet.models.backbones.resnet.Bottleneck`, with mmdet's
parameter names (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``layer1.0.downsample.0``), so a sub-network's weights are a slice of the
supernet's with the same keys. The first block of every stage has a
projection shortcut.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones.resnet import Bottleneck
from mmengine.model import BaseModule, constant_init, kaiming_init
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdata.space import Arch


class BottleneckResNetBase(BaseModule):
    """A bottleneck ResNet whose stem/stage widths and depths come from an
    :class:`~mmdata.space.Arch`.

    Args:
        arch (Arch): Widths and depths the layers are built with.
        conv_layer (type): Conv class of every conv.
        norm_cfg (dict): Norm config; ``type`` may be a class.
        in_channels (int): Input image channels. Defaults to 3.
        num_stages (int): Number of stages built (4, or 3 for Faster R-CNN
            C4 backbones). Defaults to 4.
        strides (Sequence[int]): Stride of the first block of each stage.
        dilations (Sequence[int]): Dilation of the 3x3 convs of each stage.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        frozen_stages (int): Stages to freeze (stem is stage 0); -1 freezes
            nothing.
        norm_eval (bool): Keep norm layers in eval mode during training.
        with_cp (bool): Use gradient checkpointing in the blocks.
        zero_init_residual (bool): Zero-init the last norm of every block.
        init_cfg (dict | list, optional): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint='backbone.pth')``.
    """

    def __init__(self,
                 arch: Arch,
                 conv_layer: type,
                 norm_cfg: dict,
                 in_channels: int = 3,
                 num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 1 <= num_stages <= 4:
            raise ValueError(f'num_stages={num_stages}, allowed 1..4')
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(
                f'strides {tuple(strides)} and dilations {tuple(dilations)} '
                f'need one value per stage ({num_stages})')
        bad = [i for i in out_indices if not 0 <= i < num_stages]
        if bad:
            raise ValueError(f'out_indices {tuple(out_indices)}: {bad} '
                             f'outside 0..{num_stages - 1}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages={frozen_stages}, allowed '
                             f'-1..{num_stages}')
        self.num_stages = num_stages
        self.strides = tuple(strides[:num_stages])
        self.dilations = tuple(dilations[:num_stages])
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual

        self.conv1 = conv_layer(
            in_channels, arch.stem, 7, stride=2, padding=3, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, arch.stem, 1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.res_layers = []
        inplanes = arch.stem
        for i in range(num_stages):
            layer = make_res_layer(inplanes, arch.widths[i], arch.depths[i],
                                   self.strides[i], self.dilations[i],
                                   conv_layer, norm_cfg, with_cp)
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
            inplanes = 4 * arch.widths[i]
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def active_depths(self) -> Tuple[int, ...]:
        """Number of blocks run in each stage."""
        return tuple(len(getattr(self, name)) for name in self.res_layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.maxpool(self.relu(self.norm1(self.conv1(x))))
        outs = []
        for i, (name, depth) in enumerate(
                zip(self.res_layers, self.active_depths())):
            layer = getattr(self, name)
            for j in range(depth):
                x = layer[j](x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            super().init_weights()
            return
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_init(m, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                constant_init(m, 1)
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            modules = [self.conv1, self.norm1]
            modules += [
                getattr(self, f'layer{i}')
                for i in range(1, self.frozen_stages + 1)
            ]
            for m in modules:
                m.eval()
                for param in m.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'BottleneckResNetBase':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def make_res_layer(inplanes: int,
                   planes: int,
                   num_blocks: int,
                   stride: int,
                   dilation: int,
                   conv_layer: type,
                   norm_cfg: dict,
                   with_cp: bool = False) -> nn.Sequential:
    """A stage of ``num_blocks`` mmdet Bottlenecks (output ``4 * planes``);
    the first block has a 1x1 projection shortcut with the stage stride."""
    downsample = nn.Sequential(
        conv_layer(inplanes, 4 * planes, 1, stride=stride, bias=False),
        build_norm_layer(norm_cfg, 4 * planes)[1])
    conv_cfg = dict(type=conv_layer)
    blocks = []
    for j in range(num_blocks):
        blocks.append(
            Bottleneck(
                inplanes if j == 0 else 4 * planes,
                planes,
                stride=stride if j == 0 else 1,
                dilation=dilation,
                downsample=downsample if j == 0 else None,
                style='pytorch',
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg))
    return nn.Sequential(*blocks)
