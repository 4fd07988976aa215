"""Benchmark the search scorer, measured side by side in one run.

0. Lower bound: per tap (``cls``, ``det_fpn``, ``seg``), the search's cost
   per candidate (``candidates`` per pass; its second pass over the same
   archs, the first beside it) next to the bare forward passes
   of the same static subnets over the same calibration and score batches
   (eval mode, no similarity, no building): the ratio says how much the
   search costs beyond its forward passes (target <= 2.0 for cls and
   det_fpn); the search's parts (building, BN calibration, the teacher's
   share, the scoring forwards, the rest) are timed alone beside it.
1. Per-candidate cost when candidates share a pass over the target images
   (``candidates_per_pass``; the teacher runs once per batch and group) vs
   one candidate per pass (the teacher recomputed for every candidate).
2. Scale: for the ``cls`` (z) and ``det_fpn`` (C2-C5) taps, seconds per
   candidate and extra peak memory while scoring as the number of target
   images doubles, with the images streamed (SearchLoop) vs materialised as
   a list of batches (what a cache of the target images would hold).
   Targets: streamed memory flat, time linear. Each setting runs in a
   fresh subprocess; on CPU the memory is the peak RSS above the one after
   set-up, on CUDA ``torch.cuda.max_memory_allocated`` above set-up.
3. Building a candidate: on the meta device filled from the supernet (what
   the scorer does) vs a random-init static network loaded and moved to the
   device.
4. Extra peak memory of the chunked relation similarity vs the naive one
   (the batch's full HW x HW matrices at once) at C2 for a batch of 32
   images of 224 px, i.e. 32 maps of 56 x 56 (target: chunked < 256 MB).

Example::

    python benchmarks/benchmark_search.py
    python benchmarks/benchmark_search.py --space paper --input-size 224
    python benchmarks/benchmark_search.py --device cuda --space paper \\
        --input-size 224 --batch-size 32 --threads 8
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
    parser.add_argument(
        '--candidates',
        type=int,
        default=6,
        help='candidates timed (and per pass) in part 1')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--input-size', type=int, default=96)
    parser.add_argument('--tap', default='det_fpn', help='tap of part 1')
    parser.add_argument(
        '--batches',
        type=int,
        nargs='+',
        default=[2, 4, 8],
        help='score batches of part 2 (doubling)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--space',
        default='small',
        choices=['small', 'paper'],
        help='the supernet: a small space (default) or the '
        "paper's Table 1 space (use with --input-size 224)")
    parser.add_argument(
        '--parts',
        type=int,
        nargs='+',
        default=[0, 1, 2, 3, 4],
        choices=range(5),
        help='the parts to run (default: all)')
    parser.add_argument('--memory-batch', type=int, default=32)
    parser.add_argument('--chunk', type=int, default=1024)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    parser.add_argument(
        '--_memory', choices=['chunked', 'naive'], help=argparse.SUPPRESS)
    parser.add_argument('--_scale', help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
import torch.nn.functional as F
# isort: on


def supernets(device: str, which: str = 'small'):
    """Student and teacher supernets and the neck of a small space
    (``'small'``) or of the paper's Table 1 space (``'paper'``)."""
    from mmdata.models import DynamicMoCoV2Neck, DynamicResNet
    from mmdata.space import ResNetSpace
    if which == 'paper':
        space = ResNetSpace()
        hidden = 2048
    else:
        space = ResNetSpace(
            stem=(16, 32, 8),
            widths=[(16, 32, 8), (32, 64, 16), (64, 128, 32), (128, 256, 64)],
            depths=[(1, 3, 1), (1, 3, 1), (2, 6, 2), (1, 3, 1)])
        hidden = 256
    torch.manual_seed(0)
    student = DynamicResNet(space=space.to_dict()).to(device).eval()
    teacher = DynamicResNet(space=space.to_dict()).to(device).eval()
    features = 4 * space.widths[3][1]  # pooled C5 of the max arch
    neck = DynamicMoCoV2Neck(features, hidden, 128).to(device).eval()
    return space, student, teacher, neck


class Stream:
    """Re-iterable random batches made on the fly (nothing kept)."""

    def __init__(self, num: int, batch: int, size: int, device: str,
                 seed: int) -> None:
        self.num, self.batch, self.size = num, batch, size
        self.device, self.seed = device, seed

    def __len__(self) -> int:
        return self.num

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        for _ in range(self.num):
            yield torch.randn(
                self.batch, 3, self.size, self.size,
                generator=gen).to(self.device)


def time_groups(args) -> None:
    from mmdata.search import SubnetScorer, resolve_taps
    space, student, teacher, neck = supernets(args.device, args.space)
    calib = Stream(2, args.batch_size, args.input_size, args.device, 0)
    score = Stream(2, args.batch_size, args.input_size, args.device, 1)
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
    print(f'1. tap {args.tap}, 2 + 2 batches of {args.batch_size} x '
          f'{args.input_size}px, {len(archs)} candidates: per candidate '
          f'{t_group * 1e3:.0f} ms with {len(archs)} per pass vs '
          f'{t_single * 1e3:.0f} ms one per pass, ratio '
          f'{t_group / t_single:.2f} (target <= 0.80; same scores)')


def lower_bound(args) -> None:
    from mmdata.models.utils.calibration import calibrate_bn
    from mmdata.search import SubnetScorer, resolve_taps, static_extractor
    space, student, teacher, neck = supernets(args.device, args.space)
    calib = Stream(2, args.batch_size, args.input_size, args.device, 0)
    score = Stream(2, args.batch_size, args.input_size, args.device, 1)
    archs = space.sample_many(random.Random(0), args.candidates, unique=True)
    print(f'0. search vs its forward passes, 2 + 2 batches of '
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


def _proc_status_mb(key: str) -> float:
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith(key + ':'))
    return int(line.split()[1]) / 1024


def reset_peak(device: str) -> float:
    """Reset the peak memory counter; returns the memory in use (MB)."""
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    try:  # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM)
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _proc_status_mb('VmRSS')
    except OSError:
        return peak_mb(device)


def peak_mb(device: str) -> float:
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        return _proc_status_mb('VmHWM')
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_child(args) -> None:
    """Runs in a subprocess: seconds per candidate and extra peak memory of
    one (tap, number of batches, streamed | list) setting."""
    from mmdata.search import SubnetScorer, resolve_taps
    tap, num, mode = args._scale.split(',')
    torch.set_num_threads(args.threads)
    space, student, teacher, neck = supernets(args.device, args.space)
    calib = Stream(2, args.batch_size, args.input_size, args.device, 0)
    score = Stream(int(num), args.batch_size, args.input_size, args.device, 1)
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
    print(
        json.dumps(
            dict(seconds=seconds, extra_mb=peak_mb(args.device) - base)))


def measure_scale(args) -> None:
    print(f'2. images doubling (batches of {args.batch_size} x '
          f'{args.input_size}px, 3 candidates per pass):')
    print(f'   {"tap":<8}{"images":>7}{"s/cand":>9}{"x first":>8}'
          f'{"streamed MB":>13}{"list MB":>9}')
    for tap in ('cls', 'det_fpn'):
        first = None
        for num in args.batches:
            row = {}
            for mode in ('stream', 'list'):
                out = subprocess.run([
                    sys.executable, __file__, f'--_scale={tap},{num},{mode}',
                    f'--batch-size={args.batch_size}',
                    f'--input-size={args.input_size}',
                    f'--device={args.device}', f'--threads={args.threads}',
                    f'--space={args.space}'
                ],
                                     capture_output=True,
                                     text=True,
                                     check=True)
                row[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            seconds = row['stream']['seconds']
            first = first or seconds
            print(
                f'   {tap:<8}{num * args.batch_size:>7}{seconds:>9.2f}'
                f'{seconds / first:>8.1f}'
                f"{row['stream']['extra_mb']:>13.0f}"
                f"{row['list']['extra_mb']:>9.0f}",
                flush=True)
    print('   (targets: streamed MB flat as images double; s/cand linear)')


def time_build(args) -> None:
    from mmdata.export import export_subnet_state_dict
    from mmdata.models.backbones import SubnetResNet
    from mmdata.search import static_extractor
    space, student, _, _ = supernets(args.device, args.space)
    archs = space.sample_many(random.Random(1), 6, unique=True)

    def plain(arch):
        net = SubnetResNet(arch, out_indices=(0, 1, 2, 3))
        net.load_state_dict(export_subnet_state_dict(student, arch))
        return net.to(args.device)

    times = {'meta': [], 'plain': []}
    static_extractor(student, None, archs[0])  # warm-up
    plain(archs[0])
    for arch in archs:  # interleaved
        start = time.perf_counter()
        static_extractor(student, None, arch)
        times['meta'].append(time.perf_counter() - start)
        start = time.perf_counter()
        plain(arch)
        times['plain'].append(time.perf_counter() - start)
    a, b = (statistics.median(times[k]) for k in ('meta', 'plain'))
    print(f'3. building a candidate: {a * 1e3:.1f} ms on the meta device '
          f'filled from the supernet vs {b * 1e3:.1f} ms random init + load '
          f'+ move, ratio {a / b:.2f}')


def memory_child(args) -> None:
    """Runs in a subprocess: prints the extra peak RSS of one variant."""
    from mmdata.search import map_similarity
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(args.memory_batch, 192, 56, 56, generator=gen)
    teacher = torch.randn(args.memory_batch, 320, 56, 56, generator=gen)
    # warm the allocator and kernels on a tiny input
    map_similarity(student[:1, :, :4, :4], teacher[:1, :, :4, :4])
    base = reset_peak('cpu')
    if args._memory == 'chunked':
        scores = map_similarity(student, teacher, chunk=args.chunk)
    else:  # the whole batch's HW x HW relations at once
        s_rows = F.normalize(student.flatten(2).transpose(1, 2), dim=2)
        t_rows = F.normalize(teacher.flatten(2).transpose(1, 2), dim=2)
        t_prob = F.softmax(t_rows @ t_rows.transpose(1, 2) / 0.1, dim=2)
        s_logp = F.log_softmax(s_rows @ s_rows.transpose(1, 2) / 0.1, dim=2)
        scores = (t_prob * s_logp).sum(2).mean(1)
    print(
        json.dumps(
            dict(extra_mb=peak_mb('cpu') - base, score=scores.mean().item())))


def measure_memory(args) -> None:
    results = {}
    for variant in ('chunked', 'naive'):
        out = subprocess.run([
            sys.executable, __file__, f'--_memory={variant}',
            f'--memory-batch={args.memory_batch}', f'--chunk={args.chunk}'
        ],
                             capture_output=True,
                             text=True,
                             check=True)
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    c, n = results['chunked'], results['naive']
    assert abs(c['score'] - n['score']) < 1e-3 * abs(n['score']), results
    print(f"4. relation at C2 (56x56), batch {args.memory_batch}: extra peak "
          f"memory chunked ({args.chunk} rows) {c['extra_mb']:.0f} MB vs "
          f"naive {n['extra_mb']:.0f} MB (target: chunked < 256 MB); "
          'same scores')


def main() -> None:
    args = parse_args()
    if args._memory:
        memory_child(args)
        return
    if args._scale:
        scale_child(args)
        return
    torch.set_num_threads(args.threads)
    print(
        f'settings: device {args.device}, {args.space} space, '
        f'{args.candidates} candidates, '
        f'batch {args.batch_size} x {args.input_size}px, tap {args.tap}, '
        f'score batches {args.batches}, memory batch {args.memory_batch}, '
        f'chunk {args.chunk}, {args.threads} torch threads',
        flush=True)
    parts = (lower_bound, time_groups, measure_scale, time_build,
             measure_memory)
    for part in args.parts:
        parts[part](args)


if __name__ == '__main__':
    main()
