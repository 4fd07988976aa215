"""Under mixed precision (CPU autocast in bfloat16 here, fp16 on GPUs) every
method computes its logits, softmax, log-softmax and cross-entropy in
float32: given the same network outputs, the loss under autocast is float32
and equals the float32 path's."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from mmdata.registry import MODELS
from tests.test_models.test_ssl_methods import ALGOS, tiny_cfg

SOFTMAX_OPS = ('softmax', 'log_softmax', 'cross_entropy')


def build(algo: str):
    cfg = Config.fromfile(tiny_cfg(algo))
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 64
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


@pytest.mark.parametrize('algo', ALGOS)
def test_losses_are_float32_under_autocast(algo, monkeypatch):
    model = build(algo)
    gen = torch.Generator().manual_seed(0)
    views = [torch.randn(8, 3, 32, 32, generator=gen) for _ in range(2)]
    samples = [DataSample() for _ in range(8)]
    state = {k: v.clone() for k, v in model.state_dict().items()}

    # the networks' outputs of the float32 pass, reused under autocast, so
    # that only the loss computations can differ
    outputs = {}
    for name in ('student_forward', 'teacher_forward'):
        original = getattr(model, name)

        def cached(x, *args, _original=original, _name=name):
            key = (_name, id(x), *map(str, args))
            if key not in outputs:
                outputs[key] = _original(x, *args)
            return outputs[key]

        monkeypatch.setattr(model, name, cached)

    def loss(autocast: bool) -> torch.Tensor:
        model.load_state_dict(state)  # same queues, same teacher
        torch.manual_seed(1)  # same random students
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            return sum(model.loss(views, samples).values())

    reference = loss(False)
    seen = []
    for name in SOFTMAX_OPS:
        original = getattr(F, name)

        def recording(x, *args, _original=original, _name=name, **kwargs):
            seen.append((_name, x.dtype))
            return _original(x, *args, **kwargs)

        monkeypatch.setattr(F, name, recording)
    mixed = loss(True)
    assert mixed.dtype == torch.float32
    if algo != 'byol':  # BYOL's loss is a cosine similarity, no softmax
        assert seen and all(dtype == torch.float32 for _, dtype in seen), seen
    assert mixed.item() == pytest.approx(reference.item(), abs=1e-5)
