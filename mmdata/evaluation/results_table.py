"""The results at a glance: each ranker's in-bin Kendall against params'
in every study setting, from the rows the studies carried.

A setting's source is either a ``rank_correlation.py`` JSON (its ``rows``:
the paired bin-stratified bootstrap of :func:`.ranking.paired_bootstrap`
is run here for every ranker against params) or a ``ranking_benchmark.py``
``summary.md`` table (its "vs params" column; scores without one, the
baselines, get the difference of the two in-bin Kendalls and no interval).
"""
import json
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdata.errors import DataError
from .ranking import paired_bootstrap

BASELINE = 'params'
# the table's rows: name -> score column (DATA: the task's tap, per setting)
RANKER_COLUMNS = dict(
    FLOPs='FLOPs', NASWOT='naswot', RankMe='rankme-C5pool', CKA='cka-C5pool')
ROWS = ('DATA', *RANKER_COLUMNS)


@dataclass
class Setting:
    """One column of the table: ``rankers`` maps a row name (e.g.
    ``DATA``) to the score's column in ``source`` (e.g. ``DATA (C4+C5)``,
    the task's tap); ``label`` is the label metric of a summary table
    (``linear-fixed``) or of a JSON (its ``label``)."""
    name: str
    source: str
    label: str
    rankers: Dict[str, str]


@dataclass
class Delta:
    """A ranker's in-bin Kendall minus params' (``delta``) with its 95%
    bootstrap interval (``None`` where the rows give none)."""
    delta: float
    ci: Optional[Tuple[float, float]]

    @property
    def significant(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)

    def cell(self) -> str:
        if self.ci is None:
            return f'{self.delta:+.2f} (no interval)'
        if not self.significant:
            return 'n.s.'
        return f'**{self.delta:+.2f}** [{self.ci[0]:+.2f}, {self.ci[1]:+.2f}]'


def summary_rows(path: str, label: str) -> Dict[str, Tuple[float, str]]:
    """``{score: (in-bin Kendall, 'vs params' cell)}`` of a summary.md
    table for one label metric."""
    out = {}
    with open(path) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if len(cells) >= 4 and cells[0] == label:
                out[cells[1]] = (float(cells[2]), cells[3])
    if not out:
        raise DataError(f'{path} has no {label!r} rows')
    return out


def parse_interval(cell: str) -> Tuple[float, Tuple[float, float]]:
    """``'+0.44 [+0.07, +0.77]'`` -> ``(0.44, (0.07, 0.77))``."""
    point, _, rest = cell.partition('[')
    lo, hi = rest.rstrip(']').split(',')
    return float(point), (float(lo), float(hi))


def deltas_from_summary(setting: Setting) -> Dict[str, Delta]:
    rows = summary_rows(setting.source, setting.label)
    base = rows[BASELINE][0]
    out = {}
    for name, column in setting.rankers.items():
        if column == BASELINE or column not in rows:
            continue
        kendall, cell = rows[column]
        if cell:
            out[name] = Delta(*parse_interval(cell))
        else:
            out[name] = Delta(kendall - base, None)
    return out


def deltas_from_json(setting: Setting,
                     num: int = 1000,
                     seed: int = 0) -> Dict[str, Delta]:
    with open(setting.source) as f:
        report = json.load(f)
    rows, label = report['rows'], report['label']
    out = {}
    for name, column in setting.rankers.items():
        if column == BASELINE:
            continue
        if column not in rows[0]:
            raise DataError(f'{setting.source} has no column {column!r}')
        kendall = paired_bootstrap(rows, column, BASELINE, label, num,
                                   seed)['kendall']
        out[name] = Delta(kendall['delta'], tuple(kendall['ci']))
    return out


def deltas(setting: Setting, num: int = 1000) -> Dict[str, Delta]:
    """Every ranker's :class:`Delta` against params in ``setting``."""
    if setting.source.endswith('.json'):
        return deltas_from_json(setting, num)
    return deltas_from_summary(setting)


def markdown(table: Dict[str, Dict[str, Delta]], rows: Sequence[str]) -> str:
    """Rows: rankers; columns: settings; cells: :meth:`Delta.cell`."""
    names = list(table)
    lines = [
        '| Δ in-bin Kendall vs params | ' + ' | '.join(names) + ' |',
        '|---' * (len(names) + 1) + '|'
    ]
    for row in rows:
        cells = [
            table[n][row].cell() if row in table[n] else '-' for n in names
        ]
        lines.append(f'| {row} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def figure(table: Dict[str, Dict[str, Delta]], rows: Sequence[str],
           out: str) -> None:
    """Each ranker's Δ vs params per setting, with its interval, as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(table)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) * len(names) / 2 + 1))
    height = 0.8 / len(names)
    for j, name in enumerate(names):
        ys, xs, errs = [], [], [[], []]
        for i, row in enumerate(rows):
            d = table[name].get(row)
            if d is None:
                continue
            ys.append(i + (j - (len(names) - 1) / 2) * height)
            xs.append(d.delta)
            lo, hi = d.ci if d.ci else (d.delta, d.delta)
            errs[0].append(d.delta - lo)
            errs[1].append(hi - d.delta)
        ax.errorbar(
            xs, ys, xerr=np.array(errs), fmt='o', capsize=2, label=name)
    ax.axvline(0, color='grey', lw=0.8)
    ax.set_yticks(range(len(rows)), rows)
    ax.invert_yaxis()
    ax.set_xlabel('in-bin Kendall minus params\' (95% bootstrap interval)')
    ax.legend(fontsize=7, loc='upper right')
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


MARKERS = ('<!-- VERDICT -->', '<!-- /VERDICT -->')


def between_markers(text: str) -> str:
    """The table a page holds between :data:`MARKERS`."""
    start, end = text.find(MARKERS[0]), text.find(MARKERS[1])
    if start < 0 or end < start:
        raise DataError(f'no {MARKERS[0]} ... {MARKERS[1]} block')
    return text[start + len(MARKERS[0]):end].strip()


def with_table(text: str, table: str) -> str:
    """``text`` with ``table`` between its :data:`MARKERS`."""
    between_markers(text)  # checks they are there
    start, end = text.find(MARKERS[0]), text.find(MARKERS[1])
    return (text[:start + len(MARKERS[0])] + '\n' + table + '\n' + text[end:])


def results_table(settings: List[Setting],
                  num: int = 1000) -> Dict[str, Dict[str, Delta]]:
    """``{setting: {ranker: Delta}}``."""
    return {s.name: deltas(s, num) for s in settings}


def study_settings(rows_dir: str = 'docs/studies') -> List[Setting]:
    """The settings of docs/results.md: the tiny supernets at 1, 5 and 20
    epochs under the fixed-width probe, and the scenes' two ground
    truths."""
    tiny = [('1 epoch', 'rankers/rankers-1e-s1-summary.md'),
            ('5 epochs', 'rankers/rankers-5e-s1-summary.md'),
            ('20 epochs', 'fair_label_metrics/fair-20e-summary.md')]
    scenes = [
        ('scenes FCN mIoU',
         'scenes/rank_correlation-scenes-B-fcn-rankers.json', 'DATA (C4+C5)'),
        ('scenes Faster R-CNN mAP',
         'scenes/rank_correlation-scenes-B-det-rankers.json',
         'DATA (C2+C3+C4+C5)')
    ]
    return [
        Setting(f'tiny {name}, linear-fixed', f'{rows_dir}/{path}',
                'linear-fixed', {
                    'DATA': 'DATA (z)',
                    **RANKER_COLUMNS
                }) for name, path in tiny
    ] + [
        Setting(name, f'{rows_dir}/{path}', 'json', {
            'DATA': data,
            **RANKER_COLUMNS
        }) for name, path, data in scenes
    ]
