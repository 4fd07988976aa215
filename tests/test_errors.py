"""User errors as one line, atomic result files, content hashes, the search
store's identity and lock, and runs that leave no trace (unit level; the
command-line drills are in test_cli_drills.py)."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mmengine.config import Config

from mmdata.search.store import SearchStore
from mmdata.utils import (ConfigError, DataError, UserError, WorkDirError,
                          atomic_write, check_data, file_sha256, run_cli,
                          undo_on_user_error)
from mmdata.utils.files import identity_diff
from tests.helpers import write_fashion_mnist


def test_run_cli_prints_one_line_and_exits_2(capsys, monkeypatch):

    def bad():
        raise ConfigError('budget 9G-10G holds no arch\n(second line)')

    monkeypatch.setattr(sys, 'argv', ['tool'])
    with pytest.raises(SystemExit) as stop:
        run_cli(bad)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == 'error: budget 9G-10G holds no arch (second line)\n'

    monkeypatch.setattr(sys, 'argv', ['tool', '--debug'])
    with pytest.raises(ConfigError):  # --debug: the traceback
        run_cli(bad)
    monkeypatch.setattr(sys, 'argv', ['tool'])
    monkeypatch.setenv('MMDATA_DEBUG', '1')
    with pytest.raises(ConfigError):
        run_cli(bad)


def test_programming_errors_are_not_hidden(monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['tool'])

    def bug():
        raise KeyError('a bug')

    with pytest.raises(KeyError):
        run_cli(bug)


def test_atomic_write_replaces_whole_files(tmp_path):
    path = tmp_path / 'sub' / 'out.json'
    atomic_write(str(path), '{"a": 1}')
    assert json.loads(path.read_text()) == {'a': 1}
    atomic_write(str(path), b'{"a": 2}')
    assert json.loads(path.read_text()) == {'a': 2}

    def half_then_fail(tmp):
        Path(tmp).write_text('{"a": ')
        raise OSError('disk full')

    with pytest.raises(OSError):
        atomic_write(str(path), half_then_fail)
    assert json.loads(path.read_text()) == {'a': 2}  # old content kept
    assert sorted(p.name for p in path.parent.iterdir()) == ['out.json']

    names = []
    atomic_write(
        str(tmp_path / 'fig.png'),
        lambda tmp: names.append(tmp) or Path(tmp).write_bytes(b'png'))
    assert names[0].endswith('.png')  # writers that pick a format by suffix
    assert (tmp_path / 'fig.png').read_bytes() == b'png'


def test_file_sha256_is_cached_by_size_and_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'a' * 100)
    first = file_sha256(str(path))
    stat = path.stat()
    # same size and mtime: the cached hash (the file is not read again)
    path.write_bytes(b'b' * 100)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert file_sha256(str(path)) == first
    # a new mtime: hashed again, the new content counts
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = file_sha256(str(path))
    assert second != first
    import hashlib
    assert second == hashlib.sha256(b'b' * 100).hexdigest()


def test_identity_diff_names_keys_and_both_values():
    saved = dict(checkpoint='ab', dataset=dict(root='x', pipeline=[1, 2]))
    now = dict(checkpoint='cd', dataset=dict(root='x', pipeline=[1, 3]))
    assert identity_diff(saved, now) == [
        'checkpoint: "ab" vs "cd"', 'dataset.pipeline: [1, 2] vs [1, 3]'
    ]
    assert identity_diff(saved, saved) == []


def scored(arch: str) -> dict:
    """A scored candidate as a search's progress file holds it."""
    from mmdata.search import Candidate
    return Candidate(
        arch, {}, 'b', flops=1., params=2., scores=dict(z=1.)).to_json()


def test_search_store_identity_and_overwrite(tmp_path):
    store = SearchStore(str(tmp_path / 'search'))
    store.open(dict(checkpoint='ab', temperature=0.1))
    with open(store.progress_file(0), 'a') as f:
        f.write(json.dumps(scored('a1')) + '\n')
        f.write('{"arch": "a2", "sco')  # cut by a kill
    store.unlock()
    (tmp_path / 'search' / 'best.yaml').write_text('old')

    again = SearchStore(str(tmp_path / 'search'))
    again.open(dict(checkpoint='ab', temperature=0.1))
    assert list(again.records()) == ['a1']
    again.unlock()

    with pytest.raises(WorkDirError) as err:
        again.open(dict(checkpoint='cd', temperature=0.1))
    assert 'checkpoint: "ab" vs "cd"' in str(err.value)
    assert '--overwrite' in str(err.value)
    assert not os.path.exists(again.lock_file)  # refused: lock released

    again.open(dict(checkpoint='cd', temperature=0.1), overwrite=True)
    assert again.records() == {}
    assert not (tmp_path / 'search' / 'best.yaml').exists()
    again.unlock()


def test_search_store_refuses_scores_without_identity(tmp_path):
    store = SearchStore(str(tmp_path))
    with open(store.progress_file(0), 'w') as f:
        f.write(json.dumps(scored('a1')) + '\n')
    with pytest.raises(WorkDirError, match='without a recorded identity'):
        store.open(dict(checkpoint='ab'))


def test_search_store_lock(tmp_path):
    first = SearchStore(str(tmp_path))
    first.lock()
    first.lock()  # re-entrant in the same process
    other = SearchStore(str(tmp_path))
    other.me = dict(other.me, pid=other.me['pid'] + 1)  # another process
    with open(first.lock_file, 'w') as f:  # held by a live process
        json.dump(dict(first.me, pid=os.getppid()), f)
    with pytest.raises(WorkDirError, match='another search .* is running'):
        other.lock()

    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    with open(first.lock_file, 'w') as f:  # left by a killed search
        json.dump(dict(first.me, pid=dead.pid), f)
    other.lock()  # taken over
    assert json.loads(Path(first.lock_file).read_text()) == other.me
    other.unlock()
    assert not os.path.exists(first.lock_file)


def test_undo_on_user_error(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'cfg.py').write_text('first run')
    (work / 'iter_4.pth').write_text('weights')
    with pytest.raises(UserError):
        with undo_on_user_error(str(work)):
            (work / 'cfg.py').write_text('second run')
            (work / '20260101_000000').mkdir()
            (work / 'search' / 'progress').mkdir(parents=True)
            raise WorkDirError('refused')
    assert sorted(p.name for p in work.iterdir()) == ['cfg.py', 'iter_4.pth']
    assert (work / 'cfg.py').read_text() == 'first run'

    fresh = tmp_path / 'fresh'
    with pytest.raises(UserError):
        with undo_on_user_error(str(fresh)):
            fresh.mkdir()
            raise ConfigError('bad')
    assert not fresh.exists()

    with pytest.raises(UserError):  # after results: nothing is removed
        with undo_on_user_error(str(fresh)):
            (fresh / 'iter_2.pth').parent.mkdir(parents=True)
            (fresh / 'iter_2.pth').write_text('weights')
            raise DataError('the data ended mid-run')
    assert (fresh / 'iter_2.pth').exists()
    shutil.rmtree(fresh)

    with pytest.raises(KeyError):  # a bug: files stay for the post-mortem
        with undo_on_user_error(str(fresh)):
            fresh.mkdir()
            raise KeyError('bug')
    assert fresh.exists()


def _cfg(root) -> Config:
    return Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='mmpretrain.FashionMNIST', data_root=str(root)))))


def test_check_data_names_the_problem(tmp_path):
    with pytest.raises(DataError, match='does not exist'):
        check_data(_cfg(tmp_path / 'nowhere'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='is empty'):
        check_data(_cfg(tmp_path / 'empty'))
    partial = write_fashion_mnist(tmp_path / 'partial', 8, 8)
    (partial / 't10k-labels-idx1-ubyte').unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        check_data(_cfg(partial))
    check_data(_cfg(write_fashion_mnist(tmp_path / 'ok', 8, 8)))

    coco = Config(
        dict(
            val_dataloader=dict(
                dataset=dict(
                    type='mmdet.CocoDataset',
                    data_root=str(tmp_path / 'ok'),
                    ann_file='annotations/x.json'))))
    with pytest.raises(DataError, match='annotations/x.json does not exist'):
        check_data(coco)


def test_lock_is_taken_over_after_a_kill(tmp_path):
    """A search process killed while holding the lock leaves it behind; the
    next search (same host) takes it over."""
    code = ('import sys, time; from mmdata.search.store import SearchStore; '
            f'SearchStore({str(tmp_path)!r}).lock(); print("locked", '
            'flush=True); time.sleep(60)')
    proc = subprocess.Popen([sys.executable, '-c', code],
                            stdout=subprocess.PIPE,
                            text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout.readline().strip() == 'locked'
    store = SearchStore(str(tmp_path))
    with pytest.raises(WorkDirError, match=f'pid {proc.pid}'):
        store.lock()
    proc.kill()
    proc.wait()
    time.sleep(0.1)
    store.lock()
    store.unlock()
