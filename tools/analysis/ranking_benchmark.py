"""Ranking benchmark: does the label-free search pick better subnets than
FLOPs, params, NASWOT, SynFlow or a random pick, on your labeled data?

One command runs the whole study, each step with the documented tool, all
resumable (re-run the same command after a kill):

1. train the supernet (``tools/train.py``), unless ``--checkpoint`` is given;
2. search every bin with the search score and the proxies
   (``tools/search.py``, ``train_cfg.proxies``);
3. measure every candidate with each label metric (``--label-metrics``:
   ``linear``, ``linear-fixed``, ``knn``, ``finetune``; seed 0;
   ``tools/analysis/label_metric.py``: the labels, used only here);
4. each metric's noise floor: the DATA pick of each bin measured with more
   seeds;
5. compare every score with each label metric
   (``tools/analysis/rank_correlation.py``): Spearman / Kendall overall and
   in bins with bootstrap intervals, regret and percentile of each score's
   pick per bin, paired bootstrap tests of every score against every
   baseline; and how the label metrics agree with one another.

The training config must define ``probe_train_dataloader`` and
``probe_test_dataloader`` (labeled splits); the search config's dataloader
gives the unlabeled target images. Outputs in ``--work-dir``: ``train/``,
``search/`` (candidates.json with all scores), ``label-METRIC.csv``,
``rank_correlation-METRIC.{json,png}``, ``ranking.txt`` (the tables) and
``summary.md`` (one markdown table of every metric and score).

Example (``make ranking``: the tiny supernet on Fashion-MNIST)::

    python tools/analysis/ranking_benchmark.py \\
      configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py \\
        configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py \\
        --work-dir work_dirs/ranking
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from mmdata.evaluation.label_metrics import LABEL_METRICS

REPO = Path(__file__).resolve().parents[2]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'train_config',
        help='supernet training config '
        '(with probe_train/test_dataloader)')
    parser.add_argument(
        'search_configs',
        nargs='+',
        metavar='search_config',
        help='search config (SearchLoop); several: the '
        'same candidates searched otherwise (e.g. other '
        'taps), each added as a score column')
    parser.add_argument('--work-dir', default='work_dirs/ranking')
    parser.add_argument(
        '--checkpoint',
        help='use this supernet checkpoint '
        'instead of training one')
    parser.add_argument(
        '--iters',
        type=int,
        help='training iterations '
        '(default: the config\'s; the cosine schedule '
        'follows)')
    parser.add_argument(
        '--candidates', type=int, default=15, help='candidates per bin')
    parser.add_argument(
        '--proxies',
        nargs='*',
        default=['naswot', 'synflow'],
        help='label-free baselines stored by the search')
    parser.add_argument(
        '--rankers',
        nargs='*',
        default=[],
        help='label-free rankers beyond the paper stored by '
        'the search (mmdata/search/rankers.py), e.g. '
        'cka-C5pool rankme-C5pool')
    parser.add_argument(
        '--combine',
        nargs='+',
        action='append',
        default=[],
        metavar='COLUMN',
        help='also rank by the mean of the '
        'within-bin ranks of these columns (e.g. --combine '
        'params cka-C5pool; pre-register it, see '
        'docs/studies/rankers.md); repeat for several')
    parser.add_argument(
        '--label-metrics',
        nargs='+',
        default=['linear', 'linear-fixed', 'knn'],
        choices=LABEL_METRICS,
        help='label metrics (finetune: about 20 s per '
        'candidate and seed on 2 cores, opt-in; det-map, '
        'seg-miou: the Fashion-MNIST scenes\' ground '
        'truths, minutes per candidate and seed)')
    parser.add_argument(
        '--scenes',
        default='data/fashion-scenes',
        help='det-map, seg-miou: folder of the scenes')
    parser.add_argument(
        '--gt-iters',
        type=int,
        help='det-map, seg-miou: training iterations '
        '(default: the protocol\'s)')
    parser.add_argument(
        '--gt-eval-splits',
        nargs='+',
        default=['val'],
        choices=['val', 'test'],
        help='det-map, seg-miou: scenes splits tested on (their mean)')
    parser.add_argument(
        '--probe-train',
        type=int,
        default=10000,
        help='labeled train images per probe seed')
    parser.add_argument(
        '--probe-test',
        type=int,
        help='test images (default: the whole test split)')
    parser.add_argument(
        '--noise-seeds',
        type=int,
        default=5,
        help='probe seeds of the noise floor (incl. seed 0)')
    parser.add_argument(
        '--label-seeds',
        nargs='+',
        default=['1'],
        help='seeds per candidate (0..N-1) of every label metric, N or '
        'METRIC=N for one metric (e.g. 2 det-map=4); N > 1: the label is '
        'their mean and they are the noise floor (instead of --noise-seeds)')
    parser.add_argument(
        '--reliability',
        action='store_true',
        help='also measure every candidate of the first bin '
        'with seed 1: how two independent runs agree')
    parser.add_argument('--bootstrap', type=int, default=1000)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='key=value options for every step (data roots)')
    parser.add_argument(
        '--train-options',
        nargs='+',
        default=[],
        help='key=value options of the training only')
    parser.add_argument(
        '--search-options',
        nargs='+',
        default=[],
        help='key=value options of the search only '
        '(e.g. train_cfg.source=teacher)')
    return parser.parse_args(argv)


def train(args, work: Path, steps) -> Path:
    if args.checkpoint:
        print(f'using {args.checkpoint}')
        return Path(args.checkpoint).resolve()
    from mmengine.config import Config
    iters = args.iters or Config.fromfile(
        args.train_config).train_cfg['max_iters']
    ckpt = work / 'train' / f'iter_{iters}.pth'
    if ckpt.exists():
        print(f'{ckpt} exists, skipping')
        return ckpt
    resume = ['--resume'] if (work / 'train' /
                              'last_checkpoint').exists() else []
    steps.run('train', 'tools/train.py', args.train_config, '--work-dir',
              str(work / 'train'), *resume, '--cfg-options', *args.cfg_options,
              f'train_cfg.max_iters={iters}', *args.train_options)
    return ckpt


def data_picks(search_dir: Path) -> list:
    """The DATA score's pick of every bin."""
    from mmdata.search import best_per_bin, read_candidates
    cands = read_candidates(str(search_dir))['candidates']
    return [c.arch for c in best_per_bin(cands).values()]


def first_bin(search_dir: Path) -> list:
    """The archs of the first bin of a search."""
    from mmdata.search import by_bin, read_candidates
    groups = by_bin(read_candidates(str(search_dir))['candidates'])
    return [c.arch for c in next(iter(groups.values()))]


def label_seeds(values: list, metrics: list) -> dict:
    """The seeds per candidate of each label metric from ``--label-seeds``
    (``N`` for every metric, ``METRIC=N`` for one; later values win)."""
    seeds = dict.fromkeys(metrics, 1)
    for value in values:
        metric, _, count = value.rpartition('=')
        names = [metric] if metric else metrics
        if metric and metric not in metrics:
            raise ValueError(f'--label-seeds {value}: {metric!r} is not one '
                             f'of --label-metrics {metrics}')
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f'--label-seeds {value}: allowed N or METRIC=N '
                             'with N >= 1')
        seeds.update(dict.fromkeys(names, int(count)))
    return seeds


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        args.label_seeds = label_seeds(args.label_seeds, args.label_metrics)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    work = Path(args.work_dir).resolve()
    start = time.time()
    from mmdata.utils.steps import Steps
    steps = Steps(work / 'logs', REPO)
    steps.step('1/5 supernet')
    ckpt = train(args, work, steps)

    steps.step(f'2/5 label-free search ({len(args.search_configs)} '
               f'config(s)): {args.candidates} candidates per bin, proxies '
               f'{args.proxies}')

    def as_list(names):
        return '[' + ','.join(f"'{n}'" for n in names) + ']'

    also = []
    for i, config in enumerate(args.search_configs):
        # the first search is the main one, the others add score columns
        out = work if i == 0 else work / 'also' / Path(config).stem
        steps.run('search' if i == 0 else f'search-{Path(config).stem}',
                  'tools/search.py', config, str(ckpt), '--work-dir', str(out),
                  '--cfg-options', *args.cfg_options,
                  f'train_cfg.num_candidates={args.candidates}',
                  f'train_cfg.proxies={as_list(args.proxies)}',
                  f'train_cfg.rankers={as_list(args.rankers)}',
                  *args.search_options)
        also += [str(out / 'search')] if i else []
    search_dir = work / 'search'

    options = ['--cfg-options', *args.cfg_options] if args.cfg_options \
        else []
    for i, metric in enumerate(args.label_metrics):
        csv_path = work / f'label-{metric}.csv'
        measure = [
            'tools/analysis/label_metric.py', args.train_config,
            str(ckpt), '--metric', metric, '--out',
            str(csv_path)
        ]
        if metric in ('det-map', 'seg-miou'):
            measure += ['--scenes', args.scenes]
            measure += ['--iters', str(args.gt_iters)] if args.gt_iters \
                else []
            measure += ['--eval-splits', *args.gt_eval_splits]
        else:
            measure += ['--max-train', str(args.probe_train)]
            measure += ['--max-test', str(args.probe_test)] \
                if args.probe_test else []
        steps.step(f'3/5 {metric} of every candidate (labels used only '
                   f'here; metric {i + 1} of {len(args.label_metrics)})')
        steps.run(metric, *measure, '--search-dir', str(search_dir), '--seeds',
                  *[str(s) for s in range(args.label_seeds[metric])], *options)
        if args.noise_seeds > 1 and args.label_seeds[metric] == 1:
            steps.step(f'4/5 {metric} noise floor: each bin\'s DATA pick, '
                       f'{args.noise_seeds} seeds')
            steps.run(f'{metric}-noise-floor', *measure, '--archs',
                      *data_picks(search_dir), '--seeds',
                      *[str(s) for s in range(1, args.noise_seeds)], *options)
        if args.reliability:
            archs = first_bin(search_dir)
            steps.step(f'4/5 {metric} reliability: the {len(archs)} '
                       'candidates of the first bin with seed 1')
            steps.run(f'{metric}-reliability', *measure, '--archs', *archs,
                      '--seeds', '1', *options)

    steps.step('5/5 compare every score with each label metric')
    text = []
    for metric in args.label_metrics:
        out = subprocess.run([
            sys.executable, 'tools/analysis/rank_correlation.py',
            str(search_dir),
            str(work / f'label-{metric}.csv'), '--out',
            str(work), '--name', metric, '--bootstrap',
            str(args.bootstrap), *(['--also', *also] if also else []),
            *(['--label-seed', 'mean']
              if args.label_seeds[metric] > 1 else []),
            *[arg for parts in args.combine for arg in ('--combine', *parts)]
        ],
                             cwd=REPO,
                             capture_output=True,
                             text=True)
        if out.returncode != 0:
            print(out.stderr.strip().splitlines()[-1], file=sys.stderr)
            sys.exit(out.returncode)
        text.append(f'=== label metric: {metric} ===\n{out.stdout}')
        print(text[-1], end='')
    from mmdata.evaluation.ranking import format_agreement, metric_agreement
    agreement = format_agreement(
        metric_agreement(
            {m: work / f'label-{m}.csv'
             for m in args.label_metrics}))
    print(agreement)
    text.append(agreement + '\n')
    from mmdata.evaluation.ranking import markdown_summary
    summary = markdown_summary({
        m:
        json.loads((work / f'rank_correlation-{m}.json').read_text())
        for m in args.label_metrics
    })
    from mmdata.utils import atomic_write
    atomic_write(str(work / 'summary.md'), summary + '\n')
    atomic_write(str(work / 'ranking.txt'), '\n'.join(text))
    steps.close()
    print(f'\nranking benchmark done in {time.time() - start:.0f} s: '
          f'{work}/ranking.txt, rank_correlation-*.png')


if __name__ == '__main__':
    main()
