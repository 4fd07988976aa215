"""Benchmark: the search as its target images double.

For the ``cls`` (z) and ``det_fpn`` (C2-C5) taps, seconds per candidate
and extra peak memory while scoring as the number of target images
doubles, with the images streamed (SearchLoop) vs materialised as a list
of batches (what a cache of the target images would hold). Targets:
streamed memory flat, time linear. Each setting runs in a fresh process;
on CPU the memory is the peak RSS above the one after set-up, on CUDA
``torch.cuda.max_memory_allocated`` above set-up.

Example::

    python benchmarks/benchmark_search_scale.py --batches 2 4 8
"""
import argparse
import random
import time

from search_bench import (in_fresh_process, peak_mb, reset_peak, search_parser,
                          start, supernets, target_streams)


def parse_args():
    parser = search_parser(__doc__)
    parser.add_argument(
        '--batches',
        type=int,
        nargs='+',
        default=[2, 4, 8],
        help='score batches (doubling)')
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
# isort: on


def scale_child(args: argparse.Namespace, tap: str, num: int,
                mode: str) -> dict:
    """In a fresh process: seconds per candidate and extra peak memory of
    one (tap, number of batches, streamed | list) setting."""
    from mmdata.search import SubnetScorer, resolve_taps
    torch.set_num_threads(args.threads)
    space, student, teacher, neck = supernets(args.device, args.space)
    calib, score = target_streams(args, int(num))
    archs = space.sample_many(random.Random(0), 3, unique=True)
    scorer = SubnetScorer(student, teacher, neck, neck, resolve_taps(tap),
                          calib, score)
    scorer.evaluate(space.min_arch)  # warm the allocator and kernels
    base = reset_peak(args.device)
    if mode == 'list':  # every target batch held at once
        scorer.score_images = list(score)
    start = time.perf_counter()
    scorer.evaluate_group(archs)
    seconds = (time.perf_counter() - start) / len(archs)
    return dict(seconds=seconds, extra_mb=peak_mb(args.device) - base)


def measure_scale(args) -> None:
    print(f'images doubling (batches of {args.batch_size} x '
          f'{args.input_size}px, 3 candidates per pass):')
    print(f'   {"tap":<8}{"images":>7}{"s/cand":>9}{"x first":>8}'
          f'{"streamed MB":>13}{"list MB":>9}')
    for tap in ('cls', 'det_fpn'):
        first = None
        for num in args.batches:
            row = {}
            for mode in ('stream', 'list'):
                row[mode] = in_fresh_process(scale_child, args, tap, num, mode)
            seconds = row['stream']['seconds']
            first = first or seconds
            print(
                f'   {tap:<8}{num * args.batch_size:>7}{seconds:>9.2f}'
                f'{seconds / first:>8.1f}'
                f"{row['stream']['extra_mb']:>13.0f}"
                f"{row['list']['extra_mb']:>9.0f}",
                flush=True)
    print('   (targets: streamed MB flat as images double; s/cand linear)')


def main() -> None:
    args = parse_args()
    start(args)
    measure_scale(args)


if __name__ == '__main__':
    main()
