"""Users' mistakes through the real tools: every drill ends in exit code 2,
exactly one ``error:`` line on stderr naming the bad value, no traceback,
no files left behind, and earlier results untouched."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import TINY_CFG, env, train, write_fashion_mnist
from tests.test_search.test_search_runs import (FAST, LATENCY_CFG, REPO,
                                                SEARCH_CFG)

pytestmark = pytest.mark.slow


def tool(name: str, *args: str, extra_env=None) -> subprocess.CompletedProcess:
    e = dict(env(), **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(REPO / name), *args],
        cwd=REPO,
        env=e,
        capture_output=True,
        text=True)


def search(ckpt, work, data_root, *extra, flags=()):
    return tool('tools/search.py', SEARCH_CFG, str(ckpt), '--work-dir',
                str(work), *flags, '--cfg-options',
                f'train_dataloader.dataset.data_root={data_root}', *FAST,
                *extra)


def assert_one_error(out, *needles):
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), lines[-20:]
    for needle in needles:
        assert needle in lines[0], lines[0]


def snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob('*')) if p.is_file()
    }


@pytest.mark.parametrize('kind', ['truncated', 'text', 'pickle'])
def test_bad_checkpoints(kind, supernet, tmp_path):
    bad = tmp_path / 'bad.pth'
    if kind == 'truncated':
        data = Path(supernet['ckpt']).read_bytes()
        bad.write_bytes(data[:len(data) // 2])
        needle = 'is not a readable PyTorch checkpoint'
    elif kind == 'text':
        bad.write_text('not a checkpoint\n')
        needle = 'is not a readable PyTorch checkpoint'
    else:  # a pickle that would run code when unpickled unsafely
        torch.save({'meta': {'run': subprocess.Popen}}, bad)
        needle = 'Popen, which is not allowed'
    out = search(bad, tmp_path / 'work', supernet['data_root'])
    assert_one_error(out, str(bad), needle)
    assert not (tmp_path / 'work').exists()


def test_missing_config_and_empty_data(tmp_path):
    out = tool('tools/train.py', str(tmp_path / 'nope.py'))
    assert_one_error(out, f'config {tmp_path / "nope.py"} does not exist')
    (tmp_path / 'empty').mkdir()
    out = train(tmp_path / 'work', tmp_path / 'empty', 2)
    assert_one_error(out, f'data root {tmp_path / "empty"} is empty')
    assert 'download=True' not in out.stderr
    assert not (tmp_path / 'work').exists()


def test_budget_without_archs(supernet, tmp_path):
    out = search(supernet['ckpt'], tmp_path / 'work', supernet['data_root'],
                 'train_cfg.budgets=[(1,2)]')
    assert_one_error(out, 'budget 1-2FLOPs@32px holds no arch')
    assert not (tmp_path / 'work').exists()


PAPER_TABLE = REPO / 'docs/latency/paper-224px-cpu1.json'
LATENCY_DRILLS = {  # cfg-options -> what the one error line names
    'other space': ([f'train_cfg.latency_table={PAPER_TABLE}'],
                    ['the latency table was measured for the space',
                     "'stem': [32"]),
    'no file': (['train_cfg.latency_table=missing/lut.json'],
                ['missing/lut.json is not a latency table']),
    'no table': (['train_cfg.latency_table=None'],
                 ["metric='latency' uses latency",
                  'give latency_table=PATH']),
    'other device': (['train_cfg.latency_setting.device=H100'],
                     ["the latency table has device='cpu', this run "
                      "device='H100'"]),
    'constraints': (['train_cfg.constraints.params=1000'],
                    ['budget 1.2-1.5ms: none of the',
                     "constraints={'params': (0, 1000)}"]),
}


@pytest.mark.parametrize('drill', sorted(LATENCY_DRILLS))
def test_latency_search_mistakes(drill, supernet, tmp_path):
    extra, needles = LATENCY_DRILLS[drill]
    out = tool('tools/search.py', LATENCY_CFG, str(supernet['ckpt']),
               '--work-dir', str(tmp_path / 'work'), '--cfg-options',
               f"train_dataloader.dataset.data_root={supernet['data_root']}",
               *FAST, *extra)
    assert_one_error(out, *needles)
    assert not (tmp_path / 'work').exists()


def test_debug_shows_the_traceback(tmp_path):
    out = tool('tools/train.py', str(tmp_path / 'nope.py'), '--debug')
    assert out.returncode == 1 and 'Traceback' in out.stderr
    out = tool(
        'tools/train.py',
        str(tmp_path / 'nope.py'),
        extra_env=dict(MMDATA_DEBUG='1'))
    assert out.returncode == 1 and 'Traceback' in out.stderr


def test_search_identity_and_lock(supernet, tmp_path):
    ckpt = tmp_path / 'supernet.pth'
    shutil.copy(supernet['ckpt'], ckpt)
    data = supernet['data_root']
    work = tmp_path / 'work'
    first = search(ckpt, work, data)
    assert first.returncode == 0, first.stderr[-3000:]
    results = snapshot(work)

    # the same checkpoint content, touched: its scores are reused
    os.utime(ckpt, (1e9, 1e9))
    same = search(ckpt, work, data)
    assert same.returncode == 0, same.stderr[-3000:]
    assert 'candidates already scored' in same.stdout
    assert snapshot(work / 'search') == {
        k[len('search/'):]: v
        for k, v in results.items() if k.startswith('search/')
    }

    # another dataset (the same images in another folder): refused
    copy = tmp_path / 'copy'
    shutil.copytree(data, copy)
    results = snapshot(work)
    out = search(ckpt, work, copy)
    assert_one_error(out, 'dataset.data_root', str(copy), '--overwrite')
    assert snapshot(work) == results  # the first run's files untouched

    # a retrained checkpoint at the same path: refused, then recomputed
    state = torch.load(ckpt, weights_only=False)
    for key, value in state['state_dict'].items():
        if key.startswith('backbone.') and value.is_floating_point():
            value.mul_(0.5)
    torch.save(state, ckpt)
    out = search(ckpt, work, data)
    assert_one_error(out, 'checkpoint_sha256')
    assert snapshot(work) == results
    out = search(ckpt, work, data, flags=['--overwrite'])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'already scored' not in out.stdout
    old = results['search/candidates.json']
    assert (work / 'search' / 'candidates.json').read_bytes() != old

    # a second search while one runs (a live process holds the lock)
    results = snapshot(work)
    runner = subprocess.Popen(
        [sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        lock = work / 'search' / 'progress' / 'lock'
        lock.write_text(
            f'{{"pid": {runner.pid}, "host": "{os.uname().nodename}"}}')
        start = time.time()
        out = search(ckpt, work, data)
        assert_one_error(out, f'another search (pid {runner.pid}',
                         '--work-dir')
        assert snapshot(work) == dict(
            results, **{'search/progress/lock': lock.read_bytes()})
    finally:
        runner.kill()
        runner.wait()
    # the holder is gone: the next search takes the lock over
    out = search(ckpt, work, data)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'taking over the lock' in out.stdout
    assert not lock.exists()
    assert time.time() - start < 600


def test_export_errors_are_one_line(supernet, tmp_path):
    out = tool('tools/export_subnet.py', str(supernet['ckpt']), '--arch',
               'Depth [9,9,9,9] Width [8,8,8,8,8]', '--task', 'in1k-linear',
               '--out', str(tmp_path / 'x'))
    assert_one_error(out, 'outside the space')
    assert not (tmp_path / 'x').exists()
    data = write_fashion_mnist(tmp_path / 'data', 8, 8)
    out = tool('tools/analysis/label_metric.py', TINY_CFG,
               str(tmp_path / 'missing.pth'), '--archs',
               'Depth [1,1,1,1] Width [8,8,8,8,8]', '--out',
               str(tmp_path / 'p.csv'), '--cfg-options',
               f'probe_train_dataloader.dataset.data_root={data}')
    assert_one_error(out, 'missing.pth does not exist')


def _not_a_supernet(kind: str, ckpt: Path, path: Path) -> str:
    """Write a checkpoint of ``kind`` to ``path``; what the error names."""
    import torchvision
    state = torch.load(ckpt, weights_only=False)
    if kind in ('resnet', 'wrapped', 'no state_dict'):
        plain = torchvision.models.resnet18().state_dict()
        torch.save({
            'resnet': plain,
            'wrapped': dict(state_dict=plain),
            'no state_dict': dict(meta=dict(epoch=1))
        }[kind], path)
        return "not an mmdata supernet checkpoint (no 'backbone.space_grid'"
    prefix = dict(teacher='teacher.', layer4='backbone.layer4.')[kind]
    state['state_dict'] = {
        k: v
        for k, v in state['state_dict'].items() if not k.startswith(prefix)
    }
    torch.save(state, path)
    return f'missing keys ({prefix}'


@pytest.mark.parametrize(
    'kind', ['resnet', 'wrapped', 'no state_dict', 'teacher', 'layer4'])
def test_search_refuses_what_is_not_the_configs_supernet(
        kind, supernet, tmp_path):
    bad = tmp_path / 'bad.pth'
    needle = _not_a_supernet(kind, supernet['ckpt'], bad)
    out = search(bad, tmp_path / 'work', supernet['data_root'])
    assert_one_error(out, str(bad), needle)
    assert not (tmp_path / 'work').exists()


def test_search_refuses_another_methods_checkpoint(supernet, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmdata.registry import MODELS
    cfg = Config.fromfile(
        str(REPO / 'configs/tiny/supernet-byol_dynresnet-tiny_1xb128-1e_'
            'fashion-mnist.py'))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        byol = MODELS.build(cfg.model)
    # a BYOL state that records no model: refused, naming the way out
    torch.save(dict(state_dict=byol.state_dict()), tmp_path / 'byol.pth')
    out = search(tmp_path / 'byol.pth', tmp_path / 'work',
                 supernet['data_root'])
    assert_one_error(out, 'byol.pth records no model config', '--train-config')
    # ... and with MoCo's training config passed for it: it does not fit
    out = search(
        tmp_path / 'byol.pth',
        tmp_path / 'work',
        supernet['data_root'],
        flags=['--train-config', TINY_CFG])
    assert_one_error(out, 'byol.pth does not fit the SupernetMoCo',
                     'keys of another shape (neck.')
    assert not (tmp_path / 'work').exists()


def test_search_config_without_checkpoint_is_refused(supernet, tmp_path):
    out = tool('tools/train.py', SEARCH_CFG, '--work-dir',
               str(tmp_path / 'work'), '--cfg-options',
               f"train_dataloader.dataset.data_root={supernet['data_root']}",
               *FAST)
    assert_one_error(out, 'a search needs the supernet checkpoint',
                     'load_from=None')
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('value', ['0', '-0.1', 'inf'])
def test_bad_temperature_is_refused(value, supernet, tmp_path):
    out = search(supernet['ckpt'], tmp_path / 'work', supernet['data_root'],
                 f'train_cfg.temperature={value}')
    assert_one_error(out, f'temperature={value}, allowed',
                     'a finite number > 0')
    assert not (tmp_path / 'work').exists()


def test_nan_score_is_an_error_not_a_pick(supernet, tmp_path):
    state = torch.load(supernet['ckpt'], weights_only=False)
    for key, value in state['state_dict'].items():
        if key.startswith('backbone.layer4') and value.is_floating_point():
            value.fill_(float('nan'))
    torch.save(state, tmp_path / 'nan.pth')
    out = search(tmp_path / 'nan.pth', tmp_path / 'work',
                 supernet['data_root'], 'train_cfg.proxies=[]')
    assert_one_error(out, 'candidate Depth [', 'its z score is nan')
    assert not (tmp_path / 'work' / 'search' / 'best.yaml').exists()


def test_export_checks_the_searched_checkpoint(supernet, tmp_path):
    from mmdata.utils import file_sha256
    work = tmp_path / 'search'
    (work / 'progress').mkdir(parents=True)
    (work / 'progress' / 'identity.json').write_text(
        '{"checkpoint_sha256": "%s"}' % ('0' * 64))
    (work / 'best.yaml'
     ).write_text("b1:\n  arch: Depth [1,1,1,1] Width [8,8,16,32,64]\n")
    export = [
        'tools/export_subnet.py',
        str(supernet['ckpt']), '--search-dir',
        str(work), '--bin', 'b1', '--task', 'in1k-linear', '--out',
        str(tmp_path / 'x')
    ]
    out = tool(*export)
    assert_one_error(out, 'searched another checkpoint (sha256 000000000000',
                     file_sha256(str(supernet['ckpt']))[:12], '--force')
    assert not (tmp_path / 'x').exists()
    out = tool(*export, '--force')
    assert out.returncode == 0, out.stderr[-2000:]
    # a search of this checkpoint whose best.yaml is damaged
    (work / 'progress' / 'identity.json').write_text(
        '{"checkpoint_sha256": "%s"}' % file_sha256(str(supernet['ckpt'])))
    for text, needle in (('b1:\n  arch:\n', "bin 'b1' has no arch"),
                         ('b1: [unclosed\n', 'is not valid YAML'),
                         ('b1:\n', "bin 'b1' has no arch")):
        (work / 'best.yaml').write_text(text)
        out = tool(*export[:-1], str(tmp_path / 'y'))
        assert_one_error(out, str(work / 'best.yaml'), needle)
    (work / 'progress' / 'identity.json').write_text('{"checkpoint_sha')
    out = tool(*export[:-1], str(tmp_path / 'y'))
    assert_one_error(out, 'identity.json is damaged')
    assert not (tmp_path / 'y').exists()


def test_last_tracebacks_are_one_line(supernet, tmp_path):
    data, ckpt = supernet['data_root'], str(supernet['ckpt'])
    # a typo of a loop argument, and a misspelled type
    out = train(tmp_path / 'w1', data, 2, ['train_cfg.max_iter=2'])
    assert_one_error(out, "IterBasedTrainLoop has no argument 'max_iter'",
                     "'max_iters'")
    assert not (tmp_path / 'w1').exists()
    out = train(tmp_path / 'w2', data, 2, ['model.type=mmdata.SupernetMoco'])
    assert_one_error(out, "unknown type 'mmdata.SupernetMoco'", "'mmdata.'")
    assert not (tmp_path / 'w2').exists()
    # a damaged search identity
    work = tmp_path / 'w3'
    (work / 'search' / 'progress').mkdir(parents=True)
    (work / 'search' / 'progress' / 'identity.json').write_text('{"chec')
    out = search(ckpt, work, data)
    assert_one_error(out, 'identity.json is damaged', '--overwrite')
    assert sorted(p.name for p in work.rglob('*')) == [
        'identity.json', 'progress', 'search'
    ]
    # a data root without the dataset's files, and one that is a file
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'readme.txt').write_text('x')
    out = search(ckpt, tmp_path / 'w4', tmp_path / 'other')
    assert_one_error(out, 'train-images-idx3-ubyte', str(tmp_path / 'other'))
    out = search(ckpt, tmp_path / 'w4', tmp_path / 'other' / 'readme.txt')
    assert_one_error(out, 'readme.txt is a file')
    assert not (tmp_path / 'w4').exists()
    # a work dir that is a file, or under a file
    for work_dir in (tmp_path / 'other' / 'readme.txt',
                     tmp_path / 'other' / 'readme.txt' / 'sub'):
        out = search(ckpt, work_dir, data)
        assert_one_error(out, 'readme.txt is a file, not a folder')
    # config and checkpoint swapped; a checkpoint that is a directory
    out = tool('tools/search.py', ckpt, SEARCH_CFG)
    assert_one_error(out, f'{ckpt} is not a config file', 'CONFIG CHECKPOINT')
    out = search(tmp_path / 'other', tmp_path / 'w5', data)
    assert_one_error(out, f'checkpoint {tmp_path / "other"} is a directory')
    # the latency tool's numbers and output path
    out = tool('tools/analysis/measure_latency.py', TINY_CFG, '--input-size',
               '0')
    assert_one_error(out, '--input-size 0: allowed >= 32')
    out = tool('tools/analysis/measure_latency.py', TINY_CFG, '--out',
               str(tmp_path))
    assert_one_error(out, f'--out {tmp_path} is a directory')
    # an arch file that does not exist, or is a directory
    for arch, needle in (('missing/arch.yaml', 'does not exist'),
                         (str(tmp_path / 'other'), 'is a directory')):
        out = tool('tools/export_subnet.py', ckpt, '--arch', arch, '--task',
                   'in1k-linear', '--out', str(tmp_path / 'x'))
        assert_one_error(out, f'arch file {arch} {needle}')
