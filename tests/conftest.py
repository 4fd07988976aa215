import os
import random

import pytest
import torch

if os.environ.get('PYTEST_XDIST_WORKER'):
    # `make test` runs 2 workers on 2 cores: one torch thread each (and in
    # the processes they start), or they oversubscribe the cores and thrash
    torch.set_num_threads(1)
    os.environ['OMP_NUM_THREADS'] = '1'

from mmdata.space import ResNetSpace


@pytest.fixture
def tiny_space() -> ResNetSpace:
    """A small space with the structure of Table 1 (widths / 8)."""
    return ResNetSpace(
        stem=(8, 16, 8),
        widths=[(8, 16, 4), (16, 32, 8), (32, 64, 16), (64, 128, 32)],
        depths=[(1, 2, 1), (1, 3, 2), (1, 5, 2), (1, 2, 1)])


@pytest.fixture(scope='session')
def tiny_supernet(tmp_path_factory) -> dict:
    """A tiny MoCo v2 supernet trained 2 iterations on synthetic items by
    ``tools/train.py``: ``{'ckpt': path, 'data_root': its items}``."""
    from tests.helpers import train, write_fashion_mnist
    base = tmp_path_factory.mktemp('tiny-supernet')
    data_root = write_fashion_mnist(base / 'fm', 64, 64)
    out = train(base / 'work', data_root, 2)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(ckpt=base / 'work' / 'iter_2.pth', data_root=data_root)


@pytest.fixture(scope='module')
def supernet(tmp_path_factory) -> dict:
    """A tiny supernet trained for 4 iterations on synthetic data (one per
    test module): ``{'ckpt': path, 'data_root': its items}``."""
    from tests.helpers import train, write_fashion_mnist
    base = tmp_path_factory.mktemp('supernet')
    data_root = write_fashion_mnist(base / 'data')
    out = train(base / 'work', data_root, 4)
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(ckpt=base / 'work' / 'iter_4.pth', data_root=data_root)


def randomize_bn_stats(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every norm layer non-trivial running stats and affine params."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(0)
