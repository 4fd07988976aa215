"""DynamicResNet (supernet) vs SubnetResNet (static) and weight export."""
import random

import pytest
import torch

from mmdata import export_subnet_state_dict
from mmdata.export import slice_state_dict
from mmdata.models import DynamicResNet, SubnetResLayer, SubnetResNet
from mmdata.space import Arch
from tests.conftest import randomize_bn_stats


def make_supernet(space, **kwargs) -> DynamicResNet:
    torch.manual_seed(0)
    supernet = DynamicResNet(space=space.to_dict(), **kwargs)
    supernet.init_weights()
    # zero_init_residual would hide every residual branch: randomise norms
    randomize_bn_stats(supernet)
    return supernet.eval()


def static_copy(supernet, arch, **kwargs) -> SubnetResNet:
    subnet = SubnetResNet(arch, **kwargs)
    result = subnet.load_state_dict(export_subnet_state_dict(supernet, arch))
    assert result.missing_keys == [] and result.unexpected_keys == []
    return subnet.eval()


def max_diff(a, b) -> float:
    return max((x - y).abs().max().item() for x, y in zip(a, b))


@torch.no_grad()
def test_dynamic_equals_static_for_random_archs(tiny_space):
    supernet = make_supernet(tiny_space)
    x = torch.randn(2, 3, 64, 64)
    archs = tiny_space.sample_many(random.Random(0), 20, unique=True)
    archs += [tiny_space.max_arch, tiny_space.min_arch]
    for arch in archs:
        supernet.set_arch(arch)
        dynamic = supernet(x)
        static = static_copy(supernet, arch)(x)
        assert len(dynamic) == len(static) == 4
        for i, (d, s) in enumerate(zip(dynamic, static)):
            assert d.shape == s.shape == (2, arch.out_channels[i],
                                          64 // 2**(i + 2), 64 // 2**(i + 2))
        assert max_diff(dynamic, static) <= 1e-5, arch


@torch.no_grad()
def test_dilated_segmentation_layout(tiny_space):
    kwargs = dict(
        strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), out_indices=(2, 3))
    supernet = make_supernet(tiny_space, **kwargs)
    x = torch.randn(1, 3, 48, 48)
    for arch in tiny_space.sample_many(random.Random(1), 5, unique=True):
        supernet.set_arch(arch)
        dynamic = supernet(x)
        static = static_copy(supernet, arch, **kwargs)(x)
        assert [t.shape[-1] for t in dynamic] == [6, 6]
        assert max_diff(dynamic, static) <= 1e-5


@torch.no_grad()
def test_c4_backbone_and_res_layer_equal_the_supernet(tiny_space):
    supernet = make_supernet(tiny_space)
    x = torch.randn(2, 3, 64, 64)
    for arch in tiny_space.sample_many(random.Random(2), 5, unique=True):
        supernet.set_arch(arch)
        c5 = supernet(x)[3]
        backbone = SubnetResNet(arch, num_stages=3, out_indices=(2, ))
        result = backbone.load_state_dict(
            export_subnet_state_dict(supernet, arch, num_stages=3))
        assert not result.missing_keys and not result.unexpected_keys
        head = SubnetResLayer(arch, stage=3)
        result = head.load_state_dict(
            slice_state_dict(supernet.state_dict(), head))
        assert not result.missing_keys and not result.unexpected_keys
        out = head.eval()(backbone.eval()(x)[0])
        assert (out - c5).abs().max().item() <= 1e-5


def test_train_mode_batch_norm_updates_only_the_active_slice(tiny_space):
    supernet = make_supernet(tiny_space)
    arch = tiny_space.min_arch
    supernet.set_arch(arch)
    subnet = static_copy(supernet, arch)
    before = supernet.layer4[0].bn3.running_mean.clone()
    supernet.train()
    subnet.train()
    x = torch.randn(4, 3, 64, 64)
    out_dynamic, out_static = supernet(x), subnet(x)
    assert max_diff(out_dynamic, out_static) <= 1e-5
    after = supernet.layer4[0].bn3.running_mean
    c = arch.out_channels[3]
    torch.testing.assert_close(after[:c], subnet.layer4[0].bn3.running_mean)
    assert torch.equal(after[c:], before[c:])


def test_gradients_reach_only_the_active_weights(tiny_space):
    supernet = make_supernet(tiny_space).train()
    arch = Arch(8, (8, 16, 32, 64), (1, 1, 1, 1))
    supernet.set_arch(arch)
    sum(o.sum() for o in supernet(torch.randn(2, 3, 32, 32))).backward()
    grad = supernet.conv1.weight.grad
    assert grad[:8].abs().sum() > 0 and grad[8:].abs().sum() == 0
    assert supernet.layer3[1].conv1.weight.grad is None  # unused block


def test_set_arch_validates(tiny_space):
    supernet = make_supernet(tiny_space)
    assert supernet.arch == tiny_space.max_arch
    with pytest.raises(ValueError, match=r'widths\[0\].*10'):
        supernet.set_arch(Arch(8, (10, 16, 32, 64), (1, 1, 1, 1)))
    assert supernet.arch == tiny_space.max_arch  # a refused arch is not set
    supernet.set_arch(str(tiny_space.min_arch))
    assert supernet.arch == tiny_space.min_arch
    with pytest.raises(ValueError, match='outside the space'):
        export_subnet_state_dict(supernet,
                                 Arch(8, (10, 16, 32, 64), (1, 1, 1, 1)))


def test_frozen_stages_and_norm_eval(tiny_space):
    supernet = DynamicResNet(
        space=tiny_space.to_dict(), frozen_stages=1, norm_eval=True)
    supernet.train()
    assert not supernet.conv1.weight.requires_grad
    assert not supernet.layer1[0].conv1.weight.requires_grad
    assert supernet.layer2[0].conv1.weight.requires_grad
    assert not supernet.layer3[0].bn1.training
    subnet = SubnetResNet(tiny_space.min_arch, frozen_stages=2)
    subnet.train()
    assert not subnet.layer2[0].conv2.weight.requires_grad
    assert subnet.layer3[0].conv2.weight.requires_grad


def test_syncbn_config_builds_dynamic_sync_bn(tiny_space):
    from mmdata.models.utils import DynamicSyncBatchNorm
    supernet = DynamicResNet(
        space=tiny_space.to_dict(), norm_cfg=dict(type='SyncBN'))
    assert isinstance(supernet.layer1[0].bn1, DynamicSyncBatchNorm)
    supernet.set_arch(tiny_space.min_arch)
    supernet.eval()  # single process: no synchronisation needed
    out = supernet(torch.randn(1, 3, 32, 32))
    assert out[3].shape[1] == tiny_space.min_arch.out_channels[3]
    with pytest.raises(ValueError, match="norm type 'GN'"):
        DynamicResNet(space=tiny_space.to_dict(), norm_cfg=dict(type='GN'))


def test_bad_arguments_are_named(tiny_space):
    with pytest.raises(ValueError, match=r'out_indices \(4,\)'):
        DynamicResNet(space=tiny_space.to_dict(), out_indices=(4, ))
    with pytest.raises(ValueError, match='frozen_stages=7'):
        SubnetResNet(tiny_space.min_arch, frozen_stages=7)


def test_pretrained_init_cfg_loads_exported_weights(tiny_space, tmp_path):
    supernet = make_supernet(tiny_space)
    arch = tiny_space.sample(random.Random(5))
    supernet.set_arch(arch)
    path = tmp_path / 'backbone.pth'
    torch.save(export_subnet_state_dict(supernet, arch), path)
    subnet = SubnetResNet(
        arch, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    subnet.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert max_diff(supernet(x), subnet.eval()(x)) <= 1e-5


def test_checkpoint_of_another_space_is_refused(tiny_space):
    from mmengine.runner.checkpoint import load_state_dict

    from mmdata.space import ResNetSpace
    other = ResNetSpace(
        stem=tiny_space.stem,
        widths=tiny_space.widths,
        depths=[(1, 2, 1), (1, 3, 2), (1, 5, 2), (1, 3, 1)])
    source = DynamicResNet(space=tiny_space.to_dict())
    target = DynamicResNet(space=other.to_dict())
    with pytest.raises(
            ValueError,
            match='checkpoint holds a supernet of '
            r'space .*\(1, 2, 1\)\)\).*config builds'):
        target.load_state_dict(source.state_dict())
    with pytest.raises(ValueError, match='checkpoint holds a supernet'):
        load_state_dict(target, source.state_dict())  # mmengine's loader
    same = DynamicResNet(space=tiny_space.to_dict())
    same.load_state_dict(source.state_dict())
