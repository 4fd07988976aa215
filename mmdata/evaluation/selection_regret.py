"""How good is a pick? Its regret against ground-truth rows it never read.

For every strategy (a label-free ranker's pick, a random pick in
expectation, a selection's pick) and every bin: the pick's ground-truth
percentile inside the bin (% of the bin's candidates at or below it), the
gap to the bin's best (regret), the compute it spent as a fraction of
exhaustive label evaluation, and for a selection whether its shortlist still
held the bin's best.
"""
import csv
import json
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from scipy import stats

from .ranking import random_pick
from .selection import shortlist_order

TOP_QUARTILE = 75.  # percentile a pick must reach


def truth_means(paths: Sequence[str]) -> Dict[str, float]:
    """``{arch: mean over its rows}`` of label-metric CSVs (the value is
    each CSV's last column)."""
    values: Dict[str, List[float]] = {}
    for path in paths:
        with open(path) as f:
            reader = csv.DictReader(f)
            last = reader.fieldnames[-1]
            for row in reader:
                values.setdefault(row['arch'], []).append(float(row[last]))
    return {a: float(np.mean(v)) for a, v in values.items()}


def judge(pick: str, archs: Sequence[str], truth: Dict[str, float]) -> dict:
    y = np.array([truth[a] for a in archs])
    return dict(
        pick=pick,
        percentile=float(stats.percentileofscore(y, truth[pick], kind='weak')),
        regret=float(y.max() - truth[pick]))


def ranker_rows(by_bin: Dict[str, List[dict]], truth: Dict[str, float],
                rankers: Sequence[str]) -> List[dict]:
    """A row per (label-free ranker, bin): its pick judged (no compute
    spent); ``random`` in expectation."""
    rows = []
    for name, records in by_bin.items():
        archs = [r['arch'] for r in records]
        for ranker in rankers:
            if ranker == 'random':
                got = random_pick([truth[a] for a in archs])
                row = dict(
                    percentile=got['percentile'],
                    regret=got['regret'],
                    pick='(expectation)')
            else:
                row = judge(shortlist_order(records, ranker)[0], archs, truth)
            rows.append(
                dict(row, strategy=ranker, bin=name, spent=0., best_kept=None))
    return rows


def selection_rows(selection_dir: str, label: str, by_bin: Dict[str,
                                                                List[dict]],
                   truth: Dict[str, float]) -> List[dict]:
    """A row per bin of the selection in ``selection_dir``."""
    with open(osp.join(selection_dir, 'selection.json')) as f:
        selection = json.load(f)
    rows = []
    for name, b in selection['bins'].items():
        if name not in by_bin:
            continue
        archs = [r['arch'] for r in by_bin[name]]
        best = max(archs, key=lambda a: truth[a])
        rows.append(
            dict(
                judge(b['pick'], archs, truth),
                strategy=label,
                bin=name,
                spent=b['fraction'],
                best_kept=best in b['shortlist']))
    return rows


def summary(rows: List[dict]) -> List[dict]:
    """Per strategy: mean regret, worst percentile, whether every pick is
    in its bin's top quartile, the mean compute spent."""
    out = []
    for strategy in dict.fromkeys(r['strategy'] for r in rows):
        mine = [r for r in rows if r['strategy'] == strategy]
        out.append(
            dict(
                strategy=strategy,
                mean_regret=float(np.mean([r['regret'] for r in mine])),
                worst_percentile=min(r['percentile'] for r in mine),
                all_top_quartile=all(r['percentile'] >= TOP_QUARTILE
                                     for r in mine),
                spent=float(np.mean([r['spent'] for r in mine]))))
    return out


def markdown(rows: List[dict], digits: int = 4) -> str:
    """The rows as a table (a column per bin: percentile / regret) and the
    summary beside it."""
    bins = list(dict.fromkeys(r['bin'] for r in rows))
    head = [
        'strategy', *[f'{b}: pct / regret' for b in bins], 'spent',
        'mean regret', 'all in top quartile'
    ]
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for s in summary(rows):
        cells = [s['strategy']]
        for b in bins:
            r = next(r for r in rows
                     if r['strategy'] == s['strategy'] and r['bin'] == b)
            lost = ' (best not shortlisted)' if r['best_kept'] is False else ''
            cells.append(f"{r['percentile']:.0f}% / {r['regret']:.{digits}f}"
                         f'{lost}')
        cells += [
            f"{100 * s['spent']:.1f}%", f"{s['mean_regret']:.{digits}f}",
            'yes' if s['all_top_quartile'] else 'no'
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
