"""A selection run: successive halving (:mod:`.selection`) on a finished
search, its label runs measured as resumable label-metric rows
(:mod:`.label_metrics`), its outputs (``selection.json``, ``best.yaml``)."""
import dataclasses
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from mmdata.errors import ConfigError
from mmdata.search.record import Candidate, by_bin
from mmdata.utils import atomic_write, file_sha256
from .label_metrics import LabelMetricSettings, LabelRows, measure_rows
from .selection import (FIDELITY, HalvingPlan, exhaustive, parse_budget,
                        plan_for_budget, shortlist_order, successive_halving)

ONE_SHARD = (1, 1)  # (this shard, of shards): no sharding
POLL_SECONDS = 5  # how often a shard looks for the other shards' rows


def default_full_run(settings: LabelMetricSettings) -> int:
    """A full run's fidelity: the protocol's iterations (det-map,
    seg-miou) or the settings' epochs / labeled images."""
    name = FIDELITY[settings.metric]
    if name != 'iters':
        return getattr(LabelMetricSettings, name)
    from mmdata.export.tasks import TASKS, shipped_configs
    from mmdata.utils import load_config
    from .downstream import protocol_iters
    task = settings.downstream.task
    cfg = load_config(osp.join(shipped_configs(), TASKS[task]['base']))
    return protocol_iters(cfg, task)


class RungMeasurer:
    """``(archs, run) -> {arch: value}``: each arch's label run at
    fidelity ``run``, from (or added to) ``rows_dir/<metric>-<field><run>
    .csv``; with ``shard=(i, n)`` this process measures every n-th and waits
    for the other shards' rows."""

    def __init__(self,
                 settings: LabelMetricSettings,
                 checkpoint: str,
                 rows_dir: str,
                 seed: int,
                 bin_of: Dict[str, str],
                 shard: Tuple[int, int] = ONE_SHARD) -> None:
        self.settings, self.checkpoint = settings, checkpoint
        self.rows_dir, self.seed, self.bin_of = rows_dir, seed, bin_of
        self.shard = shard
        self.seconds: Dict[Tuple[str, int], float] = {}  # (arch, run)

    def rows(self, run: int) -> Tuple[LabelRows, LabelMetricSettings]:
        from .label_metrics import signature
        name = FIDELITY[self.settings.metric]
        s = dataclasses.replace(self.settings, **{name: run})
        path = osp.join(self.rows_dir,
                        f'{s.metric}-{name.replace("_", "-")}{run}.csv')
        return LabelRows(path, signature(s, self.checkpoint), s.columns()), s

    def __call__(self, archs: List[str], run: int) -> Dict[str, float]:
        from .label_metrics import measurer
        rows, s = self.rows(run)
        i, n = self.shard
        mine = [(self.seed, a, self.bin_of[a]) for a in archs][i - 1::n]
        scratch = osp.join(self.rows_dir, f'scratch-shard{i}')
        took = measure_rows(rows, measurer(s, self.checkpoint, scratch), mine,
                            f'{s.metric} at {run}')
        self.seconds.update({(a, run): t for (a, _), t in took.items()})
        values = rows.values(self.seed)
        while any(a not in values for a in archs):
            time.sleep(POLL_SECONDS)  # another shard's runs
            values = rows.values(self.seed)
        return {a: values[a] for a in archs}


def plan_of(budget: Optional[str], min_run: Optional[int], shortlist: int,
            eta: int, full_run: int, size: int) -> HalvingPlan:
    if min_run is not None:
        return HalvingPlan(shortlist, min_run, eta)
    return plan_for_budget(
        parse_budget(budget, full_run, size), shortlist, eta, size)


def select(search_dir: str,
           checkpoint: str,
           settings: LabelMetricSettings,
           work_dir: str,
           rows_dir: str,
           ranker: str = 'score',
           shortlist: int = 4,
           eta: int = 2,
           budget: Optional[str] = None,
           min_run: Optional[int] = None,
           full_run: Optional[int] = None,
           seed: int = 0,
           bins: Optional[Sequence[str]] = None,
           shard: Tuple[int, int] = ONE_SHARD) -> dict:
    """Successive halving in every bin of the search in ``search_dir``;
    writes ``selection.json`` and ``best.yaml`` to ``work_dir`` (shard 1
    only) and returns the selection."""
    from mmdata.search.outputs import read_candidates
    search = read_candidates(search_dir)
    groups = by_bin(search['candidates'])
    unknown = sorted(set(bins or ()) - set(groups))
    if unknown:
        raise ConfigError(f'--bins {unknown}: the search has bins '
                          f'{list(groups)}')
    full_run = full_run or default_full_run(settings)
    measure = RungMeasurer(settings, checkpoint, rows_dir, seed,
                           {r.arch: r.bin
                            for r in search['candidates']}, shard)
    out = dict(
        search_dir=osp.abspath(search_dir),
        checkpoint_sha256=file_sha256(checkpoint),
        metric=settings.metric,
        fidelity=FIDELITY[settings.metric],
        ranker=ranker,
        seed=seed,
        full_run=full_run,
        bins={})
    for name, records in groups.items():
        if bins and name not in bins:
            continue
        plan = plan_of(budget, min_run, shortlist, eta, full_run, len(records))
        ranked = shortlist_order(records, ranker, seed)
        result = successive_halving(ranked, plan, measure)
        out['bins'][name] = bin_summary(result, plan, records, full_run,
                                        measure.seconds)
    if shard[0] == 1:
        write_selection(work_dir, out, groups, search['input_size'])
    return out


def bin_summary(result: dict, plan: HalvingPlan, records: List[Candidate],
                full_run: int, seconds: dict) -> dict:
    last = result['rounds'][-1]['values'] if result['rounds'] else {}
    runs = [(a, r['run']) for r in result['rounds'] for a in r['values']]
    return dict(
        result,
        plan=dataclasses.asdict(plan),
        candidates=len(records),
        pick_value=last.get(result['pick']),
        fraction=result['spent'] / exhaustive(full_run, len(records)),
        seconds_measured_now=sum(seconds.get(k, 0.) for k in runs))


def write_selection(work_dir: str, out: dict,
                    by_bin: Dict[str, List[Candidate]], input_size) -> None:
    atomic_write(
        osp.join(work_dir, 'selection.json'), json.dumps(out, indent=1))
    best = {}
    for name, b in out['bins'].items():
        record = next(r for r in by_bin[name] if r.arch == b['pick'])
        best[name] = dict(
            arch=record.arch,
            **record.arch_dict,
            flops=record.flops,
            params=record.params,
            input_size=input_size,
            selected_by=f"{out['ranker']} shortlist of "
            f"{len(b['shortlist'])}, successive halving on "
            f"{out['metric']}",
            label_value=b['pick_value'],
            spent=f"{b['spent']} {out['fidelity']}")
    atomic_write(
        osp.join(work_dir, 'best.yaml'), yaml.safe_dump(best, sort_keys=False))
