"""The text, markdown and figure of a ranking study's report (what
``tools/analysis/rank_correlation.py`` and ``ranking_benchmark.py``
print)."""
from typing import Dict, List, Optional

from mmdata.search.record import by_bin
from mmdata.utils import atomic_write


def format_reliability(report: Dict, label_seed: str) -> str:
    """Whether the label metric can judge the ranking inside bins (the
    decision rule of docs/studies/tiny_lengths.md) and how two runs
    agree."""
    rule, runs = report['can_rank_in_bins'], report['run_agreement']
    lines = []
    if rule:
        verdict = 'yes' if rule['ok'] else 'NO: keep it out of any ' \
            '"A beats B" statement'
        lines.append(f'can this metric rank inside bins? {verdict} (noise '
                     f'std {rule["noise"]:.4f} vs half the mean in-bin std '
                     f'{rule["spread"] / 2:.4f})')
    if runs:
        lines.append(f'two runs (seeds {label_seed} and '
                     f'{int(label_seed) + 1}) over {runs["archs"]} archs: '
                     f'Spearman {_fmt(runs["spearman"])}')
    return '\n'.join(lines)


def _fmt(value, ci=None, digits=2) -> str:
    if value is None:
        return '-'
    text = f'{value:+.{digits}f}'
    if ci:
        text += f' [{ci[0]:+.{digits}f},{ci[1]:+.{digits}f}]'
    return text


def format_report(report: Dict, noise: Dict, metric: str) -> str:
    """The summary table and one table per bin."""
    cols = report['columns']
    lines = [
        f'{"score":<14} {"Spearman all [95% CI]":<24} '
        f'{"Kendall all [95% CI]":<24} {"Spearman bin":>12} '
        f'{"Kendall bin":>11} {"regret":>7} {"pick pct":>8}'
    ]
    for name, c in cols.items():
        a, m = c['all'], c['mean_bin']
        lines.append(
            f'{name:<14} {_fmt(a["spearman"], a.get("spearman_ci")):<24} '
            f'{_fmt(a["kendall"], a.get("kendall_ci")):<24} '
            f'{_fmt(m["spearman"]):>12} {_fmt(m["kendall"]):>11} '
            f'{m["regret"]:7.4f} {m["percentile"]:7.0f}%')
    lines.append('(bin columns: means over bins; regret: bin best minus the '
                 f'pick\'s {metric}; pick pct: % of the bin at or below '
                 'the pick)')
    if noise:
        of_mean = (f', of the mean of {noise["of_mean"]} seeds'
                   if noise.get('of_mean') else '')
        lines.append(
            f'\n{metric} noise floor: std {noise["std"]:.4f}{of_mean}, '
            f'largest spread {noise["max_spread"]:.4f} ({noise["archs"]} '
            f'archs x >= {noise["repeats"]} probe seeds)')
    for b, info in report['bins'].items():
        lines.append(f'\nbin {b}: {info["n"]} candidates, best {metric} '
                     f'{info["best"]:.4f}, spread (std) {info["std"]:.4f}' +
                     (f' = {info["std"] / noise["std"]:.1f}x the noise floor'
                      if noise and noise['std'] > 0 else ''))
        lines.append(f'  {"score":<14} {"Spearman [95% CI]":<24} '
                     f'{"Kendall [95% CI]":<24} {"pick":>7} {"regret":>7} '
                     f'{"pct":>5}')
        for name, c in cols.items():
            r = c['bins'][b]
            lines.append(
                f'  {name:<14} {_fmt(r["spearman"], r.get("spearman_ci")):<24}'
                f' {_fmt(r["kendall"], r.get("kendall_ci")):<24} '
                f'{r["winner"]:7.4f} {r["regret"]:7.4f} '
                f'{r["percentile"]:4.0f}%')
    return '\n'.join(lines)


def format_pairs(pairs: List[Dict], partial: Dict[str, float]) -> str:
    lines = [
        '\npaired tests (bin-stratified paired bootstrap, 95% '
        'intervals; regret: lower is better)'
    ]
    for p in pairs:
        k, g = p['kendall'], p['regret']
        lines.append(f'{p["score"]} - {p["baseline"]}: dtau_bin '
                     f'{_fmt(k["delta"], k["ci"])}, dregret '
                     f'{_fmt(g["delta"], g["ci"], 4)}')
    lines.append('\npartial Spearman with the label metric given params, '
                 'mean in bins: ' + ', '.join(f'{c} {_fmt(v)}'
                                              for c, v in partial.items()))
    return '\n'.join(lines)


def plot(rows: List[Dict], columns: List[str], report: Dict, metric: str,
         path: str, label: str) -> None:
    """One panel per score column: score vs label, bins coloured, each
    bin's pick starred."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), dpi=80, squeeze=False)
    groups = by_bin(rows)
    colors = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for ax, col in zip(axes.flat, columns):
        entry = report['columns'][col]
        for i, (b, inside) in enumerate(groups.items()):
            ax.scatter([r[col] for r in inside], [r[metric] for r in inside],
                       s=12,
                       alpha=0.7,
                       color=colors[i % len(colors)],
                       label=b)
            pick = max(inside, key=lambda r: r[col])
            ax.scatter([pick[col]], [pick[metric]],
                       marker='*',
                       s=150,
                       color=colors[i % len(colors)],
                       edgecolors='k')
        ax.set_title(
            f'{col}: rho all {_fmt(entry["all"]["spearman"])}, '
            f'in bins {_fmt(entry["mean_bin"]["spearman"])}',
            fontsize=9)
        ax.set_xlabel(col, fontsize=8)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        if col in ('FLOPs', 'params', 'synflow'):
            ax.set_xscale('log')
    for ax in list(axes.flat)[len(columns):]:
        ax.axis('off')
    axes.flat[0].legend(fontsize=7, title='bin (star: pick)', title_fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format='png'))
    plt.close(fig)


def format_agreement(pairs: List[Dict]) -> str:
    """:func:`metric_agreement` as text, one line per pair."""
    if not pairs:
        return 'label metric agreement: one metric only'
    lines = [
        'label metric agreement (Spearman, all candidates / mean in '
        'bins):'
    ]
    for p in pairs:
        overall = '-' if p['spearman'] is None else f"{p['spearman']:+.2f}"
        inside = '-' if p['spearman_bin'] is None else \
            f"{p['spearman_bin']:+.2f}"
        lines.append(f"  {p['a']} vs {p['b']}: {overall} / {inside} "
                     f"({p['n']} archs)")
    return '\n'.join(lines)


def markdown_summary(reports: Dict[str, Dict]) -> str:
    """One markdown table of several label metrics' reports (``{metric:
    rank_correlation report}``): per metric and score, the mean in-bin
    Kendall, its paired difference to params with the 95% interval, the
    mean pick percentile, the across-bin Spearman; per metric, its noise
    floor against the in-bin spread and the decision rule's verdict."""
    lines = [
        '| label metric | score | Kendall in bins | vs params: dtau '
        '[95% CI] | pick pct | Spearman all |', '|---|---|---|---|---|---|'
    ]
    notes = []
    for metric, report in reports.items():
        paired = {
            p['score']: p
            for p in report.get('paired', []) if p['baseline'] == 'params'
        }
        for name, col in report['columns'].items():
            mean, across = col['mean_bin'], col['all']['spearman']
            versus = ''
            if name in paired:
                k = paired[name]['kendall']
                versus = _signed(
                    k['delta']) + (f" [{k['ci'][0]:+.2f}, {k['ci'][1]:+.2f}]"
                                   if k['ci'] else '')
            lines.append(
                f"| {metric} | {name} | {_signed(mean['kendall'])} | "
                f"{versus} | {mean['percentile']:.0f}% | {_signed(across)} |")
        rule = report.get('can_rank_in_bins')
        runs = report.get('run_agreement')
        if rule:
            notes.append(
                f"* {metric}: noise std {rule['noise']:.4f}, mean in-bin "
                f"std {rule['spread']:.4f}: can rank inside bins: "
                f"{'yes' if rule['ok'] else '**no**'}" +
                (f"; two runs over {runs['archs']} archs agree with "
                 f"Spearman {_signed(runs['spearman'])}" if runs else ''))
    return '\n'.join(lines + [''] + notes)


def _signed(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:+.2f}'


def column_summary(entry: dict) -> dict:
    """Overall Spearman and the means over bins of one score column."""
    return dict(
        spearman_all=entry['all']['spearman'],
        spearman_all_ci=entry['all'].get('spearman_ci'),
        **{
            k: entry['mean_bin'][k]
            for k in ('spearman', 'kendall', 'regret', 'percentile')
        })


def levers_table(rows: list) -> str:
    """A Markdown table of :func:`column_summary` rows (``name`` added),
    one per lever or baseline."""

    def num(v, ci=None):
        if v is None:
            return '-'
        return f'{v:+.2f}' + (f' [{ci[0]:+.2f}, {ci[1]:+.2f}]' if ci else '')

    lines = [
        '| score | Spearman all [95% CI] | Spearman in bins | '
        'Kendall in bins | regret | pick pct |',
        '| --- | --- | --- | --- | --- | --- |'
    ]
    for r in rows:
        lines.append(
            f'| {r["name"]} | {num(r["spearman_all"], r["spearman_all_ci"])}'
            f' | {num(r["spearman"])} | {num(r["kendall"])} | '
            f'{r["regret"]:.4f} | {r["percentile"]:.0f}% |')
    return '\n'.join(lines)
