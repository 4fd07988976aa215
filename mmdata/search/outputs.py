"""Search outputs: candidates.json, best.yaml and search.png (written
atomically), and their readers."""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Union

import numpy as np
import yaml
from mmengine.logging import print_log

from mmdata.errors import ConfigError, UserError
from mmdata.search.budgets import si_prefix, size_label
from mmdata.utils.files import atomic_write


def combine_tap_scores(records: List[dict]) -> None:
    """Set each record's ``score`` from its per-tap ``scores``, in place.

    One tap: its score. Several taps (e.g. C2-C5): taps differ in scale
    (C2's relations span many more positions), so each tap is standardised
    over the records of the same bin (mean 0, std 1; a constant tap counts
    0) and the standardised taps are averaged. The raw per-tap scores stay
    in ``scores``.
    """
    for name in dict.fromkeys(r['bin'] for r in records):
        inside = [r for r in records if r['bin'] == name]
        taps = list(inside[0]['scores'])
        if len(taps) == 1:
            for r in inside:
                r['score'] = r['scores'][taps[0]]
            continue
        z = {r['arch']: 0. for r in inside}
        for tap in taps:
            values = np.array([r['scores'][tap] for r in inside])
            std = values.std()
            for r, v in zip(inside, values):
                z[r['arch']] += (v - values.mean()) / std if std > 0 else 0
        for r in inside:
            r['score'] = float(z[r['arch']] / len(taps))


def add_params_rank(records: List[dict]) -> None:
    """Set each record's ``params_rank``, in place: its rank by parameter
    count among the records of its bin (1 = the most params; ties share the
    better rank). The free baseline a label-free score has to beat picks
    rank 1."""
    for name in dict.fromkeys(r['bin'] for r in records):
        inside = [r for r in records if r['bin'] == name]
        for r in inside:
            r['params_rank'] = 1 + sum(o['params'] > r['params']
                                       for o in inside)


def best_per_bin(records: List[dict], bins: List[Dict]) -> Dict[str, dict]:
    """Highest-scoring record of each bin (ties: the earlier record)."""
    best: Dict[str, dict] = {}
    for b in bins:
        inside = [r for r in records if r['bin'] == b['name']]
        if inside:
            best[b['name']] = max(inside, key=lambda r: r['score'])
    return best


def write_outputs(out_dir: str,
                  records: List[dict],
                  bins: List[Dict],
                  metric: str,
                  taps: List[str],
                  input_size: Union[int, Sequence[int]],
                  similarity: str = 'relation') -> None:
    """Write the three search outputs of ``records`` to ``out_dir``.

    FLOPs are counted at ``input_size`` (written beside them); ``latency``
    (when present) is the latency table's prediction in milliseconds.
    """
    os.makedirs(out_dir, exist_ok=True)
    add_params_rank(records)
    best = best_per_bin(records, bins)
    measures = [m for m in ('flops', 'params', 'latency') if m in records[0]]
    content = dict(
        metric=metric,
        input_size=input_size,
        taps=taps,
        similarity=similarity,
        bins=bins,
        note='score: higher = features closer to the teacher; with '
        'several taps, the mean of the taps standardised within the bin',
        candidates=records)

    def dump_json(tmp):
        with open(tmp, 'w') as f:
            json.dump(content, f, indent=1)

    def dump_yaml(tmp):
        with open(tmp, 'w') as f:
            yaml.safe_dump(
                {
                    name:
                    dict(
                        arch=r['arch'],
                        **r['arch_dict'],
                        **{m: r[m]
                           for m in measures},
                        input_size=input_size,
                        score=r['score'],
                        scores=r['scores'],
                        params_rank=f"{r['params_rank']} of "
                        f"{sum(o['bin'] == r['bin'] for o in records)}")
                    for name, r in best.items()
                },
                f,
                sort_keys=False)

    atomic_write(osp.join(out_dir, 'candidates.json'), dump_json)
    atomic_write(osp.join(out_dir, 'best.yaml'), dump_yaml)
    for name, r in best.items():
        print_log(
            f'{name}: best {r["arch"]} score {r["score"]:.4f}, params '
            f'rank {r["params_rank"]} of '
            f'{sum(o["bin"] == name for o in records)} (1 = the '
            "bin's largest, the free baseline's pick)",
            logger='current')
    atomic_write(
        osp.join(out_dir, 'search.png'),
        lambda tmp: plot_search(records, best, metric, input_size, tmp))


def plot_search(records: List[dict], best: Dict[str, dict], metric: str,
                input_size: Union[int, Sequence[int]], path: str) -> None:
    """Cost vs score of every candidate, coloured by bin, best starred."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    prefix, scale = si_prefix(max(r[metric] for r in records))
    if metric == 'latency':
        scale, unit = 1, 'predicted latency (ms)'
    elif metric == 'flops':
        unit = f'{prefix}FLOPs at {size_label(input_size)}'
    else:
        unit = f'{prefix} params'
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for name in dict.fromkeys(r['bin'] for r in records):
        inside = [r for r in records if r['bin'] == name]
        ax.scatter([r[metric] / scale for r in inside],
                   [r['score'] for r in inside],
                   s=14,
                   alpha=0.6,
                   label=name)
    ax.scatter([r[metric] / scale for r in best.values()],
               [r['score'] for r in best.values()],
               marker='*',
               s=160,
               c='k',
               label='best per bin')
    ax.set_xlabel(unit)
    ax.set_ylabel('similarity to the teacher (higher is better)')
    ax.set_title('DATA label-free search')
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, format='png')
    plt.close(fig)


def search_file(search_dir: str, name: str) -> str:
    """``name`` in a search work dir or in its ``search/`` folder."""
    if not osp.isdir(search_dir):
        raise UserError(f'search dir {search_dir} ' + (
            'is a file' if osp.exists(search_dir) else 'does not exist') +
                        ' (pass the search work dir or its search/ folder)')
    for path in (osp.join(search_dir,
                          name), osp.join(search_dir, 'search', name)):
        if osp.isfile(path):
            return path
    raise UserError(f'no {name} in {search_dir} (pass the search work dir '
                    'or its search/ folder)')


def read_candidates(search_dir: str) -> dict:
    """The ``candidates.json`` of :func:`write_outputs`: ``candidates`` (every
    scored candidate), ``bins``, ``taps``, ``metric``, ``input_size``."""
    path = search_file(search_dir, 'candidates.json')
    try:
        with open(path) as f:
            content = json.load(f)
        content['candidates']
    except (ValueError, KeyError, TypeError):
        raise UserError(f'{path} is damaged: rerun the search to write it '
                        'again')
    return content


def read_best(search_dir: str, bin_name: str = None) -> dict:
    """The ``best.yaml`` of :func:`write_outputs` (``{bin: entry}``), or the
    entry of ``bin_name``."""
    path = search_file(search_dir, 'best.yaml')
    try:
        with open(path) as f:
            best = yaml.safe_load(f)
    except yaml.YAMLError:
        raise UserError(f'{path} is not valid YAML: rerun the search to '
                        'write it again')
    if not isinstance(best, dict):
        raise UserError(f'{path} holds no bins (rerun the search)')
    if bin_name is None:
        return best
    if bin_name not in best:
        raise ConfigError(f'unknown bin {bin_name!r}: {path} has '
                          f'{sorted(best)}')
    entry = best[bin_name]
    if not isinstance(entry, dict) or not isinstance(entry.get('arch'), str):
        raise UserError(f'{path}: bin {bin_name!r} has no arch (got '
                        f'{entry!r}); rerun the search to write it again')
    return entry
