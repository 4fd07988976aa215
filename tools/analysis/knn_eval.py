"""kNN top-1 accuracy of frozen features of one arch of a supernet.

The arch's static subnet is taken from the checkpoint (student or teacher),
its BN statistics are recalibrated on the labeled train split, and globally
pooled last-stage features of both splits are compared by cosine similarity
(weighted vote of the ``k`` nearest train samples, temperature 0.07).

The config must define ``probe_train_dataloader`` and
``probe_test_dataloader`` (see the tiny Fashion-MNIST config);
``--labeled-data`` replaces their datasets with the user's labeled data
(``labeled_train``, ``labeled_val``; mmdata.evaluation.labeled_data).

Example::

    python tools/analysis/knn_eval.py CONFIG work_dirs/x/iter_468.pth
    python tools/analysis/knn_eval.py CONFIG --init   # same arch, untrained
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import add_cfg_options, add_labeled_data, tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='supernet checkpoint')
    parser.add_argument(
        '--init',
        action='store_true',
        help='evaluate the arch at initialisation (no checkpoint)')
    parser.add_argument(
        '--arch', default='max', help="'max', 'min' or paper notation")
    parser.add_argument(
        '--from',
        dest='source',
        default='student',
        choices=['student', 'teacher'])
    parser.add_argument('--k', type=int, default=20)
    parser.add_argument('--calib-batches', type=int, default=20)
    parser.add_argument('--max-train', type=int, help='first N train images')
    parser.add_argument('--max-test', type=int, help='first N test images')
    parser.add_argument(
        '--seed', type=int, default=0, help='--init: seed of the weights')
    parser.add_argument('--out', help='write the result as JSON here')
    add_labeled_data(parser, "CONFIG's probe loaders")
    add_cfg_options(parser)
    args = parser.parse_args()
    if (args.checkpoint is None) == (not args.init):
        parser.error('give a CHECKPOINT or --init (not both)')
    return args


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.frozen_features import initial_backbone
    from mmdata.evaluation.label_metrics import (LabelMetricSettings,
                                                 frozen_measurer)
    from mmdata.export import load_supernet_backbone
    from mmdata.space import Arch
    from mmdata.utils import atomic_write
    settings = LabelMetricSettings.from_args(args, metric='knn')
    if args.init:
        state, space = initial_backbone(settings.probe_config(), args.seed)
    else:
        state, space = load_supernet_backbone(args.checkpoint, args.source)
    arch = dict(
        max=space.max_arch, min=space.min_arch).get(
            args.arch) or space.validate(Arch.from_any(args.arch))
    print(f'{arch}: BN calibration on {args.calib_batches} batches, then '
          'features of both splits')
    top1 = frozen_measurer(settings, state, progress=True)(arch, None)['top1']
    result = dict(
        arch=str(arch),
        source='init' if args.init else args.source,
        checkpoint=args.checkpoint,
        k=args.k,
        top1=top1)
    print(json.dumps(result))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=2))


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
