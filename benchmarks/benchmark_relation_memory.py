"""Benchmark: extra peak memory of the chunked relation similarity vs the
naive one (the batch's full HW x HW matrices at once) at C2 for a batch of
32 images of 224 px, i.e. 32 maps of 56 x 56 (target: chunked < 256 MB);
each variant in a fresh process, both giving the same scores.

Example::

    python benchmarks/benchmark_relation_memory.py --memory-batch 32
"""
import argparse

from search_bench import in_fresh_process, peak_mb, reset_peak


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--memory-batch', type=int, default=32)
    parser.add_argument('--chunk', type=int, default=1024)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
import torch.nn.functional as F
# isort: on


def memory_child(args: argparse.Namespace, variant: str) -> dict:
    """In a fresh process: the extra peak RSS of one variant."""
    from mmdata.search import map_similarity
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(args.memory_batch, 192, 56, 56, generator=gen)
    teacher = torch.randn(args.memory_batch, 320, 56, 56, generator=gen)
    # warm the allocator and kernels on a tiny input
    map_similarity(student[:1, :, :4, :4], teacher[:1, :, :4, :4])
    base = reset_peak('cpu')
    if variant == 'chunked':
        scores = map_similarity(student, teacher, chunk=args.chunk)
    else:  # the whole batch's HW x HW relations at once
        s_rows = F.normalize(student.flatten(2).transpose(1, 2), dim=2)
        t_rows = F.normalize(teacher.flatten(2).transpose(1, 2), dim=2)
        t_prob = F.softmax(t_rows @ t_rows.transpose(1, 2) / 0.1, dim=2)
        s_logp = F.log_softmax(s_rows @ s_rows.transpose(1, 2) / 0.1, dim=2)
        scores = (t_prob * s_logp).sum(2).mean(1)
    return dict(extra_mb=peak_mb('cpu') - base, score=scores.mean().item())


def measure_memory(args) -> None:
    results = {}
    for variant in ('chunked', 'naive'):
        results[variant] = in_fresh_process(memory_child, args, variant)
    c, n = results['chunked'], results['naive']
    assert abs(c['score'] - n['score']) < 1e-3 * abs(n['score']), results
    print(f"relation at C2 (56x56), batch {args.memory_batch}: extra peak "
          f"memory chunked ({args.chunk} rows) {c['extra_mb']:.0f} MB vs "
          f"naive {n['extra_mb']:.0f} MB (target: chunked < 256 MB); "
          'same scores')


def main() -> None:
    args = parse_args()
    print(
        f'settings: memory batch {args.memory_batch}, chunk {args.chunk}',
        flush=True)
    measure_memory(args)


if __name__ == '__main__':
    main()
