"""Strict supernet loading: anything that is not a complete mmdata supernet
of the config is refused with one line naming the first keys; a valid
checkpoint gives the same weights and scores as MMEngine's own load."""
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from mmdata.errors import CheckpointError
from mmdata.models.supernet_checkpoint import (SEARCHED, load_supernet,
                                               load_supernet_backbone)
from mmdata.search import SubnetScorer
from mmdata.search.settings import SearchSettings
from mmdata.space import Arch
from tests.helpers import build

REPO = Path(__file__).resolve().parents[2]
TINY = 'configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'
BYOL = 'configs/tiny/supernet-byol_dynresnet-tiny_1xb128-1e_fashion-mnist.py'


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    model = build(seed=1)
    path = tmp_path_factory.mktemp('ckpt') / 'supernet.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path, model.state_dict()


def edited(saved, tmp_path, change) -> str:
    path, state = saved
    state = dict(state)
    change(state)
    out = tmp_path / 'edited.pth'
    torch.save(dict(state_dict=state), out)
    return str(out)


@pytest.mark.parametrize('drop, needle', [
    ('teacher.', 'missing keys (teacher.'),
    ('backbone.layer4.', 'missing keys (backbone.layer4.'),
    ('neck.', 'missing keys (neck.'),
])
def test_missing_keys_are_refused(saved, tmp_path, drop, needle):
    path = edited(saved, tmp_path,
                  lambda s: [s.pop(k) for k in list(s) if k.startswith(drop)])
    with pytest.raises(
            CheckpointError,
            match=r'does not fit the '
            r'SupernetMoCo of the config: \d+ ' + needle.replace('(', r'\(')):
        load_supernet(build(), path)


def test_not_a_supernet_is_refused(tmp_path):
    import torchvision
    plain = torchvision.models.resnet18().state_dict()
    for i, content in enumerate(
        [plain, dict(state_dict=plain),
         dict(meta=dict(epoch=1))]):
        path = tmp_path / f'{i}.pth'
        torch.save(content, path)
        with pytest.raises(
                CheckpointError, match="not an mmdata supernet checkpoint"):
            load_supernet(build(), str(path))
        with pytest.raises(
                CheckpointError, match="not an mmdata supernet checkpoint"):
            load_supernet_backbone(str(path))


def test_another_method_is_refused(tmp_path):
    byol = build(BYOL)
    path = tmp_path / 'byol.pth'
    torch.save(dict(state_dict=byol.state_dict()), path)
    with pytest.raises(CheckpointError, match='keys of another shape'):
        load_supernet(build(), str(path))


def test_backbone_of_export_and_probes_must_be_complete(saved, tmp_path):
    path = edited(saved, tmp_path, lambda s: s.pop('backbone.layer4.1.'
                                                   'conv2.weight'))
    with pytest.raises(
            CheckpointError,
            match=r'1 missing keys \(layer4.1.conv2.weight\)'):
        load_supernet_backbone(path)
    path = edited(
        saved, tmp_path,
        lambda s: s.update({'teacher.backbone.conv1.weight': torch.zeros(1)}))
    with pytest.raises(CheckpointError, match=r'conv1.weight \(1,\) vs'):
        load_supernet_backbone(path, 'teacher')
    state, space = load_supernet_backbone(str(saved[0]))
    assert state.keys() == {
        k[len('backbone.'):]
        for k in saved[1] if k.startswith('backbone.')
    }


def test_valid_checkpoint_scores_equal_mmengine_load(saved):
    path, state = saved
    strict, loose = build(seed=2), build(seed=3)
    load_supernet(strict, str(path))
    load_checkpoint(loose, str(path), strict=False, logger='silent')
    for key, value in strict.state_dict().items():
        if not key.startswith(SEARCHED):
            continue  # the queue: training state, not loaded for a search
        assert torch.equal(value, state[key]), key
        assert torch.equal(value, loose.state_dict()[key]), key
    settings = SearchSettings(
        budgets=[(1e6, 3e6)], input_size=32, calib_batches=1, score_batches=1)
    torch.manual_seed(0)
    images = [torch.randn(8, 3, 32, 32)]
    archs = [
        Arch.parse('Depth [1,2,3,1] Width [8,12,24,48,96]'),
        Arch.parse('Depth [2,1,4,2] Width [16,16,32,64,128]')
    ]
    scores = []
    for model in (strict, loose):
        model.eval()
        scorer = SubnetScorer.of_algorithm(model, settings, images, images)
        scores.append([scorer.score(a) for a in archs])
    assert scores[0] == scores[1]
