"""Label-free baseline scores ("zero-cost proxies") of a candidate subnet.

The search stores these next to its own score, so that a ranking study
(``tools/analysis/rank_correlation.py``) can ask whether the DATA score beats
them. FLOPs and params come from the cost model and are always stored; the
proxies below are chosen with ``SearchLoop(proxies=[...])``:

* ``naswot`` (Mellor et al., 2021): run a batch of N target images through
  the BN-calibrated subnet (eval mode), take at every ReLU call the binary
  pattern ``c = [x > 0]`` of each image, accumulate the N x N kernel
  ``K += c c^T + (1 - c)(1 - c)^T`` and score ``log|det K|``. Higher =
  images better separated by the activation patterns.
* ``synflow`` (Tanaka et al., 2020): data-free. On a float64 copy of the
  subnet with every weight replaced by its absolute value and BN layers
  removed (identity, as the reference ``synflow`` measure of
  zero-cost-nas), feed one all-ones image, ``R = sum`` of the last output,
  and score ``sum |theta * dR/dtheta|`` over conv and linear weights.

Every proxy is ``fn(model, images) -> float``, ``model`` returning a tensor
or a tuple of tensors (the last one is the network's output); higher is
better. Add one with :func:`register_proxy`.
"""
import copy
from typing import Callable, Dict, Sequence

import torch
import torch.nn as nn
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdata.errors import ConfigError

PROXIES: Dict[str, Callable[[nn.Module, Tensor], float]] = {}


def register_proxy(name: str) -> Callable:
    """Decorator adding ``fn(model, images) -> float`` to :data:`PROXIES`."""

    def wrap(fn: Callable) -> Callable:
        PROXIES[name] = fn
        return fn

    return wrap


def check_proxies(names: Sequence[str]) -> list:
    """The names, validated against :data:`PROXIES`."""
    names = list(names or [])
    bad = [n for n in names if n not in PROXIES]
    if bad:
        raise ConfigError(f'unknown proxies {bad}: choose from '
                          f'{sorted(PROXIES)}')
    return names


def _last(out) -> Tensor:
    if isinstance(out, dict):
        out = list(out.values())
    return out[-1] if isinstance(out, (tuple, list)) else out


@register_proxy('naswot')
@torch.no_grad()
def naswot(model: nn.Module, images: Tensor) -> float:
    """``log|det K|`` of the ReLU-pattern kernel of ``images`` (N >= 2)."""
    if len(images) < 2:
        raise ConfigError(f'naswot needs a batch of >= 2 images, got '
                          f'{len(images)}')
    kernel = images.new_zeros(len(images), len(images), dtype=torch.float64)

    def hook(module, inputs, output):
        code = (output.flatten(1) > 0).double()
        kernel.add_(code @ code.t()).add_((1 - code) @ (1 - code).t())

    handles = [
        m.register_forward_hook(hook) for m in model.modules()
        if isinstance(m, nn.ReLU)
    ]
    was_training = model.training
    try:
        model.eval()
        model(images)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return torch.linalg.slogdet(kernel).logabsdet.item()


@register_proxy('synflow')
def synflow(model: nn.Module, images: Tensor) -> float:
    """SynFlow of ``model``; only the shape of ``images[:1]`` is used."""
    net = copy.deepcopy(model).double().eval()
    for name, module in list(net.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, _BatchNorm):
                setattr(module, child_name, nn.Identity())
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    ones = torch.ones_like(images[:1], dtype=torch.float64)
    with torch.enable_grad():
        _last(net(ones)).sum().backward()
    total = 0.
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
            total += (m.weight * m.weight.grad).abs().sum().item()
    return total
