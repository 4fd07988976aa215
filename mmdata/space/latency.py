"""Latency lookup table of a space on one device: the measured time of
every distinct block shape the space can produce, summed per arch.

Torch-free: ``tools/analysis/measure_latency.py`` measures the table; this
module enumerates the shapes, stores the table and predicts.
"""
import json
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from mmdata.errors import ConfigError
from .arch import Arch
from .cost import Size, _hw, _out, stem_cost
from .space import ResNetSpace

STRIDES = (1, 2, 2, 2)


@dataclass(frozen=True, order=True)
class BlockShape:
    """One block as it runs: ``kind`` is ``'stem'`` (7x7 conv, BN, ReLU,
    max-pool), ``'first'`` (a stage's first bottleneck, with projection
    shortcut and the stage stride) or ``'block'`` (a further bottleneck);
    ``hw`` is its input size."""

    kind: str
    stage: int
    in_channels: int
    width: int
    stride: int
    hw: Tuple[int, int]

    @property
    def key(self) -> str:
        h, w = self.hw
        if self.kind == 'stem':
            return f'stem:{self.in_channels}-{self.width}@{h}x{w}'
        return (f's{self.stage + 1}.{self.kind}:{self.in_channels}-'
                f'{self.width}/{self.stride}@{h}x{w}')


def stage_input_sizes(input_size: Size = 224) -> List[Tuple[int, int]]:
    """Input size of each stage's first block (after the stem), then the
    last stage's output size."""
    _, hw = stem_cost(1, input_size)
    sizes = [hw]
    for stride in STRIDES:
        hw = (_out(hw[0], 3, stride, 1), _out(hw[1], 3, stride, 1))
        sizes.append(hw)
    return sizes


def arch_blocks(arch: Arch,
                input_size: Size = 224,
                in_channels: int = 3) -> List[Tuple[BlockShape, int]]:
    """The blocks of ``arch`` and how often each runs."""
    hws = stage_input_sizes(input_size)
    blocks = [(BlockShape('stem', -1, in_channels, arch.stem, 2,
                          _hw(input_size)), 1)]
    cin = arch.stem
    for i, (width, depth) in enumerate(zip(arch.widths, arch.depths)):
        blocks.append((BlockShape('first', i, cin, width, STRIDES[i],
                                  hws[i]), 1))
        if depth > 1:
            blocks.append((BlockShape('block', i, 4 * width, width, 1,
                                      hws[i + 1]), depth - 1))
        cin = 4 * width
    return blocks


def space_blocks(space: ResNetSpace,
                 input_size: Size = 224,
                 in_channels: int = 3) -> List[BlockShape]:
    """Every distinct block shape an arch of ``space`` can run, sorted."""
    hws = stage_input_sizes(input_size)
    shapes = {
        BlockShape('stem', -1, in_channels, s, 2, _hw(input_size))
        for s in space.stem_choices
    }
    ins = space.stem_choices
    for i, widths in enumerate(space.width_choices):
        for width in widths:
            shapes.update(
                BlockShape('first', i, cin, width, STRIDES[i], hws[i])
                for cin in ins)
            if max(space.depth_choices[i]) > 1:
                shapes.add(
                    BlockShape('block', i, 4 * width, width, 1, hws[i + 1]))
        ins = [4 * w for w in widths]
    return sorted(shapes)


class LatencyTable:
    """Measured milliseconds per block shape, with how they were measured.

    Args:
        header (dict): ``device``, ``torch``, ``threads``, ``batch_size``,
            ``input_size``, ``space`` (the space's dict) and optionally
            ``overhead_ms`` (added once per network).
        entries (dict): Block key -> median milliseconds.
    """

    def __init__(self, header: dict, entries: Dict[str, float]) -> None:
        self.header = header
        self.entries = entries

    def save(self, path: str) -> None:
        from mmdata.utils.files import atomic_write
        atomic_write(
            path,
            json.dumps(
                dict(header=self.header, entries=self.entries), indent=1))

    @classmethod
    def load(cls, path: str) -> 'LatencyTable':
        try:
            with open(path) as f:
                data = json.load(f)
            return cls(data['header'], data['entries'])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f'{path} is not a latency table written by '
                              f'measure_latency.py: {err}') from None

    def check(self, space: ResNetSpace, **expected) -> None:
        """Refuse a table of another space or setting (``device=...``,
        ``batch_size=...``, ``input_size=...``), naming the difference."""
        if ResNetSpace.from_dict(self.header['space']) != space:
            raise ConfigError(f'the latency table was measured for the space '
                              f'{self.header["space"]}, not {space.to_dict()}')
        for key, value in expected.items():
            if self.header.get(key) != value:
                raise ConfigError(
                    f'the latency table has {key}={self.header.get(key)!r}, '
                    f'this run {key}={value!r}: measure a table for it')

    def _ms(self, shape: BlockShape, arch: Arch) -> float:
        if shape.key not in self.entries:
            raise ConfigError(f'{arch} runs block {shape.key}, which the '
                              'latency table lacks (another space?)')
        return self.entries[shape.key]

    def predict(self, arch: Arch) -> float:
        """Predicted milliseconds of ``arch``: the sum of its blocks plus
        the table's per-network overhead."""
        total = self.header.get('overhead_ms', 0.)
        for shape, count in arch_blocks(arch, self.header['input_size']):
            total += self._ms(shape, arch) * count
        return total

    def predict_space(self, space: ResNetSpace) -> np.ndarray:
        """Predicted milliseconds of every arch of ``space``, indexed like
        :meth:`ResNetSpace.arch_at` (equal to :meth:`predict` per arch)."""
        extra_blocks = np.array(space._depth_combos(), dtype=np.float64) - 1
        rows = []
        for combo in space._width_combos():
            # depth 2 wherever the space allows it, to meet each stage's
            # further block once; it then counts (depth - 1) times
            arch = Arch(combo[0], combo[1:],
                        [min(2, max(d)) for d in space.depth_choices])
            base = self.header.get('overhead_ms', 0.)
            per_block = [0.] * 4
            for shape, _ in arch_blocks(arch, self.header['input_size']):
                if shape.kind == 'block':
                    per_block[shape.stage] = self._ms(shape, arch)
                else:
                    base += self._ms(shape, arch)
            rows.append(base + extra_blocks @ np.array(per_block))
        return np.concatenate(rows)
