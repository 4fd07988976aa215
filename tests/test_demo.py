"""The demo pipeline (quick settings), ranking correlation and the digits
fallback."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from tests.helpers import write_fashion_mnist
from tests.test_train_runs import env

REPO = Path(__file__).resolve().parents[1]


def test_rank_correlation_numbers(tmp_path):
    scores = [0.1, 0.4, 0.2, 0.9, 0.5, 0.3]
    top1 = [0.50, 0.62, 0.55, 0.70, 0.60, 0.58]
    cands = [
        dict(arch=f'Depth [1,1,1,{i}] Width [8,8,16,32,64]',
             bin='a' if i < 3 else 'b', score=s, scores=dict(z=s))
        for i, s in enumerate(scores)
    ]
    (tmp_path / 'candidates.json').write_text(
        json.dumps(dict(candidates=cands)))
    with open(tmp_path / 'r.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=['arch', 'top1'])
        writer.writeheader()
        for c, t in zip(cands, top1):
            writer.writerow(dict(arch=c['arch'], top1=t))
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/rank_correlation.py'),
        str(tmp_path),
        str(tmp_path / 'r.csv')
    ], capture_output=True, text=True, env=env())
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / 'rank_correlation.json').read_text())
    overall = report['report']['all (score)']
    assert overall['spearman'] == pytest.approx(
        stats.spearmanr(scores, top1).statistic)
    # the ranks differ only by one swap (0.58 vs 0.60): rho = 1 - 6*2/210
    assert overall['spearman'] == pytest.approx(1 - 6 * 2 / (6 * 35))
    assert overall['kendall'] == pytest.approx(13 / 15)
    assert report['report']['bin a']['n'] == 3
    assert 'Spearman' in out.stdout and 'bin b' in out.stdout
    assert (tmp_path / 'rank_correlation.png').read_bytes()[:4] == \
        b'\x89PNG'


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


def test_demo_quick_run(tmp_path):
    data_root = write_fashion_mnist(tmp_path / 'data', 512, 384)
    cmd = [
        sys.executable,
        str(REPO / 'tools/demo.py'), '--work-dir',
        str(tmp_path / 'demo'), '--data-root',
        str(data_root), '--iters', '4', '--batch-size', '16',
        '--candidates', '3', '--probe-train', '256', '--probe-test', '128',
        '--no-apt'
    ]
    out = subprocess.run(cmd, cwd=REPO, env=env(), capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'Spearman correlation of search scores with probe top-1' in \
        out.stdout
    assert 'winners (best search score per bin)' in out.stdout
    demo = tmp_path / 'demo'
    with open(demo / 'probe.csv') as f:
        assert len(list(csv.DictReader(f))) == 9
    assert len(list((demo / 'export').glob('*/backbone.pth'))) == 3
    assert (demo / 'rank_correlation.json').exists()

    # the README's kNN command on the demo's checkpoint
    cfg = str(REPO / 'configs/tiny/'
              'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
    knn = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/knn_eval.py'), cfg,
        str(demo / 'train' / 'iter_4.pth'), '--max-train', '256',
        '--max-test', '64', '--out',
        str(tmp_path / 'knn.json'), '--cfg-options',
        f'probe_train_dataloader.dataset.data_root={data_root}',
        f'probe_test_dataloader.dataset.data_root={data_root}'
    ], cwd=REPO, env=env(), capture_output=True, text=True)
    assert knn.returncode == 0, knn.stderr[-2000:]
    result = json.loads((tmp_path / 'knn.json').read_text())
    assert 0.0 <= result['top1'] <= 1.0 and result['k'] == 20


def test_benchmark_scripts_run_with_small_settings():
    runs = [
        ['benchmark_supernet.py', '--num-archs', '2', '--input-size', '64',
         '--batch-size', '1', '--repeats', '1'],
        ['benchmark_train.py', '--batch-size', '8', '--repeats', '1'],
        ['benchmark_search.py', '--candidates', '2', '--batch-size', '4',
         '--input-size', '64', '--memory-batch', '2'],
    ]
    expected = ['target <= 1.05', 'target <= 1.10', 'target <= 0.55']
    for args, text in zip(runs, expected):
        out = subprocess.run(
            [sys.executable, str(REPO / 'tools/analysis' / args[0]),
             *args[1:]], cwd=REPO, env=env(), capture_output=True,
            text=True)
        assert out.returncode == 0, (args[0], out.stderr[-2000:])
        assert text in out.stdout, args[0]
