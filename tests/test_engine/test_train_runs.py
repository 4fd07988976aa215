"""The tiny supernet config trained through the real tools: tools/train.py,
resume after SIGKILL, and a 2-process (gloo) distributed run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmdata.utils import load_local_checkpoint
from tests.helpers import TINY_CFG, env, options, train, write_fashion_mnist

pytestmark = pytest.mark.slow  # trains and runs the tools end to end

REPO = Path(__file__).resolve().parents[2]


def config_with_hooks(path: Path, hooks: str) -> str:
    """A config inheriting the tiny one, with test-only hooks added."""
    path.write_text(
        f'_base_ = {TINY_CFG!r}\n'
        "custom_imports = dict(imports=['mmdata', 'tests.helpers'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = [{hooks}]\n')
    return str(path)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp('fmnist'))


def final_state(work_dir, it):
    ckpt = load_local_checkpoint(str(Path(work_dir) / f'iter_{it}.pth'))
    return ckpt['state_dict']


def test_train_then_sigkill_and_resume_is_exact(tmp_path, data_root):
    straight = train(tmp_path / 'straight', data_root, 8)
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert 'loss_max' in straight.stdout + straight.stderr

    config = config_with_hooks(
        tmp_path / 'kill.py', "dict(type='mmdata.TeacherEMA', "
        "momentum=0.996), dict(type='mmdata.KillAtIter', kill_at=6)")
    killed = train(tmp_path / 'killed', data_root, 8, config=config)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (tmp_path / 'killed' / 'iter_4.pth').exists()
    assert not (tmp_path / 'killed' / 'iter_8.pth').exists()

    resumed = train(tmp_path / 'killed', data_root, 8, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed' in (resumed.stdout + resumed.stderr).lower()

    a = final_state(tmp_path / 'straight', 8)
    b = final_state(tmp_path / 'killed', 8)
    assert a.keys() == b.keys()
    for group in ('backbone.', 'neck.', 'teacher.', 'queue'):
        keys = [k for k in a if k.startswith(group)]
        assert keys, group
        for k in keys:
            torch.testing.assert_close(
                b[k].float(), a[k].float(), rtol=0, atol=1e-6, msg=k)


def test_two_process_gloo_run_keeps_ranks_in_sync(tmp_path, data_root):
    config = config_with_hooks(
        tmp_path / 'record.py', "dict(type='mmdata.TeacherEMA', "
        "momentum=0.9), dict(type='mmdata.RecordOmega')")
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29631',
        str(REPO / 'tools/train.py'), config, '--launcher', 'pytorch',
        '--work-dir',
        str(tmp_path / 'work')
    ]
    cmd += options(data_root, 4)
    out = subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    omega = [
        json.loads((tmp_path / 'work' / f'omega_{r}.json').read_text())
        for r in range(2)
    ]
    assert len(omega[0]) == 4 and omega[0] == omega[1]
    assert len({tuple(o) for o in omega[0]}) > 1  # archs change per iter
    t0, t1 = (
        torch.load(tmp_path / 'work' / f'teacher_{r}.pth') for r in range(2))
    assert len(t0) > 50
    for k in t0:
        assert torch.equal(t0[k], t1[k]), k
    # the teacher is an EMA of the student, not a copy of it
    state = final_state(tmp_path / 'work', 4)
    teacher = state['teacher.backbone.conv1.weight']
    assert torch.equal(teacher, t0['backbone.conv1.weight'])
    assert not torch.allclose(teacher, state['backbone.conv1.weight'])


def test_missing_data_root_is_one_clear_error(tmp_path):
    out = train(tmp_path / 'w', tmp_path / 'nowhere', 2)
    assert out.returncode != 0
    assert f'data root {tmp_path / "nowhere"} does not exist' in out.stderr


def test_mim_train_and_dist_train_sh(tmp_path, data_root):
    e = env()
    e['PATH'] = f'{Path(sys.executable).parent}{os.pathsep}{e["PATH"]}'
    e['PORT'] = '29651'
    rel_cfg = str(Path(TINY_CFG).relative_to(REPO))
    runs = {
        # mim resolves the config inside the installed package (.mim)
        'mim': ([
            'mim', 'train', 'mmdata', rel_cfg, '--work-dir',
            str(tmp_path / 'mim')
        ], tmp_path),
        'dist': ([
            'bash',
            str(REPO / 'tools/dist_train.sh'), TINY_CFG, '2', '--work-dir',
            str(tmp_path / 'dist')
        ], REPO),
    }
    for name, (cmd, cwd) in runs.items():
        out = subprocess.run(
            cmd + options(data_root, 2),
            cwd=cwd,
            env=e,
            capture_output=True,
            text=True)
        assert out.returncode == 0, (name, out.stderr[-3000:])
        assert (tmp_path / name / 'iter_2.pth').exists(), name


def test_checkpoint_of_another_space_is_one_clear_error(tmp_path, data_root):
    first = train(tmp_path / 'a', data_root, 2)
    assert first.returncode == 0, first.stderr[-3000:]
    other = train(
        tmp_path / 'b',
        data_root,
        2,
        extra=[
            f"load_from={tmp_path / 'a' / 'iter_2.pth'}",
            'model.backbone.space.depths=[(1,2,1),(1,2,1),(1,4,1),(1,3,1)]'
        ])
    assert other.returncode != 0
    last = other.stderr.strip().splitlines()[-1]
    assert last.startswith('error: the checkpoint holds a supernet of space')
    assert 'config builds' in last
