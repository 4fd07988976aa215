"""Per-student backward (the default) gives the summed loss's gradients:
one process, gradient accumulation, and 2 processes under DDP (gloo)."""
import copy
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmdata.models.algorithms import SupernetDDP
from mmdata.registry import MODELS
from tests.test_models.test_ssl_methods import ALGOS, tiny_cfg


def build(algo: str, backward: str, seed: int = 0):
    cfg = Config.fromfile(tiny_cfg(algo))
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 64
    cfg.model.backward = backward
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def batch(seed: int, n: int = 8) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (n, 3, 32, 32), generator=gen).float()
            for _ in range(2)
        ],
        data_samples=[DataSample() for _ in range(n)])


def step(model, optim, data, seed=0):
    torch.manual_seed(seed)  # shuffle-BN permutations alike
    return model.train_step(copy.deepcopy(data), optim)


def grads(model):
    return {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize('algo', ALGOS)
def test_same_gradients_and_updates_as_the_summed_loss(algo):
    models = {b: build(algo, b) for b in ('summed', 'per_student')}
    optims = {
        b:
        OptimWrapper(
            torch.optim.SGD(m.parameters(), lr=0.1), accumulative_counts=2)
        for b, m in models.items()
    }
    logs = {b: step(m, optims[b], batch(1)) for b, m in models.items()}
    assert logs['summed'].keys() == logs['per_student'].keys()
    for key in logs['summed']:
        torch.testing.assert_close(
            logs['per_student'][key], logs['summed'][key], rtol=0, atol=1e-6)
    # accumulated, not stepped yet: equal gradients
    a, b = grads(models['summed']), grads(models['per_student'])
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        torch.testing.assert_close(
            b[name], a[name], rtol=0, atol=1e-6, msg=name)
    # the second micro-batch steps both the same way
    for b_, m in models.items():
        step(m, optims[b_], batch(2))
    pa = dict(models['summed'].named_parameters())
    for name, p in models['per_student'].named_parameters():
        torch.testing.assert_close(p, pa[name], rtol=0, atol=1e-6, msg=name)
    assert torch.equal(models['summed'].step, models['per_student'].step)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, port: int, algo: str, out: str) -> None:
    import torch.distributed as dist
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE='2',
        LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=2)
    params = {}
    for backward, wrapper in (('summed', MMDistributedDataParallel),
                              ('per_student', SupernetDDP)):
        model = build(algo, backward)
        ddp = wrapper(module=model, device_ids=None, broadcast_buffers=False)
        optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
        step(ddp, optim, batch(10 + rank))  # each rank its own images
        params[backward] = {
            n: p.detach().clone()
            for n, p in model.named_parameters()
        }
    if rank == 0:
        torch.save(params, out)
    dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.parametrize('algo', ['mocov2', 'densecl'])
def test_two_process_ddp_same_update_as_summed(algo, tmp_path):
    out = str(tmp_path / 'params.pth')
    mp.spawn(_ddp_worker, args=(_free_port(), algo, out), nprocs=2)
    params = torch.load(out)
    start = dict(build(algo, 'summed').named_parameters())
    moved = 0
    for name, p in params['per_student'].items():
        torch.testing.assert_close(
            p, params['summed'][name], rtol=0, atol=1e-6, msg=name)
        moved += not torch.equal(p, start[name].detach())
    assert moved > 10  # the step changed the weights (gradients synced)


def test_gradient_checkpointing_changes_nothing_but_memory():
    """``backbone.with_cp=True`` recomputes each block in backward: the
    same losses and gradients; refused with the summed backward, whose
    students would be recomputed with another arch active."""
    models = {}
    for with_cp in (False, True):
        cfg = Config.fromfile(tiny_cfg('mocov2'))
        cfg.model.queue_len = 64
        cfg.model.backbone.with_cp = with_cp
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            models[with_cp] = MODELS.build(cfg.model)
        models[with_cp].init_weights()
        optim = OptimWrapper(
            torch.optim.SGD(models[with_cp].parameters(), lr=0.1),
            accumulative_counts=2)
        step(models[with_cp].train(), optim, batch(1))
    a, b = grads(models[False]), grads(models[True])
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        torch.testing.assert_close(
            b[name], a[name], rtol=0, atol=1e-6, msg=name)
    cfg.model.backward = 'summed'
    with pytest.raises(ValueError, match="with_cp=True needs backward"):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            MODELS.build(cfg.model)


def test_teacher_with_the_students_arch():
    """``teacher_arch='same'`` (paper Table 8): each student is compared
    with the teacher run with its own arch; the max student's targets are
    the max teacher's either way."""
    model = build('mocov2', 'per_student')
    same = copy.deepcopy(model)
    same.teacher_arch = 'same'
    data = same.data_preprocessor(batch(3), True)
    inputs = data['inputs']
    state = copy.deepcopy(same.state_dict())
    torch.manual_seed(0)
    losses = same.loss(inputs, data['data_samples'])
    omega = dict(same.last_omega)
    same.load_state_dict(state)  # the queue before this step
    for name, arch in omega.items():
        same.teacher.backbone.set_arch(arch)
        torch.manual_seed(0)
        targets = same.teacher_targets(inputs)
        expected = same.student_loss(inputs, arch, targets)
        torch.testing.assert_close(
            losses[f'loss_{name}'], expected, rtol=0, atol=1e-6)
    same.teacher.backbone.set_arch(same.space.max_arch)
    torch.manual_seed(0)
    reference = model.loss(inputs, data['data_samples'])
    torch.testing.assert_close(
        reference['loss_max'], losses['loss_max'], rtol=0, atol=1e-6)
    assert not torch.allclose(reference['loss_rand1'], losses['loss_rand1'])


class _GlobalBatchNorm:
    """The math of torch's SyncBatchNorm function on CPU (its kernels,
    ``aten::batch_norm_stats`` & co., exist for GPUs only): batch norm of
    the all-gathered batch, this rank's rows returned."""

    @staticmethod
    def apply(x, weight, bias, mean, var, eps, momentum, group, world_size):
        import torch.distributed as dist
        parts = [torch.empty_like(x) for _ in range(world_size)]
        dist.all_gather(parts, x, group=group)
        out = torch.nn.functional.batch_norm(
            torch.cat(parts), mean, var, weight, bias, True, momentum, eps)
        rank = dist.get_rank(group)
        return out[rank * len(x):(rank + 1) * len(x)]


def _sync_bn_worker(rank: int, port: int, out: str) -> None:
    import torch.distributed as dist

    import mmdata.models.utils.dynamic_ops as ops
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    ops._SyncBNFunction = _GlobalBatchNorm
    torch.manual_seed(0)
    bn = ops.DynamicSyncBatchNorm(8).train()
    torch.nn.init.uniform_(bn.weight)
    torch.nn.init.uniform_(bn.bias)
    x = torch.randn(4, 5, 3, 3, generator=torch.Generator().manual_seed(rank))
    y = bn(x)  # 5 of 8 channels: the dynamic (sliced) path
    if rank == 0:
        torch.save(
            dict(
                y=y,
                mean=bn.running_mean,
                var=bn.running_var,
                weight=bn.weight,
                bias=bn.bias), out)
    dist.destroy_process_group()


@pytest.mark.slow
def test_dynamic_sync_bn_normalises_over_all_processes(tmp_path):
    """Two gloo processes, 5 active channels of an 8-channel
    DynamicSyncBatchNorm: rank 0's output and the running statistics are
    those of one BatchNorm over both processes' images; the 3 inactive
    channels keep their statistics."""
    out = str(tmp_path / 'bn.pth')
    mp.spawn(_sync_bn_worker, args=(_free_port(), out), nprocs=2)
    got = torch.load(out)
    images = torch.cat([
        torch.randn(4, 5, 3, 3, generator=torch.Generator().manual_seed(r))
        for r in range(2)
    ])
    ref = torch.nn.BatchNorm2d(5).train()
    with torch.no_grad():
        ref.weight.copy_(got['weight'][:5])
        ref.bias.copy_(got['bias'][:5])
    expected = ref(images)[:4]
    torch.testing.assert_close(got['y'], expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(got['mean'][:5], ref.running_mean)
    torch.testing.assert_close(got['var'][:5], ref.running_var)
    assert torch.equal(got['mean'][5:], torch.zeros(3))
    assert torch.equal(got['var'][5:], torch.ones(3))
