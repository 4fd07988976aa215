"""Export a subnet of a supernet checkpoint for fine-tuning.

Writes ``backbone.pth`` (a plain SubnetResNet state dict), ``arch.yaml`` and
a config that inherits mmdet's / mmseg's / mmpretrain's own config.

Examples::

    python tools/export_subnet.py SUPERNET.pth --search-dir work_dirs/s \\
        --bin 3-4GFLOPs@224px --task coco-maskrcnn-fpn \\
        --out work_dirs/export/coco
    python tools/export_subnet.py SUPERNET.pth \\
        --arch "Depth [3,2,17,3] Width [32,48,96,192,512]" \\
        --task in1k-linear --out work_dirs/export/linear
"""
import argparse

from cli_options import tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(
        __doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.split('\n')[1:]))
    parser.add_argument('checkpoint', help='supernet checkpoint')
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        '--arch',
        help='arch.yaml file, or the paper notation '
        '"Depth [d1,d2,d3,d4] Width [stem,w1,w2,w3,w4]"')
    which.add_argument('--search-dir', help='search output folder')
    parser.add_argument('--bin', help='budget name in best.yaml')
    parser.add_argument(
        '--task',
        required=True,
        help='coco-maskrcnn-fpn, voc-fasterrcnn-c4, cityscapes-fcn, '
        'scenes-fasterrcnn-fpn, scenes-fcn, '
        'in1k-linear, in1k-semi-1pc or in1k-semi-10pc (mmdata.export.TASKS)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--from',
        dest='source',
        default='student',
        choices=['student', 'teacher'])
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument(
        '--force',
        action='store_true',
        help='export the picks of a search made on another checkpoint')
    parser.add_argument(
        '--onnx',
        action='store_true',
        help='also write backbone.onnx (224 px, dynamic batch axis)')
    args = parser.parse_args()
    if args.search_dir and not args.bin:
        parser.error('--search-dir needs --bin')
    return args


def main(args: argparse.Namespace) -> None:
    from mmdata.export import (arch_from_search, check_search_checkpoint,
                               export_subnet, read_arch)
    from mmdata.utils import check_checkpoint_file
    check_checkpoint_file(args.checkpoint)
    if args.search_dir and not args.force:
        check_search_checkpoint(args.search_dir, args.checkpoint)
    arch = read_arch(args.arch) if args.arch else arch_from_search(
        args.search_dir, args.bin)
    files = export_subnet(args.checkpoint, arch, args.task, args.out,
                          args.source, args.overwrite, args.onnx)
    print(f'exported {arch} for {args.task}:')
    for path in files.values():
        print(f'  {path}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
