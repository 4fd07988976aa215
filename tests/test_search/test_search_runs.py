"""SearchLoop end to end on a tiny supernet: outputs, BN isolation, resume,
determinism, the distributed split and the evolutionary strategy."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmdata.registry import MODELS
from mmdata.search import SubnetScorer, resolve_taps
from tests.helpers import env

pytestmark = pytest.mark.slow  # trains and runs the tools end to end

REPO = Path(__file__).resolve().parents[2]
SEARCH_CFG = str(REPO / 'configs/tiny/'
                 'search-cls_dynresnet-tiny_fashion-mnist.py')
TRAIN_CFG = str(REPO / 'configs/tiny/'
                'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
LATENCY_CFG = str(REPO / 'configs/tiny/'
                  'search-latency_dynresnet-tiny_fashion-mnist.py')
FAST = [
    'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
    'train_cfg.num_candidates=3', 'train_cfg.calib_batches=1',
    'train_cfg.score_batches=1', 'model.queue_len=64'
]


def search(supernet,
           work_dir,
           extra=(),
           launcher=None,
           config=SEARCH_CFG,
           flags=()):
    """tools/search.py, or with ``launcher`` tools/dist_search.sh on 2
    processes."""
    e = env()
    if launcher:
        import os
        e['PATH'] = f'{Path(sys.executable).parent}{os.pathsep}{e["PATH"]}'
        e['PORT'] = '29641'
        cmd = [
            'bash',
            str(REPO / 'tools/dist_search.sh'), config,
            str(supernet['ckpt']), '2'
        ]
    else:
        cmd = [
            sys.executable,
            str(REPO / 'tools/search.py'), config,
            str(supernet['ckpt'])
        ]
    cmd += [
        '--work-dir',
        str(work_dir), *flags, '--cfg-options',
        f"train_dataloader.dataset.data_root={supernet['data_root']}", *FAST,
        *extra
    ]
    out = subprocess.run(cmd, cwd=REPO, env=e, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def results(work_dir):
    folder = Path(work_dir) / 'search'
    return (json.loads((folder / 'candidates.json').read_text()),
            yaml.safe_load((folder / 'best.yaml').read_text()))


def test_search_writes_outputs_and_is_reproducible(supernet, tmp_path):
    search(supernet, tmp_path / 'a')
    cands, best = results(tmp_path / 'a')
    assert len(cands['candidates']) == 9  # 3 bins x 3
    assert list(best) == [
        '1-1.5MFLOPs@32px', '1.5-2MFLOPs@32px', '2-3MFLOPs@32px'
    ]
    for name, b in best.items():
        inside = [c for c in cands['candidates'] if c['bin'] == name]
        assert len(inside) == 3
        assert b['score'] == max(c['score'] for c in inside)
        lo, hi = next(
            (x['lo'], x['hi']) for x in cands['bins'] if x['name'] == name)
        assert lo <= b['flops'] < hi
    png = (tmp_path / 'a' / 'search' / 'search.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    search(supernet, tmp_path / 'b')
    assert results(tmp_path / 'b') == results(tmp_path / 'a')
    # the same search as a train_cfg run through tools/train.py
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/train.py'), SEARCH_CFG, '--work-dir',
        str(tmp_path / 'c'), '--cfg-options', f"load_from={supernet['ckpt']}",
        f"train_dataloader.dataset.data_root={supernet['data_root']}", *FAST
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert results(tmp_path / 'c')[1] == results(tmp_path / 'a')[1]


def test_search_builds_the_checkpoints_own_supernet(supernet, tmp_path):
    """The model the checkpoint recorded, the training config's
    (``--train-config``) and an older search config holding the training
    config's model give the same candidates and scores."""
    search(supernet, tmp_path / 'recorded')
    search(supernet, tmp_path / 'given', flags=['--train-config', TRAIN_CFG])
    model = Config.fromfile(TRAIN_CFG).model.to_dict()
    (tmp_path / 'old.py').write_text(f'_base_ = {SEARCH_CFG!r}\n'
                                     f'model = {model!r}\n')
    search(supernet, tmp_path / 'old', config=str(tmp_path / 'old.py'))
    recorded = results(tmp_path / 'recorded')
    assert results(tmp_path / 'given') == recorded
    assert results(tmp_path / 'old') == recorded


def test_killed_search_resumes_to_identical_files(supernet, tmp_path):
    search(supernet, tmp_path / 'full')
    full = results(tmp_path / 'full')
    # a search killed after 4 candidates, mid-way through writing the 5th
    folder = tmp_path / 'killed' / 'search'
    (folder / 'progress').mkdir(parents=True)
    src = tmp_path / 'full' / 'search' / 'progress'
    lines = (src / 'rank0.jsonl').read_text().splitlines(keepends=True)
    partial = ''.join(lines[:4]) + lines[4][:30]  # cut mid-way: a kill
    (folder / 'progress' / 'rank0.jsonl').write_text(partial)
    (folder / 'progress' / 'identity.json').write_text(
        (src / 'identity.json').read_text())
    out = search(supernet, tmp_path / 'killed')
    assert '4 candidates already scored' in out.stdout + out.stderr
    assert results(tmp_path / 'killed') == full


def test_distributed_search_equals_single_process(supernet, tmp_path):
    search(supernet, tmp_path / 'one')
    search(supernet, tmp_path / 'two', launcher=True)
    one, two = results(tmp_path / 'one'), results(tmp_path / 'two')
    assert two[1].keys() == one[1].keys()
    for a, b in zip(one[0]['candidates'], two[0]['candidates']):
        assert a['arch'] == b['arch']
        assert a['score'] == pytest.approx(b['score'], abs=1e-6)
    assert [v['arch'] for v in one[1].values()] == \
        [v['arch'] for v in two[1].values()]
    progress = tmp_path / 'two' / 'search' / 'progress'
    shards = sorted(p.name for p in progress.glob('rank*.jsonl'))
    assert shards == ['rank0.jsonl', 'rank1.jsonl']


def test_evolution_strategy_by_latency_with_constraints(supernet, tmp_path):
    """The latency config (predicted ms bins, at most 0.5 M params) with the
    evolutionary strategy: children stay inside their bin and the
    constraint; every output carries the predicted latency."""
    from mmdata.space import Arch, LatencyTable, arch_cost
    search(
        supernet,
        tmp_path,
        config=LATENCY_CFG,
        extra=[
            'train_cfg.strategy=evolution', 'train_cfg.evolution.population=3',
            'train_cfg.evolution.generations=2',
            'train_cfg.evolution.parents=2'
        ])
    cands, best = results(tmp_path)
    archs = [c['arch'] for c in cands['candidates']]
    assert len(archs) == len(set(archs)) > 9  # children were added
    assert list(best) == ['1.2-1.5ms', '1.5-1.8ms', '1.8-2.1ms']
    assert cands['metric'] == 'latency' and cands['input_size'] == 32
    lut = LatencyTable.load(str(REPO / 'docs/latency/tiny-32px-cpu1.json'))
    bins = {b['name']: b for b in cands['bins']}
    for c in cands['candidates']:
        arch = Arch.parse(c['arch'])
        assert c['latency'] == pytest.approx(lut.predict(arch))
        assert bins[c['bin']]['lo'] <= c['latency'] < bins[c['bin']]['hi']
        assert c['params'] == arch_cost(arch, 32).params < 0.5e6
    for name, b in best.items():
        assert b['latency'] == max(
            (c for c in cands['candidates'] if c['bin'] == name),
            key=lambda c: c['score'])['latency']
    png = (tmp_path / 'search' / 'search.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'


def test_scoring_leaves_the_supernet_untouched(supernet):
    cfg = Config.fromfile(TRAIN_CFG)
    cfg.model.queue_len = 64
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    state = torch.load(supernet['ckpt'], weights_only=False)['state_dict']
    model.load_state_dict(state)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = [torch.randn(8, 3, 32, 32) for _ in range(2)]
    scorer = SubnetScorer(model.backbone, model.teacher.backbone,
                          model.neck, model.teacher.neck,
                          resolve_taps(['C2', 'z']), images[:1], images[1:])
    scores = scorer.score(model.space.min_arch)
    assert set(scores) == {'C2', 'z'}
    assert all(torch.isfinite(torch.tensor(v)) for v in scores.values())
    after = model.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    # the max arch scored against its own EMA teacher beats the min arch
    assert scorer.score(model.space.max_arch)['C2'] > scores['C2']

    # the pooled-C5 tap compares the batch relations of pooled C5 features
    # (by hand, with the scorer's static copies) and proxies are computed
    from mmdata.models.utils.calibration import calibrate_bn
    from mmdata.search import embedding_similarity, static_extractor
    pooled = SubnetScorer(
        model.backbone,
        model.teacher.backbone,
        None,
        None,
        resolve_taps('C5pool'),
        images[:1],
        images[1:],
        proxies=['naswot', 'synflow'])
    result = pooled.evaluate(model.space.min_arch)
    student = calibrate_bn(
        static_extractor(model.backbone, None, model.space.min_arch),
        images[:1], 1)
    teacher = calibrate_bn(
        static_extractor(model.teacher.backbone, None, model.space.max_arch),
        images[:1], 1)
    with torch.no_grad():
        expected = embedding_similarity(
            student.backbone(images[1])[-1].mean((2, 3)),
            teacher.backbone(images[1])[-1].mean((2, 3))).mean().item()
    assert result['scores']['C5pool'] == pytest.approx(expected, abs=1e-6)
    assert set(result['proxies']) == {'naswot', 'synflow'}
    assert set(result['seconds']) == {'score', 'naswot', 'synflow'}


def test_search_rejects_a_training_config(supernet):
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/search.py'),
        str(REPO / 'configs/tiny/'
            'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py'),
        str(supernet['ckpt'])
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode != 0 and 'is not a search config' in out.stderr


DENSE_DATASETS = {
    'cityscapes': ("""dict(
        type='mmseg.CityscapesDataset', data_root={root!r},
        data_prefix=dict(img_path='leftImg8bit/val',
                         seg_map_path='gtFine/val'),
        pipeline=[
            dict(type='mmseg.LoadImageFromFile'),
            dict(type='mmseg.Resize', scale=(64, 32), keep_ratio=False),
            dict(type='mmseg.PackSegInputs')])""", 'seg', ['C4', 'C5']),
}
DET_FPN_CFG = REPO / 'configs/search/search-det-fpn_dynresnet_coco.py'


def test_det_fpn_search_config_data_with_kept_aspect(supernet, tmp_path):
    """The det_fpn search config's own dataloader (COCO train2017, images
    fitted into a fixed size keeping their aspect ratio, then padded) on an
    mmdet COCO-format dataset whose images differ in aspect, searched with
    the tiny supernet at 96 x 64 instead of 864 x 512."""
    from tests.helpers import write_coco
    root = write_coco(tmp_path / 'coco', 'train2017', num_images=8)
    det = Config.fromfile(str(DET_FPN_CFG))
    resize = det.train_dataloader.dataset.pipeline[1]
    assert resize.type == 'mmdet.FixShapeResize' and resize.keep_ratio
    resize.update(width=96, height=64)
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.train_dataloader = det.train_dataloader
    cfg.train_dataloader.update(batch_size=2, num_workers=0)
    cfg.train_dataloader.dataset.data_root = str(root)
    cfg.train_cfg.update(
        tap=det.train_cfg.tap,
        num_candidates=2,
        calib_batches=1,
        score_batches=2)
    cfg.model = dict(queue_len=64)  # updates the checkpoint's model
    cfg.dump(str(tmp_path / 'det_search.py'))
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/search.py'),
        str(tmp_path / 'det_search.py'),
        str(supernet['ckpt']), '--work-dir',
        str(tmp_path / 'work')
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    cands, best = results(tmp_path / 'work')
    assert cands['taps'] == ['C2', 'C3', 'C4', 'C5']
    assert len(cands['candidates']) == 6 and len(best) == 3
    for c in cands['candidates']:
        assert set(c['scores']) == {'C2', 'C3', 'C4', 'C5'}
    # multi-tap: the score is the mean of the bin-standardised taps
    for name in best:
        inside = [c for c in cands['candidates'] if c['bin'] == name]
        assert sum(c['score'] for c in inside) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize('name', sorted(DENSE_DATASETS))
def test_search_on_mmseg_datasets(name, supernet, tmp_path):
    """Domain-aware search on segmentation images (an mmseg dataset with its
    own test transforms) with dense taps."""
    from tests.helpers import write_cityscapes
    root = write_cityscapes(tmp_path / name, num_images=8)
    dataset, tap, tap_names = DENSE_DATASETS[name]
    cfg = tmp_path / 'dense_search.py'
    cfg.write_text(f"""
_base_ = {SEARCH_CFG!r}
train_dataloader = dict(
    _delete_=True, batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset={dataset.format(root=str(root))})
train_cfg = dict(tap={tap!r}, num_candidates=2, calib_batches=1,
                 score_batches=1)
model = dict(queue_len=64)
""")
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/search.py'),
        str(cfg),
        str(supernet['ckpt']), '--work-dir',
        str(tmp_path / 'work')
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    cands, best = results(tmp_path / 'work')
    assert cands['taps'] == tap_names
    assert len(cands['candidates']) == 6 and len(best) == 3
    assert set(cands['candidates'][0]['scores']) == set(tap_names)
