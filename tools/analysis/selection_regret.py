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
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
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
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation import selection_regret as regret
    from mmdata.utils import atomic_write
    truth = regret.truth_means(args.truth)
    groups = regret.judged_bins(args.search_dir, truth, args.bins)
    rows = regret.ranker_rows(groups, truth, args.rankers)
    for item in args.selection:
        folder, _, name = item.partition('=')
        rows += regret.selection_rows(folder, name or folder, groups, truth)
    print(regret.markdown(rows))
    print('\n'.join(
        regret.report_lines(rows, groups, args.truth, args.judge,
                            args.rankers)))
    if args.rows_dir:
        print('\n'.join(
            regret.fidelity_lines(args.rows_dir, groups, truth, args.rankers)))
    if args.out:
        goals = regret.judged_goals(rows, args.judge, args.rankers)
        atomic_write(args.out,
                     json.dumps(dict(rows=rows, goals=goals), indent=1))


if __name__ == '__main__':
    args = parse_args()
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
