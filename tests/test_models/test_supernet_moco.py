"""SupernetMoCo (paper Alg. 1) and the TeacherEMA hook."""
import copy

import pytest
import torch
from mmengine.config import Config

from mmdata.engine.hooks import TeacherEMA
from mmdata.registry import MODELS
from mmdata.space import Arch

TINY_CFG = ('configs/tiny/'
            'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')


def tiny_model_cfg(**overrides):
    cfg = Config.fromfile(TINY_CFG).model
    cfg.queue_len = 64
    cfg.update(overrides)
    return cfg


def build(**overrides):
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(tiny_model_cfg(**overrides))
    model.init_weights()
    return model


def batch(n=8, size=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    views = [
        torch.rand(n, 3, size, size, generator=gen) * 255 for _ in range(2)
    ]
    return dict(inputs=views, data_samples=[None] * n)


def test_loss_has_one_term_per_student_and_teacher_gets_no_grad():
    model = build()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_max', 'loss_rand1', 'loss_rand2'}
    for value in losses.values():
        assert torch.isfinite(value) and value > 0
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    assert model.backbone.conv1.weight.grad is not None
    assert model.teacher.backbone.arch == model.space.max_arch
    assert int(model.queue_ptr) == 8 and int(model.step) == 1


def test_teacher_starts_as_student_and_follows_the_ema():
    model = build()
    for t, s in zip(model._teacher_params(), model._student_params()):
        assert torch.equal(t, s)
    teacher = [t.clone() for t in model._teacher_params()]
    with torch.no_grad():
        for s in model._student_params():
            s.add_(1.0)
    model.update_teacher(0.9)
    for t0, t, s in zip(teacher, model._teacher_params(),
                        model._student_params()):
        torch.testing.assert_close(t, 0.9 * t0 + 0.1 * s)


def test_omega_presets_and_named_archs():
    model = build(omega='sandwich')
    names = [name for name, _ in model.sample_omega()]
    assert names == ['max', 'min', 'rand1']
    arch = 'Depth [1,1,1,1] Width [8,8,16,32,64]'
    model = build(omega=dict(fixed=['max', arch], num_random=3))
    omega = model.sample_omega()
    assert [n
            for n, _ in omega] == ['max', 'fixed2', 'rand1', 'rand2', 'rand3']
    assert omega[1][1] == Arch.parse(arch)


def test_arch_sampling_is_keyed_on_the_step():
    model = build()
    first = model.sample_omega()
    assert model.sample_omega() == first
    model.step += 1
    assert model.sample_omega() != first
    model.step -= 1
    assert model.sample_omega() == first


def test_omega_outside_the_space_is_one_clear_error():
    with pytest.raises(
            ValueError,
            match=r'omega names an arch outside.*'
            r'widths\[0\] \(stage 1\)=10'):
        build(omega=dict(fixed=['Depth [1,1,1,1] Width [8,10,16,32,64]']))
    with pytest.raises(ValueError, match="omega='best'"):
        build(omega='best')


def test_teacher_ema_hook_momentum_schedule():
    hook = TeacherEMA(momentum=0.99, cosine=True)
    assert hook.current_momentum(0, 100) == pytest.approx(0.99)
    assert hook.current_momentum(50, 100) == pytest.approx(0.995)
    assert hook.current_momentum(100, 100) == pytest.approx(1.0)
    assert TeacherEMA(0.999).current_momentum(50, 100) == 0.999
    with pytest.raises(ValueError, match='momentum=1.5'):
        TeacherEMA(1.5)


def test_teacher_is_in_the_state_dict():
    model = build()
    keys = model.state_dict().keys()
    assert 'teacher.backbone.conv1.weight' in keys
    assert 'queue' in keys and 'step' in keys
    clone = build()
    clone.load_state_dict(copy.deepcopy(model.state_dict()))
    assert torch.equal(clone.queue, model.queue)


def test_one_arch_supernet_moco_equals_mmpretrain_moco():
    """With a one-arch space (ResNet-50) and Omega = {max}, SupernetMoCo's
    loss and gradients equal mmpretrain's MoCo on the same weights, queue
    and images."""
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample

    from mmdata.registry import MODELS
    head = dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2)
    single = [(64, 64, 1), (128, 128, 1), (256, 256, 1), (512, 512, 1)]
    ours_cfg = dict(
        type='mmdata.SupernetMoCo',
        queue_len=64,
        feat_dim=128,
        omega=dict(fixed=('max', ), num_random=0),
        backbone=dict(
            type='mmdata.DynamicResNet',
            norm_cfg=dict(type='BN'),
            space=dict(
                stem=(64, 64, 1),
                widths=single,
                depths=[(3, 3, 1), (4, 4, 1), (6, 6, 1), (3, 3, 1)])),
        neck=dict(
            type='mmdata.DynamicMoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128),
        head=head)
    ref_cfg = dict(
        type='mmpretrain.MoCo',
        queue_len=64,
        feat_dim=128,
        momentum=0.001,
        backbone=dict(type='ResNet', depth=50, norm_cfg=dict(type='BN')),
        neck=dict(
            type='MoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True),
        head=head)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ours, ref = MODELS.build(ours_cfg), MODELS.build(ref_cfg)
    ref.init_weights()
    ours.train(), ref.train()
    weights = {
        k: v
        for k, v in ref.state_dict().items()
        if k.startswith(('backbone.', 'neck.'))
    }
    missing, unexpected = ours.load_state_dict(weights, strict=False)
    assert not unexpected
    assert all(
        k.startswith(('teacher.', 'queue', 'step',
                      'head.')) or k == 'backbone.space_grid' for k in missing)
    ours.copy_student_to_teacher()
    ref.encoder_k.module.load_state_dict(
        torch.nn.Sequential(ref.backbone, ref.neck).state_dict())
    ref.queue.copy_(ours.queue)
    gen = torch.Generator().manual_seed(1)
    views = [torch.randn(4, 3, 64, 64, generator=gen) for _ in range(2)]
    samples = [DataSample() for _ in range(4)]
    loss = ours.loss(views, samples)['loss_max']
    expected = ref.loss(views, samples)['loss']
    torch.testing.assert_close(loss, expected, rtol=0, atol=1e-5)
    loss.backward()
    expected.backward()
    ref_params = dict(ref.named_parameters())
    compared = 0
    for name, p in ours.named_parameters():
        if p.grad is None:
            continue
        torch.testing.assert_close(
            p.grad, ref_params[name].grad, rtol=1e-4, atol=1e-5, msg=name)
        compared += 1
    assert compared == sum(p.grad is not None for p in ref.parameters())
