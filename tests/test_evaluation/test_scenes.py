"""The Fashion-MNIST scenes benchmark: the generator is deterministic, its
annotations load in mmdet's and mmseg's own datasets and agree with each
other, and the shipped scenes protocols train a detector and a segmentor on
them with falling loss through MMEngine's Runner."""
import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from mmdata.errors import WorkDirError
from mmdata.evaluation import fashion_scenes
from tests.helpers import write_fashion_mnist, write_scenes

REPO = Path(__file__).resolve().parents[2]
SCENES = fashion_scenes
ARCH = 'Depth [1,1,2,1] Width [16,16,32,64,128]'


def digest(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob('*')) if p.is_file()
    }


@pytest.fixture(scope='module')
def scenes(tmp_path_factory):
    return write_scenes(tmp_path_factory.mktemp('scenes') / 'scenes')


def test_generator_is_deterministic_and_splits_are_independent(tmp_path):
    items = write_fashion_mnist(tmp_path / 'items', 64, 32)
    sizes = dict(train=4, val=3, test=2)
    a = SCENES.prepare(items, tmp_path / 'a', sizes, seed=3)
    SCENES.prepare(items, tmp_path / 'b', sizes, seed=3)
    assert digest(tmp_path / 'a') == digest(tmp_path / 'b')
    SCENES.prepare(items, tmp_path / 'c', dict(sizes, train=6), seed=3)
    for split in ('val', 'test'):  # another train size leaves them alone
        assert {
            k: v
            for k, v in digest(tmp_path / 'a').items() if k.startswith(split)
        } == {
            k: v
            for k, v in digest(tmp_path / 'c').items() if k.startswith(split)
        }
    SCENES.prepare(items, tmp_path / 'd', sizes, seed=4)
    assert digest(tmp_path / 'a') != digest(tmp_path / 'd')
    # the same settings again: kept; other settings: refused, or replaced
    assert SCENES.prepare(items, tmp_path / 'a', sizes, seed=3) == a
    with pytest.raises(WorkDirError, match='--overwrite'):
        SCENES.prepare(items, tmp_path / 'a', dict(sizes, train=2), seed=3)
    SCENES.prepare(
        items, tmp_path / 'a', dict(sizes, train=2), seed=3, overwrite=True)
    assert len(list((tmp_path / 'a' / 'train' / 'images').iterdir())) == 2


def test_annotations_load_in_mmdet_and_mmseg_and_agree(scenes):
    from mmdet.datasets import CocoDataset
    from mmseg.datasets import BaseSegDataset
    from pycocotools import mask as mask_utils
    info = json.loads((scenes / 'scenes.json').read_text())
    assert info['size'] == 96 and info['scenes']['val'] == 8
    coco = json.loads(
        (scenes / 'annotations' / 'instances_val.json').read_text())
    det = CocoDataset(
        data_root=str(scenes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/images/'),
        metainfo=dict(classes=SCENES.CLASSES),
        test_mode=True)
    assert len(det) == 8
    seg = BaseSegDataset(
        data_root=str(scenes),
        data_prefix=dict(img_path='val/images', seg_map_path='val/semantic'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=dict(classes=('background', ) + SCENES.CLASSES))
    assert len(seg) == 8
    total = 0
    for image in coco['images']:
        name = image['file_name']
        semantic = np.asarray(Image.open(scenes / 'val' / 'semantic' / name))
        canvas = np.asarray(Image.open(scenes / 'val' / 'images' / name))
        assert canvas.shape == semantic.shape == (96, 96)
        anns = [a for a in coco['annotations'] if a['image_id'] == image['id']]
        assert 1 <= len(anns) <= info['max_items']
        union = np.zeros((96, 96), bool)
        for a in anns:
            mask = mask_utils.decode(a['segmentation']).astype(bool)
            assert mask.sum() == a['area'] >= 16
            # the box is the visible mask's, the semantic map its class
            ys, xs = np.nonzero(mask)
            x, y, w, h = a['bbox']
            assert (x, y, x + w, y + h) == (xs.min(), ys.min(), xs.max() + 1,
                                            ys.max() + 1)
            assert (semantic[mask] == a['category_id']).all()
            assert not (union & mask).any()  # one owner per pixel
            union |= mask
        assert (semantic[~union] == 0).all()
        total += len(anns)
    assert total == info['instances']['val']
    # mmdet's parsed instances are those annotations
    first = det.get_data_info(0)
    assert len(first['instances']) == sum(
        a['image_id'] == coco['images'][0]['id'] for a in coco['annotations'])


ITERS = 30


@pytest.mark.slow
@pytest.mark.parametrize('metric', ['det-map', 'seg-miou'])
def test_scenes_protocol_trains_with_falling_loss(metric, scenes,
                                                  tiny_supernet, tmp_path):
    from mmdata.evaluation.downstream import (DownstreamSettings,
                                              measurement_config, metric_value)
    from mmdata.export import TASKS, export_subnet
    settings = DownstreamSettings(
        metric, data_options=dict(data_root=str(scenes)), iters=ITERS)
    export_subnet(
        str(tiny_supernet['ckpt']), ARCH, settings.task, str(tmp_path / 'x'))
    exported = Config.fromfile(
        str(tmp_path / 'x' / TASKS[settings.task]['config']))
    cfg, _ = measurement_config(exported, settings, str(tmp_path / 'run'), 0)
    cfg.train_dataloader.batch_size = 4
    # the shipped schedule, shortened with its shape: warm-up and steps
    assert cfg.train_cfg.max_iters == ITERS and cfg.val_cfg is None
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == ITERS and np.isfinite(losses).all()
    first, last = losses[:5].mean(), losses[-5:].mean()
    print(f'{metric}: loss {first:.3f} -> {last:.3f}')
    assert last < 0.8 * first, losses
    assert 0 <= metric_value(runner.test(), cfg.test_evaluator.type) <= 1


@pytest.mark.slow
def test_label_metric_cli_measures_scenes_and_resumes(scenes, tiny_supernet,
                                                      tmp_path):
    out = tmp_path / 'det.csv'
    cmd = [
        sys.executable, 'tools/analysis/label_metric.py', 'unused.py',
        str(tiny_supernet['ckpt']), '--metric', 'seg-miou', '--scenes',
        str(scenes), '--iters', '2', '--archs', ARCH, '--seeds', '0', '1',
        '--out',
        str(out)
    ]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = out.read_text().splitlines()
    assert rows[0] == 'arch,bin,seed,mIoU' and len(rows) == 3
    assert all(0 <= float(r.split(',')[-1]) <= 1 for r in rows[1:])
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert '0 (arch, seed) pairs to do, 2 already' in again.stdout
    # other ground-truth settings are refused, not mixed in
    other = subprocess.run(
        cmd[:-1] + [str(out), '--iters', '3'],
        cwd=REPO,
        capture_output=True,
        text=True)
    assert other.returncode != 0
    assert 'computed differently' in other.stderr


@pytest.mark.slow
def test_label_metric_tests_on_val_and_test_splits(scenes, tiny_supernet,
                                                   tmp_path):
    """--eval-splits val test: a column per split, their mean last; the
    test split's loader reads the test scenes' files."""
    from mmdata.evaluation.downstream import (DownstreamSettings,
                                              measurement_config)
    from mmdata.export import TASKS, export_subnet
    for metric in ('det-map', 'seg-miou'):
        settings = DownstreamSettings(
            metric,
            splits=('val', 'test'),
            data_options=dict(data_root=str(scenes)))
        export_subnet(
            str(tiny_supernet['ckpt']), ARCH, settings.task,
            str(tmp_path / metric))
        exported = Config.fromfile(
            str(tmp_path / metric / TASKS[settings.task]['config']))
        _, splits = measurement_config(exported, settings,
                                       str(tmp_path / f'{metric}-run'), 0)
        loader, evaluator = splits['test']
        paths = [
            loader.dataset.get('ann_file', ''),
            evaluator.get('ann_file', ''),
            *loader.dataset.data_prefix.values()
        ]
        assert all('val' not in p for p in paths), paths
        assert any('test' in p for p in paths), paths
    out = tmp_path / 'det.csv'
    done = subprocess.run([
        sys.executable, 'tools/analysis/label_metric.py', 'unused.py',
        str(tiny_supernet['ckpt']), '--metric', 'det-map', '--scenes',
        str(scenes), '--iters', '2', '--archs', ARCH, '--eval-splits', 'val',
        'test', '--out',
        str(out)
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        'arch', 'bin', 'seed', 'bbox_mAP@val', 'bbox_mAP@test', 'bbox_mAP'
    ]
    row = {k: float(v) for k, v in rows[0].items() if k.startswith('bbox')}
    assert row['bbox_mAP'] == pytest.approx(
        (row['bbox_mAP@val'] + row['bbox_mAP@test']) / 2, abs=1e-6)


def test_scenes_settings_refuse_bad_values(tmp_path):
    from mmdata.errors import ConfigError, DataError
    from mmdata.evaluation.downstream import (DownstreamSettings,
                                              check_labeled_data)
    from mmdata.export.tasks import TASKS, shipped_configs
    with pytest.raises(ConfigError, match='det-map'):
        DownstreamSettings('map')
    with pytest.raises(ConfigError, match=r"splits \['train'\]: allowed"):
        DownstreamSettings('det-map', splits=['train'])
    with pytest.raises(ConfigError, match='trains one of'):
        DownstreamSettings('seg-miou', protocol='coco-maskrcnn-fpn')
    settings = DownstreamSettings(
        'det-map', data_options=dict(data_root=str(tmp_path / 'none')))
    protocol = Config.fromfile(
        str(Path(shipped_configs()) / TASKS[settings.task]['base']))
    with pytest.raises(DataError, match='prepare_fashion_scenes'):
        check_labeled_data(protocol, settings.load_data(), settings)


def test_small_search_configs_score_the_same_candidates():
    base = Config.fromfile(
        str(REPO /
            'configs/small/search-cls_dynresnet-tiny_fashion-scenes.py'))
    searches = set()
    for path in (REPO / 'configs' / 'small').glob('search-*.py'):
        cfg = Config.fromfile(str(path))
        loop = dict(cfg.train_cfg)
        searches.add((loop.pop('tap'), loop.pop('similarity')))
        assert loop == {
            k: v
            for k, v in base.train_cfg.items()
            if k not in ('tap', 'similarity')
        }, path.name
        assert cfg.train_dataloader == base.train_dataloader
    assert searches == {('cls', 'relation'), ('det_c4', 'relation'),
                        ('det_fpn', 'relation'), ('seg', 'relation'),
                        ('det_fpn', 'cosine'), ('det_fpn', 'mse')}


@pytest.mark.slow
def test_scenes_study_quick_run(scenes, tmp_path):
    """``make scenes`` in miniature: train, two searches of the same
    candidates (taps z and C2-C5), the detector as the mean of two seeds
    (``--label-seeds det-map=2``), FCN with a noise seed on the picks, and
    the comparison with the taps tested against each other."""
    small = REPO / 'configs' / 'small'
    cmd = [
        sys.executable, 'tools/analysis/ranking_benchmark.py',
        str(small / 'supernet-mocov2_dynresnet-tiny_1xb64-1500it_'
            'fashion-scenes.py'),
        str(small / 'search-cls_dynresnet-tiny_fashion-scenes.py'),
        str(small / 'search-det-fpn_dynresnet-tiny_fashion-scenes.py'),
        '--work-dir',
        str(tmp_path / 'study'), '--iters', '2', '--candidates', '2',
        '--label-metrics', 'det-map', 'seg-miou', '--gt-iters', '2',
        '--noise-seeds', '2', '--label-seeds', 'det-map=2', '--scenes',
        str(scenes), '--bootstrap', '20', '--cfg-options',
        f'train_dataloader.dataset.data_root={scenes}',
        'train_dataloader.batch_size=4', '--search-options',
        'train_cfg.calib_batches=1', 'train_cfg.score_batches=2'
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = (tmp_path / 'study' / 'ranking.txt').read_text()
    for name in ('label metric: det-map', 'label metric: seg-miou',
                 'DATA (z) - DATA (C2+C3+C4+C5): dtau_bin',
                 'DATA (C2+C3+C4+C5) - params: dtau_bin'):
        assert name in text, name
    rows = (tmp_path / 'study' / 'label-det-map.csv').read_text()
    assert rows.splitlines()[0] == 'arch,bin,seed,bbox_mAP'
    assert len(rows.splitlines()) == 1 + 6 * 2  # 6 candidates x 2 seeds
    rows = (tmp_path / 'study' / 'label-seg-miou.csv').read_text()
    assert len(rows.splitlines()) == 1 + 6 + 3  # 6 candidates, 3 noise rows
    assert 'bbox_mAP noise floor: std' in text
    assert 'of the mean of 2 seeds' in text.split('label metric: seg-miou')[0]
    assert 'of the mean of' not in text.split('label metric: seg-miou')[1]


def test_carried_study_rows_belong_to_the_carried_supernet():
    """The scenes study kept across machines (its rows in
    docs/studies/scenes/scenes-study/, its supernet in checkpoints/, copied by
    `make scenes`): every label-row file records the hash of the carried
    supernet's weights, holds only archs of its space, and no (arch, seed)
    twice."""
    from mmdata.models.supernet_checkpoint import (load_supernet_backbone,
                                                   supernet_weights_sha256)
    from mmdata.space import Arch
    study = REPO / 'docs/studies/scenes/scenes-study'
    ckpt = str(
        REPO / 'checkpoints' /
        'supernet-mocov2_dynresnet-tiny_1xb64-1500it_fashion-scenes.pth')
    weights = supernet_weights_sha256(ckpt)
    _, space = load_supernet_backbone(ckpt, 'student')
    sides = sorted(study.glob('label-*.csv.json'))
    for side in sides:
        assert json.loads(side.read_text())['supernet_weights_sha256'] \
            == weights, side.name
        with open(str(side)[:-len('.json')]) as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            space.validate(Arch.parse(row['arch']))
        pairs = [(r['arch'], r['seed']) for r in rows]
        assert len(pairs) == len(set(pairs)), side.name
    assert sorted(study.glob('label-*.csv')) == [
        Path(str(s)[:-len('.json')]) for s in sides
    ]
