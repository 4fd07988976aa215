"""A label metric of many archs of a supernet: the labels' ranking to
compare the label-free search with (tools/analysis/rank_correlation.py).

``--metric`` chooses it (each in its own CSV):

* ``linear``: BN calibration on a seeded random subset of the labeled
  train split, frozen pooled C5 of that subset and of the test split, a
  multinomial logistic regression solved to convergence (L-BFGS), top-1 on
  the test split. Its readout is 4 x w4 features wide.
* ``linear-fixed``: the same probe on a seeded random projection of the
  standardised pooled C5 to ``--width`` features, so that every arch has a
  readout of the same width.
* ``knn``: weighted kNN top-1 (k=20, cosine, temperature 0.07) on the same
  BN-calibrated pooled C5.
* ``finetune``: the arch exported with the shipped ImageNet-1%
  semi-supervised protocol and fine-tuned end to end by MMEngine's Runner on
  a class-balanced 1% subset of the train split (``--labels-per-class``),
  top-1 on the whole test split (mmdata.evaluation.finetune).
* ``det-map``, ``seg-miou``: the arch exported with a shipped protocol
  (``--protocol``; default: the scenes' Faster R-CNN FPN, FCN) and trained
  by MMEngine's Runner on ``labeled_train``, bbox mAP / mIoU (0-1) on
  ``labeled_val`` (mmdata.evaluation.downstream). CONFIG is not read.

The labeled data: ``--labeled-data DATA.py``, a config naming
``labeled_train`` and ``labeled_val`` (and optionally ``labeled_test``)
datasets in the libraries' own form (an mmpretrain ``CustomDataset``
folder, an mmdet ``CocoDataset``, an mmseg dataset;
mmdata.evaluation.labeled_data). Without it the classification metrics
read CONFIG's probe loaders and det-map / seg-miou the shipped
Fashion-MNIST scenes (``configs/labeled/fashion-scenes_{det,seg}.py``;
``--scenes DIR`` sets their folder).

Several ``--seeds`` of the same archs measure the metric's own noise (the
seed draws the labeled images, the calibration batches, the projection of
``linear-fixed`` is fixed by ``--projection-seed``).

Rows (arch, bin, seed, and top1, bbox_mAP or mIoU) are appended to the CSV
as they are done; re-running skips those already in it. ``CSV.json``
records what the rows were computed from (checkpoint content, data, metric
and its settings): a re-run with anything else is refused instead of mixing
results (``--overwrite`` starts over).

``--shard I/N`` takes every N-th (arch, seed) pair, from the I-th: N
processes run with ``--shard 1/N`` ... ``N/N`` and the same ``--out`` share
the work and the CSV (one row per write, appended).

Example::

    python tools/analysis/label_metric.py CONFIG SUPERNET.pth \\
        --search-dir work_dirs/demo/search --metric knn --out knn.csv
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import (add_cfg_options, add_labeled_data, add_metric,
                         add_shard, tool_parser)


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--search-dir', help='search output folder')
    which.add_argument('--archs', nargs='+', help='archs in paper notation')
    parser.add_argument('--out', required=True, help='CSV to write')
    add_metric(parser, default='linear')
    parser.add_argument(
        '--from',
        dest='source',
        default='student',
        choices=['student', 'teacher'])
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0],
        help='probe seeds (train subset and calibration)')
    parser.add_argument('--calib-batches', type=int, default=10)
    parser.add_argument(
        '--max-train',
        type=int,
        default=10000,
        help='random train images per seed')
    parser.add_argument(
        '--max-test',
        type=int,
        help='test images (default: the whole test split)')
    parser.add_argument(
        '--c',
        type=float,
        default=0.1,
        help='inverse L2 strength of the classifier (0.1 '
        'gave the best test top-1 of 1, 0.1, 0.01 on '
        'Fashion-MNIST)')
    parser.add_argument('--max-iter', type=int, default=1000)
    parser.add_argument(
        '--width',
        type=int,
        default=128,
        help='linear-fixed: features after the projection')
    parser.add_argument(
        '--projection-seed',
        type=int,
        default=0,
        help='linear-fixed: seed of the projection')
    parser.add_argument('--k', type=int, default=20, help='knn: neighbours')
    parser.add_argument(
        '--labels-per-class',
        type=int,
        default=60,
        help='finetune: labeled train images per class')
    parser.add_argument(
        '--epochs',
        type=int,
        default=30,
        help='finetune: epochs over the labeled subset')
    parser.add_argument(
        '--lr',
        type=float,
        default=0.05,
        help='finetune: backbone lr (cosine)')
    parser.add_argument(
        '--work-dir',
        help='finetune, det-map, seg-miou: '
        'scratch folder (default: next to --out)')
    add_labeled_data(
        parser, "CONFIG's probe loaders, for det-map / seg-miou the shipped "
        'Fashion-MNIST scenes')
    parser.add_argument(
        '--scenes',
        help='det-map, seg-miou: the folder of the shipped scenes '
        '(= --data-options data_root=DIR)')
    parser.add_argument(
        '--protocol',
        help='det-map, seg-miou: the export task trained (default: the '
        'scenes protocol; det-map also coco-maskrcnn-fpn, '
        'voc-fasterrcnn-c4, seg-miou cityscapes-fcn)')
    parser.add_argument(
        '--iters',
        type=int,
        help='det-map, seg-miou: training iterations '
        '(default: the protocol\'s 1200)')
    parser.add_argument(
        '--eval-splits',
        nargs='+',
        default=['val'],
        choices=['val', 'test'],
        help='det-map, seg-miou: labeled splits the trained model is tested '
        'on (labeled_val, labeled_test); the value is their mean (each '
        'split also gets a column)')
    add_shard(parser, 'the (arch, seed) pairs')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='discard the rows already in --out')
    add_cfg_options(parser)
    return parser.parse_args()


def candidates(args) -> list:
    """``(arch, bin)`` of ``--archs`` or of the search's candidates."""
    if args.archs:
        from mmdata.space import Arch
        return [(str(Arch.parse(a)), '') for a in args.archs]
    from mmdata.search.outputs import read_candidates
    return [(c.arch, c.bin)
            for c in read_candidates(args.search_dir)['candidates']]


def settings(args):
    from mmdata.evaluation.label_metrics import LabelMetricSettings
    options = dict(args.data_options or {})
    if args.scenes:
        options['data_root'] = args.scenes
    return LabelMetricSettings.from_args(args, data_options=options or None)


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.label_metrics import (LabelRows, measure_rows,
                                                 measurer, signature)
    from mmdata.models.supernet_checkpoint import load_supernet_backbone
    from mmdata.space import Arch
    from mmdata.utils import parse_shard
    i, n = parse_shard(args.shard)
    s = settings(args)
    _, space = load_supernet_backbone(args.checkpoint, args.source)
    archs = candidates(args)
    for arch, _ in archs:
        space.validate(Arch.parse(arch))
    rows = LabelRows(args.out, signature(s, args.checkpoint), s.columns(),
                     args.overwrite)
    pairs = [(seed, a, b) for seed in args.seeds for a, b in archs][i - 1::n]
    scratch = args.work_dir or osp.splitext(args.out)[0] + f'-{args.metric}'
    if n > 1:
        scratch = osp.join(scratch, f'shard{i}')
    seconds = measure_rows(rows, measurer(s, args.checkpoint, scratch), pairs,
                           args.metric)
    if seconds:
        per = sum(seconds.values()) / len(seconds)
        print(f'{args.metric}: {per:.1f} s per (arch, seed)')
    print(f'results in {args.out}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
