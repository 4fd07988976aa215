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
* ``det-map``, ``seg-miou`` (the Fashion-MNIST scenes of
  ``tools/misc/prepare_fashion_scenes.py`` in ``--scenes``): the arch
  exported with the shipped scenes protocol (Faster R-CNN FPN, FCN) and
  trained by MMEngine's Runner on the train scenes, bbox mAP / mIoU (0-1) on
  the val scenes (mmdata.evaluation.downstream). CONFIG is not read.

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
import csv
import json
import os
import os.path as osp
import re
import shutil
import time

from mmengine.config import DictAction

METRICS = ('linear', 'linear-fixed', 'knn', 'finetune', 'det-map', 'seg-miou')
SCENE_METRICS = {'det-map': 'bbox_mAP', 'seg-miou': 'mIoU'}  # -> column


def fields(metric: str, splits=('val', )) -> list:
    """The CSV columns of ``metric``'s results; a scenes metric tested on
    several splits also has one column per split before the mean (last)."""
    value = SCENE_METRICS.get(metric, 'top1')
    each = [f'{value}@{s}' for s in splits] if len(splits) > 1 else []
    return ['arch', 'bin', 'seed', *each, value]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument('--search-dir', help='search output folder')
    which.add_argument('--archs', nargs='+', help='archs in paper notation')
    parser.add_argument('--out', required=True, help='CSV to write')
    parser.add_argument('--metric', default='linear', choices=METRICS)
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
    parser.add_argument(
        '--scenes',
        default='data/fashion-scenes',
        help='det-map, seg-miou: folder of the scenes')
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
        help='det-map, seg-miou: scenes splits the trained model is tested '
        'on; the value is their mean (each split also gets a column)')
    parser.add_argument(
        '--shard',
        default='1/1',
        metavar='I/N',
        help='do every N-th (arch, seed) pair, from the I-th: '
        'N processes share one --out')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='discard the rows already in --out')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of an error (also MMDATA_DEBUG=1)')
    return parser.parse_args()


def candidates(args) -> list:
    if args.archs:
        from mmdata.space import Arch
        return [dict(arch=str(Arch.parse(a)), bin='') for a in args.archs]
    from mmdata.search.outputs import read_candidates
    return [
        dict(arch=c['arch'], bin=c['bin'])
        for c in read_candidates(args.search_dir)['candidates']
    ]


def signature(args, cfg) -> dict:
    """What the rows depend on, beside the arch and the seed."""
    from mmdata.models.supernet_checkpoint import supernet_weights_sha256
    sig = dict(
        supernet_weights_sha256=supernet_weights_sha256(args.checkpoint),
        metric=args.metric,
        source=args.source)
    if args.metric in SCENE_METRICS:
        from mmdata.evaluation.downstream import settings_identity
        return dict(sig, **settings_identity(downstream_settings(args)))
    sig.update(data=[
        json.loads(json.dumps(cfg[k].dataset, default=str))
        for k in ('probe_train_dataloader', 'probe_test_dataloader')
    ])
    if args.metric == 'finetune':
        from mmdata.evaluation.finetune import settings_identity
        return dict(sig, **settings_identity(finetune_settings(args)))
    sig.update(
        calib_batches=args.calib_batches,
        max_train=args.max_train,
        max_test=args.max_test)
    if args.metric == 'knn':
        return dict(sig, k=args.k)
    sig.update(c=args.c)
    if args.metric == 'linear-fixed':
        sig.update(width=args.width, projection_seed=args.projection_seed)
    return sig


def check_numbers(args) -> None:
    """Every number of the metrics in its valid range."""
    from mmdata.utils import ConfigError
    for name in ('calib_batches', 'max_train', 'max_test', 'max_iter', 'width',
                 'k', 'labels_per_class', 'epochs', 'iters'):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: "
                              'allowed >= 1')
    for name in ('c', 'lr'):
        value = getattr(args, name)
        if not 0 < value < float('inf'):
            raise ConfigError(f'--{name} {value}: allowed: a finite number '
                              '> 0')
    shard(args)


def shard(args) -> tuple:
    """``(i, n)`` of ``--shard I/N``, 1 <= I <= N."""
    from mmdata.utils import ConfigError
    match = re.fullmatch(r'(\d+)/(\d+)', args.shard)
    i, n = (int(g) for g in match.groups()) if match else (0, 0)
    if not 1 <= i <= n:
        raise ConfigError(f'--shard {args.shard}: allowed I/N with '
                          '1 <= I <= N, e.g. 1/2 and 2/2')
    return i, n


def finetune_settings(args):
    from mmdata.evaluation.finetune import FinetuneSettings
    return FinetuneSettings(
        labels_per_class=args.labels_per_class, epochs=args.epochs, lr=args.lr)


def downstream_settings(args):
    from mmdata.evaluation.downstream import DownstreamSettings
    return DownstreamSettings(
        metric=args.metric,
        data_root=args.scenes,
        iters=args.iters,
        splits=args.eval_splits)


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
                f'{args.out} holds label-metric results computed differently '
                f"({'; '.join(diff)}); pass --overwrite or another --out")
        with open(args.out) as f:
            text = f.read()
        if text and not text.endswith('\n'):  # a row cut by a kill
            text = text[:text.rfind('\n') + 1]
            atomic_write(args.out, text)
        return {(r['arch'], r['seed'])
                for r in csv.DictReader(text.splitlines())}
    atomic_write(side, json.dumps(sig, indent=1))
    try:  # exclusive: a shard started at the same time may have made it
        with open(args.out, 'x') as f:
            f.write(','.join(fields(args.metric, args.eval_splits)) + '\n')
    except FileExistsError:
        return done_rows(args, sig)
    return set()


def main(args: argparse.Namespace) -> None:
    from mmengine.utils import ProgressBar

    from mmdata.models.supernet_checkpoint import load_supernet_backbone
    from mmdata.space import Arch
    from mmdata.utils import UserError, load_config
    check_numbers(args)
    scenes = args.metric in SCENE_METRICS
    cfg = None if scenes else load_config(args.config)
    if args.cfg_options and not scenes:
        cfg.merge_from_dict(args.cfg_options)
    _, space = load_supernet_backbone(args.checkpoint, args.source)
    archs = candidates(args)
    for c in archs:
        space.validate(Arch.parse(c['arch']))
    done = done_rows(args, signature(args, cfg))
    i, n = shard(args)
    pairs = [(seed, c) for seed in args.seeds for c in archs][i - 1::n]
    todo = [(seed, c) for seed, c in pairs
            if (c['arch'], str(seed)) not in done]
    print(f'{args.metric}: {len(todo)} (arch, seed) pairs to do, '
          f'{len(done)} already in {args.out}')
    if scenes:
        measure = measure_downstream(args)
    elif args.metric == 'finetune':
        measure = measure_finetune(args, cfg)
    else:
        measure = measure_frozen(args, cfg)
    columns = fields(args.metric, args.eval_splits)
    bar = ProgressBar(len(todo)) if todo else None
    start = time.perf_counter()
    with open(args.out, 'a', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        for seed, c in todo:
            try:
                value = measure(Arch.parse(c['arch']), seed)
            except UserError as err:
                print()  # after the progress bar
                raise type(err)(f'{err} ({c["arch"]}, seed {seed})')
            values = value if isinstance(value, dict) else {columns[-1]: value}
            writer.writerow({
                'arch': c['arch'],
                'bin': c['bin'],
                'seed': seed,
                **{
                    k: f'{v:.6f}'
                    for k, v in values.items()
                }
            })
            f.flush()
            bar.update()
    if bar:
        seconds = (time.perf_counter() - start) / len(todo)
        print(f'\n{args.metric}: {seconds:.1f} s per (arch, seed)')
    print(f'results in {args.out}')


def measure_frozen(args, cfg):
    """``(arch, seed) -> top1`` of a frozen-feature metric."""
    from mmdata.evaluation import (calibrated_features, fixed_projection,
                                   knn_top1, labeled_loaders,
                                   linear_probe_top1, normalizer)
    from mmdata.export import build_subnet, load_supernet_backbone
    state, _ = load_supernet_backbone(args.checkpoint, args.source)
    norm = normalizer(cfg)
    in_channels = cfg.model.backbone.get('in_channels', 3)
    loaders = {}

    def measure(arch, seed: int) -> float:
        if seed not in loaders:
            loaders[seed] = labeled_loaders(cfg, args.max_train, args.max_test,
                                            seed)
        model = build_subnet(state, arch, in_channels=in_channels)
        (train_f, train_y), (test_f, test_y) = calibrated_features(
            model, *loaders[seed], norm, args.calib_batches, progress=False)
        if args.metric == 'knn':
            return knn_top1(train_f, train_y, test_f, test_y, args.k)
        if args.metric == 'linear-fixed':
            train_f, test_f = fixed_projection(train_f, test_f, args.width,
                                               args.projection_seed)
        return linear_probe_top1(
            train_f, train_y, test_f, test_y, c=args.c, max_iter=args.max_iter)

    return measure


def _scratch(args, name: str, seed: int) -> str:
    scratch = args.work_dir or osp.splitext(args.out)[0] + f'-{name}'
    i, n = shard(args)
    return osp.join(scratch, f'seed{seed}' + (f'-shard{i}' if n > 1 else ''))


def measure_downstream(args):
    """``(arch, seed) -> {column: value}`` of a scenes ground truth: the
    mean over the tested splits, and each split's when there are several."""
    from mmdata.evaluation.downstream import downstream_metric
    settings = downstream_settings(args)
    columns = fields(args.metric, settings.splits)[3:]

    def measure(arch, seed: int) -> dict:
        folder = _scratch(args, args.metric, seed)
        try:
            each = downstream_metric(args.checkpoint, arch, settings, folder,
                                     seed, args.source)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        mean = sum(each.values()) / len(each)
        return dict(zip(columns, [*each.values(), mean][-len(columns):]))

    return measure


def measure_finetune(args, cfg):
    """``(arch, seed) -> top1`` of the fine-tuning metric."""
    from mmdata.evaluation.finetune import finetune_top1
    settings = finetune_settings(args)

    def measure(arch, seed: int) -> float:
        folder = _scratch(args, 'finetune', seed)
        try:
            return finetune_top1(args.checkpoint, arch, cfg, folder, seed,
                                 settings, args.source)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return measure


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
