"""kNN top-1 accuracy of frozen features of one arch of a supernet.

The arch's static subnet is taken from the checkpoint (student or teacher),
its BN statistics are recalibrated on the labeled train split, and globally
pooled last-stage features of both splits are compared by cosine similarity
(weighted vote of the ``k`` nearest train samples, temperature 0.07).

The config must define ``knn_train_dataloader`` and ``knn_test_dataloader``
(see the tiny Fashion-MNIST config) and ``model.data_preprocessor``'s
mean/std.

Example::

    python tools/analysis/knn_eval.py CONFIG work_dirs/x/iter_400.pth
    python tools/analysis/knn_eval.py CONFIG --init   # same arch, untrained
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

from mmdata import export_subnet_state_dict
from mmdata.export import load_supernet_backbone
from mmdata.models import SubnetResNet
from mmdata.registry import MODELS
from mmdata.search import calibrate_bn
from mmdata.space import Arch


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='supernet checkpoint')
    parser.add_argument(
        '--init',
        action='store_true',
        help='evaluate the arch at initialisation (no checkpoint)')
    parser.add_argument(
        '--arch', default='max', help="'max', 'min' or paper notation")
    parser.add_argument(
        '--from', dest='source', default='student',
        choices=['student', 'teacher'])
    parser.add_argument('--k', type=int, default=20)
    parser.add_argument('--calib-batches', type=int, default=20)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the result as JSON here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if (args.checkpoint is None) == (not args.init):
        parser.error('give a CHECKPOINT or --init (not both)')
    return args


def normalizer(cfg: Config):
    pre = cfg.model.get('data_preprocessor', {})
    mean = torch.tensor(pre.get('mean', [0., 0., 0.])).view(1, -1, 1, 1)
    std = torch.tensor(pre.get('std', [1., 1., 1.])).view(1, -1, 1, 1)
    return lambda x: (x.float() - mean) / std


def images_and_labels(loader, norm):
    for batch in loader:
        labels = torch.tensor([s.gt_label.item() for s in batch['data_samples']])
        yield norm(batch['inputs']), labels


@torch.no_grad()
def extract(model, loader, norm, desc: str):
    feats, labels = [], []
    bar = ProgressBar(len(loader))
    print(f'extracting {desc} features')
    for images, target in images_and_labels(loader, norm):
        out = model(images)[-1].mean(dim=(2, 3))
        feats.append(F.normalize(out, dim=1))
        labels.append(target)
        bar.update()
    print()
    return torch.cat(feats), torch.cat(labels)


def knn_top1(train_f, train_y, test_f, test_y, k: int, t: float = 0.07,
             num_classes: int = 0) -> float:
    """Weighted kNN top-1 accuracy (cosine similarity, exp(sim / t))."""
    num_classes = num_classes or int(train_y.max()) + 1
    correct = 0
    for start in range(0, len(test_f), 512):
        sim = test_f[start:start + 512] @ train_f.t()
        top_sim, top_idx = sim.topk(k, dim=1)
        votes = torch.zeros(len(top_idx), num_classes)
        votes.scatter_add_(1, train_y[top_idx], (top_sim / t).exp())
        correct += (votes.argmax(1) == test_y[start:start + 512]).sum().item()
    return correct / len(test_f)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    for key in ('knn_train_dataloader', 'knn_test_dataloader'):
        if key not in cfg:
            sys.exit(f'error: {args.config} defines no {key}')

    torch.manual_seed(args.seed)
    if args.init:  # the supernet as initialised by the config
        with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
            supernet = MODELS.build(cfg.model)
        supernet.init_weights()
        state, space = supernet.backbone.state_dict(), supernet.space
    else:
        state, space = load_supernet_backbone(args.checkpoint, args.source)
    special = dict(max=space.max_arch, min=space.min_arch)
    arch = special.get(args.arch) or Arch.from_any(args.arch)
    space.validate(arch)
    in_channels = cfg.model.backbone.get('in_channels', 3)
    model = SubnetResNet(arch, in_channels=in_channels)
    model.load_state_dict(export_subnet_state_dict(state, arch))

    norm = normalizer(cfg)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        train_loader = Runner.build_dataloader(cfg.knn_train_dataloader)
        test_loader = Runner.build_dataloader(cfg.knn_test_dataloader)
    print(f'calibrating BN of {arch} on {args.calib_batches} batches')
    calibrate_bn(model, (x for x, _ in images_and_labels(train_loader, norm)),
                 args.calib_batches, progress=True)
    print()
    train_f, train_y = extract(model, train_loader, norm, 'train')
    test_f, test_y = extract(model, test_loader, norm, 'test')
    acc = knn_top1(train_f, train_y, test_f, test_y, args.k)
    result = dict(
        arch=str(arch),
        source='init' if args.init else args.source,
        checkpoint=args.checkpoint,
        k=args.k,
        top1=acc)
    print(json.dumps(result))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
