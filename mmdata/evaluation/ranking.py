"""Does a label-free score rank subnets like a label metric does?

Compares score columns (the search score, FLOPs, params, proxies, ...) with
a label metric (e.g. linear-probe top-1) over the candidates of a search:
Spearman and Kendall overall and inside each bin with bootstrap intervals
(candidates resampled), and per bin the subnet each score would pick: its
label metric, the bin's best, the regret and the winner's percentile. A
``random`` row gives what a random pick gets in expectation.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import stats

from mmdata.search.record import by_bin

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
    return [
        float(np.percentile(values, tail)),
        float(np.percentile(values, 100 - tail))
    ]


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
            np.mean([stats.percentileofscore(y, v, kind='weak') for v in y])))


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
                   seed: int = 0,
                   bin_relative: Sequence[str] = ()) -> Dict:
    """Compare every score column of ``rows`` with ``label``.

    Args:
        rows (list[dict]): One dict per candidate with ``bin``, ``label``
            and every column (higher = predicted better).
        columns (Sequence[str]): Score columns, in the order to report.
        label (str): Key of the label metric (higher = better).
        num_boot (int): Bootstrap resamples (0: no intervals).
        seed (int): Seed of the bootstrap.
        bin_relative (Sequence[str]): Columns only comparable inside a bin
            (e.g. a multi-tap score standardised per bin): no across-bin
            correlation is reported for them (``all`` holds ``None``).

    Returns:
        dict: ``{column: {'all': {...}, 'bins': {bin: {...}}, 'mean_bin':
        {...}}}`` and a ``'random'`` entry, plus ``'bins'`` with each bin's
        size and label spread.
    """
    groups = by_bin(rows)
    y_all = [r[label] for r in rows]
    y_bin = {b: [r[label] for r in inside] for b, inside in groups.items()}
    report = dict(
        label=label,
        n=len(rows),
        bins={
            b:
            dict(
                n=len(v),
                best=max(v),
                std=float(np.std(v, ddof=1)) if len(v) > 1 else 0.)
            for b, v in y_bin.items()
        },
        columns={})
    for col in columns:
        report['columns'][col] = column_entry([r[col] for r in rows], y_all, {
            b: [r[col] for r in inside]
            for b, inside in groups.items()
        }, y_bin, col in bin_relative, num_boot, seed)
    report['columns'][RANDOM] = random_entry(y_bin, len(rows))
    return report


def column_entry(x_all: List[float], y_all: List[float],
                 x_bin: Dict[str, List[float]], y_bin: Dict[str, List[float]],
                 bin_relative: bool, num_boot: int, seed: int) -> Dict:
    """One score column of :func:`ranking_report`."""
    if bin_relative:
        across = dict(n=len(x_all), spearman=None, kendall=None)
    elif num_boot:
        across = _with_intervals(x_all, y_all, num_boot, seed)
    else:
        across = correlation(x_all, y_all)
    entry = dict(all=across, bins={})
    for b, x in x_bin.items():
        corr = _with_intervals(x, y_bin[b], num_boot, seed) \
            if num_boot else correlation(x, y_bin[b])
        entry['bins'][b] = dict(corr, **bin_pick(x, y_bin[b]))
    entry['mean_bin'] = {
        key: _mean(v[key] for v in entry['bins'].values())
        for key in ('spearman', 'kendall', 'regret', 'percentile', 'winner')
    }
    return entry


def random_entry(y_bin: Dict[str, List[float]], n: int) -> Dict:
    """The random pick of :func:`ranking_report`, in expectation."""
    picks = {b: random_pick(y) for b, y in y_bin.items()}
    return dict(
        all=dict(n=n, spearman=0., kendall=0.),
        bins={
            b: dict(n=len(y_bin[b]), spearman=0., kendall=0., **p)
            for b, p in picks.items()
        },
        mean_bin=dict(
            spearman=0.,
            kendall=0.,
            **{
                key: _mean(p[key] for p in picks.values())
                for key in ('regret', 'percentile', 'winner')
            }))


def noise_floor(repeats: Dict[str, List[float]]) -> Optional[Dict]:
    """Run-to-run noise of a label metric from repeated measurements of the
    same archs (``{arch: [values over seeds]}``, archs with >= 2 values):
    the pooled standard deviation and the largest spread (max - min)."""
    groups = [np.asarray(v, float) for v in repeats.values() if len(v) >= 2]
    if not groups:
        return None
    pooled = math.sqrt(
        sum(((g - g.mean())**2).sum()
            for g in groups) / sum(len(g) - 1 for g in groups))
    return dict(
        archs=len(groups),
        repeats=int(min(len(g) for g in groups)),
        std=pooled,
        max_spread=float(max(np.ptp(g) for g in groups)))


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair of ``x`` and ``y`` (``R x n``), as
    :func:`scipy.stats.kendalltau` gives for one pair (ties counted); NaN
    where a row is constant."""
    dx = np.sign(x[:, :, None] - x[:, None, :])
    dy = np.sign(y[:, :, None] - y[:, None, :])
    pairs = x.shape[1] * (x.shape[1] - 1)  # ordered pairs: 2 x n0
    concordance = (dx * dy).sum((1, 2))
    untied_x = pairs - (dx == 0).sum((1, 2)) + x.shape[1]
    untied_y = pairs - (dy == 0).sum((1, 2)) + y.shape[1]
    with np.errstate(invalid='ignore', divide='ignore'):
        return concordance / np.sqrt(untied_x * untied_y)


def _bin_statistics(x: Optional[np.ndarray],
                    y: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per row of ``x``/``y`` (resamples of one bin): Kendall and the
    regret of picking the highest ``x`` (first of ties); ``x=None``: a
    random pick in expectation (Kendall 0, regret max - mean)."""
    if x is None:
        return np.zeros(len(y)), y.max(1) - y.mean(1)
    winner = np.take_along_axis(y, x.argmax(1)[:, None], 1)[:, 0]
    return kendall_rows(x, y), y.max(1) - winner


def stratified_resamples(bins: Sequence[str],
                         num: int,
                         seed: int = 0) -> np.ndarray:
    """``num`` bootstrap resamples (rows of indices into ``bins``) drawn
    with replacement inside each bin: slot ``i`` of every resample holds a
    member of ``bins[i]``'s bin, so bin sizes are kept."""
    bins = list(bins)
    rng = np.random.default_rng(seed)
    out = np.empty((num, len(bins)), dtype=np.int64)
    for name in dict.fromkeys(bins):
        members = np.array([i for i, v in enumerate(bins) if v == name])
        out[:, members] = members[rng.integers(0, len(members),
                                               (num, len(members)))]
    return out


def paired_bootstrap(rows: List[Dict],
                     a: str,
                     b: str,
                     label: str,
                     num: int = 1000,
                     seed: int = 0,
                     level: float = 0.95) -> Dict:
    """Is score ``a`` a better ranker than score ``b``? A bin-stratified
    paired bootstrap: candidates are resampled with replacement inside each
    bin (bin sizes kept), the same resample for both scores, and the
    differences ``a - b`` of the mean in-bin Kendall and of the mean regret
    (lower is better) are recomputed on each resample. ``b`` may be
    :data:`RANDOM`: a random pick in expectation.

    Returns:
        dict: ``kendall`` and ``regret``, each with ``delta`` (on the data)
        and ``ci`` (percentile interval at ``level``; resamples where a
        Kendall is undefined in some bin are left out of its interval).
    """
    bins = [r['bin'] for r in rows]
    resamples = stratified_resamples(bins, num, seed)
    tau = {a: [], b: []}
    regret = {a: [], b: []}
    point = {a: [], b: []}
    y = np.array([r[label] for r in rows], float)
    columns = {
        c: None if c == RANDOM else np.array([r[c] for r in rows], float)
        for c in (a, b)
    }
    for name in dict.fromkeys(bins):
        slots = np.array([i for i, v in enumerate(bins) if v == name])
        index = resamples[:, slots]
        for col, x in columns.items():
            t, g = _bin_statistics(None if x is None else x[index], y[index])
            tau[col].append(t)
            regret[col].append(g)
            point[col].append(
                _bin_statistics(None if x is None else x[slots][None],
                                y[slots][None]))
    tail = 100 * (1 - level) / 2
    out = {}
    for key, values, which in (('kendall', tau, 0), ('regret', regret, 1)):
        delta = np.mean(values[a], 0) - np.mean(values[b], 0)
        delta = delta[np.isfinite(delta)]
        on_data = np.mean([p[which][0] for p in point[a]]) - np.mean(
            [p[which][0] for p in point[b]])
        out[key] = dict(
            delta=float(on_data) if np.isfinite(on_data) else None,
            ci=[
                float(np.percentile(delta, tail)),
                float(np.percentile(delta, 100 - tail))
            ] if len(delta) >= num / 2 else None)
    return out


def partial_spearman(x: Sequence[float], y: Sequence[float],
                     z: Sequence[float]) -> Optional[float]:
    """Spearman of ``x`` with ``y`` given ``z``: the partial correlation of
    their ranks (None when undefined)."""
    r = np.corrcoef(stats.rankdata(np.array([x, y, z], float), axis=1))
    rxy, rxz, ryz = r[0, 1], r[0, 2], r[1, 2]
    denom = np.sqrt((1 - rxz**2) * (1 - ryz**2))
    if not np.isfinite(denom) or denom < 1e-12 or len(x) < 4:
        return None
    return float((rxy - rxz * ryz) / denom)


def mean_partial_spearman(rows: List[Dict], col: str, label: str,
                          given: str) -> Optional[float]:
    """:func:`partial_spearman` of ``col`` with ``label`` given ``given``,
    inside each bin, averaged over bins."""
    values = []
    for inside in by_bin(rows).values():
        values.append(
            partial_spearman([r[col] for r in inside],
                             [r[label] for r in inside],
                             [r[given] for r in inside]))
    return _mean(values)


def add_rank_mean(rows: List[Dict], columns: Sequence[str]) -> str:
    """Add, in place, the column ``'A+B ranks'``: the mean of the
    within-bin ranks of ``columns`` (1 = lowest; ties share their mean
    rank). Only comparable inside a bin. Returns the column's name."""
    name = '+'.join(columns) + ' ranks'
    for inside in by_bin(rows).values():
        ranks = np.mean(
            [stats.rankdata([r[c] for r in inside]) for c in columns], axis=0)
        for r, value in zip(inside, ranks):
            r[name] = float(value)
    return name


def can_rank_in_bins(report: Dict, noise: Optional[Dict]) -> Optional[Dict]:
    """The decision rule of docs/studies/tiny_lengths.md: a label metric
    can judge the ranking inside bins when its noise std is below half the
    candidates' in-bin std (mean over bins). None without a noise
    floor."""
    if not noise:
        return None
    spread = float(np.mean([b['std'] for b in report['bins'].values()]))
    return dict(
        noise=noise['std'],
        spread=spread,
        ok=bool(noise['std'] < 0.5 * spread))


def run_agreement(first: Dict[str, float],
                  second: Dict[str, float],
                  min_archs: int = 10) -> Optional[Dict]:
    """Spearman between two independent runs of a label metric
    (``{arch: value}`` each) over the archs both measured (None below
    ``min_archs``: too few to say)."""
    common = [a for a in first if a in second]
    if len(common) < min_archs:
        return None
    corr = correlation([first[a] for a in common], [second[a] for a in common])
    return dict(archs=len(common), spearman=corr['spearman'])


BASELINES = ('FLOPs', 'params', 'latency')


def paired_tests(rows: List[Dict],
                 columns: List[str],
                 metric: str,
                 num: int,
                 seed: int = 0,
                 searches: List[str] = ()) -> List[Dict]:
    """Every label-free score (the search's and any other non-baseline
    column) against every baseline (FLOPs, params, the proxies, random),
    the scores of several ``searches`` (e.g. taps) against each other, and
    every other score (rankers, combinations) against the first search's,
    the DATA default: :func:`paired_bootstrap`."""
    from mmdata.search.proxies import PROXIES
    proxies = [c for c in columns if c in PROXIES]
    baselines = [c for c in columns if c in BASELINES] + proxies + [RANDOM]
    scores = [c for c in columns if c not in baselines]
    pairs = [(a, b) for a in scores for b in baselines]
    pairs += [(a, b) for i, a in enumerate(searches) for b in searches[i + 1:]]
    if searches:
        pairs += [(a, searches[0]) for a in scores
                  if a not in searches and not a.startswith('DATA ')]
    return [
        dict(
            score=a,
            baseline=b,
            **paired_bootstrap(rows, a, b, metric, num, seed))
        for a, b in pairs
    ]


def partial_given_params(rows: List[Dict], columns: List[str],
                         metric: str) -> Dict[str, float]:
    """Mean in-bin partial Spearman of each column with the label metric
    given params (what a score adds beyond the parameter count)."""
    return {
        c: mean_partial_spearman(rows, c, metric, 'params')
        for c in columns if c != 'params'
    }
