"""The analytical cost model equals mmengine's complexity counter."""
import random

import pytest
import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info

from mmdata.models import DynamicMoCoV2Neck, SubnetResNet
from mmdata.space import Arch, arch_cost


def counted(model: nn.Module, size) -> tuple:
    info = get_model_complexity_info(
        model.eval(),
        input_shape=(3, *size),
        show_table=False,
        show_arch=False)
    return info['flops'], info['params']


@pytest.mark.parametrize('size', [(64, 64), (48, 80)])
def test_cost_model_equals_mmengine_counter(tiny_space, size):
    for arch in tiny_space.sample_many(random.Random(7), 20, unique=True):
        cost = arch_cost(arch, size)
        assert counted(SubnetResNet(arch),
                       size) == (cost.flops, cost.params), arch


def test_cost_model_dilated_layout(tiny_space):
    kwargs = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
    arch = tiny_space.max_arch
    cost = arch_cost(arch, 64, **kwargs)
    assert counted(SubnetResNet(arch, **kwargs),
                   (64, 64)) == (cost.flops, cost.params)


class WithHead(nn.Module):

    def __init__(self, arch, head):
        super().__init__()
        self.backbone = SubnetResNet(arch, out_indices=(3, ))
        if head['type'] == 'linear':
            self.head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                nn.Linear(arch.out_channels[3], head['num_classes']))
        else:
            self.head = DynamicMoCoV2Neck(
                arch.out_channels[3],
                head['hid_channels'],
                head['out_channels'],
                with_bn=head['with_bn'])

    def forward(self, x):
        out = self.head(
            self.backbone(x)[-1] if isinstance(self.head, nn.Sequential
                                               ) else self.backbone(x))
        return out if isinstance(out, torch.Tensor) else out[0]


@pytest.mark.parametrize('head', [
    dict(type='linear', num_classes=10),
    dict(type='mlp', hid_channels=32, out_channels=16, with_bn=False),
    dict(type='mlp', hid_channels=32, out_channels=16, with_bn=True),
])
def test_cost_model_with_heads(tiny_space, head):
    arch = tiny_space.sample(random.Random(3))
    cost = arch_cost(arch, 64, head=head)
    assert counted(WithHead(arch, head), (64, 64)) == (cost.flops, cost.params)


def test_paper_arch_at_224_equals_counter():
    arch = Arch.parse('Depth [2,2,5,2] Width [32,48,96,192,512]')
    cost = arch_cost(arch, 224)
    assert counted(SubnetResNet(arch), (224, 224)) == (cost.flops, cost.params)
