"""Linear-probe top-1 of many archs of a supernet: the labels' ranking to
compare the label-free search with (tools/analysis/rank_correlation.py).

For each arch (every candidate of a search, or the given ones): BN
calibration on the labeled train split, frozen pooled features of both
splits, a softmax linear classifier on the train features, top-1 on the test
split. Rows are appended to the CSV as they are done; re-running skips the
archs already in it.

Example::

    python tools/analysis/linear_probe.py CONFIG SUPERNET.pth \\
        --search-dir work_dirs/search/search --out probe.csv
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar

from mmdata.evaluation import (calibrated_features, labeled_loaders,
                               linear_probe_top1, normalizer)
from mmdata.export import build_subnet, load_supernet_backbone
from mmdata.space import Arch, arch_cost

FIELDS = ['arch', 'bin', 'flops', 'params', 'top1']


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--search-dir', help='search output folder')
    which.add_argument('--archs', nargs='+', help='archs in paper notation')
    parser.add_argument('--out', required=True, help='CSV to write')
    parser.add_argument(
        '--from', dest='source', default='student',
        choices=['student', 'teacher'])
    parser.add_argument('--calib-batches', type=int, default=10)
    parser.add_argument('--max-train', type=int, default=5000)
    parser.add_argument('--max-test', type=int, default=2000)
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def candidates(args) -> list:
    if args.archs:
        return [dict(arch=str(Arch.parse(a)), bin='') for a in args.archs]
    path = osp.join(args.search_dir, 'candidates.json')
    if not osp.isfile(path):
        path = osp.join(args.search_dir, 'search', 'candidates.json')
    with open(path) as f:
        return [dict(arch=c['arch'], bin=c['bin'])
                for c in json.load(f)['candidates']]


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        state, space = load_supernet_backbone(args.checkpoint, args.source)
        todo = candidates(args)
        for c in todo:
            space.validate(Arch.parse(c['arch']))
        train_loader, test_loader = labeled_loaders(cfg, args.max_train,
                                                    args.max_test)
    except (ValueError, KeyError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    done = set()
    if osp.isfile(args.out):
        with open(args.out) as f:
            done = {row['arch'] for row in csv.DictReader(f)}
    todo = [c for c in todo if c['arch'] not in done]
    print(f'linear probe of {len(todo)} archs ({len(done)} already in '
          f'{args.out})')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    new_file = not osp.isfile(args.out)
    norm = normalizer(cfg)
    in_channels = cfg.model.backbone.get('in_channels', 3)
    bar = ProgressBar(len(todo)) if todo else None
    with open(args.out, 'a', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        for c in todo:
            arch = Arch.parse(c['arch'])
            model = build_subnet(state, arch, in_channels=in_channels)
            (train_f, train_y), (test_f, test_y) = calibrated_features(
                model, train_loader, test_loader, norm, args.calib_batches,
                progress=False)
            cost = arch_cost(arch, 224)
            writer.writerow(
                dict(
                    arch=c['arch'],
                    bin=c['bin'],
                    flops=cost.flops,
                    params=cost.params,
                    top1=linear_probe_top1(train_f, train_y, test_f, test_y,
                                           steps=args.steps)))
            f.flush()
            bar.update()
    if bar:
        print()
    print(f'results in {args.out}')


if __name__ == '__main__':
    main()
