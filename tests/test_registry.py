"""Registry resolution across OpenMMLab scopes."""
from mmengine.registry import MODELS as ROOT_MODELS

import mmdata.registry as reg

ARCH = 'Depth [1,1,1,1] Width [8,8,16,32,64]'


def test_registries_are_scoped_children_of_mmengine_roots():
    for name in reg.__all__:
        registry = getattr(reg, name)
        assert registry.scope == 'mmdata', name
        assert registry.parent is not None and registry.parent.scope == \
            'mmengine', name
    assert reg.MODELS.parent is ROOT_MODELS


def test_mmdata_types_resolve_from_other_scopes():
    from mmdet.registry import MODELS as DET_MODELS
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    for registry in (DET_MODELS, SEG_MODELS, PRETRAIN_MODELS):
        model = registry.build(dict(type='mmdata.SubnetResNet', arch=ARCH))
        assert type(model).__name__ == 'SubnetResNet'


def test_mmpretrain_types_resolve_from_mmdata_scope():
    neck = reg.MODELS.build(
        dict(
            type='mmpretrain.MoCoV2Neck',
            in_channels=8,
            hid_channels=4,
            out_channels=2))
    assert type(neck).__name__ == 'MoCoV2Neck'
    hook = reg.HOOKS.build(dict(type='mmpretrain.DenseCLHook'))
    assert type(hook).__name__ == 'DenseCLHook'


def test_unprefixed_types_fall_back_to_mmengine_root():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdata'):
        hook = reg.HOOKS.build(dict(type='CheckpointHook', interval=1))
    assert type(hook).__name__ == 'CheckpointHook'


def test_custom_imports_in_an_mmdet_config(tmp_path):
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.config import Config
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        "custom_imports = dict(imports=['mmdata'], "
        'allow_failed_imports=False)\n'
        f"backbone = dict(type='mmdata.SubnetResNet', arch='{ARCH}', "
        'out_indices=(2, ))\n')
    cfg = Config.fromfile(str(cfg_file))
    model = DET_MODELS.build(cfg.backbone)
    assert model.out_indices == (2, )
