"""The ranking benchmark's steps (``tools/analysis/ranking_benchmark.py``):
train, search, label every candidate, the noise floors, compare. The
training, search and labelling steps run the documented tool of the
repository in a child process and resume when re-run; the comparison runs
here."""
import json
import time
from argparse import Namespace
from pathlib import Path
from typing import List

from mmdata.errors import ConfigError
from mmdata.search import best_per_bin, by_bin, read_candidates
from mmdata.utils.files import atomic_write
from mmdata.utils.steps import Steps
from .correlation_study import correlation_study
from .label_metrics import DOWNSTREAM_METRICS, LABEL_METRICS, label_seeds
from .ranking_report import format_agreement, markdown_summary
from .study_rows import metric_agreement


def data_picks(search_dir: Path) -> List[str]:
    """The DATA score's pick of every bin."""
    cands = read_candidates(str(search_dir))['candidates']
    return [c.arch for c in best_per_bin(cands).values()]


def first_bin(search_dir: Path) -> List[str]:
    """The archs of the first bin of a search."""
    groups = by_bin(read_candidates(str(search_dir))['candidates'])
    return [c.arch for c in next(iter(groups.values()))]


def as_list(names: List[str]) -> str:
    """``names`` as a config option's list."""
    return '[' + ','.join(f"'{n}'" for n in names) + ']'


class RankingBenchmark:
    """The study of ``args`` (the tool's arguments), run with the tools of
    ``repo``; ``label_seeds``: ``{metric: seeds per candidate}``."""

    def __init__(self, args: Namespace, repo: Path) -> None:
        unknown = [m for m in args.label_metrics if m not in LABEL_METRICS]
        if unknown:
            raise ConfigError(f'--label-metrics {unknown}: choose from '
                              f'{list(LABEL_METRICS)}')
        self.label_seeds = label_seeds(args.label_seeds, args.label_metrics)
        self.args, self.repo = args, repo
        self.work = Path(args.work_dir).resolve()
        self.steps = Steps(self.work / 'logs', repo)
        self.search_dir = self.work / 'search'
        self.also: List[str] = []

    def run(self) -> None:
        start = time.time()
        self.steps.step('1/5 supernet')
        ckpt = self.train()
        self.search(ckpt)
        for i, metric in enumerate(self.args.label_metrics):
            self.label(metric, i, ckpt)
        self.steps.step('5/5 compare every score with each label metric')
        self.compare()
        self.steps.close()
        print(f'\nranking benchmark done in {time.time() - start:.0f} s: '
              f'{self.work}/ranking.txt, rank_correlation-*.png')

    def train(self) -> Path:
        args = self.args
        if args.checkpoint:
            print(f'using {args.checkpoint}')
            return Path(args.checkpoint).resolve()
        from mmdata.utils import load_config
        iters = args.iters or load_config(
            args.train_config).train_cfg['max_iters']
        ckpt = self.work / 'train' / f'iter_{iters}.pth'
        if ckpt.exists():
            print(f'{ckpt} exists, skipping')
            return ckpt
        resume = ['--resume'] if (self.work / 'train' /
                                  'last_checkpoint').exists() else []
        self.steps.run('train',
                       'tools/train.py', args.train_config, '--work-dir',
                       str(self.work / 'train'), *resume, '--cfg-options',
                       *args.cfg_options, f'train_cfg.max_iters={iters}',
                       *args.train_options)
        return ckpt

    def search(self, ckpt: Path) -> None:
        """Every search config; the first is the main one, the others add
        score columns."""
        args = self.args
        self.steps.step(f'2/5 label-free search ({len(args.search_configs)} '
                        f'config(s)): {args.candidates} candidates per bin, '
                        f'proxies {args.proxies}')
        for i, config in enumerate(args.search_configs):
            stem = Path(config).stem
            out = self.work if i == 0 else self.work / 'also' / stem
            self.steps.run('search' if i == 0 else f'search-{stem}',
                           'tools/search.py', config, str(ckpt), '--work-dir',
                           str(out), '--cfg-options', *args.cfg_options,
                           f'train_cfg.num_candidates={args.candidates}',
                           f'train_cfg.proxies={as_list(args.proxies)}',
                           f'train_cfg.rankers={as_list(args.rankers)}',
                           *args.search_options)
            self.also += [str(out / 'search')] if i else []

    def measure_command(self, metric: str, ckpt: Path) -> List[str]:
        args = self.args
        command = [
            'tools/analysis/label_metric.py', args.train_config,
            str(ckpt), '--metric', metric, '--out',
            str(self.work / f'label-{metric}.csv')
        ]
        if metric in DOWNSTREAM_METRICS:
            command += ['--scenes', args.scenes]
            command += ['--iters', str(args.gt_iters)] if args.gt_iters \
                else []
            command += ['--eval-splits', *args.gt_eval_splits]
        else:
            command += ['--max-train', str(args.probe_train)]
            command += ['--max-test', str(args.probe_test)] \
                if args.probe_test else []
        return command

    def label(self, metric: str, index: int, ckpt: Path) -> None:
        """Steps 3 and 4 of ``metric``: every candidate, the noise floor of
        each bin's DATA pick, the first bin with another seed."""
        args, steps = self.args, self.steps
        measure = self.measure_command(metric, ckpt)
        options = ['--cfg-options', *args.cfg_options] if args.cfg_options \
            else []
        seeds = self.label_seeds[metric]
        steps.step(f'3/5 {metric} of every candidate (labels used only '
                   f'here; metric {index + 1} of {len(args.label_metrics)})')
        steps.run(metric, *measure, '--search-dir', str(self.search_dir),
                  '--seeds', *[str(s) for s in range(seeds)], *options)
        if args.noise_seeds > 1 and seeds == 1:
            steps.step(f'4/5 {metric} noise floor: each bin\'s DATA pick, '
                       f'{args.noise_seeds} seeds')
            steps.run(f'{metric}-noise-floor', *measure, '--archs',
                      *data_picks(self.search_dir), '--seeds',
                      *[str(s) for s in range(1, args.noise_seeds)], *options)
        if args.reliability:
            archs = first_bin(self.search_dir)
            steps.step(f'4/5 {metric} reliability: the {len(archs)} '
                       'candidates of the first bin with seed 1')
            steps.run(f'{metric}-reliability', *measure, '--archs', *archs,
                      '--seeds', '1', *options)

    def correlate(self, metric: str) -> str:
        """Every score against ``metric`` (rank_correlation-METRIC.json and
        .png in the work dir): the study as text."""
        args = self.args
        study = correlation_study(
            str(self.search_dir),
            str(self.work / f'label-{metric}.csv'),
            label_seed='mean' if self.label_seeds[metric] > 1 else '0',
            also=self.also,
            combine=args.combine,
            bootstrap=args.bootstrap)
        study.save(
            str(self.work), f'rank_correlation-{metric}',
            LABEL_METRICS[metric])
        return study.text(LABEL_METRICS[metric]) + '\n'

    def compare(self) -> None:
        """Every score against each label metric, how the label metrics
        agree; ``ranking.txt`` and ``summary.md``."""
        metrics, work = self.args.label_metrics, self.work
        text = []
        for metric in metrics:
            text.append(f'=== label metric: {metric} ===\n'
                        f'{self.correlate(metric)}')
            print(text[-1], end='')
        agreement = format_agreement(
            metric_agreement({m: work / f'label-{m}.csv'
                              for m in metrics}))
        print(agreement)
        text.append(agreement + '\n')
        summary = markdown_summary({
            m:
            json.loads((work / f'rank_correlation-{m}.json').read_text())
            for m in metrics
        })
        atomic_write(str(work / 'summary.md'), summary + '\n')
        atomic_write(str(work / 'ranking.txt'), '\n'.join(text))
