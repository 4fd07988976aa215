"""Measure the latency lookup table of a supernet's space on this device.

Times every distinct block shape the space can produce (stem, each stage's
first block for every (in, width) pair, each further block) with warm-up and
repeats (median), and writes the table with the device, torch version,
threads, batch and input size in its header; ``overhead_ms`` (what a whole
network adds to its blocks) is measured on the space's min and max arch.
``--validate N`` then times N random whole subnets end to end and prints
predicted vs measured.

Example::

    python tools/analysis/measure_latency.py \\
      configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py \\
        --input-size 32 --out work_dirs/latency/tiny-cpu.json --validate 20
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='supernet config (its space is used)')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--out', help='table JSON (default: only print)')
    parser.add_argument(
        '--table',
        help='validate this existing table '
        'instead of measuring one')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=21)
    parser.add_argument(
        '--validate',
        type=int,
        default=0,
        metavar='N',
        help='time N random whole subnets against the table')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: stable timings on shared cores)')
    return parser.parse_args()


def median_ms(module, x, device, warmup: int, repeats: int) -> float:
    """Median wall time of ``module(x)`` in milliseconds."""
    import statistics
    import time

    import torch
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: 0)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            sync()
            start = time.perf_counter()
            module(x)
            sync()
            if i >= warmup:
                times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def block_module(shape):
    """A module with the weights layout of ``shape`` (random init)."""
    import torch.nn as nn

    from mmdata.models.backbones.resnet_base import make_res_layer
    bn = dict(type='BN')
    if shape.kind == 'stem':
        return nn.Sequential(
            nn.Conv2d(shape.in_channels, shape.width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(shape.width), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1))
    if shape.kind == 'first':
        return make_res_layer(shape.in_channels, shape.width, 1, shape.stride,
                              1, nn.Conv2d, bn)
    return make_res_layer(shape.width * 4, shape.width, 2, 1, 1, nn.Conv2d,
                          bn)[1]


def main(args: argparse.Namespace) -> None:
    import random

    import torch
    from mmengine.utils import ProgressBar

    from mmdata.errors import ConfigError
    from mmdata.models import SubnetResNet
    from mmdata.space import LatencyTable, ResNetSpace, space_blocks
    from mmdata.utils import load_config

    for name, low in (('input_size', 32), ('batch_size', 1), ('repeats', 1),
                      ('warmup', 0), ('threads', 1)):
        if getattr(args, name) < low:
            raise ConfigError(f"--{name.replace('_', '-')} "
                              f'{getattr(args, name)}: allowed >= {low}')
    if args.out and osp.isdir(args.out):
        raise ConfigError(f'--out {args.out} is a directory (pass the path '
                          'of the table JSON to write)')
    cfg = load_config(args.config)
    space = ResNetSpace.from_dict(cfg.model.backbone.get('space', {}))
    if args.device not in ('cpu',
                           'cuda') and not args.device.startswith('cuda:'):
        raise ConfigError(f'--device {args.device!r}: allowed cpu, cuda')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        raise ConfigError(f'--device {args.device}: no CUDA device here')
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n, size = args.batch_size, args.input_size
    header = dict(
        device=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else 'cpu',
        torch=torch.__version__,
        threads=args.threads,
        batch_size=n,
        input_size=size,
        space=space.to_dict())
    print('settings: ' + ', '.join(f'{k}={v}'
                                   for k, v in header.items() if k != 'space'))
    if args.table:
        table = LatencyTable.load(args.table)
        table.check(
            space, batch_size=n, input_size=size, device=header['device'])
    else:
        shapes = space_blocks(space, size)
        print(f'{len(shapes)} block shapes, {args.repeats} repeats each')
        entries, bar = {}, ProgressBar(len(shapes))
        for shape in shapes:
            module = block_module(shape).to(device).eval()
            x = torch.randn(n, shape.in_channels, *shape.hw, device=device)
            entries[shape.key] = median_ms(module, x, device, args.warmup,
                                           args.repeats)
            bar.update()
        print()
        table = LatencyTable(header, entries)
        # what whole networks add to their blocks (the forward loop, the
        # output tuple): measured on the space's min and max archs
        gaps = [
            median_ms(
                SubnetResNet(arch, out_indices=(3, )).to(device).eval(),
                torch.randn(n, 3, size, size, device=device), device,
                args.warmup, args.repeats) - table.predict(arch)
            for arch in (space.min_arch, space.max_arch)
        ]
        header['overhead_ms'] = sum(gaps) / len(gaps)
        if args.out:
            table.save(args.out)
            print(f'wrote {osp.abspath(args.out)}')
    if args.validate:
        rng = random.Random(args.seed)
        rows = []
        for _ in range(args.validate):
            arch = space.sample(rng)
            model = SubnetResNet(arch, out_indices=(3, )).to(device).eval()
            x = torch.randn(n, 3, size, size, device=device)
            measured = median_ms(model, x, device, args.warmup, args.repeats)
            rows.append((str(arch), table.predict(arch), measured))
        errors = [abs(p - m) / m for _, p, m in rows]
        print(f'{"arch":<46} {"predicted ms":>12} {"measured ms":>11} '
              f'{"error":>6}')
        for (arch, p, m), e in zip(rows, errors):
            print(f'{arch:<46} {p:12.3f} {m:11.3f} {100 * e:5.1f}%')
        print(f'relative error over {len(rows)} archs: mean '
              f'{100 * sum(errors) / len(errors):.1f}%, max '
              f'{100 * max(errors):.1f}%')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.errors import run_cli
    run_cli(lambda: main(args))
