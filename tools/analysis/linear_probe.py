"""Linear-probe top-1 of many archs of a supernet: the labels' ranking to
compare the label-free search with (tools/analysis/rank_correlation.py).

For each arch (every candidate of a search, or the given ones) and probe
seed: BN calibration on a seeded random subset of the labeled train split,
frozen pooled features of that subset and of the test split, a multinomial
logistic regression solved to convergence (L-BFGS), top-1 on the test split.
Several ``--seeds`` of the same archs measure the probe's own noise (the
seed draws the training images and the calibration batches).

Rows (arch, bin, seed, top1) are appended to the CSV as they are done;
re-running skips those already in it. ``CSV.json`` records what the rows
were computed from (checkpoint content, data, probe settings): a re-run
with anything else is refused instead of mixing results (``--overwrite``
starts over).

Example::

    python tools/analysis/linear_probe.py CONFIG SUPERNET.pth \\
        --search-dir work_dirs/demo/search --out probe.csv
"""
import argparse
import csv
import json
import os
import os.path as osp

from mmengine.config import DictAction


FIELDS = ['arch', 'bin', 'seed', 'top1']


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
    parser.add_argument('--seeds', type=int, nargs='+', default=[0],
                        help='probe seeds (train subset and calibration)')
    parser.add_argument('--calib-batches', type=int, default=10)
    parser.add_argument('--max-train', type=int, default=10000,
                        help='random train images per seed')
    parser.add_argument('--max-test', type=int,
                        help='test images (default: the whole test split)')
    parser.add_argument('--c', type=float, default=0.1,
                        help='inverse L2 strength of the classifier (0.1 '
                        'gave the best test top-1 of 1, 0.1, 0.01 on '
                        'Fashion-MNIST)')
    parser.add_argument('--max-iter', type=int, default=1000)
    parser.add_argument('--overwrite', action='store_true',
                        help='discard the rows already in --out')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--debug', action='store_true',
        help='show the traceback of an error (also MMDATA_DEBUG=1)')
    return parser.parse_args()


def candidates(args) -> list:
    from mmdata.utils import UserError
    if args.archs:
        from mmdata.space import Arch
        return [dict(arch=str(Arch.parse(a)), bin='') for a in args.archs]
    path = osp.join(args.search_dir, 'candidates.json')
    if not osp.isfile(path):
        raise UserError(f'no candidates.json in {args.search_dir} (pass the '
                        'search/ folder of a search work dir)')
    with open(path) as f:
        return [dict(arch=c['arch'], bin=c['bin'])
                for c in json.load(f)['candidates']]


def signature(args, cfg) -> dict:
    """What the rows depend on, beside the arch and the seed."""
    from mmdata.utils import file_sha256
    return dict(
        checkpoint_sha256=file_sha256(args.checkpoint),
        source=args.source,
        data=[json.loads(json.dumps(cfg[k].dataset, default=str))
              for k in ('probe_train_dataloader', 'probe_test_dataloader')],
        calib_batches=args.calib_batches,
        max_train=args.max_train,
        max_test=args.max_test,
        c=args.c)


def done_rows(args, sig: dict) -> set:
    """``(arch, seed)`` already in the CSV; refuses a CSV made otherwise."""
    from mmdata.utils import WorkDirError, atomic_write
    from mmdata.utils.files import identity_diff
    side = args.out + '.json'
    if args.overwrite:
        for path in (args.out, side):
            if osp.exists(path):
                os.remove(path)
    if osp.isfile(args.out):
        with open(side) if osp.isfile(side) else open(os.devnull) as f:
            saved = json.loads(f.read() or '{}')
        diff = identity_diff(saved, json.loads(json.dumps(sig)))
        if diff:
            raise WorkDirError(
                f'{args.out} holds probe results computed differently '
                f"({'; '.join(diff)}); pass --overwrite or another --out")
        with open(args.out) as f:
            text = f.read()
        if text and not text.endswith('\n'):  # a row cut by a kill
            text = text[:text.rfind('\n') + 1]
            atomic_write(args.out, text)
        return {(r['arch'], r['seed'])
                for r in csv.DictReader(text.splitlines())}
    atomic_write(side, json.dumps(sig, indent=1))
    atomic_write(args.out, ','.join(FIELDS) + '\n')
    return set()


def main(args: argparse.Namespace) -> None:
    from mmdata.utils import UserError, load_config
    from mmengine.utils import ProgressBar

    from mmdata.evaluation import (calibrated_features, labeled_loaders,
                                   linear_probe_top1, normalizer)
    from mmdata.export import build_subnet, load_supernet_backbone
    from mmdata.space import Arch
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    state, space = load_supernet_backbone(args.checkpoint, args.source)
    archs = candidates(args)
    for c in archs:
        space.validate(Arch.parse(c['arch']))
    done = done_rows(args, signature(args, cfg))
    todo = [(seed, c) for seed in args.seeds for c in archs
            if (c['arch'], str(seed)) not in done]
    print(f'linear probe: {len(todo)} (arch, seed) pairs to do, '
          f'{len(done)} already in {args.out}')
    norm = normalizer(cfg)
    in_channels = cfg.model.backbone.get('in_channels', 3)
    bar = ProgressBar(len(todo)) if todo else None
    loaders = {}
    with open(args.out, 'a', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        for seed, c in todo:
            if seed not in loaders:
                loaders[seed] = labeled_loaders(cfg, args.max_train,
                                                args.max_test, seed)
            model = build_subnet(state, Arch.parse(c['arch']),
                                 in_channels=in_channels)
            (train_f, train_y), (test_f, test_y) = calibrated_features(
                model, *loaders[seed], norm, args.calib_batches,
                progress=False)
            try:
                top1 = linear_probe_top1(train_f, train_y, test_f, test_y,
                                         c=args.c, max_iter=args.max_iter)
            except UserError as err:
                print()  # after the progress bar
                raise type(err)(f'{err} ({c["arch"]}, seed {seed})')
            writer.writerow(dict(arch=c['arch'], bin=c['bin'], seed=seed,
                                 top1=f'{top1:.6f}'))
            f.flush()
            bar.update()
    if bar:
        print()
    print(f'results in {args.out}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
