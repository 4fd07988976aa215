"""One ranking study: a search's scores against a label metric, with the
metric's noise floor, the decision rule and the paired tests (what
``tools/analysis/rank_correlation.py`` prints and writes)."""
import json
import math
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence

from mmdata.errors import ConfigError, UserError
from mmdata.utils.files import atomic_write
from .ranking import (add_rank_mean, can_rank_in_bins, noise_floor,
                      paired_tests, partial_given_params, ranking_report,
                      run_agreement)
from .ranking_report import (format_pairs, format_reliability, format_report,
                             plot)
from .study_rows import add_searches, seed_runs, study_rows, value_column


@dataclass
class CorrelationStudy:
    """The rows, score columns and report of :func:`correlation_study`;
    ``first_seed``: the label seed the run agreement starts from."""
    rows: List[Dict]
    columns: List[str]
    metric: str
    report: Dict
    first_seed: str
    bootstrap: int

    def text(self, label: str) -> str:
        """The study as text: each score against ``label`` (the label
        metric's name), the run agreement, the paired tests."""
        report = self.report
        return '\n'.join([
            f'label-free scores vs {label} ({len(self.rows)} candidates, '
            f'{len(report["bins"])} bins, {self.bootstrap} bootstrap '
            'resamples)',
            format_report(report, report['noise_floor'], self.metric),
            format_reliability(report, self.first_seed),
            format_pairs(
                report.get('paired', []), report['partial_given_params'])
        ])

    def save(self, out: str, stem: str, label: str) -> None:
        """Write ``OUT/STEM.json`` (the report and rows) and ``OUT/STEM.png``
        (the figure)."""
        atomic_write(
            osp.join(out, f'{stem}.json'),
            json.dumps(dict(self.report, rows=self.rows), indent=1))
        plot(self.rows, self.columns, self.report, self.metric,
             osp.join(out, f'{stem}.png'), label)


def add_combinations(rows: List[Dict], columns: List[str],
                     bin_relative: List[str],
                     combine: Sequence[Sequence[str]]) -> None:
    """Add, in place, a rank-mean column per group of ``combine``."""
    for parts in combine:
        bad = [c for c in parts if c not in columns]
        if bad:
            raise ConfigError(f'--combine {bad}: not a score column; '
                              f'columns: {columns}')
        columns.append(add_rank_mean(rows, parts))
        bin_relative.append(columns[-1])


def correlation_study(search_dir: str,
                      results: str,
                      metric: str = None,
                      label_seed: str = '0',
                      also: Sequence[str] = (),
                      combine: Sequence[Sequence[str]] = (),
                      bootstrap: int = 1000) -> CorrelationStudy:
    """Every score of the search in ``search_dir`` (and of the searches in
    ``also``, and the rank means of ``combine``) against the label metric
    of ``results`` (``metric``: its column, default the value column)."""
    if not osp.isfile(results):
        raise UserError(f'results file {results} does not exist')
    metric = metric or value_column(results)
    rows, columns, repeats, bin_relative = study_rows(search_dir, results,
                                                      metric, label_seed)
    searches = columns[:1]
    add_searches(rows, columns, bin_relative, search_dir, list(also))
    searches += columns[len(columns) - len(also):] if also else []
    add_combinations(rows, columns, bin_relative, combine)
    report = ranking_report(
        rows, columns, metric, bootstrap, bin_relative=bin_relative)
    noise = noise_floor(repeats)
    if noise and label_seed == 'mean':  # the label is a mean of k runs
        noise = dict(
            noise,
            std=noise['std'] / math.sqrt(noise['repeats']),
            of_mean=noise['repeats'])
    report['noise_floor'] = noise
    report['can_rank_in_bins'] = can_rank_in_bins(report, noise)
    runs = seed_runs(results, metric)
    first = '0' if label_seed == 'mean' else label_seed
    report['run_agreement'] = run_agreement(
        runs.get(first, {}), runs.get(str(int(first) + 1), {}))
    if bootstrap:
        report['paired'] = paired_tests(
            rows, columns, metric, bootstrap, searches=searches)
    report['partial_given_params'] = partial_given_params(
        rows, columns, metric)
    return CorrelationStudy(rows, columns, metric, report, first, bootstrap)
