"""Which search settings rank subnets best? Re-run the label-free search of
one supernet with other settings ("levers") and compare each with the same
label metric, side by side with the free baselines.

Each lever is a search (``tools/search.py`` with extra ``--cfg-options``)
into ``WORK_DIR/<lever>/search`` (resumable) scored against ``PROBE_CSV``
(made by ``ranking_benchmark.py`` / ``label_metric.py`` for the same
candidates: the candidates depend only on the bins, their number and the
seed, not on the lever). Prints one row per lever (the search score) and
per baseline, and writes ``levers.json`` and ``levers.md``.

Example::

    python tools/analysis/search_levers.py \\
        configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py \\
        work_dirs/ranking/train/iter_468.pth work_dirs/ranking/probe.csv \\
        --work-dir work_dirs/ranking/levers --levers default tap-C5pool
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import add_bootstrap, add_child_cfg_options, tool_parser

REPO = Path(__file__).resolve().parents[2]


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('search_config')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    parser.add_argument('probe_csv', help='label metric per arch')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--levers',
        nargs='+',
        help='levers of mmdata.evaluation.search_levers.LEVERS (default: '
        'all), e.g. default tap-C5pool cosine')
    parser.add_argument('--candidates', type=int, default=15)
    parser.add_argument('--metric', default='top1')
    add_bootstrap(parser, default=200)
    add_child_cfg_options(parser, 'every search')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.search_levers import search_levers
    options = [
        *args.cfg_options, f'train_cfg.num_candidates={args.candidates}'
    ]
    table = search_levers(args.search_config, args.checkpoint, args.probe_csv,
                          args.work_dir, REPO, options, args.levers,
                          args.metric, args.bootstrap)
    print(table)
    print(f'written {Path(args.work_dir).resolve()}/levers.md and '
          'levers.json')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
