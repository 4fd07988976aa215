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
from mmdata.search.record import Candidate, by_bin
from mmdata.utils.files import atomic_write


def combine_tap_scores(records: List[Candidate]) -> None:
    """Set each record's ``score`` from its per-tap ``scores``, in place.

    One tap: its score. Several taps (e.g. C2-C5): taps differ in scale
    (C2's relations span many more positions), so each tap is standardised
    over the records of the same bin (mean 0, std 1; a constant tap counts
    0) and the standardised taps are averaged. The raw per-tap scores stay
    in ``scores``.
    """
    for inside in by_bin(records).values():
        taps = list(inside[0].scores)
        if len(taps) == 1:
            for r in inside:
                r.score = r.scores[taps[0]]
            continue
        z = np.zeros(len(inside))
        for tap in taps:
            values = np.array([r.scores[tap] for r in inside])
            std = values.std()
            if std > 0:
                z += (values - values.mean()) / std
        for r, v in zip(inside, z):
            r.score = float(v / len(taps))


def add_params_rank(records: List[Candidate]) -> None:
    """Set each record's ``params_rank``, in place: its rank by parameter
    count among the records of its bin (1 = the most params; ties share the
    better rank). The free baseline a label-free score has to beat picks
    rank 1."""
    for inside in by_bin(records).values():
        for r in inside:
            r.params_rank = 1 + sum(o.params > r.params for o in inside)


def best_per_bin(records: List[Candidate]) -> Dict[str, Candidate]:
    """Highest-scoring record of each bin, bins in their order (ties: the
    earlier record)."""
    return {
        name: max(inside, key=lambda r: r.score)
        for name, inside in by_bin(records).items()
    }


def best_entries(best: Dict[str, Candidate], measures: List[str],
                 input_size: Union[int, Sequence[int]],
                 sizes: Dict[str, int]) -> Dict[str, dict]:
    """The ``best.yaml`` entry of each bin's best record (``sizes``: the
    bins' numbers of candidates)."""
    return {
        name:
        dict(
            arch=r.arch,
            **r.arch_dict,
            **{m: getattr(r, m)
               for m in measures},
            input_size=input_size,
            score=r.score,
            scores=r.scores,
            params_rank=f'{r.params_rank} of {sizes[r.bin]}')
        for name, r in best.items()
    }


def write_outputs(out_dir: str,
                  records: List[Candidate],
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
    best = best_per_bin(records)  # records come bin by bin, in order
    sizes = {name: len(inside) for name, inside in by_bin(records).items()}
    measures = ['flops', 'params'
                ] + (['latency'] if records[0].latency is not None else [])
    content = dict(
        metric=metric,
        input_size=input_size,
        taps=taps,
        similarity=similarity,
        bins=bins,
        note='score: higher = features closer to the teacher; with '
        'several taps, the mean of the taps standardised within the bin',
        candidates=[r.to_json() for r in records])

    def dump_json(tmp):
        with open(tmp, 'w') as f:
            json.dump(content, f, indent=1)

    entries = best_entries(best, measures, input_size, sizes)

    def dump_yaml(tmp):
        with open(tmp, 'w') as f:
            yaml.safe_dump(entries, f, sort_keys=False)

    atomic_write(osp.join(out_dir, 'candidates.json'), dump_json)
    atomic_write(osp.join(out_dir, 'best.yaml'), dump_yaml)
    for name, r in best.items():
        print_log(
            f'{name}: best {r.arch} score {r.score:.4f}, params '
            f'rank {r.params_rank} of {sizes[name]} (1 = the '
            "bin's largest, the free baseline's pick)",
            logger='current')
    atomic_write(
        osp.join(out_dir, 'search.png'),
        lambda tmp: plot_search(records, best, metric, input_size, tmp))


def plot_search(records: List[Candidate], best: Dict[str,
                                                     Candidate], metric: str,
                input_size: Union[int, Sequence[int]], path: str) -> None:
    """Cost vs score of every candidate, coloured by bin, best starred."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    prefix, scale = si_prefix(max(getattr(r, metric) for r in records))
    if metric == 'latency':
        scale, unit = 1, 'predicted latency (ms)'
    elif metric == 'flops':
        unit = f'{prefix}FLOPs at {size_label(input_size)}'
    else:
        unit = f'{prefix} params'
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for name, inside in by_bin(records).items():
        ax.scatter([getattr(r, metric) / scale for r in inside],
                   [r.score for r in inside],
                   s=14,
                   alpha=0.6,
                   label=name)
    ax.scatter([getattr(r, metric) / scale for r in best.values()],
               [r.score for r in best.values()],
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
    scored candidate, a :class:`Candidate` each, validated), ``bins``,
    ``taps``, ``metric``, ``input_size``."""
    path = search_file(search_dir, 'candidates.json')
    try:
        with open(path) as f:
            content = json.load(f)
        records = content['candidates']
        if not isinstance(records, list) or not records:
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise UserError(f'{path} is damaged (no list of candidates): rerun '
                        'the search to write it again')
    content['candidates'] = [
        Candidate.from_json(r, f'{path}, candidate {i}')
        for i, r in enumerate(records)
    ]
    if any(r.score is None for r in content['candidates']):
        raise UserError(f'{path} is damaged (a candidate without a score): '
                        'rerun the search to write it again')
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
