"""MoCo v2 projection neck whose input width follows the active arch."""
from typing import List, Optional, Tuple, Union

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmdata.registry import MODELS
from ..utils.dynamic_ops import DynamicLinear


@MODELS.register_module()
class DynamicMoCoV2Neck(BaseModule):
    """Global pooling + Linear-[BN]-ReLU-Linear, as mmpretrain's
    ``MoCoV2Neck``, with a first linear layer that reads the first ``C``
    input features, ``C = 4 x w4`` of the active arch.

    Args:
        in_channels (int): Maximum input channels (4 x max w4).
        hid_channels (int): Hidden features.
        out_channels (int): Embedding size.
        with_bn (bool): Batch norm after the first linear (needed for stable
            small-scale training, and BYOL's projector). Defaults to False
            (MoCo v2).
        norm_cfg (dict): That norm: ``dict(type='BN1d')`` (default) or
            ``dict(type='SyncBN')`` where the backbone is synchronised.
        with_avg_pool (bool): Global average pooling of the input map.
        init_cfg (dict | list, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 with_bn: bool = False,
                 norm_cfg: Optional[dict] = None,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_avg_pool = with_avg_pool
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        layers = [DynamicLinear(in_channels, hid_channels)]
        if with_bn:
            layers.append(
                build_norm_layer(norm_cfg or dict(type='BN1d'),
                                 hid_channels)[1])
        layers += [
            nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels)
        ]
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[Tensor]:
        """Embed the last map of ``x``."""
        feat = x[-1]
        if self.with_avg_pool:
            feat = self.avgpool(feat)
        return (self.mlp(feat.flatten(1)), )
