"""Benchmark one supernet training iteration against its static passes.

Times, side by side in one run, (a) one ``SupernetMoCo`` training step
(teacher forward + every student of Omega forward/backward + optimizer step)
and (b) the sum of the equivalent static passes: the max-arch static
teacher forward plus, for each student arch, a static ``SubnetResNet`` +
neck forward and backward. Prints the ratio a / b (target <= 1.10).

Example::

    python tools/analysis/benchmark_train.py CONFIG --batch-size 32
"""
import argparse
import copy
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from mmdata.models import SubnetResNet
from mmdata.registry import MODELS

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
        '--threads', type=int, default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    return parser.parse_args()


class StaticStudent(nn.Module):
    """Static subnet + a copy of the neck, as a plain network."""

    def __init__(self, model, arch):
        super().__init__()
        self.backbone = SubnetResNet(arch)
        self.neck = copy.deepcopy(model.neck)

    def forward(self, x):
        return self.neck(self.backbone(x))[0]


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    print(f'settings: batch {args.batch_size} x {args.input_size}px, '
          f'{args.repeats} repeats, {args.threads} torch threads', flush=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    x = [torch.randn(args.batch_size, 3, args.input_size, args.input_size)
         for _ in range(2)]

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


if __name__ == '__main__':
    main()
