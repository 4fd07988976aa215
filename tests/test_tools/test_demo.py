"""The demo pipeline and the ranking benchmark (quick settings), and the
digits fallback."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import env, write_fashion_mnist

REPO = Path(__file__).resolve().parents[2]


def test_digits_fallback_is_readable_by_mmpretrain(tmp_path):
    sys.path.insert(0, str(REPO / 'tools' / 'misc'))
    from prepare_fashion_mnist import write_digits
    write_digits(tmp_path)
    from mmpretrain.datasets import FashionMNIST
    train = FashionMNIST(str(tmp_path), split='train', download=False)
    test = FashionMNIST(
        str(tmp_path), split='test', test_mode=True, download=False)
    assert (len(train), len(test)) == (1497, 300)
    item = train.get_data_info(0)
    assert item['img'].shape == (28, 28) and 0 <= int(item['gt_label']) < 10


@pytest.mark.slow
def test_demo_quick_run(tmp_path):
    data_root = write_fashion_mnist(tmp_path / 'data', 512, 384)
    cmd = [
        sys.executable,
        str(REPO / 'tools/demo.py'), '--work-dir',
        str(tmp_path / 'demo'), '--data-root',
        str(data_root), '--iters', '4', '--batch-size', '16', '--candidates',
        '3', '--score-batches', '2', '--no-apt'
    ]
    out = subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    demo = tmp_path / 'demo'
    # a short story on the console, the tools' whole output in logs/
    assert len(out.stdout.splitlines()) < 50, out.stdout
    assert not out.stderr.strip(), out.stderr[-3000:]
    for n in range(1, 7):
        assert f'=== {n}/6 ' in out.stdout
    assert out.stdout.count('  done in ') == 6
    assert 'seconds per candidate (9 candidates): score ' in \
        (demo / 'logs' / 'search.log').read_text()
    assert len(list((demo / 'export').glob('*/backbone.pth'))) == 4
    # one iteration of each export through mim train (the libraries' Runner)
    for name in ('detector', 'classifier'):
        assert (demo / 'finetune' / name / 'iter_1.pth').exists(), name
    assert 'detector: loss ' in out.stdout
    assert 'classifier: loss ' in out.stdout
    assert 'loss ? ' not in out.stdout
    # every winner with its params rank among its bin's 3 candidates
    table = out.stdout.split('winners (best search score per bin')[1]
    assert table.count(' of 3') == 3, table
    # the documented console (docs/cpu_demo.md) has the same headers
    documented = (REPO / 'docs' / 'cpu_demo.md').read_text()
    headers = [
        line for line in out.stdout.splitlines()
        if line.startswith(('bin ', '=== ', 'winners '))
    ]
    assert len(headers) == 8
    for line in headers:
        assert line in documented, line

    # re-running resumes: nothing is trained or searched again
    again = subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'exists, skipping' in again.stdout
    assert 'resuming the search: 9 candidates already scored' in \
        (demo / 'logs' / 'search.log').read_text()


@pytest.mark.slow
def test_ranking_benchmark_quick_run(tmp_path):
    data_root = write_fashion_mnist(tmp_path / 'data', 512, 384)
    train_cfg = str(REPO / 'configs/tiny/supernet-mocov2_dynresnet-tiny_'
                    '1xb128-1e_fashion-mnist.py')
    search_cfg = str(REPO / 'configs/tiny/'
                     'search-cls_dynresnet-tiny_fashion-mnist.py')
    roots = [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'probe_train_dataloader',
                       'probe_test_dataloader')
    ]
    work = tmp_path / 'ranking'
    cmd = [
        sys.executable,
        str(REPO / 'tools/analysis/ranking_benchmark.py'), train_cfg,
        search_cfg, '--work-dir',
        str(work), '--iters', '4', '--candidates', '3', '--probe-train', '256',
        '--probe-test', '128', '--noise-seeds', '2', '--label-metrics',
        'linear', '--rankers', 'cka-C5pool', 'rankme-C5pool', '--combine',
        'params', 'cka-C5pool', '--cfg-options', *roots, '--search-options',
        'train_cfg.score_batches=2', '--train-options',
        'train_dataloader.batch_size=16'
    ]
    out = subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    for text in ('noise floor', 'DATA (z)', 'naswot', 'synflow', 'random',
                 'FLOPs', 'cka-C5pool - params: dtau_bin',
                 'params+cka-C5pool ranks - params: dtau_bin'):
        assert text in out.stdout, text
    with open(work / 'label-linear.csv') as f:
        rows = list(csv.DictReader(f))
    # 9 candidates (seed 0) + each bin's pick with a second probe seed
    assert len(rows) == 12
    assert sorted(r['seed'] for r in rows) == ['0'] * 9 + ['1'] * 3
    report = json.loads((work / 'rank_correlation-linear.json').read_text())
    assert report['n'] == 9 and report['noise_floor']['archs'] == 3
    assert 'params+cka-C5pool ranks' in report['columns']
    assert (work / 'ranking.txt').read_text().startswith(
        '=== label metric: linear ===\nlabel-free')
    cands = json.loads((work / 'search' / 'candidates.json').read_text())
    for c in cands['candidates']:
        assert set(c['proxies']) == {'naswot', 'synflow'}
        assert c['proxies']['synflow'] > 0
        assert set(c['rankers']) == {'cka-C5pool', 'rankme-C5pool'}
        assert 0 < c['rankers']['cka-C5pool'] <= 1 + 1e-9

    # re-running resumes: nothing is trained, searched or probed again
    again = subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    logs = work / 'logs'
    assert 'exists, skipping' in again.stdout
    assert '0 (arch, seed) pairs to do' in (logs / 'linear.log').read_text()
    # probe rows computed otherwise are refused, not mixed
    other = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/label_metric.py'), train_cfg,
        str(work / 'train' / 'iter_4.pth'), '--search-dir',
        str(work / 'search'), '--out',
        str(work / 'label-linear.csv'), '--max-train', '256', '--max-test',
        '128', '--c', '0.5', '--cfg-options', *roots[1:]
    ],
                           cwd=REPO,
                           env=env(),
                           capture_output=True,
                           text=True)
    assert other.returncode == 2
    assert other.stderr.strip() == (
        f'error: {work / "label-linear.csv"} holds label-metric results '
        'computed '
        'differently (c: 0.1 vs 0.5); pass --overwrite or another --out')

    # the README's kNN command on the benchmark's checkpoint
    knn = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/knn_eval.py'), train_cfg,
        str(work / 'train' / 'iter_4.pth'), '--max-train', '256', '--max-test',
        '64', '--out',
        str(tmp_path / 'knn.json'), '--cfg-options', *roots[1:]
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert knn.returncode == 0, knn.stderr[-2000:]
    result = json.loads((tmp_path / 'knn.json').read_text())
    assert 0.0 <= result['top1'] <= 1.0 and result['k'] == 20

    # search levers: the `default` lever is the benchmark's search again
    levers = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/search_levers.py'), search_cfg,
        str(work / 'train' / 'iter_4.pth'),
        str(work / 'label-linear.csv'), '--work-dir',
        str(tmp_path / 'levers'), '--levers', 'default', '--candidates', '3',
        '--bootstrap', '0', '--cfg-options', *roots,
        'train_cfg.score_batches=2'
    ],
                            cwd=REPO,
                            env=env(),
                            capture_output=True,
                            text=True)
    assert levers.returncode == 0, levers.stdout[-2000:] + levers.stderr
    table = json.loads((tmp_path / 'levers' / 'levers.json').read_text())
    (row, ), baselines = table['levers'], table['baselines']
    score = report['columns']['DATA (z)']['mean_bin']
    assert row['name'] == 'default: DATA (z)'
    for key in ('spearman', 'kendall', 'regret', 'percentile'):
        assert row[key] == pytest.approx(score[key], abs=1e-12), key
    assert [b['name'] for b in baselines][:2] == ['FLOPs', 'params']
    assert (tmp_path / 'levers' / 'default' / 'rank_correlation.png').is_file()


@pytest.mark.slow
def test_benchmark_scripts_run_with_small_settings():
    runs = [
        [
            'benchmark_supernet.py', '--num-archs', '2', '--input-size', '64',
            '--batch-size', '1', '--repeats', '1'
        ],
        [
            'benchmark_train.py', '--batch-size', '8', '--repeats', '1',
            '--memory-batch', '16'
        ],
        [
            'benchmark_search_cost.py', '--candidates', '2', '--batch-size',
            '4', '--input-size', '64'
        ],
        [
            'benchmark_search_groups.py', '--candidates', '2', '--batch-size',
            '4', '--input-size', '64'
        ],
        [
            'benchmark_search_scale.py', '--batch-size', '4', '--input-size',
            '64', '--batches', '1'
        ],
        ['benchmark_search_build.py', '--input-size', '64'],
        ['benchmark_relation_memory.py', '--memory-batch', '2'],
        [
            'benchmark_search_cost.py', '--space', 'paper', '--candidates',
            '2', '--batch-size', '2', '--input-size', '64'
        ],
    ]
    expected = [
        'target <= 1.05', 'target: per-student <= 1.30x', 'target: ratio <=',
        'same scores)', 'streamed MB flat', 'ratio', 'same scores',
        'paper space'
    ]
    for args, text in zip(runs, expected):
        out = subprocess.run(
            [sys.executable,
             str(REPO / 'benchmarks' / args[0]), *args[1:]],
            cwd=REPO,
            env=env(),
            capture_output=True,
            text=True)
        assert out.returncode == 0, (args[0], out.stderr[-2000:])
        assert text in out.stdout, args[0]
