"""Benchmark one supernet training iteration against its static passes.

Times, side by side in one run, (a) one ``SupernetMoCo`` training step
(teacher forward + every student of Omega forward/backward + optimizer step)
and (b) the sum of the equivalent static passes: the max-arch static
teacher forward plus, for each student arch, a static ``SubnetResNet`` +
neck forward and backward. Prints the ratio a / b (target <= 1.10).

Then the peak memory of one training step (each in a fresh process: peak
RSS above the RSS before the step on a CPU, ``max_memory_allocated`` on a
GPU) for Omega's students back-propagated one by one (the default) and
summed, relative to a step with the max arch alone (target: per-student
<= 1.3x).

Example::

    python benchmarks/benchmark_train.py CONFIG --batch-size 32
"""
import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time

from mmengine.config import Config, DictAction

DEFAULT_CFG = ('configs/tiny/'
               'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CFG)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--input-size', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    parser.add_argument(
        '--memory-batch',
        type=int,
        default=256,
        help='images per step of the memory comparison')
    parser.add_argument('--_memory', help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == '__main__':
    parse_args()  # --help answers before the heavy imports below

# isort: off
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mmdata.models import SubnetResNet
from mmdata.registry import MODELS
# isort: on


class StaticStudent(nn.Module):
    """Static subnet + a copy of the neck, as a plain network."""

    def __init__(self, model, arch):
        super().__init__()
        self.backbone = SubnetResNet(arch)
        self.neck = copy.deepcopy(model.neck)

    def forward(self, x):
        return self.neck(self.backbone(x))[0]


MEMORY_VARIANTS = {
    'max alone': dict(omega=dict(fixed=('max', ), num_random=0)),
    'per-student': dict(backward='per_student'),
    'summed': dict(backward='summed'),
}


def rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def memory_child(args) -> None:
    """Runs in a subprocess: the extra peak memory of one training step."""
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.model.update(MEMORY_VARIANTS[args._memory])
    cuda = torch.cuda.is_available()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model = model.cuda() if cuda else model
    optim = build_optim_wrapper(model, cfg.optim_wrapper)

    def data(n):
        return dict(
            inputs=[
                torch.rand(n, 3, args.input_size, args.input_size) * 255
                for _ in range(2)
            ],
            data_samples=None)

    model.train_step(data(8), optim)  # warm-up: optimizer state, kernels
    batch = data(args.memory_batch)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated() / 2**20
    else:
        base = rss_mb()
    model.train_step(batch, optim)
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else \
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            dict(extra_mb=peak - base, device='cuda' if cuda else 'cpu')))


def measure_memory(args) -> None:
    extra = {}
    for variant in MEMORY_VARIANTS:
        cmd = [
            sys.executable, __file__, args.config, f'--_memory={variant}',
            f'--memory-batch={args.memory_batch}',
            f'--input-size={args.input_size}', f'--threads={args.threads}'
        ]
        cmd += ['--cfg-options', *[f'{k}={v}' for k, v in
                                   (args.cfg_options or {}).items()]] \
            if args.cfg_options else []
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stderr.strip().splitlines()[-1])
        extra[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    single = extra['max alone']['extra_mb']
    print(f"peak memory of one step above the model's, batch "
          f"{args.memory_batch} x {args.input_size}px "
          f"({extra['summed']['device']}):")
    for variant, result in extra.items():
        print(f"  {variant:<12} {result['extra_mb']:7.0f} MB  "
              f"{result['extra_mb'] / single:.2f}x max alone")
    print('target: per-student <= 1.30x max alone')


def main() -> None:
    args = parse_args()
    if args._memory:
        memory_child(args)
        return
    torch.set_num_threads(args.threads)
    print(
        f'settings: batch {args.batch_size} x {args.input_size}px, '
        f'{args.repeats} repeats, {args.threads} torch threads',
        flush=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    x = [
        torch.randn(args.batch_size, 3, args.input_size, args.input_size)
        for _ in range(2)
    ]

    omega = model.sample_omega()
    teacher = StaticStudent(model, model.space.max_arch).train()
    students = [StaticStudent(model, arch).train() for _, arch in omega]
    params = [p for s in students for p in s.parameters()]
    static_optim = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    queue = model.queue.clone()

    def supernet_iter():
        step = int(model.step)
        losses = model.loss(x, None)
        optim.update_params(sum(losses.values()))
        model.step.fill_(step)  # keep the same Omega every repeat

    def static_iter():
        with torch.no_grad():
            key = F.normalize(teacher(x[1]), dim=1)
        loss = 0
        for student in students:
            q = F.normalize(student(x[0]), dim=1)
            logits = torch.cat([(q * key).sum(1, keepdim=True), q @ queue],
                               1) / 0.2
            loss = loss + F.cross_entropy(
                logits, torch.zeros(len(q), dtype=torch.long))
        static_optim.zero_grad()
        loss.backward()
        static_optim.step()

    supernet_iter(), static_iter()  # warm-up
    dyn, sta = [], []
    for _ in range(args.repeats):  # interleaved: both see the same load
        t = time.perf_counter()
        supernet_iter()
        dyn.append(time.perf_counter() - t)
        t = time.perf_counter()
        static_iter()
        sta.append(time.perf_counter() - t)
    t_dyn, t_sta = statistics.median(dyn), statistics.median(sta)
    print(f'config {args.config}')
    print('Omega: ' + ', '.join(f'{n}={a}' for n, a in omega))
    print(f'batch {args.batch_size} x {args.input_size}px, '
          f'torch threads {torch.get_num_threads()}')
    print(f'supernet iteration {t_dyn * 1e3:.1f} ms, static passes '
          f'{t_sta * 1e3:.1f} ms, ratio {t_dyn / t_sta:.3f} (target <= 1.10)')
    measure_memory(args)


if __name__ == '__main__':
    main()
