"""kNN top-1 accuracy of frozen features of one arch of a supernet.

The arch's static subnet is taken from the checkpoint (student or teacher),
its BN statistics are recalibrated on the labeled train split, and globally
pooled last-stage features of both splits are compared by cosine similarity
(weighted vote of the ``k`` nearest train samples, temperature 0.07).

The config must define ``probe_train_dataloader`` and
``probe_test_dataloader`` (see the tiny Fashion-MNIST config).

Example::

    python tools/analysis/knn_eval.py CONFIG work_dirs/x/iter_468.pth
    python tools/analysis/knn_eval.py CONFIG --init   # same arch, untrained
"""
import argparse
import json
import sys
from pathlib import Path

from mmengine.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import add_cfg_options, tool_parser


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
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the result as JSON here')
    add_cfg_options(parser)
    args = parser.parse_args()
    if (args.checkpoint is None) == (not args.init):
        parser.error('give a CHECKPOINT or --init (not both)')
    return args


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
from mmengine.registry import DefaultScope

from mmdata.evaluation import (calibrated_features, knn_top1, labeled_loaders,
                               normalizer)
from mmdata.export import build_subnet, load_supernet_backbone
from mmdata.registry import MODELS
from mmdata.space import Arch
from mmdata.utils import atomic_write, load_config, run_cli
# isort: on


def supernet_state(cfg: Config, args) -> tuple:
    """Backbone weights and space: from the checkpoint, or as initialised by
    the config (``--init``)."""
    if not args.init:
        return load_supernet_backbone(args.checkpoint, args.source)
    torch.manual_seed(args.seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        supernet = MODELS.build(cfg.model)
    supernet.init_weights()
    return supernet.backbone.state_dict(), supernet.space


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    state, space = supernet_state(cfg, args)
    arch = dict(
        max=space.max_arch, min=space.min_arch).get(
            args.arch) or space.validate(Arch.from_any(args.arch))
    train_loader, test_loader = labeled_loaders(cfg, args.max_train,
                                                args.max_test)
    model = build_subnet(
        state, arch, in_channels=cfg.model.backbone.get('in_channels', 3))
    print(f'{arch}: BN calibration on {args.calib_batches} batches, then '
          'features of both splits')
    (train_f, train_y), (test_f,
                         test_y) = calibrated_features(model, train_loader,
                                                       test_loader,
                                                       normalizer(cfg),
                                                       args.calib_batches)
    result = dict(
        arch=str(arch),
        source='init' if args.init else args.source,
        checkpoint=args.checkpoint,
        k=args.k,
        top1=knn_top1(train_f, train_y, test_f, test_y, args.k))
    print(json.dumps(result))
    if args.out:
        atomic_write(args.out, json.dumps(result, indent=2))


if __name__ == '__main__':
    run_cli(main)
