"""NASWOT and SynFlow match hand computations on toy networks."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmdata.search.proxies import PROXIES, check_proxies, naswot, synflow
from tests.conftest import randomize_bn_stats


def toy_net(seed: int = 0, bias: bool = True) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(3, 5, bias=bias), nn.ReLU(), nn.Linear(5, 4, bias=bias),
        nn.ReLU())


def test_naswot_matches_hamming_kernel_by_hand():
    net = toy_net()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    w1, b1 = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    w2, b2 = net[2].weight.detach().numpy(), net[2].bias.detach().numpy()
    h1 = x.numpy() @ w1.T + b1
    h2 = np.maximum(h1, 0) @ w2.T + b2
    codes = [h1 > 0, h2 > 0]
    # K_ij = number of ReLU units on which images i and j agree
    kernel = np.zeros((6, 6))
    for i in range(6):
        for j in range(6):
            kernel[i, j] = sum((c[i] == c[j]).sum() for c in codes)
    expected = np.linalg.slogdet(kernel)[1]
    assert naswot(net, x) == pytest.approx(expected, abs=1e-9)
    assert net.training  # the mode is restored


def test_naswot_needs_two_images():
    with pytest.raises(ValueError, match='>= 2 images'):
        naswot(toy_net(), torch.randn(1, 3))


def test_synflow_matches_path_norm_by_hand():
    net = toy_net(bias=False)
    a1 = net[0].weight.detach().abs().double().numpy()
    a2 = net[2].weight.detach().abs().double().numpy()
    # R = 1^T |W2| |W1| 1; each layer's sum |theta dR/dtheta| equals R
    r = np.ones(4) @ a2 @ a1 @ np.ones(3)
    before = [p.clone() for p in net.parameters()]
    assert synflow(net, torch.randn(7, 3)) == pytest.approx(2 * r, rel=1e-12)
    for p, q in zip(before, net.parameters()):  # the model is untouched
        assert torch.equal(p, q) and q.grad is None


def test_synflow_ignores_batch_norm_and_is_data_free():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))
    with_bn = nn.Sequential(conv[0], nn.BatchNorm2d(4), nn.ReLU(), conv[2])
    randomize_bn_stats(with_bn)
    images = torch.randn(2, 3, 8, 8)
    expected = synflow(conv, images)
    assert synflow(with_bn, images) == pytest.approx(expected, rel=1e-12)
    assert synflow(conv, images * 5 - 3) == pytest.approx(expected, rel=1e-12)


def test_proxy_names_are_checked():
    assert set(PROXIES) >= {'naswot', 'synflow'}
    assert check_proxies(['synflow']) == ['synflow']
    with pytest.raises(ValueError, match="unknown proxies \\['grasp'\\]"):
        check_proxies(['grasp'])
