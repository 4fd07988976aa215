"""Ranking correlation of a label-free search with downstream results
(paper Table 2): Spearman and Kendall (scipy.stats) between the search
scores and a metric column of a CSV, overall, per bin and per tap.

Prints a table, writes ``rank_correlation.json`` and
``rank_correlation.png`` (score vs metric) next to the CSV or to ``--out``.

Example::

    python tools/analysis/rank_correlation.py work_dirs/search/search probe.csv
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from typing import Dict, List

from scipy import stats


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('search_dir', help='search output folder')
    parser.add_argument('results', help='CSV with an arch column')
    parser.add_argument(
        '--metric', default='top1', help='CSV column to correlate with')
    parser.add_argument('--out', help='output folder (default: CSV folder)')
    return parser.parse_args()


def correlate(scores: List[float], metric: List[float]) -> Dict:
    if len(scores) < 3 or len(set(scores)) == 1 or len(set(metric)) == 1:
        return dict(n=len(scores), spearman=None, kendall=None)  # undefined
    rho = stats.spearmanr(scores, metric)
    tau = stats.kendalltau(scores, metric)
    return dict(
        n=len(scores),
        spearman=float(rho.statistic),
        spearman_p=float(rho.pvalue),
        kendall=float(tau.statistic),
        kendall_p=float(tau.pvalue))


def load(search_dir: str, results: str, metric: str) -> List[Dict]:
    path = osp.join(search_dir, 'candidates.json')
    if not osp.isfile(path):
        path = osp.join(search_dir, 'search', 'candidates.json')
    with open(path) as f:
        cands = {c['arch']: c for c in json.load(f)['candidates']}
    with open(results) as f:
        rows = list(csv.DictReader(f))
    if rows and metric not in rows[0]:
        raise KeyError(f'{results} has no column {metric!r}; columns: '
                       f'{list(rows[0])}')
    joined = []
    for row in rows:
        if row['arch'] in cands:
            joined.append(dict(cands[row['arch']], metric=float(row[metric])))
    if not joined:
        raise ValueError(f'no arch of {results} is a candidate of {path}')
    return joined


def table(report: Dict) -> str:
    lines = [f'{"group":<24} {"n":>4} {"Spearman":>9} {"Kendall":>8}']
    for name, r in report.items():
        sp = '-' if r['spearman'] is None else f'{r["spearman"]:.3f}'
        kd = '-' if r['kendall'] is None else f'{r["kendall"]:.3f}'
        lines.append(f'{name:<24} {r["n"]:>4} {sp:>9} {kd:>8}')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    try:
        joined = load(args.search_dir, args.results, args.metric)
    except (KeyError, ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    report = {'all (score)': correlate([j['score'] for j in joined],
                                       [j['metric'] for j in joined])}
    for tap in joined[0]['scores']:
        report[f'tap {tap}'] = correlate([j['scores'][tap] for j in joined],
                                         [j['metric'] for j in joined])
    for name in dict.fromkeys(j['bin'] for j in joined):
        inside = [j for j in joined if j['bin'] == name]
        report[f'bin {name}'] = correlate([j['score'] for j in inside],
                                          [j['metric'] for j in inside])
    print(f'search score vs {args.metric} ({len(joined)} archs)')
    print(table(report))
    out = args.out or osp.dirname(osp.abspath(args.results))
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'rank_correlation.json.tmp'), 'w') as f:
        json.dump(dict(metric=args.metric, report=report), f, indent=2)
    os.replace(
        osp.join(out, 'rank_correlation.json.tmp'),
        osp.join(out, 'rank_correlation.json'))
    plot(joined, args.metric, report['all (score)'],
         osp.join(out, 'rank_correlation.png'))


def plot(joined: List[Dict], metric: str, overall: Dict, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for name in dict.fromkeys(j['bin'] for j in joined):
        inside = [j for j in joined if j['bin'] == name]
        ax.scatter([j['score'] for j in inside], [j['metric'] for j in inside],
                   s=16, label=name)
    rho = overall['spearman']
    ax.set_title('search score vs ' + metric +
                 ('' if rho is None else f' (Spearman {rho:.2f})'))
    ax.set_xlabel('label-free search score (higher = closer to teacher)')
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path + '.tmp', format='png')
    plt.close(fig)
    os.replace(path + '.tmp', path)


if __name__ == '__main__':
    main()
