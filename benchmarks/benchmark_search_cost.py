"""Benchmark: the search's cost per candidate next to its bare forward
passes.

Per tap (``cls``, ``det_fpn``, ``seg``), the search's cost per candidate
(``candidates`` per pass; its second pass over the same archs, the first
beside it) next to the bare forward passes of the same static subnets over
the same calibration and score batches (eval mode, no similarity, no
building): the ratio says how much the search costs beyond its forward
passes (target <= 2.0 for cls and det_fpn); the search's parts (building,
BN calibration, the teacher's share, the scoring forwards, the rest) are
timed alone beside it.

Example::

    python benchmarks/benchmark_search_cost.py
    python benchmarks/benchmark_search_cost.py --device cuda --space paper \\
        --input-size 224 --batch-size 32 --threads 8
"""
import random
import time

from search_bench import (peak_mb, reset_peak, search_parser, start, supernets,
                          target_streams)


def parse_args():
    parser = search_parser(__doc__)
    parser.add_argument(
        '--candidates', type=int, default=6, help='candidates per pass')
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
# isort: on


def lower_bound(args) -> None:
    from mmdata.models.utils.calibration import calibrate_bn
    from mmdata.search import SubnetScorer, resolve_taps, static_extractor
    space, student, teacher, neck = supernets(args.device, args.space)
    calib, score = target_streams(args)
    archs = space.sample_many(random.Random(0), args.candidates, unique=True)
    print(f'search vs its forward passes, 2 + 2 batches of '
          f'{args.batch_size} x {args.input_size}px, {len(archs)} '
          'candidates per pass (ms per candidate):')
    for tap in ('cls', 'det_fpn', 'seg'):
        scorer = SubnetScorer(student, teacher, neck, neck, resolve_taps(tap),
                              calib, score)
        scorer.evaluate(archs[0])  # warm-up
        base = reset_peak(args.device)
        # the first pass meets each arch's layer shapes for the first time
        # (the CPU kernels prepare per shape); the bound and the parts run
        # on shapes already met, so the ratio compares the second pass
        start = time.perf_counter()
        scorer.evaluate_group(archs)
        first = (time.perf_counter() - start) / len(archs)
        start = time.perf_counter()
        scorer.evaluate_group(archs)
        search = (time.perf_counter() - start) / len(archs)
        # the search's parts, each timed alone on the same archs and batches
        parts = {}
        start = time.perf_counter()
        models = [
            static_extractor(student, neck if tap == 'cls' else None, arch)
            for arch in archs
        ]
        parts['build'] = (time.perf_counter() - start) / len(archs)
        start = time.perf_counter()
        for model in models:
            calibrate_bn(model, calib, len(calib))
        parts['BN calibration'] = (time.perf_counter() - start) / len(archs)
        with torch.no_grad():
            start = time.perf_counter()
            for images in score:
                scorer.teacher(images)
            parts['teacher'] = (time.perf_counter() - start) / len(archs)
            forwards = {}
            for name, batches in (('calib', calib), ('score', score)):
                start = time.perf_counter()
                for model in models:
                    for images in batches:
                        model(images)
                forwards[name] = (time.perf_counter() - start) / len(archs)
        bound = sum(forwards.values())
        parts['scoring forwards'] = forwards['score']
        parts['similarity and rest'] = search - sum(parts.values())
        print(
            f'   {tap}: search {search * 1e3:.0f} ms (first pass '
            f'{first * 1e3:.0f}), lower bound '
            f'{bound * 1e3:.0f} ms per candidate, ratio '
            f'{search / bound:.1f}; search = ' +
            ' + '.join(f'{k} {v * 1e3:.0f}' for k, v in parts.items()) +
            f'; peak memory {peak_mb(args.device) - base:.0f} MB above '
            'the supernets',
            flush=True)
    print('   (target: ratio <= 2.0 for cls and det_fpn; the lower bound is '
          'the eval-mode forwards over the calibration and score batches; '
          'search, bound and parts on shapes met before)')


def main() -> None:
    args = parse_args()
    start(args)
    lower_bound(args)


if __name__ == '__main__':
    main()
