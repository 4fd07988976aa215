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
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import add_bootstrap, add_combine, tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
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
    add_bootstrap(parser)
    parser.add_argument('--out', help='output folder (default: CSV folder)')
    parser.add_argument(
        '--name',
        help='label metric name: outputs are '
        'rank_correlation-NAME.{json,png}')
    add_combine(parser)
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.correlation_study import correlation_study
    from mmdata.evaluation.label_metrics import LABEL_METRICS
    study = correlation_study(args.search_dir, args.results, args.metric,
                              args.label_seed, args.also, args.combine,
                              args.bootstrap)
    label = LABEL_METRICS.get(args.name, args.name or study.metric)
    print(study.text(label))
    out = args.out or osp.dirname(osp.abspath(args.results))
    study.save(out,
               'rank_correlation' + (f'-{args.name}' if args.name else ''),
               label)
    print(f'table and figure in {out}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
