"""The label-efficient pick: successive halving over a search's shortlist.

Inside each bin, the candidates are ordered by a label-free ranker (the
search's score, params, FLOPs, a proxy or a ranker the search recorded),
the first ``shortlist`` of them get a short label run each, the better half
(by the label metric; ties: the ranker's order) gets a run ``eta`` times
longer, and so on until one is left: the pick. Every run is a fresh run of
the protocol at that rung's length (no weights carried between rungs), so a
rung's values are label-metric rows that other selections reuse.

A label metric has one fidelity, the amount a run is given
(:data:`FIDELITY`): training iterations for det-map and seg-miou, epochs for
finetune, labeled train images for the frozen-feature metrics. The compute
a selection spends is counted in those units per bin (machine-independent;
:meth:`HalvingPlan.cost`), and the runs it did itself in seconds too.
"""
import random
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

from mmdata.errors import ConfigError
from mmdata.search.record import Candidate

FREE_RANKERS = ('score', 'params', 'flops', 'random')
# label metric -> the LabelMetricSettings field a rung sets
FIDELITY = {
    'det-map': 'iters',
    'seg-miou': 'iters',
    'finetune': 'epochs',
    'knn': 'max_train',
    'linear': 'max_train',
    'linear-fixed': 'max_train',
}


@dataclass
class HalvingPlan:
    """A successive-halving schedule.

    Args:
        shortlist (int): Candidates of a bin that get a first label run.
        min_run (int): Label-training iterations of the first rung.
        eta (int): Each rung keeps ``1 / eta`` of the candidates (at least
            one) and trains ``eta`` times longer.
    """
    shortlist: int
    min_run: int
    eta: int = 2

    def __post_init__(self) -> None:
        for name, low in (('shortlist', 1), ('min_run', 1), ('eta', 2)):
            if getattr(self, name) < low:
                raise ConfigError(f"--{name.replace('_', '-')} "
                                  f'{getattr(self, name)}: allowed >= {low}')

    def rungs(self, size: int = None) -> List[Tuple[int, int]]:
        """``(candidates, iterations)`` of each rung, for a bin of ``size``
        candidates (default: as many as the shortlist)."""
        n = min(self.shortlist, size or self.shortlist)
        run, out = self.min_run, []
        while n > 1:
            out.append((n, run))
            n, run = max(1, n // self.eta), run * self.eta
        return out

    def cost(self, size: int = None) -> int:
        """Label-training iterations the plan spends in a bin."""
        return sum(n * run for n, run in self.rungs(size))


def parse_budget(text: str, full_run: int, bin_size: int) -> int:
    """A budget per bin in units of the label metric's fidelity (training
    iterations, epochs or labeled images): ``'4800'``, ``'2runs'`` (runs
    of ``full_run`` units) or ``'20%'`` (of exhaustive evaluation: one full
    run per candidate of the bin)."""
    match = re.fullmatch(r'(\d+(?:\.\d+)?)(runs|%)?', text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f'--budget {text}: allowed a positive number: '
                          "'4800' (fidelity units per bin, e.g. "
                          "iterations), '2runs' (full runs) or '20%' (of one "
                          'full run per candidate)')
    value, unit = float(match.group(1)), match.group(2)
    if unit == 'runs':
        value *= full_run
    elif unit == '%':
        value *= full_run * bin_size / 100
    return int(value)


def plan_for_budget(budget: int, shortlist: int, eta: int,
                    bin_size: int) -> HalvingPlan:
    """The plan whose first rung is as long as ``budget`` fidelity units
    per bin allow (the rungs' lengths are whole multiples of it)."""
    unit = HalvingPlan(shortlist, 1, eta).cost(bin_size)
    if unit == 0:
        return HalvingPlan(shortlist, 1, eta)
    if budget < unit:
        raise ConfigError(f'--budget {budget} per bin is less than one unit '
                          f'per run of a shortlist of {shortlist} ({unit}); '
                          'raise it or shorten the shortlist')
    return HalvingPlan(shortlist, budget // unit, eta)


def ranker_values(records: Sequence[Candidate],
                  ranker: str,
                  seed: int = 0) -> List[float]:
    """Each record's value under ``ranker`` (higher = better): a search
    field (``score``, ``params``, ``flops``), a proxy or ranker the search
    recorded (``naswot``, ``rankme-C5pool``, ...) or ``random`` (seeded)."""
    if ranker == 'random':
        rng = random.Random(seed)
        return [rng.random() for _ in records]
    known = {*FREE_RANKERS, *records[0].proxies, *records[0].rankers}
    if ranker in known:
        return [r.value(ranker) for r in records]
    raise ConfigError(f'--ranker {ranker}: the search recorded '
                      f'{sorted(known)} (rankers beyond these: search with '
                      'train_cfg.rankers=[...])')


def shortlist_order(records: Sequence[Candidate],
                    ranker: str,
                    seed: int = 0) -> List[str]:
    """The archs of ``records`` (one bin) best first by ``ranker`` (ties:
    the search's order)."""
    values = ranker_values(records, ranker, seed)
    order = sorted(range(len(records)), key=lambda i: (-values[i], i))
    return [records[i].arch for i in order]


def successive_halving(
        ranked: Sequence[str], plan: HalvingPlan,
        measure_rung: Callable[[List[str], int], Dict[str, float]]) -> dict:
    """Run ``plan`` on ``ranked`` (best first by the ranker).

    Args:
        ranked (list[str]): The bin's archs, best first.
        plan (HalvingPlan): The schedule.
        measure_rung (callable): ``(archs, run) -> {arch: value}``: one
            label run of each arch at fidelity ``run`` (e.g. iterations).

    Returns:
        dict: ``pick``, ``shortlist``, ``rounds`` (``iters``, ``values``,
        ``kept`` of each rung) and ``spent``.
    """
    rank = {a: i for i, a in enumerate(ranked)}
    alive = list(ranked[:plan.shortlist])
    shortlist, rounds = list(alive), []
    for n, run in plan.rungs(len(ranked)):
        values = measure_rung(alive, run)
        keep = max(1, n // plan.eta)
        alive = sorted(alive, key=lambda a: (-values[a], rank[a]))[:keep]
        rounds.append(dict(run=run, values=dict(values), kept=list(alive)))
    return dict(
        pick=alive[0],
        shortlist=shortlist,
        rounds=rounds,
        spent=sum(len(r['values']) * r['run'] for r in rounds))


def exhaustive(full_run: int, bin_size: int) -> int:
    """One full run per candidate of a bin, in fidelity units."""
    return full_run * bin_size
