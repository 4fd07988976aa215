"""BYOL / ReSSL / DenseCL (and MoCo) supernets: train on the tiny configs,
then the checkpoint goes through the SearchLoop and weight export."""
import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmdata import export_subnet_state_dict
from mmdata.export import load_supernet_backbone
from mmdata.models import SubnetResNet
from mmdata.registry import MODELS
from tests.helpers import env, write_fashion_mnist

REPO = Path(__file__).resolve().parents[2]
ALGOS = ['mocov2', 'byol', 'ressl', 'densecl']
SEARCH_CFG = str(REPO / 'configs/tiny/'
                 'search-cls_dynresnet-tiny_fashion-mnist.py')


def tiny_cfg(algo: str) -> str:
    return str(REPO / f'configs/tiny/supernet-{algo}_dynresnet-tiny_1xb128-'
               '1e_fashion-mnist.py')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp('fm'), 256, 64)


def probe_loss(model, batch, queue_seed=0):
    """Loss on a fixed batch with the queues set to fixed random keys, the
    model state left as it was (a yardstick independent of queue contents)."""
    state = copy.deepcopy(model.state_dict())
    gen = torch.Generator().manual_seed(queue_seed)
    for name, buf in model.named_buffers():
        if name.startswith('queue') and not name.endswith('ptr'):
            buf.copy_(
                torch.nn.functional.normalize(
                    torch.randn(buf.shape, generator=gen), dim=0))
    with torch.no_grad():
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
    model.load_state_dict(state)
    return sum(losses.values()).item(), losses


@pytest.mark.parametrize('algo', ALGOS)
def test_trains_with_finite_decreasing_loss(algo, data_root):
    cfg = Config.fromfile(tiny_cfg(algo))
    cfg.train_dataloader.update(
        batch_size=32, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = str(data_root)
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 256
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    momentum = cfg.custom_hooks[0].momentum
    batches = iter(loader)
    probe = next(batches)
    before, _ = probe_loss(model, probe)
    for _ in range(12):
        losses = model.train_step(next(batches), optim)
        assert all(torch.isfinite(v) for v in losses.values())
        model.update_teacher(momentum)
    after, parts = probe_loss(model, probe)
    assert set(parts) == {'loss_max', 'loss_rand1', 'loss_rand2'}
    assert after < before, (algo, before, after)


@pytest.mark.slow
@pytest.mark.parametrize('algo', ALGOS)
def test_checkpoint_goes_through_search_and_export(algo, data_root, tmp_path):
    opts = [
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'train_cfg.max_iters=2'
    ]
    if algo != 'byol':
        opts.append('model.queue_len=64')
    out = subprocess.run([
        sys.executable, 'tools/train.py',
        tiny_cfg(algo), '--work-dir',
        str(tmp_path / 'train'), '--cfg-options', *opts
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = tmp_path / 'train' / 'iter_2.pth'

    # the one tiny search config searches every method's checkpoint: the
    # supernet and its teacher are the checkpoint's own
    out = subprocess.run([
        sys.executable, 'tools/search.py', SEARCH_CFG,
        str(ckpt), '--work-dir',
        str(tmp_path / 'search'), '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'train_cfg.num_candidates=2', 'train_cfg.calib_batches=1',
        'train_cfg.score_batches=1'
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / 'search' / 'search' / 'best.yaml').exists()
    check_search_teacher(algo, ckpt, data_root)

    state, space = load_supernet_backbone(str(ckpt))
    arch = space.min_arch
    subnet = SubnetResNet(arch)
    result = subnet.load_state_dict(export_subnet_state_dict(state, arch))
    assert not result.missing_keys and not result.unexpected_keys


def check_search_teacher(algo, ckpt, data_root):
    """The search's teacher is the method's own: the model the checkpoint
    recorded, whose teacher (key / target branch, max arch) gives the same
    z as the training config's model loaded with the checkpoint."""
    from mmdata.models.supernet_checkpoint import (load_supernet,
                                                   search_model_config)
    from mmdata.search import SubnetScorer
    from mmdata.search.settings import SearchSettings
    search = Config.fromfile(SEARCH_CFG)
    search_model_config(search, str(ckpt))
    models = []
    for model_cfg in (search.model, Config.fromfile(tiny_cfg(algo)).model):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            model = MODELS.build(copy.deepcopy(model_cfg))
        load_supernet(model, str(ckpt))
        models.append(model.eval())
    assert type(models[0]) is type(models[1])
    images = torch.randn(
        4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    # no teacher recalibration: the checkpoint's statistics, as in training
    scorer = SubnetScorer.of_algorithm(models[0],
                                       SearchSettings(calibrate_teacher=False),
                                       [images], [images])
    with torch.no_grad():
        searched = scorer.teacher(images)['z']
        trained = models[1].teacher_forward(images)[0]
    assert searched.shape == trained.shape
    assert torch.allclose(searched, trained, atol=1e-5)


def test_worked_example_in_the_docs_is_the_shipped_code():
    """docs/new_ssl_method.md shows supernet_ressl.py and the ReSSL model
    config verbatim, so they cannot drift apart."""
    doc = (REPO / 'docs' / 'new_ssl_method.md').read_text()
    for path in ('mmdata/models/algorithms/supernet_ressl.py',
                 'configs/_base_/models/supernet-ressl_dynresnet.py'):
        assert (REPO / path).read_text() in doc, path
