"""Train an exported classification protocol (in1k-linear / in1k-semi-*) of
one subnet on Fashion-MNIST for a few hundred iterations and print its loss
curve: the check behind the protocols' head learning rate
(docs/user_guides/export.md).

``--head plain`` replaces the exported normalised-feature head by the plain
one with ``--lr`` (MoCo's linear protocol: lr 30), to show the divergence.
Batch 32 on one process; the exported lr is scaled from batch 256 by
mmengine's ``auto_scale_lr``.

Example::

    python experiments/classifier_protocol_check.py \\
        work_dirs/tiny/iter_468.pth --task in1k-linear
    python experiments/classifier_protocol_check.py \\
        work_dirs/tiny/iter_468.pth --task in1k-linear --head plain --lr 30
"""
import argparse
import json
import tempfile
from pathlib import Path

TASKS = ('in1k-linear', 'in1k-semi-1pc', 'in1k-semi-10pc')
PIPELINE = [
    dict(type='NumpyToPIL'),
    dict(type='torchvision/Grayscale', num_output_channels=3),
    dict(type='PILToNumpy'),
    dict(type='RandomResizedCrop', scale=32, backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs')
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='tiny Fashion-MNIST supernet')
    parser.add_argument(
        '--arch',
        default='Depth [2,1,3,1] Width '
        '[16,16,32,48,128]',
        help='paper notation')
    parser.add_argument('--task', default='in1k-linear', choices=TASKS)
    parser.add_argument(
        '--head', default='exported', choices=['exported', 'plain'])
    parser.add_argument(
        '--lr',
        type=float,
        default=30.,
        help='lr of the plain head (at batch 32)')
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--data-root', default='data/fashion-mnist')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of an error (also MMDATA_DEBUG=1)')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmengine.runner import Runner

    from mmdata.export import TASKS as EXPORTS
    from mmdata.export import export_subnet
    from mmdata.utils import load_config

    with tempfile.TemporaryDirectory() as tmp:
        export_subnet(args.checkpoint, args.arch, args.task, f'{tmp}/export')
        cfg = load_config(f'{tmp}/export/{EXPORTS[args.task]["config"]}')
        cfg.train_dataloader = dict(
            batch_size=32,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            dataset=dict(
                type='FashionMNIST',
                data_root=args.data_root,
                split='train',
                download=False,
                pipeline=PIPELINE))
        cfg.model.data_preprocessor = dict(
            type='ClsDataPreprocessor',
            mean=[72.9] * 3,
            std=[90.] * 3,
            num_classes=10)
        cfg.model.head.num_classes = 10
        cfg.auto_scale_lr = dict(enable=True, base_batch_size=256)
        if args.head == 'plain':
            cfg.model.neck = dict(type='GlobalAveragePooling')
            cfg.auto_scale_lr.enable = False
            optimizer = cfg.optim_wrapper.optimizer
            if args.task == 'in1k-linear':
                optimizer.lr = args.lr
            else:  # backbone at lr / 100 as the paper's x100 head
                optimizer.lr = args.lr / 100
                cfg.optim_wrapper.paramwise_cfg = dict(
                    custom_keys={'head': dict(lr_mult=100)})
        for hook in cfg.get('custom_hooks', []):
            hook['num_batches'] = 50
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters)
        cfg.param_scheduler = []
        for split in ('val', 'test'):
            cfg[f'{split}_cfg'] = cfg[f'{split}_dataloader'] = None
            cfg[f'{split}_evaluator'] = None
        cfg.default_hooks.checkpoint = dict(
            type='CheckpointHook', interval=10**9)
        cfg.default_hooks.logger = dict(type='LoggerHook', interval=20)
        cfg.log_processor = dict(by_epoch=False, window_size=20)
        cfg.update(
            work_dir=f'{tmp}/work',
            launcher='none',
            randomness=dict(seed=args.seed),
            log_level='WARNING')
        Runner.from_cfg(cfg).train()
        scalars = next(Path(f'{tmp}/work').glob('*/vis_data/scalars.json'))
        losses = [
            json.loads(line)['loss']
            for line in scalars.read_text().splitlines() if '"loss"' in line
        ]
    print(f'{args.task} head={args.head} arch={args.arch}: mean loss per '
          f'20 iterations: ' + ' '.join(f'{v:.3g}' for v in losses))


if __name__ == '__main__':
    args = parse_args()
    from mmdata.errors import run_cli
    run_cli(lambda: main(args))
