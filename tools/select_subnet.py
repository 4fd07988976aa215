"""Pick the subnet of each budget with a few labels: successive halving
over the search's shortlist (mmdata.evaluation.selection).

In each bin of a finished search, the candidates are ordered by a
label-free ``--ranker`` (default: the search's score), the first
``--shortlist`` get a short label run each on the user's labeled data
(``--labeled-data``, a labeled-data config), the better half gets a run
``--eta`` times longer, and so on until one is left. ``--budget`` sets the
compute per bin (in the label metric's fidelity: training iterations for
det-map / seg-miou, epochs for finetune, labeled images for knn / linear /
linear-fixed; ``2runs`` = two full runs, ``20%`` = a fifth of one full run
per candidate), ``--min-run`` the first rung's length directly.

Writes ``WORK_DIR/selection.json`` (every rung's values, the pick, the
compute spent), ``WORK_DIR/best.yaml`` (the picks, in the form
``tools/export_subnet.py --search-dir WORK_DIR --bin BIN`` reads) and
prints one line per bin. The label runs are rows of resumable CSVs in
``--rows-dir`` (default ``WORK_DIR/rows``): a re-run, or another selection
sharing the folder, reuses them; ``--shard I/N`` splits each rung's runs
between N processes.

Example::

    python tools/select_subnet.py work_dirs/scenes/seg \\
        work_dirs/scenes/train/iter_1500.pth --metric seg-miou \\
        --labeled-data configs/labeled/fashion-scenes-1k-labels_seg.py \\
        --shortlist 4 --budget 10% --work-dir work_dirs/select
"""
import argparse
import os.path as osp

from cli_options import (add_cfg_options, add_labeled_data, add_metric,
                         add_shard, tool_parser)


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'search_dir',
        help='a finished search (work dir or '
        'its search/ folder)')
    parser.add_argument('checkpoint', help='the supernet it searched')
    add_metric(parser, required=True)
    add_labeled_data(
        parser, "--config's probe loaders, for det-map / seg-miou the "
        'shipped Fashion-MNIST scenes')
    parser.add_argument(
        '--config',
        help='knn, linear, linear-fixed, finetune: the supernet config (its '
        'probe loaders and preprocessor)')
    add_cfg_options(parser)
    parser.add_argument(
        '--protocol',
        help='det-map, seg-miou: the export task trained (default: the '
        'scenes protocol)')
    parser.add_argument(
        '--ranker',
        default='score',
        help='label-free order of the shortlist: score (the search\'s), '
        'params, flops, random, or a proxy / ranker the search recorded '
        '(naswot, rankme-C5pool, ...)')
    parser.add_argument('--shortlist', type=int, default=4)
    parser.add_argument('--eta', type=int, default=2)
    length = parser.add_mutually_exclusive_group(required=True)
    length.add_argument(
        '--budget', help="per bin: '4800', '2runs' or '20%%' (see above)")
    length.add_argument('--min-run', type=int, help='the first rung\'s length')
    parser.add_argument(
        '--full-run',
        type=int,
        help='a full run\'s length, for --budget Nruns / N%% (default: the '
        'protocol\'s iterations, 30 epochs, 10000 images)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of every label run')
    parser.add_argument('--bins', nargs='+', help='only these bins')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--rows-dir',
        help='label rows (default: '
        'WORK_DIR/rows; share it between selections)')
    add_shard(parser, "each rung's label runs")
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.label_selection import select
    from mmdata.utils import parse_shard
    from mmdata.utils.misc import check_work_dir
    check_work_dir(args.work_dir)
    result = select(
        search_dir=args.search_dir,
        checkpoint=args.checkpoint,
        settings=settings(args),
        ranker=args.ranker,
        shortlist=args.shortlist,
        eta=args.eta,
        budget=args.budget,
        min_run=args.min_run,
        full_run=args.full_run,
        seed=args.seed,
        bins=args.bins,
        work_dir=args.work_dir,
        rows_dir=args.rows_dir or osp.join(args.work_dir, 'rows'),
        shard=parse_shard(args.shard))
    for name, b in result['bins'].items():
        value = b['pick_value']
        print(f"{name}: pick {b['pick']} ({args.metric} "
              f"{'-' if value is None else f'{value:.4f}'} at the last "
              f"rung), {b['spent']} {result['fidelity']} spent "
              f"({100 * b['fraction']:.1f}% of exhaustive)")
    print(f'selection in {osp.join(args.work_dir, "selection.json")}, picks '
          f'in {osp.join(args.work_dir, "best.yaml")}')


def settings(args):
    from mmdata.evaluation.label_metrics import LabelMetricSettings
    return LabelMetricSettings.from_args(args)


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
