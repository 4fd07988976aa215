"""The rows of a ranking study: a search's candidates joined with a label
metric's CSV (one row per labeled candidate: its score columns and its
label), and how label metrics agree with one another."""
import csv
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple

from mmdata.errors import ConfigError, UserError
from mmdata.search.outputs import read_candidates
from .ranking import _mean, correlation


def data_column(search: Dict) -> str:
    """The name of a search's score column: ``DATA (TAPS)``, with the
    similarity when it is not the paper's relation."""
    taps = search.get('taps') or []
    name = f'DATA ({"+".join(taps)})' if taps else 'DATA'
    similarity = search.get('similarity', 'relation')
    return name if similarity == 'relation' else f'{name} {similarity}'


def add_searches(rows: List[Dict], columns: List[str], bin_relative: List[str],
                 search_dir: str, others: List[str]) -> None:
    """Add the score of each search in ``others`` (the same candidates as
    ``search_dir``) to ``rows`` as a column."""
    archs = {r['arch'] for r in rows}
    for other in others:
        search = read_candidates(other)
        scores = {c.arch: c.score for c in search['candidates']}
        if not archs <= set(scores):
            raise ConfigError(
                f'--also {other} did not score the candidates of '
                f'{search_dir} ({len(archs - set(scores))} missing): search '
                'with the same bins, number of candidates and seed')
        name = data_column(search)
        if name in columns:
            name = f'{name} [{osp.basename(osp.dirname(osp.abspath(other)))}]'
        for r in rows:
            r[name] = scores[r['arch']]
        columns.append(name)
        if len(search.get('taps') or []) > 1:
            bin_relative.append(name)


def value_column(results: str) -> str:
    """The value column of a label-metric CSV (after arch, bin, seed)."""
    with open(results) as f:
        header = next(csv.reader(f), [])
    values = [c for c in header if c not in ('arch', 'bin', 'seed')]
    return values[-1] if values else 'top1'


def study_rows(search_dir: str,
               results: str,
               metric: str,
               label_seed: str = '0'
               ) -> Tuple[List[Dict], List[str], Dict, List[str]]:
    """Rows (one per candidate with a label), their score columns, the
    repeated label values per arch (for the noise floor) and the columns
    that only rank inside a bin."""
    search = read_candidates(search_dir)
    if not osp.isfile(results):
        raise UserError(f'results file {results} does not exist')
    with open(results) as f:
        table = list(csv.DictReader(f))
    if table and metric not in table[0]:
        raise ConfigError(f'{results} has no column {metric!r}; columns: '
                          f'{list(table[0])}')
    repeats, label = defaultdict(list), {}
    for row in table:
        repeats[row['arch']].append(float(row[metric]))
        if row.get('seed', label_seed) == label_seed:
            label[row['arch']] = float(row[metric])
    if label_seed == 'mean':
        counts = sorted({len(v) for v in repeats.values()})
        if len(counts) > 1:
            raise ConfigError(
                f'--label-seed mean: the archs of {results} have '
                f'{counts[0]} to {counts[-1]} rows; measure every arch with '
                'the same seeds')
        label = {a: sum(v) / len(v) for a, v in repeats.items()}
    taps = search.get('taps') or []
    columns = [data_column(search)]
    # several taps are standardised inside each bin before they are
    # averaged: that score only ranks inside a bin
    bin_relative = columns[:1] if len(taps) > 1 else []
    if len(taps) > 1:
        columns += [f'DATA {t}' for t in taps]
    cands = search['candidates']
    measures = {'FLOPs': 'flops', 'params': 'params'}
    if cands[0].latency is not None:
        measures['latency'] = 'latency'
    columns += list(measures)
    extra = list(cands[0].proxies) + list(cands[0].rankers)
    columns += extra
    rows = []
    for c in cands:
        if c.arch not in label:
            continue
        row = {columns[0]: c.score, 'bin': c.bin, 'arch': c.arch}
        row[metric] = label[c.arch]
        row.update({col: c.value(key) for col, key in measures.items()})
        if len(taps) > 1:
            row.update({f'DATA {t}': c.scores[t] for t in taps})
        row.update({name: c.value(name) for name in extra})
        rows.append(row)
    if not rows:
        raise UserError(f'no arch of {results} (seed {label_seed}) is a '
                        f'candidate of the search in {search_dir}')
    return rows, columns, repeats, bin_relative


def seed_runs(results: str, metric: str) -> Dict[str, Dict[str, float]]:
    """``{seed: {arch: value}}`` of a results CSV (seed '0' without a seed
    column)."""
    runs: Dict[str, Dict[str, float]] = defaultdict(dict)
    with open(results) as f:
        for row in csv.DictReader(f):
            runs[row.get('seed', '0')][row['arch']] = float(row[metric])
    return runs


def metric_agreement(tables: Dict[str, str], seed: str = '0') -> List[Dict]:
    """How label metrics agree: for every pair of results CSVs
    (``{name: path}`` with ``arch``, ``bin``, ``seed`` and the value,
    e.g. ``top1``, last), the Spearman of their seed-``seed`` values over
    the archs both measured, overall and as the mean in-bin value."""
    values = {}
    for name, path in tables.items():
        with open(path) as f:
            reader = csv.DictReader(f)
            value = reader.fieldnames[-1]
            values[name] = {
                r['arch']: (r['bin'], float(r[value]))
                for r in reader if r.get('seed', seed) == seed
            }
    names = list(values)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = [k for k in values[a] if k in values[b]]
            bins = dict.fromkeys(values[a][k][0] for k in common)
            in_bins = [
                correlation([
                    values[a][k][1] for k in common if values[a][k][0] == name
                ], [
                    values[b][k][1] for k in common if values[a][k][0] == name
                ])['spearman'] for name in bins
            ]
            out.append(
                dict(
                    a=a,
                    b=b,
                    n=len(common),
                    spearman=correlation([values[a][k][1] for k in common],
                                         [values[b][k][1]
                                          for k in common])['spearman'],
                    spearman_bin=_mean(in_bins)))
    return out
