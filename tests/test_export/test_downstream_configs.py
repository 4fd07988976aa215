"""The shipped downstream configs (configs/downstream/): each loads through
its library's base config, builds its model with that library's registry,
runs it on a small image, and is what the exporter would write for its
default (ResNet-50-shaped) subnet."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmdata.export import TASKS
from mmdata.space import Arch

REPO = Path(__file__).resolve().parents[2]
R50 = Arch.parse('Depth [3,4,6,3] Width [64,64,128,256,512]')


def test_every_shipped_downstream_config_is_a_task():
    shipped = {
        str(p.relative_to(REPO / 'configs'))
        for p in (REPO / 'configs' / 'downstream').rglob('*.py')
    }
    assert shipped == {spec['base'] for spec in TASKS.values()}


def assert_holds(cfg, overrides, where=''):
    """Every value the exporter overrides already has that value in the
    shipped config (the weights excepted: the shipped config has none)."""
    if isinstance(overrides, dict):
        for key, value in overrides.items():
            if key not in ('init_cfg', '_delete_'):
                assert_holds(cfg[key], value, f'{where}.{key}')
    elif isinstance(overrides, list):
        assert len(cfg) == len(overrides), where
        for i, (a, b) in enumerate(zip(cfg, overrides)):
            assert_holds(a, b, f'{where}[{i}]')
    elif isinstance(overrides, float):
        assert cfg == pytest.approx(overrides), where
    else:
        assert cfg == overrides, where


@pytest.mark.parametrize('task', sorted(TASKS))
def test_shipped_downstream_config_builds_and_runs(task):
    spec = TASKS[task]
    cfg = Config.fromfile(str(REPO / 'configs' / spec['base']))
    assert cfg.default_scope == spec['library']
    assert cfg.custom_imports.imports == ['mmdata']
    assert Arch.parse(cfg.model.backbone.arch) == R50
    assert cfg.model.backbone.init_cfg is None
    assert_holds(cfg, spec['overrides'](R50))

    registry = {
        'mmdet': 'mmdet.registry',
        'mmseg': 'mmseg.registry',
        'mmpretrain': 'mmpretrain.registry'
    }[spec['library']]
    models = __import__(registry, fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(spec['library']):
        model = models.build(cfg.model).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 64, 64))
        if 'roi_head' in cfg.model:
            if cfg.model.roi_head.get('shared_head'):  # C4: stage 4 as head
                out = model.roi_head.shared_head(feats[0])
                assert out.shape[1] == cfg.model.roi_head.bbox_head.in_channels
            model.rpn_head(feats)
        elif 'decode_head' in cfg.model:
            model.decode_head(feats)
            model.auxiliary_head(feats)
        else:
            assert model.head(feats).shape == (1, cfg.model.head.num_classes)
