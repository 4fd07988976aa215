"""Budgets: the bins (ranges of FLOPs, params or predicted latency), their
names, and the constraints every candidate must meet."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdata.errors import ConfigError
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
        bins.append(
            dict(
                name=name or budget_label(lo, hi, metric, input_size),
                lo=lo,
                hi=hi))
    names = [b['name'] for b in bins]
    if len(set(names)) != len(names):
        raise ConfigError(f'budget names must be unique, got {names}')
    return bins


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
