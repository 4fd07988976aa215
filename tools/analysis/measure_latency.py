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


def main(args: argparse.Namespace) -> None:
    from mmdata.errors import ConfigError
    from mmdata.models.latency import (TimingSettings, format_validation,
                                       measure_table, validate_table)
    from mmdata.space import LatencyTable, ResNetSpace
    from mmdata.utils import load_config
    settings = TimingSettings(args.device, args.batch_size, args.input_size,
                              args.warmup, args.repeats, args.threads)
    if args.out and osp.isdir(args.out):
        raise ConfigError(f'--out {args.out} is a directory (pass the path '
                          'of the table JSON to write)')
    space = ResNetSpace.from_dict(
        load_config(args.config).model.backbone.get('space', {}))
    header = settings.header(space)
    print('settings: ' + ', '.join(f'{k}={v}'
                                   for k, v in header.items() if k != 'space'))
    if args.table:
        table = LatencyTable.load(args.table)
        table.check(
            space,
            batch_size=settings.batch_size,
            input_size=settings.input_size,
            device=header['device'])
    else:
        table = measure_table(space, settings)
        if args.out:
            table.save(args.out)
            print(f'wrote {osp.abspath(args.out)}')
    if args.validate:
        print(
            format_validation(
                validate_table(table, space, settings, args.validate,
                               args.seed)))


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.errors import run_cli
    run_cli(lambda: main(args))
