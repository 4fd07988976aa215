"""Benchmark: building a candidate on the meta device filled from the
supernet (what the scorer does) vs a random-init static network loaded and
moved to the device.

Example::

    python benchmarks/benchmark_search_build.py
"""
import random
import statistics
import time

from search_bench import search_parser, start, supernets


def parse_args():
    parser = search_parser(__doc__)
    return parser.parse_args()


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
    print(f'building a candidate: {a * 1e3:.1f} ms on the meta device '
          f'filled from the supernet vs {b * 1e3:.1f} ms random init + load '
          f'+ move, ratio {a / b:.2f}')


def main() -> None:
    args = parse_args()
    start(args)
    time_build(args)


if __name__ == '__main__':
    main()
