"""Does the label-free search rank subnets like their labeled quality does?

Joins a search's ``candidates.json`` with a CSV of a label metric per arch
(``tools/analysis/label_metric.py``) and compares, side by side, the search
score and the free baselines stored by the search (FLOPs, params and the
proxies, e.g. NASWOT and SynFlow) with the label metric: Spearman and Kendall
overall and inside each bin, with bootstrap 95% intervals; per bin the label
metric of each score's pick, the regret vs the bin's best and the pick's
percentile; a random pick in expectation. When the CSV has several seeds of
some archs, the label metric's own noise is printed beside the spread of
the candidates.

Prints the tables and writes ``rank_correlation.json`` and
``rank_correlation.png`` (one panel per score, bins coloured, picks starred)
to ``--out`` (default: the CSV's folder).

Example::

    python tools/analysis/rank_correlation.py work_dirs/demo/search \\
        work_dirs/demo/probe.csv
"""
import argparse
import csv
import json
import math
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Tuple



def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('search_dir', help='search output folder')
    parser.add_argument('results', help='CSV with an arch column')
    parser.add_argument(
        '--metric',
        help='CSV column to compare with (default: the CSV\'s '
        'value column: top1, bbox_mAP or mIoU)')
    parser.add_argument(
        '--also',
        nargs='+',
        default=[],
        metavar='SEARCH_DIR',
        help='add the search score of other searches of the same '
        'candidates (e.g. other taps or similarities), one column each')
    parser.add_argument(
        '--label-seed',
        default='0',
        help='rows of this seed are the label (CSVs with a seed column); '
        '"mean": the mean over each arch\'s seeds (every arch measured with '
        'the same seeds; the noise floor is then that of the mean)')
    parser.add_argument(
        '--bootstrap',
        type=int,
        default=1000,
        help='bootstrap resamples (0: no intervals)')
    parser.add_argument('--out', help='output folder (default: CSV folder)')
    parser.add_argument(
        '--name',
        help='label metric name: outputs are '
        'rank_correlation-NAME.{json,png}')
    parser.add_argument(
        '--combine',
        nargs='+',
        action='append',
        default=[],
        metavar='COLUMN',
        help='add a score: the mean of the within-bin '
        'ranks of these columns (e.g. --combine params cka-C5pool); '
        'repeat for several')
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of an error (also MMDATA_DEBUG=1)')
    return parser.parse_args()


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
    from mmdata.search.outputs import read_candidates
    from mmdata.utils import ConfigError
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


def load(
        search_dir: str,
        results: str,
        metric: str,
        label_seed: str = '0'
) -> Tuple[List[Dict], List[str], Dict, List[str]]:
    """Rows (one per candidate with a label), their score columns, the
    repeated label values per arch (for the noise floor) and the columns
    that only rank inside a bin."""
    from mmdata.search.outputs import read_candidates
    from mmdata.utils import ConfigError, UserError
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


def format_reliability(report: Dict, label_seed: str) -> str:
    """Whether the label metric can judge the ranking inside bins (the
    decision rule of docs/studies/tiny_lengths.md) and how two runs
    agree."""
    rule, runs = report['can_rank_in_bins'], report['run_agreement']
    lines = []
    if rule:
        verdict = 'yes' if rule['ok'] else 'NO: keep it out of any ' \
            '"A beats B" statement'
        lines.append(f'can this metric rank inside bins? {verdict} (noise '
                     f'std {rule["noise"]:.4f} vs half the mean in-bin std '
                     f'{rule["spread"] / 2:.4f})')
    if runs:
        lines.append(f'two runs (seeds {label_seed} and '
                     f'{int(label_seed) + 1}) over {runs["archs"]} archs: '
                     f'Spearman {_fmt(runs["spearman"])}')
    return '\n'.join(lines)


def _fmt(value, ci=None, digits=2) -> str:
    if value is None:
        return '-'
    text = f'{value:+.{digits}f}'
    if ci:
        text += f' [{ci[0]:+.{digits}f},{ci[1]:+.{digits}f}]'
    return text


def format_report(report: Dict, noise: Dict, metric: str) -> str:
    """The summary table and one table per bin."""
    cols = report['columns']
    lines = [
        f'{"score":<14} {"Spearman all [95% CI]":<24} '
        f'{"Kendall all [95% CI]":<24} {"Spearman bin":>12} '
        f'{"Kendall bin":>11} {"regret":>7} {"pick pct":>8}'
    ]
    for name, c in cols.items():
        a, m = c['all'], c['mean_bin']
        lines.append(
            f'{name:<14} {_fmt(a["spearman"], a.get("spearman_ci")):<24} '
            f'{_fmt(a["kendall"], a.get("kendall_ci")):<24} '
            f'{_fmt(m["spearman"]):>12} {_fmt(m["kendall"]):>11} '
            f'{m["regret"]:7.4f} {m["percentile"]:7.0f}%')
    lines.append('(bin columns: means over bins; regret: bin best minus the '
                 f'pick\'s {metric}; pick pct: % of the bin at or below '
                 'the pick)')
    if noise:
        of_mean = (f', of the mean of {noise["of_mean"]} seeds'
                   if noise.get('of_mean') else '')
        lines.append(
            f'\n{metric} noise floor: std {noise["std"]:.4f}{of_mean}, '
            f'largest spread {noise["max_spread"]:.4f} ({noise["archs"]} '
            f'archs x >= {noise["repeats"]} probe seeds)')
    for b, info in report['bins'].items():
        lines.append(f'\nbin {b}: {info["n"]} candidates, best {metric} '
                     f'{info["best"]:.4f}, spread (std) {info["std"]:.4f}' +
                     (f' = {info["std"] / noise["std"]:.1f}x the noise floor'
                      if noise and noise['std'] > 0 else ''))
        lines.append(f'  {"score":<14} {"Spearman [95% CI]":<24} '
                     f'{"Kendall [95% CI]":<24} {"pick":>7} {"regret":>7} '
                     f'{"pct":>5}')
        for name, c in cols.items():
            r = c['bins'][b]
            lines.append(
                f'  {name:<14} {_fmt(r["spearman"], r.get("spearman_ci")):<24}'
                f' {_fmt(r["kendall"], r.get("kendall_ci")):<24} '
                f'{r["winner"]:7.4f} {r["regret"]:7.4f} '
                f'{r["percentile"]:4.0f}%')
    return '\n'.join(lines)


BASELINES = ('FLOPs', 'params', 'latency')


def paired_tests(rows: List[Dict],
                 columns: List[str],
                 metric: str,
                 num: int,
                 seed: int = 0,
                 searches: List[str] = ()) -> List[Dict]:
    """Every label-free score (the search's and any other non-baseline
    column) against every baseline (FLOPs, params, the proxies, random),
    the scores of several ``searches`` (e.g. taps) against each other, and
    every other score (rankers, combinations) against the first search's,
    the DATA default: :func:`~mmdata.evaluation.ranking.paired_bootstrap`."""
    from mmdata.evaluation.ranking import RANDOM, paired_bootstrap
    from mmdata.search.proxies import PROXIES
    proxies = [c for c in columns if c in PROXIES]
    baselines = [c for c in columns if c in BASELINES] + proxies + [RANDOM]
    scores = [c for c in columns if c not in baselines]
    pairs = [(a, b) for a in scores for b in baselines]
    pairs += [(a, b) for i, a in enumerate(searches) for b in searches[i + 1:]]
    if searches:
        pairs += [(a, searches[0]) for a in scores
                  if a not in searches and not a.startswith('DATA ')]
    return [
        dict(
            score=a,
            baseline=b,
            **paired_bootstrap(rows, a, b, metric, num, seed))
        for a, b in pairs
    ]


def partial_given_params(rows: List[Dict], columns: List[str],
                         metric: str) -> Dict[str, float]:
    """Mean in-bin partial Spearman of each column with the label metric
    given params (what a score adds beyond the parameter count)."""
    from mmdata.evaluation.ranking import mean_partial_spearman
    return {
        c: mean_partial_spearman(rows, c, metric, 'params')
        for c in columns if c != 'params'
    }


def format_pairs(pairs: List[Dict], partial: Dict[str, float]) -> str:
    lines = [
        '\npaired tests (bin-stratified paired bootstrap, 95% '
        'intervals; regret: lower is better)'
    ]
    for p in pairs:
        k, g = p['kendall'], p['regret']
        lines.append(f'{p["score"]} - {p["baseline"]}: dtau_bin '
                     f'{_fmt(k["delta"], k["ci"])}, dregret '
                     f'{_fmt(g["delta"], g["ci"], 4)}')
    lines.append('\npartial Spearman with the label metric given params, '
                 'mean in bins: ' + ', '.join(f'{c} {_fmt(v)}'
                                              for c, v in partial.items()))
    return '\n'.join(lines)


def plot(rows: List[Dict], columns: List[str], report: Dict, metric: str,
         path: str, label: str) -> None:
    """One panel per score column: score vs label, bins coloured, each
    bin's pick starred."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), dpi=80, squeeze=False)
    bins = list(report['bins'])
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, col in zip(axes.flat, columns):
        entry = report['columns'][col]
        for i, b in enumerate(bins):
            inside = [r for r in rows if r['bin'] == b]
            ax.scatter([r[col] for r in inside], [r[metric] for r in inside],
                       s=12,
                       alpha=0.7,
                       color=colors[i % len(colors)],
                       label=b)
            pick = max(inside, key=lambda r: r[col])
            ax.scatter([pick[col]], [pick[metric]],
                       marker='*',
                       s=150,
                       color=colors[i % len(colors)],
                       edgecolors='k')
        ax.set_title(
            f'{col}: rho all {_fmt(entry["all"]["spearman"])}, '
            f'in bins {_fmt(entry["mean_bin"]["spearman"])}',
            fontsize=9)
        ax.set_xlabel(col, fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        if col in ('FLOPs', 'params', 'synflow'):
            ax.set_xscale('log')
    for ax in list(axes.flat)[len(columns):]:
        ax.axis('off')
    axes.flat[0].legend(fontsize=7, title='bin (star: pick)', title_fontsize=7)
    fig.tight_layout()
    from mmdata.utils import atomic_write
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png'))
    plt.close(fig)


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.ranking import (add_rank_mean, can_rank_in_bins,
                                           noise_floor, ranking_report,
                                           run_agreement)
    from mmdata.utils import ConfigError, UserError
    if not osp.isfile(args.results):
        raise UserError(f'results file {args.results} does not exist')
    args.metric = args.metric or value_column(args.results)
    rows, columns, repeats, bin_relative = load(args.search_dir, args.results,
                                                args.metric, args.label_seed)
    searches = columns[:1]
    add_searches(rows, columns, bin_relative, args.search_dir, args.also)
    searches += columns[len(columns) - len(args.also):] if args.also else []
    for parts in args.combine:
        bad = [c for c in parts if c not in columns]
        if bad:
            raise ConfigError(f'--combine {bad}: not a score column; '
                              f'columns: {columns}')
        columns.append(add_rank_mean(rows, parts))
        bin_relative.append(columns[-1])
    report = ranking_report(
        rows, columns, args.metric, args.bootstrap, bin_relative=bin_relative)
    noise = noise_floor(repeats)
    if noise and args.label_seed == 'mean':  # the label is a mean of k runs
        noise = dict(
            noise,
            std=noise['std'] / math.sqrt(noise['repeats']),
            of_mean=noise['repeats'])
    report['noise_floor'] = noise
    report['can_rank_in_bins'] = can_rank_in_bins(report, noise)
    runs = seed_runs(args.results, args.metric)
    first = '0' if args.label_seed == 'mean' else args.label_seed
    report['run_agreement'] = run_agreement(
        runs.get(first, {}), runs.get(str(int(first) + 1), {}))
    if args.bootstrap:
        report['paired'] = paired_tests(
            rows, columns, args.metric, args.bootstrap, searches=searches)
    report['partial_given_params'] = partial_given_params(
        rows, columns, args.metric)
    from mmdata.evaluation.label_metrics import LABEL_METRICS
    label = LABEL_METRICS.get(args.name, args.name or args.metric)
    print(f'label-free scores vs {label} '
          f'({len(rows)} candidates, {len(report["bins"])} bins, '
          f'{args.bootstrap} bootstrap resamples)')
    print(format_report(report, noise, args.metric))
    print(format_reliability(report, first))
    print(
        format_pairs(report.get('paired', []), report['partial_given_params']))
    out = args.out or osp.dirname(osp.abspath(args.results))
    stem = 'rank_correlation' + (f'-{args.name}' if args.name else '')
    from mmdata.utils import atomic_write
    atomic_write(
        osp.join(out, f'{stem}.json'),
        json.dumps(dict(report, rows=rows), indent=1))
    plot(rows, columns, report, args.metric, osp.join(out, f'{stem}.png'),
         label)
    print(f'table and figure in {out}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
