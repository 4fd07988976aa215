"""Ranking comparison: correlations, bootstrap intervals, per-bin picks,
the noise floor and the rank_correlation tool on planted scores."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from mmdata.errors import ConfigError
from mmdata.evaluation.ranking import (bin_pick, bootstrap_interval,
                                       correlation, noise_floor, random_pick,
                                       ranking_report)
from tests.helpers import env

REPO = Path(__file__).resolve().parents[2]


def planted_rows(num_per_bin: int = 15, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    rows = []
    for b in ('small', 'large'):
        for _ in range(num_per_bin):
            top1 = float(rng.uniform(0.6, 0.8))
            rows.append(
                dict(
                    bin=b,
                    top1=top1,
                    planted=top1,
                    reverse=-top1,
                    noisy=top1 + float(rng.normal(0, 0.05))))
    return rows


def test_planted_score_ranks_perfectly_with_zero_regret():
    rows = planted_rows()
    report = ranking_report(
        rows, ['planted', 'reverse', 'noisy'], 'top1', num_boot=200)
    planted = report['columns']['planted']
    assert planted['all']['spearman'] == pytest.approx(1)
    assert planted['all']['kendall'] == pytest.approx(1)
    for b, entry in planted['bins'].items():
        assert entry['spearman'] == pytest.approx(1)
        assert entry['regret'] == 0 and entry['percentile'] == 100
        assert entry['winner'] == report['bins'][b]['best']
    reverse = report['columns']['reverse']
    assert reverse['all']['spearman'] == pytest.approx(-1)
    for b, entry in reverse['bins'].items():
        values = [r['top1'] for r in rows if r['bin'] == b]
        assert entry['regret'] == pytest.approx(max(values) - min(values))
        assert entry['percentile'] == pytest.approx(100 / 15)
    noisy = report['columns']['noisy']
    assert noisy['all']['spearman'] == pytest.approx(
        stats.spearmanr([r['noisy'] for r in rows],
                        [r['top1'] for r in rows]).statistic)
    means = report['columns']['random']['mean_bin']
    assert means['regret'] == pytest.approx(
        np.mean([
            max(v) - np.mean(v)
            for v in ([r['top1'] for r in rows if r['bin'] == b]
                      for b in ('small', 'large'))
        ]))
    assert means['percentile'] == pytest.approx(100 * 16 / 30)


def test_bootstrap_interval_contains_estimate_and_narrows():
    widths = []
    for n in (15, 60, 240):
        rng = np.random.default_rng(n)
        y = rng.normal(size=n)
        x = y + rng.normal(size=n)
        for statistic in ('spearman', 'kendall'):
            point = correlation(x, y)[statistic]
            lo, hi = bootstrap_interval(x, y, statistic, num=400, seed=0)
            assert lo <= point <= hi
            if statistic == 'spearman':
                widths.append(hi - lo)
    # one resample: the vectorised Spearman equals scipy's on it
    index = np.random.default_rng(0).integers(0, len(x), (1, len(x)))[0]
    lo, hi = bootstrap_interval(x, y, 'spearman', num=1, seed=0)
    assert lo == hi == pytest.approx(
        stats.spearmanr(x[index], y[index]).statistic)
    assert widths[0] > widths[1] > widths[2]
    assert bootstrap_interval([1, 2], [2, 1]) is None
    assert bootstrap_interval([1, 1, 1, 1], [1, 2, 3, 4]) is None


def test_bin_pick_random_pick_and_noise_floor():
    assert bin_pick([3, 1, 2], [0.5, 0.9, 0.7]) == dict(
        winner=0.5,
        best=0.9,
        regret=pytest.approx(0.4),
        percentile=pytest.approx(100 / 3))
    assert random_pick([0.5, 0.9, 0.7])['regret'] == pytest.approx(0.2)
    assert correlation([1, 2], [1, 2])['spearman'] is None
    noise = noise_floor({
        'a': [0.70, 0.72, 0.74],
        'b': [0.60, 0.61],
        'c': [0.5]
    })
    pooled = np.sqrt((0.02**2 * 2 + 2 * 0.005**2) / 3)
    assert noise['std'] == pytest.approx(pooled)
    assert noise['max_spread'] == pytest.approx(0.04)
    assert (noise['archs'], noise['repeats']) == (2, 2)
    assert noise_floor({'a': [0.7]}) is None


def write_search(folder: Path, rows: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cands = [
        dict(
            arch=f'Depth [1,1,1,1] Width [8,8,16,32,{64 + i}]',
            arch_dict={},
            bin=r['bin'],
            score=r['planted'],
            scores=dict(z=r['planted']),
            flops=1000 + i,
            params=100 + i,
            proxies=dict(naswot=r['noisy'], synflow=float(i)))
        for i, r in enumerate(rows)
    ]
    (folder / 'candidates.json').write_text(
        json.dumps(dict(taps=['z'], candidates=cands)))
    return cands


@pytest.mark.slow
def test_rank_correlation_tool_side_by_side(tmp_path):
    rows = planted_rows(6)
    cands = write_search(tmp_path / 'search', rows)
    with open(tmp_path / 'probe.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=['arch', 'bin', 'seed', 'top1'])
        writer.writeheader()
        for c, r in zip(cands, rows):
            writer.writerow(
                dict(arch=c['arch'], bin=c['bin'], seed=0, top1=r['top1']))
        for seed, delta in ((1, 0.01), (2, -0.01)):  # noise rows
            writer.writerow(
                dict(
                    arch=cands[0]['arch'],
                    bin='',
                    seed=seed,
                    top1=rows[0]['top1'] + delta))
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/rank_correlation.py'),
        str(tmp_path / 'search'),
        str(tmp_path / 'probe.csv'), '--bootstrap', '100'
    ],
                         capture_output=True,
                         text=True,
                         env=env())
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / 'rank_correlation.json').read_text())
    columns = report['columns']
    assert list(columns) == [
        'DATA (z)', 'FLOPs', 'params', 'naswot', 'synflow', 'random'
    ]
    assert columns['DATA (z)']['all']['spearman'] == pytest.approx(1)
    assert columns['DATA (z)']['mean_bin']['regret'] == 0
    # the seed-1/2 rows are noise, not labels
    assert report['n'] == 12
    assert report['noise_floor']['std'] == pytest.approx(0.01)
    for name in ('DATA (z)', 'naswot', 'random', 'noise floor', 'bin small',
                 'Spearman all [95% CI]', 'DATA (z) - params: dtau_bin',
                 'DATA (z) - random: dtau_bin',
                 'given params, mean in bins: DATA (z)',
                 'can this metric rank inside bins? '):
        assert name in out.stdout, name
    # the planted score is the label: its paired lead over every baseline
    assert [(p['score'], p['baseline']) for p in report['paired']
            ] == [('DATA (z)', b)
                  for b in ('FLOPs', 'params', 'naswot', 'synflow', 'random')]
    for pair in report['paired']:
        assert pair['kendall']['delta'] > 0 and pair['regret']['ci'][1] <= 0
        if pair['baseline'] != 'naswot':  # naswot: the label plus noise
            assert pair['kendall']['ci'][0] > 0, pair
    assert (tmp_path / 'rank_correlation.png').read_bytes()[:4] == \
        b'\x89PNG'
    bad = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/rank_correlation.py'),
        str(tmp_path / 'search'),
        str(tmp_path / 'probe.csv'), '--metric', 'top5'
    ],
                         capture_output=True,
                         text=True,
                         env=env())
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: ") and 'top5' in bad.stderr


@pytest.mark.slow
def test_rank_correlation_labels_with_the_mean_of_seeds(tmp_path):
    """--label-seed mean: each arch's label is the mean of its seeds, the
    noise floor that of the mean (pooled std / sqrt(seeds))."""
    rows = planted_rows(6)
    cands = write_search(tmp_path / 'search', rows)
    path = tmp_path / 'gt.csv'

    def write(skip_last: bool) -> None:
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(
                f, fieldnames=['arch', 'bin', 'seed', 'mIoU'])
            writer.writeheader()
            for i, (c, r) in enumerate(zip(cands, rows)):
                writer.writerow(
                    dict(arch=c['arch'], bin='', seed=0, mIoU=r['top1']))
                if not (skip_last and i == len(cands) - 1):
                    writer.writerow(
                        dict(
                            arch=c['arch'],
                            bin='',
                            seed=1,
                            mIoU=r['top1'] + (0.01 if i % 2 else -0.01)))

    def run():
        return subprocess.run([
            sys.executable,
            str(REPO / 'tools/analysis/rank_correlation.py'),
            str(tmp_path / 'search'),
            str(path), '--label-seed', 'mean', '--bootstrap', '0'
        ],
                              capture_output=True,
                              text=True,
                              env=env())

    write(skip_last=False)
    out = run()
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / 'rank_correlation.json').read_text())
    # seed differences of 0.01: pooled std 0.01 / sqrt(2), of the mean / 2
    assert report['noise_floor']['std'] == pytest.approx(0.005)
    assert report['noise_floor']['of_mean'] == 2
    assert 'of the mean of 2 seeds' in out.stdout
    means = {
        c['arch']: r['top1'] + (0.005 if i % 2 else -0.005)
        for i, (c, r) in enumerate(zip(cands, rows))
    }
    assert {
        r['arch']: r['mIoU']
        for r in report['rows']
    } == pytest.approx(means)
    assert report['run_agreement']['archs'] == 12
    write(skip_last=True)
    bad = run()
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        f'error: --label-seed mean: the archs of {path} have 1 to 2 rows; '
        'measure every arch with the same seeds')


@pytest.mark.slow
def test_ranking_benchmark_labels_with_the_mean_of_seeds(
        tiny_supernet, tmp_path):
    """--label-seeds 2: every candidate measured with seeds 0 and 1, the
    label their mean, no separate noise-floor step."""
    data_root = tiny_supernet['data_root']
    roots = [
        f'{loader}.dataset.data_root={data_root}'
        for loader in ('train_dataloader', 'probe_train_dataloader',
                       'probe_test_dataloader')
    ]
    work = tmp_path / 'ranking'
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/ranking_benchmark.py'),
        str(REPO / 'configs/tiny/supernet-mocov2_dynresnet-tiny_'
            '1xb128-1e_fashion-mnist.py'),
        str(REPO / 'configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py'),
        '--checkpoint',
        str(tiny_supernet['ckpt']), '--work-dir',
        str(work), '--candidates', '2', '--label-metrics', 'knn',
        '--label-seeds', '2', '--probe-train', '64', '--bootstrap', '0',
        '--cfg-options', *roots, '--search-options',
        'train_cfg.score_batches=1', 'train_cfg.calib_batches=1',
        'train_dataloader.batch_size=16'
    ],
                         cwd=REPO,
                         env=env(),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    with open(work / 'label-knn.csv') as f:
        rows = list(csv.DictReader(f))
    archs = {r['arch'] for r in rows}
    assert sorted(r['seed']
                  for r in rows) == ['0'] * len(archs) + ['1'] * len(archs)
    report = json.loads((work / 'rank_correlation-knn.json').read_text())
    assert report['n'] == len(archs)
    assert report['noise_floor']['of_mean'] == 2
    assert 'of the mean of 2 seeds' in out.stdout


def test_label_seeds_per_metric():
    """--label-seeds N sets every metric, METRIC=N one; bad values name
    themselves."""
    from mmdata.evaluation.label_metrics import label_seeds as seeds
    metrics = ['knn', 'seg-miou', 'det-map']
    assert seeds(['1'], metrics) == {'knn': 1, 'seg-miou': 1, 'det-map': 1}
    assert seeds(['2', 'det-map=5'], metrics) == {
        'knn': 2,
        'seg-miou': 2,
        'det-map': 5
    }
    with pytest.raises(ValueError, match="'linear' is not one of"):
        seeds(['linear=3'], metrics)
    with pytest.raises(ValueError, match='det-map=0: allowed N or METRIC=N'):
        seeds(['det-map=0'], metrics)
    with pytest.raises(ValueError, match='two: allowed'):
        seeds(['two'], metrics)


def test_linear_probe_is_converged_and_deterministic():
    import torch

    from mmdata.evaluation import linear_probe_top1
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(200) % 4
    feats = torch.randn(200, 8, generator=gen) * 0.1
    feats[torch.arange(200), labels] += 3  # linearly separable
    top1 = linear_probe_top1(feats[:150], labels[:150], feats[150:],
                             labels[150:])
    assert top1 == 1.0
    noisy = torch.randn(200, 8, generator=gen)
    a = linear_probe_top1(noisy[:150], labels[:150], noisy[150:], labels[150:])
    assert a == linear_probe_top1(noisy[:150], labels[:150], noisy[150:],
                                  labels[150:])
    with pytest.raises(ConfigError, match='max_iter=1 L-BFGS'):
        linear_probe_top1(
            noisy[:150], labels[:150], noisy[150:], labels[150:], max_iter=1)


def test_probe_subsets_are_seeded(tmp_path):
    from mmengine.config import Config

    from mmdata.evaluation import labeled_loaders
    from tests.helpers import write_fashion_mnist
    root = write_fashion_mnist(tmp_path, 64, 32)
    cfg = Config.fromfile(
        REPO / 'configs/tiny/'
        'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
    for key in ('probe_train_dataloader', 'probe_test_dataloader'):
        cfg[key].dataset.data_root = str(root)
        cfg[key].num_workers = 0

    def indices(seed):
        train, test = labeled_loaders(cfg, 20, 10, seed)
        return list(train.dataset.indices), list(test.dataset.indices)

    assert indices(0) == indices(0)
    assert indices(0)[0] != indices(1)[0]
    assert len(set(indices(0)[0])) == 20
    first, _ = labeled_loaders(cfg, 20, None)
    assert list(first.dataset.indices) == list(range(20))


def test_probe_normaliser_is_the_models_data_preprocessor():
    """The probes feed images as the supernet saw them in training: the
    data preprocessor's BGR->RGB conversion and mean/std (one normaliser,
    shared with the search)."""
    from mmengine.config import Config

    from mmdata.evaluation import normalizer
    cfg = Config(
        dict(
            default_scope='mmpretrain',
            model=dict(
                data_preprocessor=dict(
                    type='SelfSupDataPreprocessor',
                    mean=[10., 20., 30.],
                    std=[2., 4., 8.],
                    to_rgb=True))))
    images = torch.randint(0, 255, (2, 3, 4, 4), dtype=torch.uint8)
    expected = (images[:, [2, 1, 0]].float() -
                torch.tensor([10., 20., 30.]).view(1, 3, 1, 1)) / \
        torch.tensor([2., 4., 8.]).view(1, 3, 1, 1)
    assert torch.allclose(normalizer(cfg)(images), expected)
    cfg.model.data_preprocessor.to_rgb = False
    assert torch.allclose(
        normalizer(cfg)(images),
        (images.float() - torch.tensor([10., 20., 30.]).view(1, 3, 1, 1)) /
        torch.tensor([2., 4., 8.]).view(1, 3, 1, 1))


def test_vectorised_kendall_equals_scipy_with_ties():
    from mmdata.evaluation.ranking import kendall_rows
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (40, 12)).astype(float)  # many ties
    y = rng.normal(size=(40, 12))
    y[:, :3] = y[:, :1]  # ties on the label side too
    got = kendall_rows(x, y)
    for i in range(len(x)):
        assert got[i] == pytest.approx(
            stats.kendalltau(x[i], y[i]).statistic, abs=1e-12)
    assert np.isnan(kendall_rows(np.ones((1, 5)), y[:1, :5]))[0]


def test_stratified_resamples_keep_bins_and_sizes():
    from mmdata.evaluation.ranking import stratified_resamples
    bins = ['a'] * 5 + ['b'] * 3 + ['a'] * 2 + ['c'] * 4
    index = stratified_resamples(bins, 200, seed=1)
    assert index.shape == (200, len(bins))
    assert all(bins[j] == bins[i] for row in index for i, j in enumerate(row))
    # every member of a bin is drawn, and draws differ between resamples
    assert set(index[:, bins.index('b')]) == {5, 6, 7}
    assert len({tuple(r) for r in index}) > 190
    assert np.array_equal(index, stratified_resamples(bins, 200, seed=1))


def test_paired_bootstrap_on_planted_scores():
    from mmdata.evaluation.ranking import RANDOM, paired_bootstrap
    rows = planted_rows(15)
    rng = np.random.default_rng(3)
    for r in rows:
        r['pure_noise'] = float(rng.normal())
        r['copy'] = r['noisy']
    # the label metric itself against noise: better, interval excludes 0
    result = paired_bootstrap(rows, 'planted', 'pure_noise', 'top1', 500)
    lo, hi = result['kendall']['ci']
    assert 0 < lo <= result['kendall']['delta'] <= hi
    assert result['kendall']['delta'] == pytest.approx(1 - np.mean([
        stats.kendalltau([r['pure_noise'] for r in rows if r['bin'] == b],
                         [r['top1'] for r in rows if r['bin'] == b]).statistic
        for b in ('small', 'large')
    ]))
    assert result['regret']['ci'][1] < 0  # less regret than noise
    # two identical scores: differences exactly 0, interval [0, 0]
    same = paired_bootstrap(rows, 'noisy', 'copy', 'top1', 200)
    assert same['kendall'] == dict(delta=0., ci=[0., 0.])
    assert same['regret'] == dict(delta=0., ci=[0., 0.])
    # against a random pick: Kendall 0 and the expected regret
    rand = paired_bootstrap(rows, 'planted', RANDOM, 'top1', 200)
    assert rand['kendall']['delta'] == pytest.approx(1)
    expected = np.mean([
        max(v) - np.mean(v)
        for v in ([r['top1'] for r in rows if r['bin'] == b]
                  for b in ('small', 'large'))
    ])
    assert rand['regret']['delta'] == pytest.approx(-expected)


def test_partial_spearman_removes_what_params_explain():
    from mmdata.evaluation.ranking import (mean_partial_spearman,
                                           partial_spearman)
    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    x = z + 0.1 * rng.normal(size=200)  # a score that only tracks z
    y = z + 0.1 * rng.normal(size=200)
    assert correlation(x, y)['spearman'] > 0.9
    assert abs(partial_spearman(x, y, z)) < 0.2
    # equals the Pearson correlation of the rank residuals after a least
    # squares fit on the ranks of z
    x, y, z = rng.normal(size=(3, 30))
    x += z
    rx, ry, rz = (stats.rankdata(v) for v in (x, y, z))
    design = np.stack([np.ones(30), rz], 1)

    def residual(v):
        return v - design @ np.linalg.lstsq(design, v, rcond=None)[0]

    assert partial_spearman(x, y, z) == pytest.approx(
        stats.pearsonr(residual(rx), residual(ry)).statistic)
    rows = [
        dict(bin=b, s=v, top1=w, params=p) for b in 'ab'
        for v, w, p in zip(x, y, z)
    ]
    assert mean_partial_spearman(rows, 's', 'top1', 'params') == \
        pytest.approx(partial_spearman(x, y, z))


def test_multi_tap_score_has_no_across_bin_correlation():
    rows = planted_rows(6)
    for r in rows:  # standardised inside its bin: no meaning across bins
        r['multi'] = r['planted'] - (1 if r['bin'] == 'small' else 0)
    report = ranking_report(
        rows, ['planted', 'multi'],
        'top1',
        num_boot=50,
        bin_relative=['multi'])
    multi = report['columns']['multi']
    assert multi['all']['spearman'] is None
    assert multi['all']['kendall'] is None
    assert multi['mean_bin']['spearman'] == pytest.approx(1)
    assert report['columns']['planted']['all']['spearman'] == \
        pytest.approx(1)


def test_fixed_width_projection_has_one_width_for_every_arch():
    from mmdata.evaluation import fixed_projection
    gen = torch.Generator().manual_seed(0)
    for width in (256, 384, 512):  # 4 x w4 of archs of one tiny bin
        train, test = torch.randn(50, width, generator=gen), \
            torch.randn(20, width, generator=gen)
        a, b = fixed_projection(train, test, 128, seed=0)
        assert a.shape == (50, 128) and b.shape == (20, 128)
        again, _ = fixed_projection(train, test, 128, seed=0)
        assert torch.equal(a, again)
        other, _ = fixed_projection(train, test, 128, seed=1)
        assert not torch.allclose(a, other)
    with pytest.raises(ConfigError, match='projection width=0'):
        fixed_projection(train, test, 0)


def test_balanced_subset_is_seeded_and_balanced():
    from mmdata.evaluation.finetune import balanced_subset
    labels = np.arange(1000) % 10
    subset = balanced_subset(labels, 6, seed=0)
    assert len(subset) == 60 and len(set(subset)) == 60
    assert np.bincount(labels[subset]).tolist() == [6] * 10
    assert subset == balanced_subset(labels, 6, seed=0)
    assert subset != balanced_subset(labels, 6, seed=1)
    with pytest.raises(ConfigError, match='class 0 has 100 labeled'):
        balanced_subset(labels, 101, seed=0)


def test_reliability_rule_and_run_agreement():
    from mmdata.evaluation.ranking import can_rank_in_bins, run_agreement
    report = dict(bins=dict(a=dict(std=0.010), b=dict(std=0.006)))
    assert can_rank_in_bins(report, dict(std=0.003)) == dict(
        noise=0.003, spread=pytest.approx(0.008), ok=True)
    assert not can_rank_in_bins(report, dict(std=0.004))['ok']
    assert can_rank_in_bins(report, None) is None
    first = {f'a{i}': float(i) for i in range(10)}
    second = {f'a{i}': float(i if i % 2 else -i) for i in range(10)}
    got = run_agreement(first, dict(second, extra=1.))
    assert got == dict(
        archs=10,
        spearman=pytest.approx(
            stats.spearmanr(list(first.values()),
                            list(second.values())).statistic))
    assert run_agreement(first, {'a1': 1., 'a2': 2.}) is None


def test_markdown_summary_of_label_metrics():
    from mmdata.evaluation.ranking import (can_rank_in_bins, noise_floor,
                                           paired_bootstrap)
    from mmdata.evaluation.ranking_report import markdown_summary
    rows = planted_rows(8)
    for r in rows:
        r['params'] = r['reverse']
    report = ranking_report(rows, ['planted', 'params'], 'top1', 100)
    report['paired'] = [
        dict(
            score='planted',
            baseline='params',
            **paired_bootstrap(rows, 'planted', 'params', 'top1', 100))
    ]
    report['can_rank_in_bins'] = can_rank_in_bins(
        report, noise_floor({'x': [0.70, 0.70001]}))
    text = markdown_summary(dict(knn=report))
    assert '| knn | planted | +1.00 | +2.00 [+2.00, +2.00] | 100% | +1.00 |' \
        in text
    assert '| knn | params | -1.00 |  |' in text
    assert '| knn | random | +0.00 |  | ' in text
    assert 'can rank inside bins: yes' in text


def test_markdown_summary_without_defined_kendall():
    """Bins too small or constant for a Kendall: '-' instead of a crash."""
    from mmdata.evaluation.ranking import paired_bootstrap
    from mmdata.evaluation.ranking_report import markdown_summary
    rows = [
        dict(bin=b, top1=0.5, s=float(i), params=float(-i)) for b in 'ab'
        for i in range(3)
    ]
    report = ranking_report(rows, ['s', 'params'], 'top1', 0)
    report['paired'] = [
        dict(
            score='s',
            baseline='params',
            **paired_bootstrap(rows, 's', 'params', 'top1', 20))
    ]
    assert '| m | s | - | - | ' in markdown_summary(dict(m=report))


@pytest.mark.slow
def test_rank_correlation_compares_searches_of_the_same_candidates(tmp_path):
    """``--also``: other searches of the same candidates (taps,
    similarities) become columns, tested against each other; the CSV's
    value column (here bbox_mAP) is found without ``--metric``."""
    rows = planted_rows(6)
    cands = write_search(tmp_path / 'main' / 'search', rows)
    for name, taps, similarity, sign in (('fpn', ['C2', 'C3', 'C4',
                                                  'C5'], 'relation', 1),
                                         ('fpn-cos', ['C2', 'C3', 'C4',
                                                      'C5'], 'cosine', -1)):
        other = [dict(c, score=sign * r['top1']) for c, r in zip(cands, rows)]
        folder = tmp_path / name / 'search'
        folder.mkdir(parents=True)
        (folder / 'candidates.json').write_text(
            json.dumps(
                dict(taps=taps, similarity=similarity, candidates=other)))
    with open(tmp_path / 'det.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, ['arch', 'bin', 'seed', 'bbox_mAP'])
        writer.writeheader()
        for c, r in zip(cands, rows):
            writer.writerow(
                dict(arch=c['arch'], bin=c['bin'], seed=0, bbox_mAP=r['top1']))
    out = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/rank_correlation.py'),
        str(tmp_path / 'main' / 'search'),
        str(tmp_path / 'det.csv'), '--also',
        str(tmp_path / 'fpn' / 'search'),
        str(tmp_path / 'fpn-cos' / 'search'), '--bootstrap', '100'
    ],
                         capture_output=True,
                         text=True,
                         env=env())
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / 'rank_correlation.json').read_text())
    fpn, cos = 'DATA (C2+C3+C4+C5)', 'DATA (C2+C3+C4+C5) cosine'
    assert {fpn, cos} <= set(report['columns'])
    assert report['columns'][fpn]['mean_bin']['regret'] == 0
    pairs = {(p['score'], p['baseline']): p for p in report['paired']}
    assert {('DATA (z)', fpn), ('DATA (z)', cos), (fpn, cos)} <= set(pairs)
    assert pairs[(fpn, cos)]['kendall']['delta'] == pytest.approx(2)
    assert pairs[(fpn, cos)]['kendall']['ci'][0] > 0
    assert f'{fpn} - {cos}: dtau_bin' in out.stdout
    # a search of other candidates is refused
    (tmp_path / 'fpn' / 'search' / 'candidates.json').write_text(
        json.dumps(dict(taps=['C5'], candidates=cands[:3])))
    bad = subprocess.run([
        sys.executable,
        str(REPO / 'tools/analysis/rank_correlation.py'),
        str(tmp_path / 'main' / 'search'),
        str(tmp_path / 'det.csv'), '--also',
        str(tmp_path / 'fpn' / 'search'), '--bootstrap', '0'
    ],
                         capture_output=True,
                         text=True,
                         env=env())
    assert bad.returncode != 0
    assert 'did not score the candidates' in bad.stderr


def test_rankers_are_paired_against_the_search_score():
    from mmdata.evaluation.ranking import paired_tests
    rows = planted_rows(15)
    rng = np.random.default_rng(5)
    for i, r in enumerate(rows):
        r.update({
            'DATA (z)': float(rng.normal()),  # the search's score: noise
            'DATA z': float(rng.normal()),  # a per-tap column
            'ranker': r['top1'],  # a planted ranker: the label itself
            'FLOPs': float(i),
            'params': float(-i)
        })
    columns = ['DATA (z)', 'DATA z', 'FLOPs', 'params', 'ranker']
    pairs = paired_tests(rows, columns, 'top1', 300, searches=columns[:1])
    against_data = [(p['score'], p['baseline']) for p in pairs
                    if p['baseline'] == 'DATA (z)']
    assert against_data == [('ranker', 'DATA (z)')]
    result = next(p for p in pairs if p['baseline'] == 'DATA (z)')
    assert result['kendall']['ci'][0] > 0  # the label beats noise
    # without a search column there is no default to pair with
    assert all(p['baseline'] != 'DATA (z)'
               for p in paired_tests(rows, columns, 'top1', 50))
