"""How good is a pick? Its regret against ground-truth rows it never read.

For every strategy (a label-free ranker's pick, a random pick in
expectation, a selection's pick) and every bin: the pick's ground-truth
percentile inside the bin (% of the bin's candidates at or below it), the
gap to the bin's best (regret), the compute it spent as a fraction of
exhaustive label evaluation, and for a selection whether its shortlist still
held the bin's best.
"""
import csv
import glob
import json
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy import stats

from mmdata.errors import DataError
from mmdata.search.outputs import read_candidates
from mmdata.search.record import Candidate, by_bin
from .ranking import random_pick
from .selection import ranker_values, shortlist_order

TOP_QUARTILE = 75.  # percentile a pick must reach


def truth_rows(paths: Sequence[str]) -> Dict[str, List[float]]:
    """``{arch: its values}`` of label-metric CSVs (the value is each CSV's
    last column; one row per seed)."""
    values: Dict[str, List[float]] = {}
    for path in paths:
        with open(path) as f:
            reader = csv.DictReader(f)
            last = reader.fieldnames[-1]
            for row in reader:
                values.setdefault(row['arch'], []).append(float(row[last]))
    return values


def truth_means(paths: Sequence[str]) -> Dict[str, float]:
    """``{arch: mean over its rows}`` (see :func:`truth_rows`)."""
    return {a: float(np.mean(v)) for a, v in truth_rows(paths).items()}


def noise_floor(paths: Sequence[str], archs: Sequence[str]) -> float:
    """The ground truth's own noise: the mean over ``archs`` of the
    standard error of each arch's mean over seeds; ``nan`` with one
    seed."""
    rows = truth_rows(paths)
    errors = [
        np.std(rows[a], ddof=1) / np.sqrt(len(rows[a])) for a in archs
        if len(rows[a]) > 1
    ]
    return float(np.mean(errors)) if errors else float('nan')


def fidelity_kendall(rung_rows: Dict[int, Dict[str, float]],
                     label_free: Dict[str, Dict[str, float]],
                     archs: Sequence[str], truth: Dict[str, float]) -> dict:
    """Kendall's tau with the ground truth inside one bin: of each rung's
    label runs (``{run: {arch: value}}``, over the archs it measured) and of
    each label-free ranker (``{name: {arch: value}}``); ``(tau, n)``."""
    out = {}
    for name, values in [
            *((f'label run {r}', v) for r, v in sorted(rung_rows.items())),
            *label_free.items()
    ]:
        mine = [a for a in archs if a in values]
        if len(mine) >= 3:
            tau = stats.kendalltau([values[a] for a in mine],
                                   [truth[a] for a in mine])[0]
            out[name] = (float(tau), len(mine))
    return out


def goal_met(summaries: List[dict], strategy: str,
             label_free: Sequence[str]) -> dict:
    """docs/selection.md's rule for one selection: every pick in its bin's
    top quartile and a mean regret below every label-free ranker's."""
    by_name = {s['strategy']: s for s in summaries}
    mine = by_name[strategy]
    rivals = [by_name[r] for r in label_free if r in by_name]
    best = min(rivals, key=lambda s: s['mean_regret'])
    return dict(
        strategy=strategy,
        top_quartile=mine['all_top_quartile'],
        below_label_free=mine['mean_regret'] < best['mean_regret'],
        best_label_free=best['strategy'],
        met=mine['all_top_quartile']
        and mine['mean_regret'] < best['mean_regret'])


def judge(pick: str, archs: Sequence[str], truth: Dict[str, float]) -> dict:
    y = np.array([truth[a] for a in archs])
    return dict(
        pick=pick,
        percentile=float(stats.percentileofscore(y, truth[pick], kind='weak')),
        regret=float(y.max() - truth[pick]))


def ranker_rows(by_bin: Dict[str, List[Candidate]], truth: Dict[str, float],
                rankers: Sequence[str]) -> List[dict]:
    """A row per (label-free ranker, bin): its pick judged (no compute
    spent); ``random`` in expectation."""
    rows = []
    for name, records in by_bin.items():
        archs = [r.arch for r in records]
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


def selection_rows(selection_dir: str, label: str,
                   by_bin: Dict[str, List[Candidate]],
                   truth: Dict[str, float]) -> List[dict]:
    """A row per bin of the selection in ``selection_dir``."""
    with open(osp.join(selection_dir, 'selection.json')) as f:
        selection = json.load(f)
    rows = []
    for name, b in selection['bins'].items():
        if name not in by_bin:
            continue
        archs = [r.arch for r in by_bin[name]]
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


def judged_bins(
        search_dir: str,
        truth: Dict[str, float],
        bins: Optional[Sequence[str]] = None) -> Dict[str, List[Candidate]]:
    """The candidates of the search's bins (``bins`` only, if given), each
    with a ground-truth value."""
    groups = {
        b: records
        for b, records in by_bin(read_candidates(
            search_dir)['candidates']).items() if not bins or b in bins
    }
    missing = [
        r.arch for rs in groups.values() for r in rs if r.arch not in truth
    ]
    if missing:
        raise DataError(f'{len(missing)} candidates have no ground-truth row '
                        f'(e.g. {missing[0]}); pass --bins with measured bins')
    return groups


def judged_goals(rows: List[dict], judge: Sequence[str],
                 rankers: Sequence[str]) -> List[dict]:
    """:func:`goal_met` of each of the ``judge`` selections in ``rows``."""
    summaries = summary(rows)
    done = {s['strategy'] for s in summaries}
    return [
        goal_met(summaries, name, rankers) for name in judge if name in done
    ]


def report_lines(rows: List[dict], groups: Dict[str, List[Candidate]],
                 truth_paths: Sequence[str], judge: Sequence[str],
                 rankers: Sequence[str]) -> List[str]:
    """The noise floor of each bin and the rule's verdict on each of the
    ``judge`` selections, a line each."""
    lines = [
        f'- {name}: ground-truth noise (mean standard error of an '
        f"arch's mean) {noise_floor(truth_paths, [r.arch for r in rs]):.4f}"
        for name, rs in groups.items()
    ]
    for g in judged_goals(rows, judge, rankers):
        lines.append(
            f"- {g['strategy']}: every pick in the top quartile: "
            f"{'yes' if g['top_quartile'] else 'no'}; mean regret below "
            f"every label-free ranker's (best: {g['best_label_free']}): "
            f"{'yes' if g['below_label_free'] else 'no'}; goal "
            f"{'met' if g['met'] else 'not met'}")
    return lines


def fidelity_lines(rows_dir: str, groups: Dict[str, List[Candidate]],
                   truth: Dict[str,
                               float], rankers: Sequence[str]) -> List[str]:
    """Each rung's (the selections' label rows in ``rows_dir``) and each
    label-free ranker's Kendall tau with the ground truth inside each
    bin, a line per bin."""
    rung = re.compile(r'-(?:iters|max-train|epochs)(\d+)\.csv$')
    rungs = {
        int(rung.search(path).group(1)): truth_means([path])
        for path in glob.glob(f'{rows_dir}/*.csv') if rung.search(path)
    }
    lines = []
    for name, records in groups.items():
        archs = [r.arch for r in records]
        free = {
            r: dict(zip(archs, ranker_values(records, r)))
            for r in rankers if r != 'random'
        }
        taus = fidelity_kendall(rungs, free, archs, truth)
        lines.append(f'- {name}, Kendall tau with the ground truth: ' +
                     '; '.join(f'{k} {t:+.2f} (n={n})'
                               for k, (t, n) in taus.items()))
    return lines
