"""Benchmark: the search's cost per candidate when candidates share a pass
over the target images (``candidates_per_pass``; the teacher runs once per
batch and group) vs one candidate per pass (the teacher recomputed for
every candidate); the scores must be the same.

Example::

    python benchmarks/benchmark_search_groups.py --tap det_fpn
"""
import random
import time

from search_bench import search_parser, start, supernets, target_streams


def parse_args():
    parser = search_parser(__doc__)
    parser.add_argument(
        '--candidates',
        type=int,
        default=6,
        help='candidates timed (and per pass)')
    parser.add_argument('--tap', default='det_fpn')
    return parser.parse_args()


def time_groups(args) -> None:
    from mmdata.search import SubnetScorer, resolve_taps
    space, student, teacher, neck = supernets(args.device, args.space)
    calib, score = target_streams(args)
    scorer = SubnetScorer(student, teacher, neck, neck, resolve_taps(args.tap),
                          calib, score)
    archs = space.sample_many(random.Random(0), args.candidates, unique=True)
    scorer.evaluate(archs[0])  # warm-up
    start = time.perf_counter()
    grouped = scorer.evaluate_group(archs)
    t_group = (time.perf_counter() - start) / len(archs)
    start = time.perf_counter()
    single = [scorer.evaluate(arch) for arch in archs]
    t_single = (time.perf_counter() - start) / len(archs)
    for a, b in zip(grouped, single):
        for tap, value in a['scores'].items():
            assert abs(value - b['scores'][tap]) < 1e-4, (a, b)
    print(f'tap {args.tap}, 2 + 2 batches of {args.batch_size} x '
          f'{args.input_size}px, {len(archs)} candidates: per candidate '
          f'{t_group * 1e3:.0f} ms with {len(archs)} per pass vs '
          f'{t_single * 1e3:.0f} ms one per pass, ratio '
          f'{t_group / t_single:.2f} (target <= 0.80; same scores)')


def main() -> None:
    args = parse_args()
    start(args)
    time_groups(args)


if __name__ == '__main__':
    main()
