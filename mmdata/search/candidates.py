"""Compute budgets (bins) and the candidate archs sampled inside them."""
import random
from typing import Dict, List, Optional, Sequence, Union

from mmengine.logging import print_log

from mmdata.space import Arch, ResNetSpace, arch_cost
from mmdata.errors import ConfigError

METRICS = ('flops', 'params')
# paper §4.1: seven 1-GFLOPs groups from 1 to 8 GFLOPs at 224 px
PAPER_BINS = [(i * 1e9, (i + 1) * 1e9) for i in range(1, 8)]


def _short(value: float) -> str:
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:g}{unit}'
    return f'{value:g}'


def parse_budgets(budgets: Optional[Sequence] = None) -> List[Dict]:
    """Bins as ``[{'name', 'lo', 'hi'}]`` from ``None`` (paper bins), a list of
    ``(lo, hi)`` pairs or of dicts with those keys (and optional ``name``)."""
    budgets = PAPER_BINS if budgets is None else budgets
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
            dict(name=name or f'{_short(lo)}-{_short(hi)}', lo=lo, hi=hi))
    names = [b['name'] for b in bins]
    if len(set(names)) != len(names):
        raise ConfigError(f'budget names must be unique, got {names}')
    return bins


def sample_candidates(space: ResNetSpace,
                      bins: List[Dict],
                      num: int,
                      seed: int = 0,
                      metric: str = 'flops',
                      input_size: Union[int, Sequence[int]] = 224
                      ) -> List[Dict]:
    """``num`` unique archs per bin, uniform inside it, seeded per bin.

    A bin holding fewer archs contributes all of them (logged); an empty bin
    raises. Returns dicts with ``arch``, ``bin``, ``flops`` and ``params``.
    """
    if metric not in METRICS:
        raise ConfigError(f'metric={metric!r}: choose one of {METRICS}')
    if num < 1:
        raise ConfigError(f'num_candidates={num}, allowed >= 1')
    candidates = []
    for b in bins:
        index = space.indices_in_range(
            **{metric: (b['lo'], b['hi'])}, input_size=input_size)
        if len(index) == 0:
            raise ConfigError(
                f"budget {b['name']} holds no arch of {space!r} ({metric} in "
                f"[{b['lo']:g}, {b['hi']:g}) at input size {input_size})")
        if len(index) < num:
            print_log(
                f"budget {b['name']} holds only {len(index)} archs; all are "
                'candidates', logger='current')
        rng = random.Random(f"{seed}-{b['name']}")
        picks = rng.sample(range(len(index)), min(num, len(index)))
        for i in sorted(picks):
            arch = space.arch_at(int(index[i]))
            candidates.append(candidate(arch, b['name'], input_size))
    return candidates


def candidate(arch: Arch, bin_name: str,
              input_size: Union[int, Sequence[int]]) -> Dict:
    cost = arch_cost(arch, input_size)
    return dict(arch=arch, bin=bin_name, flops=cost.flops, params=cost.params)


def bin_of(value: float, bins: List[Dict]) -> Optional[str]:
    """Name of the bin holding ``value``, or None."""
    for b in bins:
        if b['lo'] <= value < b['hi']:
            return b['name']
    return None
