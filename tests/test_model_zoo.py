"""The model zoo: every carried supernet is described in the metafile with
its config, its weights file, the file's and the weights' SHA-256, and is
listed in docs/model_zoo.md."""
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = yaml.safe_load(
    (REPO / 'checkpoints/metafile.yml').read_text())['Models']


def test_every_carried_checkpoint_is_in_the_metafile():
    carried = sorted(p.name for p in (REPO / 'checkpoints').glob('*.pth'))
    assert carried == sorted(Path(m['Weights']).name for m in MODELS)


@pytest.mark.parametrize('model', MODELS, ids=[m['Name'] for m in MODELS])
def test_metafile_entry_matches_its_files(model):
    from mmdata.models.supernet_checkpoint import supernet_weights_sha256
    from mmdata.utils import file_sha256
    weights = REPO / model['Weights']
    assert (REPO / model['Config']).is_file()
    assert Path(model['Config']).stem == model['Name'] == weights.stem
    assert file_sha256(str(weights)) == model['sha256']
    assert supernet_weights_sha256(str(weights)) == model['Weights sha256']
    assert model['Metadata']['Training Command'].endswith(model['Config'])
    zoo = (REPO / 'docs/model_zoo.md').read_text()
    assert f'../{model["Weights"]}' in zoo
    assert f'`{model["Weights sha256"][:8]}…`' in zoo
