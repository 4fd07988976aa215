"""DenseCL neck whose input width follows the active arch."""
from typing import List, Optional, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdata.registry import MODELS
from ..utils.dynamic_ops import DynamicConv2d, DynamicLinear


@MODELS.register_module()
class DynamicDenseCLNeck(BaseModule):
    """mmpretrain's ``DenseCLNeck`` (global MLP + dense 1x1-conv MLP) with
    first layers reading the first ``C = 4 x w4`` input channels.

    Args:
        in_channels (int): Maximum input channels (4 x max w4).
        hid_channels (int): Hidden channels.
        out_channels (int): Embedding size.
        num_grid (int, optional): Pool the map to ``num_grid x num_grid``
            before the dense MLP.
        init_cfg (dict | list, optional): Initialization config.

    Returns (forward):
        tuple: global embedding (N x D), dense grid (N x D x S^2), pooled
        dense embedding (N x D).
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_grid: Optional[int] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.mlp = nn.Sequential(
            DynamicLinear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))
        self.pool = None if num_grid is None else nn.AdaptiveAvgPool2d(
            (num_grid, num_grid))
        self.mlp2 = nn.Sequential(
            DynamicConv2d(in_channels, hid_channels, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hid_channels, out_channels, 1))

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[Tensor, Tensor, Tensor]:
        feat = x[-1]
        global_emb = self.mlp(self.avgpool(feat).flatten(1))
        if self.pool is not None:
            feat = self.pool(feat)
        dense = self.mlp2(feat)
        pooled = self.avgpool(dense).flatten(1)
        return global_emb, dense.flatten(2), pooled
