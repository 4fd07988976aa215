"""Benchmark the search scorer, measured side by side in one run.

1. Per-candidate cost with the teacher features cached (what SearchLoop
   does) vs recomputing the teacher (BN calibration + features) for every
   candidate (target ratio <= 0.55).
2. Extra peak memory of the chunked relation similarity vs the naive one
   (the batch's full HW x HW matrices at once) at C2 for a batch of 32
   images of 224 px, i.e.
   32 maps of 56 x 56 (target: chunked < 256 MB). Each variant runs in a
   fresh subprocess and reports its peak RSS above the features it starts
   with.

Example::

    python tools/analysis/benchmark_search.py
"""
import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--candidates', type=int, default=6)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--input-size', type=int, default=64)
    parser.add_argument('--tap', default='det_fpn')
    parser.add_argument('--memory-batch', type=int, default=32)
    parser.add_argument('--chunk', type=int, default=1024)
    parser.add_argument(
        '--threads', type=int, default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    parser.add_argument('--_memory', choices=['chunked', 'naive'],
                        help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
import torch.nn.functional as F
# isort: on


def time_candidates(args) -> None:
    from mmdata.models import DynamicMoCoV2Neck, DynamicResNet
    from mmdata.search import SubnetScorer, resolve_taps
    from mmdata.space import ResNetSpace
    space = ResNetSpace(
        stem=(16, 32, 8),
        widths=[(16, 32, 8), (32, 64, 16), (64, 128, 32), (128, 256, 64)],
        depths=[(1, 3, 1), (1, 3, 1), (2, 6, 2), (1, 3, 1)])
    torch.manual_seed(0)
    student = DynamicResNet(space=space.to_dict()).eval()
    teacher = DynamicResNet(space=space.to_dict()).eval()
    neck = DynamicMoCoV2Neck(1024, 256, 128).eval()
    size = args.input_size
    images = [torch.randn(args.batch_size, 3, size, size) for _ in range(4)]
    taps = resolve_taps(args.tap)
    archs = space.sample_many(random.Random(0), args.candidates, unique=True)

    def scorer():
        return SubnetScorer(student, teacher, neck, neck, taps, images[:2],
                            images[2:])

    cached = scorer()
    cached.score(archs[0])  # warm-up
    t_cached, t_fresh = [], []
    for arch in archs:  # interleaved, so both see the same machine load
        start = time.perf_counter()
        cached.score(arch)
        t_cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        scorer().score(arch)
        t_fresh.append(time.perf_counter() - start)
    a, b = statistics.median(t_cached), statistics.median(t_fresh)
    print(f'tap {args.tap}, {args.batch_size} x {size}px, '
          f'{len(archs)} candidates, torch threads {torch.get_num_threads()}')
    print(f'per candidate: cached teacher {a * 1e3:.0f} ms, teacher '
          f'recomputed {b * 1e3:.0f} ms, ratio {a / b:.2f} (target <= 0.55)')


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(args) -> None:
    """Runs in a subprocess: prints the extra peak RSS of one variant."""
    from mmdata.search import map_similarity
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(args.memory_batch, 192, 56, 56, generator=gen)
    teacher = torch.randn(args.memory_batch, 320, 56, 56, generator=gen)
    # warm the allocator and kernels on a tiny input
    map_similarity(student[:1, :, :4, :4], teacher[:1, :, :4, :4])
    base = peak_rss_mb()
    if args._memory == 'chunked':
        scores = map_similarity(student, teacher, chunk=args.chunk)
    else:  # the whole batch's HW x HW relations at once
        s_rows = F.normalize(student.flatten(2).transpose(1, 2), dim=2)
        t_rows = F.normalize(teacher.flatten(2).transpose(1, 2), dim=2)
        t_prob = F.softmax(t_rows @ t_rows.transpose(1, 2) / 0.1, dim=2)
        s_logp = F.log_softmax(s_rows @ s_rows.transpose(1, 2) / 0.1, dim=2)
        scores = (t_prob * s_logp).sum(2).mean(1)
    print(json.dumps(dict(extra_mb=peak_rss_mb() - base,
                          score=scores.mean().item())))


def measure_memory(args) -> None:
    results = {}
    for variant in ('chunked', 'naive'):
        out = subprocess.run(
            [sys.executable, __file__, f'--_memory={variant}',
             f'--memory-batch={args.memory_batch}', f'--chunk={args.chunk}'],
            capture_output=True, text=True, check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    c, n = results['chunked'], results['naive']
    assert abs(c['score'] - n['score']) < 1e-3 * abs(n['score']), results
    print(f"relation at C2 (56x56), batch {args.memory_batch}: extra peak "
          f"memory chunked ({args.chunk} rows) {c['extra_mb']:.0f} MB vs "
          f"naive {n['extra_mb']:.0f} MB (target: chunked < 256 MB); "
          'same scores')


def main() -> None:
    args = parse_args()
    if args._memory:
        memory_child(args)
        return
    torch.set_num_threads(args.threads)
    print(f'settings: {args.candidates} candidates, batch {args.batch_size} '
          f'x {args.input_size}px, tap {args.tap}, memory batch '
          f'{args.memory_batch}, chunk {args.chunk}, {args.threads} torch '
          'threads', flush=True)
    time_candidates(args)
    measure_memory(args)


if __name__ == '__main__':
    main()
