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

from tests.helpers import write_fashion_mnist
from tests.test_search_runs import (FAST, LATENCY_CFG, REPO,  # noqa
                                    SEARCH_CFG, supernet)
from tests.test_train_runs import TINY_CFG, env, train

pytestmark = pytest.mark.slow


def tool(name: str, *args: str, extra_env=None) -> subprocess.CompletedProcess:
    e = dict(env(), **(extra_env or {}))
    return subprocess.run([sys.executable, str(REPO / name), *args],
                          cwd=REPO, env=e, capture_output=True, text=True)


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
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.mark.parametrize('kind', ['truncated', 'text', 'pickle'])
def test_bad_checkpoints(kind, supernet, tmp_path):  # noqa: F811
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


def test_budget_without_archs(supernet, tmp_path):  # noqa: F811
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
def test_latency_search_mistakes(drill, supernet, tmp_path):  # noqa: F811
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
    out = tool('tools/train.py', str(tmp_path / 'nope.py'),
               extra_env=dict(MMDATA_DEBUG='1'))
    assert out.returncode == 1 and 'Traceback' in out.stderr


def test_search_identity_and_lock(supernet, tmp_path):  # noqa: F811
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
        k[len('search/'):]: v for k, v in results.items()
        if k.startswith('search/')}

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
    runner = subprocess.Popen([sys.executable, '-c',
                               'import time; time.sleep(120)'])
    try:
        lock = work / 'search' / 'progress' / 'lock'
        lock.write_text(
            f'{{"pid": {runner.pid}, "host": "{os.uname().nodename}"}}')
        start = time.time()
        out = search(ckpt, work, data)
        assert_one_error(out, f'another search (pid {runner.pid}',
                         '--work-dir')
        assert snapshot(work) == dict(results, **{
            'search/progress/lock': lock.read_bytes()})
    finally:
        runner.kill()
        runner.wait()
    # the holder is gone: the next search takes the lock over
    out = search(ckpt, work, data)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'taking over the lock' in out.stdout
    assert not lock.exists()
    assert time.time() - start < 600


def test_export_errors_are_one_line(supernet, tmp_path):  # noqa: F811
    out = tool('tools/export_subnet.py', str(supernet['ckpt']), '--arch',
               'Depth [9,9,9,9] Width [8,8,8,8,8]', '--task', 'in1k-linear',
               '--out', str(tmp_path / 'x'))
    assert_one_error(out, 'outside the space')
    assert not (tmp_path / 'x').exists()
    data = write_fashion_mnist(tmp_path / 'data', 8, 8)
    out = tool('tools/analysis/linear_probe.py', TINY_CFG,
               str(tmp_path / 'missing.pth'), '--archs',
               'Depth [1,1,1,1] Width [8,8,8,8,8]', '--out',
               str(tmp_path / 'p.csv'), '--cfg-options',
               f'probe_train_dataloader.dataset.data_root={data}')
    assert_one_error(out, 'missing.pth does not exist')
