"""The regret of label-free picks and of selections (tools/select_subnet.py)
against ground-truth rows they never read.

For every bin of the search: each ``--rankers`` pick (no labels; ``random``
in expectation) and each ``--selection`` pick, with its ground-truth
percentile inside the bin, its gap to the bin's best and the compute it
spent (fraction of one full label run per candidate). Prints a markdown
table; ``--out`` also writes the rows as JSON.

Example::

    python tools/analysis/selection_regret.py work_dirs/scenes/seg \\
        --truth docs/studies/scenes/scenes-study/label-seg-miou.csv \\
        --selection work_dirs/select/seg-score-b1 --bins 9-13.5MFLOPs@96px
"""
import argparse
import glob
import json
import re


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('search_dir', help='the search the picks come from')
    parser.add_argument(
        '--truth',
        nargs='+',
        required=True,
        help='ground-truth label-metric CSVs (the mean over their rows)')
    parser.add_argument(
        '--rankers',
        nargs='+',
        default=['score', 'params', 'flops', 'random'],
        help='label-free pickers: score, params, flops, random, proxies and '
        'rankers the search recorded')
    parser.add_argument(
        '--selection',
        nargs='+',
        default=[],
        metavar='DIR[=NAME]',
        help='selection work dirs (selection.json), optionally named')
    parser.add_argument(
        '--judge',
        nargs='+',
        default=[],
        metavar='NAME',
        help='selections judged by docs/selection.md\'s rule against the '
        'label-free --rankers')
    parser.add_argument(
        '--rows-dir',
        help='the selections\' label rows (select_subnet.py --rows-dir): '
        'also print each rung\'s Kendall tau with the ground truth')
    parser.add_argument('--bins', nargs='+', help='only these bins')
    parser.add_argument('--out', help='JSON of every row')
    parser.add_argument('--debug', action='store_true')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.errors import DataError
    from mmdata.evaluation.selection_regret import (goal_met, markdown,
                                                    noise_floor, ranker_rows,
                                                    selection_rows, summary,
                                                    truth_means)
    from mmdata.search import by_bin as group_by_bin
    from mmdata.search import read_candidates
    from mmdata.utils import atomic_write
    truth = truth_means(args.truth)
    by_bin = {
        b: records
        for b, records in group_by_bin(
            read_candidates(args.search_dir)['candidates']).items()
        if not args.bins or b in args.bins
    }
    missing = [
        r.arch for rs in by_bin.values() for r in rs if r.arch not in truth
    ]
    if missing:
        raise DataError(f'{len(missing)} candidates have no ground-truth row '
                        f'(e.g. {missing[0]}); pass --bins with measured bins')
    rows = ranker_rows(by_bin, truth, args.rankers)
    for item in args.selection:
        folder, _, name = item.partition('=')
        rows += selection_rows(folder, name or folder, by_bin, truth)
    print(markdown(rows))
    for name, records in by_bin.items():
        floor = noise_floor(args.truth, [r.arch for r in records])
        print(f'- {name}: ground-truth noise (mean standard error of an '
              f"arch's mean) {floor:.4f}")
    summaries = summary(rows)
    done = {s['strategy'] for s in summaries}
    goals = [
        goal_met(summaries, name, args.rankers) for name in args.judge
        if name in done
    ]
    for g in goals:
        print(f"- {g['strategy']}: every pick in the top quartile: "
              f"{'yes' if g['top_quartile'] else 'no'}; mean regret below "
              f"every label-free ranker's (best: {g['best_label_free']}): "
              f"{'yes' if g['below_label_free'] else 'no'}; goal "
              f"{'met' if g['met'] else 'not met'}")
    if args.rows_dir:
        print_fidelity(args.rows_dir, by_bin, truth, args.rankers)
    if args.out:
        atomic_write(args.out,
                     json.dumps(dict(rows=rows, goals=goals), indent=1))


def print_fidelity(rows_dir, by_bin, truth, rankers) -> None:
    """Each rung's and each label-free ranker's Kendall tau with the ground
    truth inside each bin."""
    from mmdata.evaluation.selection import ranker_values
    from mmdata.evaluation.selection_regret import (fidelity_kendall,
                                                    truth_means)
    rung = re.compile(r'-(?:iters|max-train|epochs)(\d+)\.csv$')
    rungs = {
        int(rung.search(path).group(1)): truth_means([path])
        for path in glob.glob(f'{rows_dir}/*.csv') if rung.search(path)
    }
    for name, records in by_bin.items():
        archs = [r.arch for r in records]
        free = {
            r: dict(zip(archs, ranker_values(records, r)))
            for r in rankers if r != 'random'
        }
        taus = fidelity_kendall(rungs, free, archs, truth)
        print(f'- {name}, Kendall tau with the ground truth: ' +
              '; '.join(f'{k} {t:+.2f} (n={n})' for k, (t, n) in taus.items()))


if __name__ == '__main__':
    args = parse_args()
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
