"""The results at a glance: each ranker's in-bin Kendall minus params' in
every study setting, with its 95% paired bootstrap interval, from the rows
the studies carried (docs/results.md's table and figure).

Example::

    python tools/analysis/results_table.py --figure docs/results/verdict.png \\
        --update README.md docs/results.md
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import add_bootstrap, tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('--figure', help='also draw it as this PNG')
    parser.add_argument(
        '--update',
        nargs='+',
        default=[],
        metavar='PAGE',
        help='write the table between the <!-- VERDICT --> markers of '
        'these pages (README.md docs/results.md)')
    add_bootstrap(parser)
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.results_table import (ROWS, figure, markdown,
                                                 results_table, study_settings,
                                                 with_table)
    from mmdata.utils import atomic_write
    table = results_table(study_settings(), args.bootstrap)
    text = markdown(table, ROWS)
    print(text)
    for page in args.update:
        with open(page) as f:
            atomic_write(page, with_table(f.read(), text))
        print(f'updated: {page}')
    if args.figure:
        figure(table, ROWS, args.figure)
        print(f'figure: {args.figure}')


if __name__ == '__main__':
    args = parse_args()
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
