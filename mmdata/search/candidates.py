"""Compute budgets (bins), constraints and the candidate archs sampled
inside them."""
import random
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

from mmdata.errors import ConfigError
from mmdata.space import Arch, LatencyTable, ResNetSpace, arch_cost
from mmdata.space.cost import Size

METRICS = ('flops', 'params', 'latency')
# paper §4.1: seven 1-GFLOPs groups from 1 to 8 GFLOPs at 224 px
PAPER_BINS = [(i * 1e9, (i + 1) * 1e9) for i in range(1, 8)]
_PREFIXES = (('G', 1e9), ('M', 1e6), ('K', 1e3), ('', 1))


def _short(value: float) -> str:
    """Unit-less short form (``1.5M``), as bins were first named; it seeds
    the candidates of a bin, so that renaming bins keeps the draws."""
    for unit, scale in _PREFIXES[:3]:
        if abs(value) >= scale:
            return f'{value / scale:g}{unit}'
    return f'{value:g}'


def bin_seed(seed: int, b: Dict) -> str:
    """Seed of a bin's random draws: from its range, not its name."""
    return f"{seed}-{_short(b['lo'])}-{_short(b['hi'])}"


def size_label(input_size: Size) -> str:
    """``32px`` or ``512x1024px``."""
    if isinstance(input_size, int):
        return f'{input_size}px'
    return 'x'.join(str(int(v)) for v in input_size) + 'px'


def si_prefix(value: float) -> Tuple[str, float]:
    """``('M', 1e6)`` for 1.5e6: the largest prefix not above ``value``."""
    return next((p, s) for p, s in _PREFIXES if abs(value) >= s or s == 1)


def budget_label(lo: float, hi: float, metric: str, input_size: Size) -> str:
    """Bin name with its unit: ``1-1.5MFLOPs@32px``, ``2-4Mparams``,
    ``2-3.5ms``."""
    if metric == 'latency':
        return f'{lo:g}-{hi:g}ms'
    prefix, scale = si_prefix(hi)
    label = f'{lo / scale:g}-{hi / scale:g}{prefix}'
    if metric == 'flops':
        return f'{label}FLOPs@{size_label(input_size)}'
    return f'{label}params'


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ConfigError(f'metric={metric!r}: choose one of {METRICS}')
    return metric


def parse_budgets(budgets: Optional[Sequence] = None,
                  metric: str = 'flops',
                  input_size: Size = 224) -> List[Dict]:
    """Bins as ``[{'name', 'lo', 'hi'}]`` from ``None`` (the paper's FLOPs
    bins), a list of ``(lo, hi)`` pairs or of dicts with those keys (and an
    optional ``name``); ``lo``/``hi`` are in the metric's unit (FLOPs,
    params, milliseconds)."""
    check_metric(metric)
    if budgets is None:
        if metric != 'flops':
            raise ConfigError(f'metric={metric!r} needs budgets=[(lo, hi), '
                              '...]; only FLOPs have default (paper) bins')
        budgets = PAPER_BINS
    bins = []
    for item in budgets:
        if isinstance(item, dict):
            lo, hi, name = item['lo'], item['hi'], item.get('name')
        else:
            lo, hi = item
            name = None
        if not lo < hi:
            raise ConfigError(f'budget ({lo}, {hi}) is empty: need lo < hi')
        bins.append(dict(name=name or budget_label(lo, hi, metric,
                                                   input_size),
                         lo=lo, hi=hi))
    names = [b['name'] for b in bins]
    if len(set(names)) != len(names):
        raise ConfigError(f'budget names must be unique, got {names}')
    return bins


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

    def __init__(self, space: ResNetSpace, input_size: Size = 224,
                 latency_table: Optional[LatencyTable] = None,
                 latency_setting: Optional[dict] = None) -> None:
        self.space = space
        self.input_size = input_size
        self.latency_table = latency_table
        if latency_table is not None:
            latency_table.check(space, input_size=input_size,
                                **(latency_setting or {}))
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


Ranges = Dict[str, Tuple[float, float]]


def parse_constraints(constraints: Optional[dict]) -> Ranges:
    """``dict(flops=..., params=..., latency=...)``, each a ``(lo, hi)``
    range or a number ``hi`` (upper bound, exclusive like a bin's)."""
    ranges: Ranges = {}
    for name, value in (constraints or {}).items():
        if name not in METRICS:
            raise ConfigError(f'constraint {name!r}: choose from {METRICS}')
        lo, hi = (0, value) if isinstance(value, (int, float)) else value
        if not lo < hi:
            raise ConfigError(f'constraint {name}={value!r} is empty: need '
                              'lo < hi')
        ranges[name] = (lo, hi)
    return ranges


def within(values: Dict[str, float], ranges: Ranges) -> bool:
    """Whether every measure in ``ranges`` lies in its ``[lo, hi)``."""
    return all(lo <= values[name] < hi for name, (lo, hi) in ranges.items())


def bin_ranges(b: Dict, metric: str, constraints: Ranges) -> Ranges:
    """The ranges a candidate of bin ``b`` must satisfy."""
    ranges = dict(constraints)
    lo, hi = ranges.get(metric, (-np.inf, np.inf))
    ranges[metric] = (max(lo, b['lo']), min(hi, b['hi']))
    return ranges


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
                'candidates', logger='current')
        rng = random.Random(bin_seed(seed, b))
        picks = rng.sample(range(len(index)), min(num, len(index)))
        for i in sorted(picks):
            arch = space.arch_at(int(index[i]))
            candidates.append(candidate(arch, b['name'], measures))
    return candidates


def candidate(arch: Arch, bin_name: str, measures: Measures) -> Dict:
    return dict(arch=arch, bin=bin_name, **measures.of(arch))
