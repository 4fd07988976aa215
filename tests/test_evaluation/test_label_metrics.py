"""The label metrics of the ranking benchmark through their tool: every
metric runs on tiny candidates, resumes, and refuses rows computed
otherwise; fine-tuning goes through the exported config and MMEngine's
Runner."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import TINY_CFG, build, env, write_fashion_mnist

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARCHS = [
    'Depth [1,1,1,1] Width [8,8,16,32,64]',
    'Depth [2,1,2,1] Width [16,12,24,48,128]'
]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp('label')
    torch.save(
        dict(state_dict=build(seed=0).state_dict()), base / 'supernet.pth')
    data = write_fashion_mnist(base / 'data', 200, 60)
    return base, data


def label_metric(setup, metric, out, *extra):
    return subprocess.run(
        label_metric_command(setup, metric, out, *extra),
        cwd=REPO,
        env=env(),
        capture_output=True,
        text=True)


def label_metric_command(setup, metric, out, *extra):
    base, data = setup
    return [
        sys.executable,
        str(REPO / 'tools/analysis/label_metric.py'), TINY_CFG,
        str(base / 'supernet.pth'), '--archs', *ARCHS, '--metric', metric,
        '--out',
        str(out), '--max-train', '100', '--calib-batches', '1', *extra,
        '--cfg-options', f'probe_train_dataloader.dataset.data_root={data}',
        f'probe_test_dataloader.dataset.data_root={data}',
        'probe_train_dataloader.num_workers=0',
        'probe_test_dataloader.num_workers=0'
    ]


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize('metric', ['linear', 'linear-fixed', 'knn'])
def test_frozen_metrics_run_and_resume(metric, setup, tmp_path):
    out = label_metric(setup, metric, tmp_path / 'm.csv', '--seeds', '0', '1')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 's per (arch, seed)' in out.stdout
    first = rows(tmp_path / 'm.csv')
    assert sorted((r['arch'], r['seed']) for r in first) == sorted(
        (a, s) for a in ARCHS for s in '01')
    assert all(0 <= float(r['top1']) <= 1 for r in first)
    again = label_metric(setup, metric, tmp_path / 'm.csv', '--seeds', '0',
                         '1')
    assert '0 (arch, seed) pairs to do' in again.stdout
    assert rows(tmp_path / 'm.csv') == first


def test_shards_share_one_csv(setup, tmp_path):
    """Two shards of the pairs write the rows a single run writes."""
    single = label_metric(setup, 'knn', tmp_path / 'one.csv', '--seeds', '0',
                          '1')
    assert single.returncode == 0, single.stderr[-3000:]
    procs = [
        subprocess.Popen(
            label_metric_command(setup, 'knn', tmp_path / 'two.csv', '--seeds',
                                 '0', '1', '--shard', f'{i}/2'),
            cwd=REPO,
            env=env(),
            stdout=subprocess.PIPE,
            text=True) for i in (1, 2)
    ]
    outputs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert all('2 (arch, seed) pairs to do' in o for o in outputs)

    def key(r):
        return r['arch'], r['seed']

    assert sorted(
        rows(tmp_path / 'two.csv'), key=key) == sorted(
            rows(tmp_path / 'one.csv'), key=key)
    bad = label_metric(setup, 'knn', tmp_path / 'x.csv', '--shard', '3/2')
    assert bad.returncode == 2
    assert bad.stderr.strip() == ('error: --shard 3/2: allowed I/N with '
                                  '1 <= I <= N, e.g. 1/2 and 2/2')


def test_rows_follow_the_supernet_weights_not_its_file(setup, tmp_path):
    """A checkpoint saved again with other metadata (a retraining that gave
    the same weights) keeps its rows; a changed weight is refused."""
    base, _ = setup
    ckpt = tmp_path / 'supernet.pth'
    state = torch.load(base / 'supernet.pth', weights_only=False)
    torch.save(state, ckpt)

    def run(*extra):
        command = label_metric_command(setup, 'knn', tmp_path / 'm.csv',
                                       *extra)
        command[command.index(str(base / 'supernet.pth'))] = str(ckpt)
        return subprocess.run(
            command, cwd=REPO, env=env(), capture_output=True, text=True)

    assert run().returncode == 0
    first = rows(tmp_path / 'm.csv')
    torch.save(dict(state, meta=dict(time='another run')), ckpt)
    again = run()
    assert '0 (arch, seed) pairs to do' in again.stdout, again.stderr[-2000:]
    key = next(k for k, v in state['state_dict'].items()
               if k.startswith('backbone.') and v.is_floating_point())
    state['state_dict'][key].view(-1)[0] += 1e-3
    torch.save(state, ckpt)
    out = run()
    assert out.returncode == 2
    assert 'supernet_weights_sha256' in out.stderr
    assert rows(tmp_path / 'm.csv') == first


def test_finetune_metric_runs_and_refuses_other_settings(setup, tmp_path):
    csv_path = tmp_path / 'ft.csv'
    out = label_metric(setup, 'finetune', csv_path, '--labels-per-class', '2',
                       '--epochs', '1')
    assert out.returncode == 0, out.stderr[-3000:]
    result = rows(csv_path)
    assert [r['arch'] for r in result] == ARCHS
    assert all(0 <= float(r['top1']) <= 1 for r in result)
    assert not list(tmp_path.glob('ft-finetune/*'))  # scratch removed
    # the same seed again: the Runner's run is reproducible
    out = label_metric(setup, 'finetune', tmp_path / 'again.csv',
                       '--labels-per-class', '2', '--epochs', '1')
    assert out.returncode == 0, out.stderr[-3000:]
    assert rows(tmp_path / 'again.csv') == result
    # other settings into the same CSV: refused, rows untouched
    out = label_metric(setup, 'finetune', csv_path, '--labels-per-class', '2',
                       '--epochs', '2')
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f'error: {csv_path} holds label-metric results computed '
        'differently (epochs: 1 vs 2); pass --overwrite or another --out')
    assert rows(csv_path) == result
    # another metric into it: refused as well
    out = label_metric(setup, 'knn', csv_path)
    assert out.returncode == 2
    assert 'metric: "finetune" vs "knn"' in out.stderr, out.stderr


def test_finetune_config_is_the_exported_protocol(setup, tmp_path):
    """Only data, classes, normalisation and schedule are changed in the
    exported semi-supervised config."""
    from mmengine.config import Config

    from mmdata.evaluation.finetune import (TASK, FinetuneSettings,
                                            finetune_config)
    from mmdata.export import TASKS, export_subnet
    base, data = setup
    export_subnet(
        str(base / 'supernet.pth'), ARCHS[1], TASK, str(tmp_path / 'export'))
    exported = Config.fromfile(
        str(tmp_path / 'export' / TASKS[TASK]['config']))
    probe = Config.fromfile(TINY_CFG)
    cfg = finetune_config(
        exported,
        probe, [0, 5, 9],
        FinetuneSettings(),
        str(tmp_path / 'run'),
        seed=3)
    assert cfg.model.backbone == exported.model.backbone
    assert cfg.model.neck == exported.model.neck
    assert cfg.optim_wrapper.paramwise_cfg == \
        exported.optim_wrapper.paramwise_cfg
    assert cfg.train_dataloader.dataset.indices == [0, 5, 9]
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.test_dataloader.dataset.split == 'test'
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline][-3:] \
        == ['RandomCrop', 'RandomFlip', 'PackInputs']
    assert cfg.train_cfg == dict(by_epoch=True, max_epochs=30)
    assert cfg.randomness.seed == 3


@pytest.mark.parametrize('option, value, needle', [
    ('--c', '0', '--c 0.0: allowed: a finite number > 0'),
    ('--lr', 'nan', '--lr nan: allowed'),
    ('--k', '0', '--k 0: allowed >= 1'),
    ('--width', '-1', '--width -1: allowed >= 1'),
])
def test_bad_numbers_are_one_line(option, value, needle, setup, tmp_path):
    out = label_metric(setup, 'knn', tmp_path / 'm.csv', option, value)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'error: {needle}')
    assert not (tmp_path / 'm.csv').exists()


def test_settings_from_a_clis_args():
    """Every option a CLI parsed that names a field is taken, the rest keep
    their defaults, overrides win."""
    import argparse

    from mmdata.evaluation.label_metrics import LabelMetricSettings
    args = argparse.Namespace(
        metric='knn',
        config='cfg.py',
        k=5,
        max_train=100,
        data_options=dict(a=1),
        seed=3)
    got = LabelMetricSettings.from_args(args, data_options=dict(b=2))
    assert got == LabelMetricSettings(
        metric='knn',
        config='cfg.py',
        k=5,
        max_train=100,
        data_options=dict(b=2))


def test_knn_eval_is_the_knn_label_metric(setup, tmp_path):
    """tools/analysis/knn_eval.py and label_metric.py --metric knn measure
    one arch on the same images alike; --init evaluates the untrained arch."""
    base, data = setup
    options = [
        '--cfg-options', f'probe_train_dataloader.dataset.data_root={data}',
        f'probe_test_dataloader.dataset.data_root={data}',
        'probe_train_dataloader.num_workers=0',
        'probe_test_dataloader.num_workers=0'
    ]
    out = label_metric(setup, 'knn', tmp_path / 'knn.csv', '--max-train',
                       '10000')
    assert out.returncode == 0, out.stderr[-3000:]
    label = {r['arch']: float(r['top1']) for r in rows(tmp_path / 'knn.csv')}
    for arch in ARCHS:
        run = subprocess.run([
            sys.executable,
            str(REPO / 'tools/analysis/knn_eval.py'), TINY_CFG,
            str(base / 'supernet.pth'), '--arch', arch, '--calib-batches', '1',
            '--out',
            str(tmp_path / 'knn.json'), *options
        ],
                             cwd=REPO,
                             env=env(),
                             capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr[-3000:]
        result = json.loads((tmp_path / 'knn.json').read_text())
        assert result['arch'] == arch
        assert result['top1'] == pytest.approx(label[arch], abs=1e-6)
    init = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/knn_eval.py'), TINY_CFG, '--init', '--arch',
        'min', '--max-train', '100', '--calib-batches', '1', *options
    ],
                          cwd=REPO,
                          env=env(),
                          capture_output=True,
                          text=True)
    assert init.returncode == 0, init.stderr[-3000:]
    result = json.loads(init.stdout.strip().splitlines()[-1])
    assert result['source'] == 'init' and 0 <= result['top1'] <= 1
