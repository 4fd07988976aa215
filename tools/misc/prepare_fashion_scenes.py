"""Make the Fashion-MNIST scenes: a small detection / segmentation benchmark
on which the search's feature maps and task-aware taps can be tested
(:mod:`mmdata.evaluation.fashion_scenes` says what a scene holds and the
files written).

Example::

    python tools/misc/prepare_fashion_scenes.py data/fashion-scenes
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import tool_parser


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--src',
        default='/usr/share/datasets/fashion-mnist',
        help='folder of the Fashion-MNIST idx files')
    parser.add_argument('--num-train', type=int, default=4000)
    parser.add_argument('--num-val', type=int, default=500)
    parser.add_argument('--num-test', type=int, default=500)
    parser.add_argument('--size', type=int, default=96, help='canvas side')
    parser.add_argument('--max-items', type=int, default=5)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace scenes made with other settings')
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    from mmdata.evaluation.fashion_scenes import SPLITS, prepare
    sizes = dict(train=args.num_train, val=args.num_val, test=args.num_test)
    out = Path(args.out)
    info = prepare(
        Path(args.src), out, sizes, args.size, args.max_items, args.seed,
        args.overwrite)
    print(f'scenes in {out}: ' +
          ', '.join(f'{s} {sizes[s]} scenes / {info["instances"][s]} items'
                    for s in SPLITS))


if __name__ == '__main__':
    args = parse_args()  # --help answers before importing mmdata
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
