"""Candidate archs: their measures and the uniform draws inside each
budget bin (:mod:`mmdata.search.budgets`)."""
import random
from typing import Dict, List, Optional

import numpy as np
from mmengine.logging import print_log

from mmdata.errors import ConfigError
from mmdata.space import Arch, LatencyTable, ResNetSpace, arch_cost
from mmdata.space.cost import Size
from .budgets import bin_ranges, bin_seed, check_metric, parse_constraints


class Measures:
    """What archs are budgeted by: FLOPs and params at ``input_size`` and,
    given a latency table, the predicted milliseconds (``latency``).

    Args:
        space (ResNetSpace): The space (enumerated by :meth:`of_space`).
        input_size (int | tuple): Input size of the FLOPs.
        latency_table (LatencyTable, optional): Checked against the space,
            the input size and ``latency_setting``.
        latency_setting (dict, optional): What the table must have been
            measured with, e.g. ``dict(device='cpu', batch_size=1)``.
    """

    def __init__(self,
                 space: ResNetSpace,
                 input_size: Size = 224,
                 latency_table: Optional[LatencyTable] = None,
                 latency_setting: Optional[dict] = None) -> None:
        self.space = space
        self.input_size = input_size
        self.latency_table = latency_table
        if latency_table is not None:
            latency_table.check(
                space, input_size=input_size, **(latency_setting or {}))
        self.names = ('flops', 'params') + (
            ('latency', ) if latency_table is not None else ())

    def of(self, arch: Arch) -> Dict[str, float]:
        cost = arch_cost(arch, self.input_size)
        values = dict(flops=cost.flops, params=cost.params)
        if self.latency_table is not None:
            values['latency'] = self.latency_table.predict(arch)
        return values

    def of_space(self) -> Dict[str, np.ndarray]:
        """Every measure of every arch, indexed like ``space.arch_at``."""
        flops, params = self.space.costs(self.input_size)
        values = dict(flops=flops, params=params)
        if self.latency_table is not None:
            values['latency'] = self.latency_table.predict_space(self.space)
        return values

    def require(self, name: str, what: str) -> None:
        if name not in self.names:
            raise ConfigError(
                f'{what} uses latency: give latency_table=PATH (measure one '
                'with tools/analysis/measure_latency.py)')


def sample_candidates(space: ResNetSpace,
                      bins: List[Dict],
                      num: int,
                      seed: int = 0,
                      metric: str = 'flops',
                      input_size: Size = 224,
                      constraints: Optional[dict] = None,
                      latency_table: Optional[LatencyTable] = None,
                      measures: Optional[Measures] = None) -> List[Dict]:
    """``num`` unique archs per bin, uniform among the archs of the bin that
    satisfy every constraint, seeded per bin.

    A bin holding fewer archs contributes all of them (logged); a bin with
    none raises. Returns dicts with ``arch``, ``bin``, ``flops``,
    ``params`` (and ``latency`` in ms, given a table).
    """
    check_metric(metric)
    if num < 1:
        raise ConfigError(f'num_candidates={num}, allowed >= 1')
    measures = measures or Measures(space, input_size, latency_table)
    ranges = parse_constraints(constraints)
    measures.require(metric, f'metric={metric!r}')
    for name in ranges:
        measures.require(name, f'the constraint on {name}')
    values = measures.of_space()
    candidates = []
    for b in bins:
        mask = np.ones(space.size(), dtype=bool)
        for name, (lo, hi) in bin_ranges(b, metric, ranges).items():
            mask &= (values[name] >= lo) & (values[name] < hi)
        index = np.flatnonzero(mask)
        if len(index) == 0:
            in_bin = int(((values[metric] >= b['lo']) &
                          (values[metric] < b['hi'])).sum())
            where = (f"{metric} in [{b['lo']:g}, {b['hi']:g}) at input size "
                     f'{measures.input_size}')
            if in_bin:
                raise ConfigError(
                    f"budget {b['name']}: none of the {in_bin} archs with "
                    f'{where} satisfies constraints={ranges}')
            raise ConfigError(
                f"budget {b['name']} holds no arch of {space!r} ({where})")
        if len(index) < num:
            print_log(
                f"budget {b['name']} holds only {len(index)} archs; all are "
                'candidates',
                logger='current')
        rng = random.Random(bin_seed(seed, b))
        picks = rng.sample(range(len(index)), min(num, len(index)))
        for i in sorted(picks):
            arch = space.arch_at(int(index[i]))
            candidates.append(candidate(arch, b['name'], measures))
    return candidates


def candidate(arch: Arch, bin_name: str, measures: Measures) -> Dict:
    return dict(arch=arch, bin=bin_name, **measures.of(arch))
