"""Analytical FLOPs and params of a sub-network, in mmengine's convention.

The numbers equal :func:`mmengine.analysis.get_model_complexity_info` on the
matching static network in eval mode: a conv counts ``out_elements x k x k x
in_channels / groups`` multiply-adds (bias ignored), an affine batch norm
``2 x elements``, adaptive average pooling ``input elements``, a linear layer
``in x out``; ReLU, max-pooling and residual additions count nothing.
Params count every weight, bias and norm affine parameter.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

from mmdata.errors import ConfigError
from .arch import Arch

Size = Union[int, Sequence[int]]


@dataclass(frozen=True)
class Cost:
    """FLOPs (multiply-adds) and number of parameters."""

    flops: int = 0
    params: int = 0

    def __add__(self, other: 'Cost') -> 'Cost':
        return Cost(self.flops + other.flops, self.params + other.params)

    def __mul__(self, k: int) -> 'Cost':
        return Cost(self.flops * k, self.params * k)

    __rmul__ = __mul__


def _out(size: int,
         kernel: int,
         stride: int,
         padding: int,
         dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _conv_bn(cin: int, cout: int, k: int, hw_out: Tuple[int, int]) -> Cost:
    """A bias-free conv followed by an affine BN, at output size ``hw_out``."""
    elems = cout * hw_out[0] * hw_out[1]
    return Cost(elems * k * k * cin + 2 * elems, cin * cout * k * k + 2 * cout)


def _hw(input_size: Size) -> Tuple[int, int]:
    if isinstance(input_size, int):
        return input_size, input_size
    h, w = input_size
    return int(h), int(w)


@dataclass(frozen=True)
class StageCost:
    """Cost of one stage: its first block (with downsample) and each further
    block; ``hw_out`` is the stage's output size."""

    first: Cost
    other: Cost
    hw_out: Tuple[int, int]

    def total(self, depth: int) -> Cost:
        return self.first + self.other * (depth - 1)


def stem_cost(stem: int,
              input_size: Size = 224,
              in_channels: int = 3) -> Tuple[Cost, Tuple[int, int]]:
    """Cost of the 7x7/2 stem conv + BN; returns it and the size after the
    3x3/2 max-pool."""
    h, w = _hw(input_size)
    conv_hw = (_out(h, 7, 2, 3), _out(w, 7, 2, 3))
    pool_hw = (_out(conv_hw[0], 3, 2, 1), _out(conv_hw[1], 3, 2, 1))
    return _conv_bn(in_channels, stem, 7, conv_hw), pool_hw


def stage_cost(in_channels: int,
               width: int,
               hw_in: Tuple[int, int],
               stride: int = 1,
               dilation: int = 1) -> StageCost:
    """Cost of a stage of PyTorch-style bottlenecks (stride on the 3x3,
    dilation and padding ``dilation`` on the 3x3)."""
    out_ch = 4 * width
    hw_out = (_out(hw_in[0], 3, stride, dilation,
                   dilation), _out(hw_in[1], 3, stride, dilation, dilation))
    # The first block of every stage has a projection shortcut (1x1 conv).
    first = (
        _conv_bn(in_channels, width, 1, hw_in) +
        _conv_bn(width, width, 3, hw_out) +
        _conv_bn(width, out_ch, 1, hw_out) +
        _conv_bn(in_channels, out_ch, 1, hw_out))
    other = (
        _conv_bn(out_ch, width, 1, hw_out) +
        _conv_bn(width, width, 3, hw_out) + _conv_bn(width, out_ch, 1, hw_out))
    return StageCost(first, other, hw_out)


def head_cost(in_channels: int, hw: Tuple[int, int],
              head: Optional[dict]) -> Cost:
    """Cost of a head on the last stage map.

    Args:
        in_channels (int): Channels of the last stage (4 x w4).
        hw (tuple): Spatial size of the last stage map.
        head (dict, optional): ``None`` for the backbone alone;
            ``dict(type='linear', num_classes=N)`` for global pooling + a
            linear classifier; ``dict(type='mlp', hid_channels=H,
            out_channels=O, with_bn=False)`` for pooling + a MoCo v2 style
            projection (Linear-[BN]-ReLU-Linear, biases on the linears).
    """
    if head is None:
        return Cost()
    pool = Cost(in_channels * hw[0] * hw[1], 0)
    kind = head.get('type')
    if kind == 'linear':
        n = head['num_classes']
        return pool + Cost(in_channels * n, in_channels * n + n)
    if kind == 'mlp':
        hid, out = head['hid_channels'], head['out_channels']
        cost = pool + Cost(in_channels * hid, in_channels * hid + hid)
        if head.get('with_bn', False):
            cost = cost + Cost(2 * hid, 2 * hid)
        return cost + Cost(hid * out, hid * out + out)
    raise ConfigError(
        f"unknown head type {kind!r}: expected 'linear', 'mlp' or None")


def arch_cost(arch: Arch,
              input_size: Size = 224,
              strides: Sequence[int] = (1, 2, 2, 2),
              dilations: Sequence[int] = (1, 1, 1, 1),
              head: Optional[dict] = None,
              in_channels: int = 3) -> Cost:
    """FLOPs and params of ``arch`` (backbone, plus ``head`` if given).

    Args:
        arch (Arch): The sub-network.
        input_size (int | tuple): Input height/width (224 in the paper).
        strides, dilations: Per-stage stride and dilation of the 3x3 convs.
        head (dict, optional): See :func:`head_cost`.
        in_channels (int): Input image channels.
    """
    cost, hw = stem_cost(arch.stem, input_size, in_channels)
    cin = arch.stem
    for width, depth, stride, dilation in zip(arch.widths, arch.depths,
                                              strides, dilations):
        stage = stage_cost(cin, width, hw, stride, dilation)
        cost = cost + stage.total(depth)
        cin, hw = 4 * width, stage.hw_out
    return cost + head_cost(cin, hw, head)
