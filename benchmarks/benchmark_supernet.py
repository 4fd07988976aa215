"""Benchmark the supernet against static subnets, and the cost model against
mmengine's counter, measured side by side in one run.

Prints, per arch: forward time through DynamicResNet vs the same SubnetResNet
(target ratio <= 1.05) and analytical cost-model time vs
``get_model_complexity_info`` time (target >= 1000x faster).

Example::

    python benchmarks/benchmark_supernet.py --num-archs 4 --input-size 224
"""
import argparse
import random
import statistics
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-archs', type=int, default=4)
    parser.add_argument('--input-size', type=int, default=224)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
from mmengine.analysis import get_model_complexity_info

from mmdata import export_subnet_state_dict
from mmdata.models import DynamicResNet, SubnetResNet
from mmdata.space import ResNetSpace, arch_cost
# isort: on


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(
        f'settings: {args.num_archs} archs, batch {args.batch_size} x '
        f'{args.input_size}px, {args.repeats} repeats, seed {args.seed}, '
        f'{args.threads} torch threads',
        flush=True)
    space = ResNetSpace()
    rng = random.Random(args.seed)
    archs = [space.max_arch, space.min_arch]
    archs += space.sample_many(rng, max(args.num_archs - 2, 0), unique=True)
    supernet = DynamicResNet().eval()
    x = torch.randn(args.batch_size, 3, args.input_size, args.input_size)
    print(f'input {tuple(x.shape)}, torch threads {torch.get_num_threads()}')
    header = (f'{"arch":<46} {"GFLOPs":>7} {"dyn ms":>8} {"static ms":>9} '
              f'{"ratio":>6} {"model us":>9} {"counter ms":>10} '
              f'{"speedup":>8}')
    print(header)
    ratios, speedups = [], []
    for arch in archs:
        supernet.set_arch(arch)
        subnet = SubnetResNet(arch).eval()
        subnet.load_state_dict(export_subnet_state_dict(supernet, arch))
        supernet(x), subnet(x)  # warm-up
        dyn, sta = [], []
        for _ in range(args.repeats):  # interleaved, so both see equal load
            dyn.append(median_time(lambda: supernet(x), 1))
            sta.append(median_time(lambda: subnet(x), 1))
        t_dyn, t_sta = statistics.median(dyn), statistics.median(sta)
        t_model = median_time(lambda: arch_cost(arch, args.input_size), 200)
        t_counter = median_time(
            lambda: get_model_complexity_info(
                subnet, (3, args.input_size, args.input_size),
                show_table=False,
                show_arch=False), 1)
        flops = arch_cost(arch, args.input_size).flops / 1e9
        ratios.append(t_dyn / t_sta)
        speedups.append(t_counter / t_model)
        print(f'{str(arch):<46} {flops:7.2f} {t_dyn * 1e3:8.1f} '
              f'{t_sta * 1e3:9.1f} {ratios[-1]:6.3f} {t_model * 1e6:9.1f} '
              f'{t_counter * 1e3:10.1f} {speedups[-1]:8.0f}x')
    print('dynamic/static forward time: median '
          f'{statistics.median(ratios):.3f}'
          f' (target <= 1.05); cost model speedup over counter: median '
          f'{statistics.median(speedups):.0f}x (target >= 1000x)')


if __name__ == '__main__':
    main()
