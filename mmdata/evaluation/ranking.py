"""Does a label-free score rank subnets like a label metric does?

Compares score columns (the search score, FLOPs, params, proxies, ...) with
a label metric (e.g. linear-probe top-1) over the candidates of a search:
Spearman and Kendall overall and inside each bin with bootstrap intervals
(candidates resampled), and per bin the subnet each score would pick: its
label metric, the bin's best, the regret and the winner's percentile. A
``random`` row gives what a random pick gets in expectation.
"""
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy import stats

RANDOM = 'random'


def correlation(x: Sequence[float], y: Sequence[float]) -> Dict:
    """Spearman and Kendall of ``x`` vs ``y`` (None when undefined: fewer
    than 3 items or a constant side)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return dict(n=len(x), spearman=None, kendall=None)
    return dict(
        n=len(x),
        spearman=float(stats.spearmanr(x, y).statistic),
        kendall=float(stats.kendalltau(x, y).statistic))


def bootstrap_interval(x: Sequence[float],
                       y: Sequence[float],
                       statistic: str = 'spearman',
                       num: int = 1000,
                       seed: int = 0,
                       level: float = 0.95) -> Optional[List[float]]:
    """Percentile bootstrap interval of a rank correlation, resampling the
    ``(x, y)`` pairs with replacement. Resamples where the statistic is
    undefined (a constant side) are dropped; None when most are."""
    if statistic not in ('spearman', 'kendall'):
        raise ValueError(f"statistic={statistic!r}: choose 'spearman' or "
                         "'kendall'")
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return None
    index = np.random.default_rng(seed).integers(0, len(x), (num, len(x)))
    xs, ys = x[index], y[index]
    if statistic == 'spearman':
        rx = stats.rankdata(xs, axis=1)
        ry = stats.rankdata(ys, axis=1)
        rx -= rx.mean(1, keepdims=True)
        ry -= ry.mean(1, keepdims=True)
        denom = np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
        with np.errstate(invalid='ignore', divide='ignore'):
            values = (rx * ry).sum(1) / denom
    else:
        values = np.array([
            stats.kendalltau(a, b).statistic
            if np.ptp(a) > 0 and np.ptp(b) > 0 else np.nan
            for a, b in zip(xs, ys)
        ])
    values = values[np.isfinite(values)]
    if len(values) < num / 2:
        return None
    tail = 100 * (1 - level) / 2
    return [float(np.percentile(values, tail)),
            float(np.percentile(values, 100 - tail))]


def bin_pick(x: Sequence[float], y: Sequence[float]) -> Dict:
    """What picking the highest ``x`` of a bin gets: its ``y`` (``winner``),
    the bin's best ``y``, ``regret = best - winner`` and the winner's
    percentile (% of the bin's candidates with ``y <=`` the winner's).
    Ties of ``x``: the first candidate, as the search does."""
    y = np.asarray(y, float)
    winner = float(y[int(np.argmax(np.asarray(x, float)))])
    return dict(
        winner=winner,
        best=float(y.max()),
        regret=float(y.max() - winner),
        percentile=float(stats.percentileofscore(y, winner, kind='weak')))


def random_pick(y: Sequence[float]) -> Dict:
    """:func:`bin_pick` of a uniformly random pick, in expectation."""
    y = np.asarray(y, float)
    return dict(
        winner=float(y.mean()),
        best=float(y.max()),
        regret=float(y.max() - y.mean()),
        percentile=float(
            np.mean([stats.percentileofscore(y, v, kind='weak')
                     for v in y])))


def _with_intervals(x, y, num: int, seed: int) -> Dict:
    out = correlation(x, y)
    for name in ('spearman', 'kendall'):
        out[f'{name}_ci'] = None if out[name] is None else \
            bootstrap_interval(x, y, name, num, seed)
    return out


def _mean(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def ranking_report(rows: List[Dict],
                   columns: Sequence[str],
                   label: str,
                   num_boot: int = 1000,
                   seed: int = 0) -> Dict:
    """Compare every score column of ``rows`` with ``label``.

    Args:
        rows (list[dict]): One dict per candidate with ``bin``, ``label``
            and every column (higher = predicted better).
        columns (Sequence[str]): Score columns, in the order to report.
        label (str): Key of the label metric (higher = better).
        num_boot (int): Bootstrap resamples (0: no intervals).
        seed (int): Seed of the bootstrap.

    Returns:
        dict: ``{column: {'all': {...}, 'bins': {bin: {...}}, 'mean_bin':
        {...}}}`` and a ``'random'`` entry, plus ``'bins'`` with each bin's
        size and label spread.
    """
    bins = list(dict.fromkeys(r['bin'] for r in rows))
    y_all = [r[label] for r in rows]
    y_bin = {b: [r[label] for r in rows if r['bin'] == b] for b in bins}
    report = dict(
        label=label,
        n=len(rows),
        bins={
            b: dict(
                n=len(v),
                best=max(v),
                std=float(np.std(v, ddof=1)) if len(v) > 1 else 0.)
            for b, v in y_bin.items()
        },
        columns={})
    for col in columns:
        x_all = [r[col] for r in rows]
        entry = dict(
            all=_with_intervals(x_all, y_all, num_boot, seed)
            if num_boot else correlation(x_all, y_all),
            bins={})
        for b in bins:
            x = [r[col] for r in rows if r['bin'] == b]
            corr = _with_intervals(x, y_bin[b], num_boot, seed) \
                if num_boot else correlation(x, y_bin[b])
            entry['bins'][b] = dict(corr, **bin_pick(x, y_bin[b]))
        entry['mean_bin'] = {
            key: _mean(v[key] for v in entry['bins'].values())
            for key in ('spearman', 'kendall', 'regret', 'percentile',
                        'winner')
        }
        report['columns'][col] = entry
    picks = {b: random_pick(y) for b, y in y_bin.items()}
    report['columns'][RANDOM] = dict(
        all=dict(n=len(rows), spearman=0., kendall=0.),
        bins={b: dict(n=len(y_bin[b]), spearman=0., kendall=0., **p)
              for b, p in picks.items()},
        mean_bin=dict(
            spearman=0., kendall=0.,
            **{key: _mean(p[key] for p in picks.values())
               for key in ('regret', 'percentile', 'winner')}))
    return report


def noise_floor(repeats: Dict[str, List[float]]) -> Optional[Dict]:
    """Run-to-run noise of a label metric from repeated measurements of the
    same archs (``{arch: [values over seeds]}``, archs with >= 2 values):
    the pooled standard deviation and the largest spread (max - min)."""
    groups = [np.asarray(v, float) for v in repeats.values() if len(v) >= 2]
    if not groups:
        return None
    pooled = math.sqrt(
        sum(((g - g.mean())**2).sum() for g in groups) /
        sum(len(g) - 1 for g in groups))
    return dict(
        archs=len(groups),
        repeats=int(min(len(g) for g in groups)),
        std=pooled,
        max_spread=float(max(np.ptp(g) for g in groups)))
