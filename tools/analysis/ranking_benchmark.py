"""Ranking benchmark: does the label-free search pick better subnets than
FLOPs, params, NASWOT, SynFlow or a random pick, on your labeled data?

One command runs the whole study, each step with the documented tool, all
resumable (re-run the same command after a kill):

1. train the supernet (``tools/train.py``), unless ``--checkpoint`` is given;
2. search every bin with the search score and the proxies
   (``tools/search.py``, ``train_cfg.proxies``);
3. measure every candidate with each label metric (``--label-metrics``:
   ``linear``, ``linear-fixed``, ``knn``, ``finetune``; seed 0;
   ``tools/analysis/label_metric.py``: the labels, used only here);
4. each metric's noise floor: the DATA pick of each bin measured with more
   seeds;
5. compare every score with each label metric (as
   ``tools/analysis/rank_correlation.py`` does): Spearman / Kendall overall
   and in bins with bootstrap intervals, regret and percentile of each score's
   pick per bin, paired bootstrap tests of every score against every
   baseline; and how the label metrics agree with one another.

The training config must define ``probe_train_dataloader`` and
``probe_test_dataloader`` (labeled splits); the search config's dataloader
gives the unlabeled target images. Outputs in ``--work-dir``: ``train/``,
``search/`` (candidates.json with all scores), ``label-METRIC.csv``,
``rank_correlation-METRIC.{json,png}``, ``ranking.txt`` (the tables) and
``summary.md`` (one markdown table of every metric and score).

Example (``make ranking``: the tiny supernet on Fashion-MNIST)::

    python tools/analysis/ranking_benchmark.py \\
      configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py \\
        configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py \\
        --work-dir work_dirs/ranking
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import (add_bootstrap, add_child_cfg_options, add_combine,
                         tool_parser)

REPO = Path(__file__).resolve().parents[2]


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument(
        'train_config',
        help='supernet training config '
        '(with probe_train/test_dataloader)')
    parser.add_argument(
        'search_configs',
        nargs='+',
        metavar='search_config',
        help='search config (SearchLoop); several: the '
        'same candidates searched otherwise (e.g. other '
        'taps), each added as a score column')
    parser.add_argument('--work-dir', default='work_dirs/ranking')
    parser.add_argument(
        '--checkpoint',
        help='use this supernet checkpoint '
        'instead of training one')
    parser.add_argument(
        '--iters',
        type=int,
        help='training iterations '
        '(default: the config\'s; the cosine schedule '
        'follows)')
    parser.add_argument(
        '--candidates', type=int, default=15, help='candidates per bin')
    parser.add_argument(
        '--proxies',
        nargs='*',
        default=['naswot', 'synflow'],
        help='label-free baselines stored by the search')
    parser.add_argument(
        '--rankers',
        nargs='*',
        default=[],
        help='label-free rankers beyond the paper stored by '
        'the search (mmdata/search/rankers.py), e.g. '
        'cka-C5pool rankme-C5pool')
    add_combine(parser)
    parser.add_argument(
        '--label-metrics',
        nargs='+',
        default=['linear', 'linear-fixed', 'knn'],
        help='label metrics of mmdata.evaluation.label_metrics.'
        'LABEL_METRICS (finetune: about 20 s per '
        'candidate and seed on 2 cores, opt-in; det-map, '
        'seg-miou: the Fashion-MNIST scenes\' ground '
        'truths, minutes per candidate and seed)')
    parser.add_argument(
        '--scenes',
        default='data/fashion-scenes',
        help='det-map, seg-miou: folder of the scenes')
    parser.add_argument(
        '--gt-iters',
        type=int,
        help='det-map, seg-miou: training iterations '
        '(default: the protocol\'s)')
    parser.add_argument(
        '--gt-eval-splits',
        nargs='+',
        default=['val'],
        choices=['val', 'test'],
        help='det-map, seg-miou: scenes splits tested on (their mean)')
    parser.add_argument(
        '--probe-train',
        type=int,
        default=10000,
        help='labeled train images per probe seed')
    parser.add_argument(
        '--probe-test',
        type=int,
        help='test images (default: the whole test split)')
    parser.add_argument(
        '--noise-seeds',
        type=int,
        default=5,
        help='probe seeds of the noise floor (incl. seed 0)')
    parser.add_argument(
        '--label-seeds',
        nargs='+',
        default=['1'],
        help='seeds per candidate (0..N-1) of every label metric, N or '
        'METRIC=N for one metric (e.g. 2 det-map=4); N > 1: the label is '
        'their mean and they are the noise floor (instead of --noise-seeds)')
    parser.add_argument(
        '--reliability',
        action='store_true',
        help='also measure every candidate of the first bin '
        'with seed 1: how two independent runs agree')
    add_bootstrap(parser)
    add_child_cfg_options(parser, 'every step')
    parser.add_argument(
        '--train-options',
        nargs='+',
        default=[],
        help='key=value options of the training only')
    parser.add_argument(
        '--search-options',
        nargs='+',
        default=[],
        help='key=value options of the search only '
        '(e.g. train_cfg.source=teacher)')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.ranking_benchmark import RankingBenchmark
    RankingBenchmark(args, REPO).run()


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
