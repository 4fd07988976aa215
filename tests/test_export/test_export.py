"""Export of searched subnets: weights, arch and configs that mmdet, mmseg
and mmpretrain build, load with no missing key and learn tiny data (the loss
falls over 30 iterations)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmdata.export import TASKS, export_subnet
from mmdata.utils.misc import _dataset_cfgs
from tests.helpers import (env, write_cityscapes, write_coco, write_scenes,
                           write_voc)
from tests.test_configs import fake_imagenet

pytestmark = pytest.mark.slow  # trains and runs the tools end to end

REPO = Path(__file__).resolve().parents[2]
ARCH = 'Depth [2,1,3,1] Width [16,16,32,48,128]'


@pytest.fixture(scope='module')
def supernet(tiny_supernet):
    return tiny_supernet


@pytest.fixture(scope='module')
def datasets(tmp_path_factory):
    base = tmp_path_factory.mktemp('downstream')
    coco = write_coco(base / 'coco', 'train2017', num_images=2)
    write_coco(coco, 'val2017', num_images=2)
    voc = write_voc(base / 'VOCdevkit', num_images=2)
    write_voc(voc, num_images=2, year='2012')
    cityscapes = write_cityscapes(base / 'cityscapes', 'train', 2)
    imagenet = fake_imagenet(base / 'imagenet', per_class=4, num_classes=8)
    lines = (imagenet / 'meta' / 'train.txt').read_text()
    for fraction in ('1pc', '10pc'):  # both classes in each subset
        (imagenet / 'meta' / f'train_{fraction}.txt').write_text(lines)
    scenes = write_scenes(base / 'scenes', 8, 2, 2)
    return {
        'scenes-fasterrcnn-fpn': scenes,
        'scenes-fcn': scenes,
        'coco-maskrcnn-fpn': coco,
        'voc-fasterrcnn-c4': voc,
        'cityscapes-fcn': cityscapes,
        'in1k-linear': imagenet,
        'in1k-semi-1pc': imagenet,
        'in1k-semi-10pc': imagenet,
    }


ITERS = 30


def shrink(cfg: Config, data_root: Path) -> None:
    """Tiny images, ``ITERS`` iterations with the config's optimizer, its lr
    scaled to the tiny batch (``auto_scale_lr``) and its warm-up shortened to
    5 iterations; no validation."""
    loader = cfg.train_dataloader
    classifier = cfg.default_scope == 'mmpretrain'
    loader.update(
        batch_size=8 if classifier else 2,
        num_workers=0,
        persistent_workers=False)
    for dataset in _dataset_cfgs(loader.dataset):
        if 'data_root' in dataset:
            dataset.data_root = str(data_root)
        for t in dataset.get('pipeline', []):
            kind = t['type'].split('.')[-1]
            if kind in ('Resize', 'RandomResize'):
                t['scale'] = (128, 96)
            elif kind == 'RandomChoiceResize':
                t['scales'] = [(128, 96)]
            elif kind == 'RandomCrop':
                t['crop_size'] = (64, 64)
            elif kind == 'RandomResizedCrop':
                t['scale'] = 32
    if cfg.model.get('data_preprocessor', {}).get('size'):
        cfg.model.data_preprocessor.size = (64, 64)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERS)
    detector = cfg.model.get('train_cfg', {})
    if 'rpn_proposal' in detector:  # fewer, smaller-sampled proposals
        detector.rpn_proposal.update(nms_pre=200, max_per_img=64)
        detector.rcnn.sampler.num = 64
    schedulers = cfg.param_scheduler
    for sched in [schedulers] if isinstance(schedulers, dict) else schedulers:
        if sched['type'] == 'LinearLR':
            sched['end'] = min(sched['end'], 5)
    if classifier:
        cfg.model.head.num_classes = 8
    if cfg.get('auto_scale_lr'):
        cfg.auto_scale_lr.enable = True
    for key in ('val', 'test'):
        cfg[f'{key}_cfg'] = cfg[f'{key}_dataloader'] = None
        cfg[f'{key}_evaluator'] = None
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'mmdata.BNCalibrationHook':
            hook['num_batches'] = 2


@pytest.mark.parametrize('task', sorted(TASKS))
def test_exported_config_builds_loads_and_trains(task, supernet, datasets,
                                                 tmp_path):
    out = tmp_path / 'export'
    files = export_subnet(str(supernet['ckpt']), ARCH, task, str(out))
    info = yaml.safe_load((out / 'arch.yaml').read_text())
    assert info['arch'] == ARCH and info['task'] == task
    config = out / TASKS[task]['config']
    assert files[config.name] == str(config)
    text = config.read_text()
    assert '{{ fileDirname }}/backbone.pth' in text
    # it inherits a copy of the shipped protocol config
    shipped = REPO / 'configs' / TASKS[task]['base']
    copy = out / '_base_' / shipped.name
    assert files[f'_base_/{shipped.name}'] == str(copy)
    assert copy.read_text() == shipped.read_text()
    assert f"_base_ = './_base_/{shipped.name}'" in text

    cfg = Config.fromfile(str(config))
    assert cfg.custom_imports.imports == ['mmdata']
    assert cfg.model.backbone.arch == ARCH
    library = TASKS[task]['library']
    assert cfg.default_scope == library
    registry = {
        'mmdet': 'mmdet.registry',
        'mmseg': 'mmseg.registry',
        'mmpretrain': 'mmpretrain.registry'
    }[library]
    models = __import__(registry, fromlist=['MODELS']).MODELS

    # the backbone (and the C4 ROI head) load every exported key
    weights = {'backbone': torch.load(out / 'backbone.pth')}
    modules = {'backbone': cfg.model.backbone}
    if 'res_layer.pth' in files:
        weights['shared_head'] = torch.load(out / 'res_layer.pth')
        modules['shared_head'] = cfg.model.roi_head.shared_head
    with DefaultScope.overwrite_default_scope(library):
        for name, module_cfg in modules.items():
            module = models.build(module_cfg)
            module.init_weights()
            result = module.load_state_dict(weights[name], strict=True)
            assert not result.missing_keys and not result.unexpected_keys
            for key, value in module.state_dict().items():
                assert torch.equal(value, weights[name][key]), key

    shrink(cfg, datasets[task])
    cfg.work_dir = str(tmp_path / 'work')
    cfg.launcher = 'none'
    cfg.default_hooks.checkpoint.update(interval=ITERS, by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == ITERS and np.isfinite(losses).all()
    first, last = losses[:5].mean(), losses[-5:].mean()
    print(f'{task}: loss {first:.3f} -> {last:.3f}')
    assert last < 0.8 * first, (task, losses)
    if task == 'voc-fasterrcnn-c4':
        check_resume(cfg, tmp_path / 'work' / f'iter_{ITERS}.pth')


def check_resume(cfg: Config, checkpoint: Path) -> None:
    """An mmdet run resumes through the checkpoint loader that importing
    mmdata installs (README), although torch >= 2.6 refuses mmengine's own
    checkpoints by default."""
    with pytest.raises(Exception, match='weights_only'):
        torch.load(checkpoint)
    cfg = cfg.copy()
    cfg.update(
        resume=True, load_from=str(checkpoint), experiment_name='resumed')
    cfg.train_cfg.max_iters = ITERS + 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == ITERS + 2
    # the message hub came back too: the 30 earlier losses plus 2 new ones
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == ITERS + 2


def test_cli_from_search_dir_and_bad_input(supernet, tmp_path):
    # train -> search -> export: the best arch of a real search's bin
    from tests.test_search.test_search_runs import search as run_search
    run_search(supernet, tmp_path / 'searched')
    search = tmp_path / 'searched' / 'search'
    best = yaml.safe_load((search / 'best.yaml').read_text())['2-3MFLOPs@32px']
    cmd = [
        sys.executable,
        str(REPO / 'tools/export_subnet.py'),
        str(supernet['ckpt'])
    ]

    def run(*args):
        return subprocess.run(
            cmd + list(args),
            cwd=REPO,
            env=env(),
            capture_output=True,
            text=True)

    ok = run('--search-dir', str(search), '--bin', '2-3MFLOPs@32px', '--task',
             'in1k-linear', '--out', str(tmp_path / 'ok'))
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert yaml.safe_load(
        (tmp_path / 'ok' / 'arch.yaml').read_text())['arch'] == best['arch']
    teacher = run('--arch', str(tmp_path / 'ok' / 'arch.yaml'), '--from',
                  'teacher', '--task', 'cityscapes-fcn', '--out',
                  str(tmp_path / 'teacher'))
    assert teacher.returncode == 0, teacher.stderr[-2000:]
    a = torch.load(tmp_path / 'ok' / 'backbone.pth')
    b = torch.load(tmp_path / 'teacher' / 'backbone.pth')
    assert a.keys() == b.keys()

    not_a_supernet = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}}, not_a_supernet)
    bad = {
        'outside': (['--arch', 'Depth [2,1,3,1] Width [16,16,32,48,100]'],
                    'widths[3] (stage 4)=100 is outside the space'),
        'bin': (['--search-dir',
                 str(search), '--bin', '9G-10G'], "unknown bin '9G-10G'"),
        'ckpt': (['--arch', ARCH], 'is not an mmdata supernet checkpoint'),
        'task': (['--arch', ARCH], "unknown task 'nope'"),
    }
    for name, (args, message) in bad.items():
        out_dir = tmp_path / f'bad_{name}'
        task = 'nope' if name == 'task' else 'in1k-linear'
        if name == 'ckpt':
            result = subprocess.run([
                sys.executable,
                str(REPO / 'tools/export_subnet.py'),
                str(not_a_supernet), *args, '--task', task, '--out',
                str(out_dir)
            ],
                                    cwd=REPO,
                                    env=env(),
                                    capture_output=True,
                                    text=True)
        else:
            result = run(*args, '--task', task, '--out', str(out_dir))
        assert result.returncode != 0, name
        assert message in result.stderr, (name, result.stderr[-500:])
        assert result.stderr.strip().startswith('error:'), name
        assert len(result.stderr.strip().splitlines()) == 1, name
        assert not out_dir.exists(), name
    assert not list(tmp_path.glob('.export-*'))  # no partial output left


SMALL = {
    'in1k-linear':
    '''
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=32),
        dict(type='PackInputs')]))
custom_hooks = [dict(type='mmdata.BNCalibrationHook', num_batches=1)]
''',
    'coco-maskrcnn-fpn':
    '''
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(128, 96), keep_ratio=True),
        dict(type='PackDetInputs')]))
''',
}


@pytest.mark.parametrize('task', sorted(SMALL))
def test_mim_train_of_the_exported_config(task, supernet, datasets, tmp_path):
    """The README's command: `mim train <library> <exported config>`."""
    export_subnet(str(supernet['ckpt']), ARCH, task, str(tmp_path / 'export'))
    config = tmp_path / 'export' / TASKS[task]['config']
    small = tmp_path / 'small.py'
    small.write_text(f'_base_ = {str(config)!r}\n' +
                     SMALL[task].format(root=str(datasets[task])) +
                     'train_cfg = dict(max_epochs=1)\n'
                     'val_cfg = val_dataloader = val_evaluator = None\n'
                     'test_cfg = test_dataloader = test_evaluator = None\n')
    e = env()
    e['PATH'] = f'{Path(sys.executable).parent}:{e["PATH"]}'
    out = subprocess.run([
        'mim', 'train', TASKS[task]['library'],
        str(small), '--work-dir',
        str(tmp_path / 'work')
    ],
                         cwd=tmp_path,
                         env=e,
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()


def test_onnx_export_runs_in_onnxruntime_and_traces(supernet, tmp_path):
    """``--onnx``: backbone.onnx matches PyTorch to 1e-4 at any batch size;
    the static subnet also passes torch.jit.trace and torch.export."""
    import onnxruntime as ort
    out = tmp_path / 'onnx'
    files = export_subnet(
        str(supernet['ckpt']), ARCH, 'in1k-linear', str(out), onnx=True)
    assert files['backbone.onnx'] == str(out / 'backbone.onnx')
    from mmdata.models import SubnetResNet
    model = SubnetResNet(ARCH).eval()
    model.load_state_dict(torch.load(out / 'backbone.pth'), strict=True)
    session = ort.InferenceSession(
        str(out / 'backbone.onnx'), providers=['CPUExecutionProvider'])
    assert [o.name for o in session.get_outputs()
            ] == ['stage1', 'stage2', 'stage3', 'stage4']
    for batch in (1, 3):
        x = torch.randn(batch, 3, 224, 224)
        with torch.no_grad():
            expected = model(x)
        got = session.run(None, {'input': x.numpy()})
        for a, b in zip(got, expected):
            assert a.shape == tuple(b.shape)
            np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=1e-4)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
        traced = torch.jit.trace(model, x)(x)
        exported = torch.export.export(model, (x, )).module()(x)
    for ref, a, b in zip(expected, traced, exported):
        torch.testing.assert_close(a, ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(b, ref, atol=1e-5, rtol=1e-5)
