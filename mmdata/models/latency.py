"""Measuring a space's latency lookup table on a device
(``tools/analysis/measure_latency.py``).

Every distinct block shape the space can produce (stem, each stage's first
block for every (in, width) pair, each further block) is timed with warm-up
and repeats (median) into a :class:`~mmdata.space.LatencyTable`; its
``overhead_ms`` (what a whole network adds to its blocks) comes from the
space's min and max arch. :func:`validate_table` times whole subnets
against the table's predictions.
"""
import random
import statistics
import time
from dataclasses import dataclass
from typing import List, Tuple

import torch
import torch.nn as nn
from mmengine.utils import ProgressBar

from mmdata.errors import ConfigError
from mmdata.space import LatencyTable, ResNetSpace, space_blocks
from mmdata.space.latency import BlockShape
from .backbones.resnet_base import make_res_layer
from .backbones.subnet_resnet import SubnetResNet


@dataclass
class TimingSettings:
    """How blocks and networks are timed: on ``device`` with ``threads``
    torch threads, a batch of ``batch_size`` images of ``input_size``
    pixels, the median of ``repeats`` runs after ``warmup``."""
    device: str = 'cpu'
    batch_size: int = 1
    input_size: int = 224
    warmup: int = 5
    repeats: int = 21
    threads: int = 1

    def __post_init__(self) -> None:
        for name, low in (('input_size', 32), ('batch_size', 1),
                          ('repeats', 1), ('warmup', 0), ('threads', 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"--{name.replace('_', '-')} "
                                  f'{getattr(self, name)}: allowed >= {low}')
        if self.device not in ('cpu', 'cuda') and \
                not self.device.startswith('cuda:'):
            raise ConfigError(f'--device {self.device!r}: allowed cpu, cuda')
        if self.device.startswith('cuda') and not torch.cuda.is_available():
            raise ConfigError(f'--device {self.device}: no CUDA device here')

    def header(self, space: ResNetSpace) -> dict:
        """The table header these settings measure ``space`` with."""
        device = torch.device(self.device)
        return dict(
            device=torch.cuda.get_device_name(device)
            if device.type == 'cuda' else 'cpu',
            torch=torch.__version__,
            threads=self.threads,
            batch_size=self.batch_size,
            input_size=self.input_size,
            space=space.to_dict())

    def median_ms(self, module: nn.Module, channels: int,
                  hw: Tuple[int, int]) -> float:
        """Median wall time of ``module`` on a random batch of
        ``channels`` x ``hw`` inputs, in milliseconds."""
        torch.set_num_threads(self.threads)
        device = torch.device(self.device)
        module = module.to(device).eval()
        x = torch.randn(self.batch_size, channels, *hw, device=device)
        sync = torch.cuda.synchronize if device.type == 'cuda' else (
            lambda: None)
        times = []
        with torch.no_grad():
            for i in range(self.warmup + self.repeats):
                sync()
                start = time.perf_counter()
                module(x)
                sync()
                if i >= self.warmup:
                    times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)

    def network_ms(self, arch) -> float:
        """Median milliseconds of the whole subnet ``arch`` (C5 out)."""
        size = self.input_size
        return self.median_ms(
            SubnetResNet(arch, out_indices=(3, )), 3, (size, size))


def block_module(shape: BlockShape) -> nn.Module:
    """A module with the weights layout of ``shape`` (random init)."""
    bn = dict(type='BN')
    if shape.kind == 'stem':
        return nn.Sequential(
            nn.Conv2d(shape.in_channels, shape.width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(shape.width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1))
    if shape.kind == 'first':
        return make_res_layer(shape.in_channels, shape.width, 1, shape.stride,
                              1, nn.Conv2d, bn)
    return make_res_layer(shape.width * 4, shape.width, 2, 1, 1, nn.Conv2d,
                          bn)[1]


def measure_table(space: ResNetSpace,
                  settings: TimingSettings) -> LatencyTable:
    """Time every block shape of ``space`` (with a progress bar) and the
    per-network overhead."""
    shapes = space_blocks(space, settings.input_size)
    print(f'{len(shapes)} block shapes, {settings.repeats} repeats each')
    entries, bar = {}, ProgressBar(len(shapes))
    for shape in shapes:
        entries[shape.key] = settings.median_ms(
            block_module(shape), shape.in_channels, shape.hw)
        bar.update()
    print()
    table = LatencyTable(settings.header(space), entries)
    # what whole networks add to their blocks (the forward loop, the output
    # tuple): measured on the space's min and max archs
    gaps = [
        settings.network_ms(arch) - table.predict(arch)
        for arch in (space.min_arch, space.max_arch)
    ]
    table.header['overhead_ms'] = sum(gaps) / len(gaps)
    return table


def validate_table(table: LatencyTable,
                   space: ResNetSpace,
                   settings: TimingSettings,
                   count: int,
                   seed: int = 0) -> List[Tuple[str, float, float]]:
    """``(arch, predicted ms, measured ms)`` of ``count`` random archs of
    ``space`` (drawn with ``seed``)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        arch = space.sample(rng)
        rows.append(
            (str(arch), table.predict(arch), settings.network_ms(arch)))
    return rows


def format_validation(rows: List[Tuple[str, float, float]]) -> str:
    """The rows of :func:`validate_table` and their relative errors."""
    errors = [abs(p - m) / m for _, p, m in rows]
    lines = [
        f'{"arch":<46} {"predicted ms":>12} {"measured ms":>11} '
        f'{"error":>6}'
    ]
    for (arch, p, m), e in zip(rows, errors):
        lines.append(f'{arch:<46} {p:12.3f} {m:11.3f} {100 * e:5.1f}%')
    lines.append(f'relative error over {len(rows)} archs: mean '
                 f'{100 * sum(errors) / len(errors):.1f}%, max '
                 f'{100 * max(errors):.1f}%')
    return '\n'.join(lines)
