"""The search loop's parts on their own: its settings, the sharded scoring
with its progress files, and the evolution driver (with a made-up score)."""
import json

import pytest

from mmdata.errors import ConfigError
from mmdata.search.budgets import bin_ranges, parse_budgets, within
from mmdata.search.candidates import Measures, sample_candidates
from mmdata.search.evolution import evolve
from mmdata.search.record import Candidate, by_bin
from mmdata.search.settings import SearchSettings
from mmdata.search.sharding import score_sharded
from mmdata.search.store import SearchStore
from mmdata.space import Arch
from tests.test_search.test_search_budgets import TINY


def test_settings_refuse_unknown_and_bad_options():
    with pytest.raises(ConfigError, match=r"\['num_candidate'\].*allowed"):
        SearchSettings.from_options(num_candidate=5)
    with pytest.raises(ConfigError, match="strategy='grid'"):
        SearchSettings(strategy='grid')
    with pytest.raises(ConfigError, match='score_batches=0, allowed >= 1'):
        SearchSettings(score_batches=0)
    with pytest.raises(ConfigError, match=r"evolution keys \['pop'\]"):
        SearchSettings(evolution=dict(pop=3))
    settings = SearchSettings(evolution=dict(generations=2))
    assert settings.evolution['generations'] == 2
    assert settings.evolution['population'] == 20  # the default kept


def test_identity_holds_what_scores_depend_on():
    base = SearchSettings(budgets=[(1, 2)], metric='params').identity()
    assert SearchSettings(
        budgets=[(1, 2)],
        metric='params',
        candidates_per_pass=3,
        chunk_size=7,
        num_candidates=9).identity() == base
    for change in (dict(seed=1), dict(score_batches=None), dict(tap='det_fpn'),
                   dict(temperature=0.2), dict(budgets=[(1, 3)]),
                   dict(constraints=dict(flops=5))):
        options = {**dict(budgets=[(1, 2)], metric='params'), **change}
        assert SearchSettings(**options).identity() != base, change


def _candidates(num):
    return [dict(arch=TINY.arch_at(i), bin='b') for i in range(num)]


def test_sharded_scoring_skips_done_keeps_order_and_records(tmp_path):
    store = SearchStore(str(tmp_path / 'search'))
    calls = []

    def record(arch, z):
        return Candidate(
            arch=str(arch),
            arch_dict={},
            bin='b',
            flops=1.,
            params=2.,
            scores=dict(z=z))

    def score_group(group):
        calls.append(len(group))
        return [record(c['arch'], float(i)) for i, c in enumerate(group)]

    candidates = _candidates(5)
    done = {str(candidates[1]['arch']): record(candidates[1]['arch'], -1.)}
    records = score_sharded(candidates, done, score_group, store, 2)
    assert calls == [2, 2]  # 4 to score, in groups of 2
    assert [r.arch for r in records] == [str(c['arch']) for c in candidates]
    assert records[1].scores['z'] == -1.  # not scored again
    lines = (tmp_path / 'search' / 'progress' / 'rank0.jsonl').read_text()
    assert [json.loads(line)['arch'] for line in lines.splitlines()] == \
        [str(c['arch']) for i, c in enumerate(candidates) if i != 1]
    # resumed from the store: only the candidate it never held is scored
    calls.clear()
    again = score_sharded(candidates, store.records(), score_group, store, 2)
    assert calls == [1]
    # the records read back from the store equal the ones written
    assert again[:1] + again[2:] == records[:1] + records[2:]


def _run_evolution(seed, measures, bins, constraints):
    target = TINY.max_arch

    def score(candidates):  # made-up: close to the max arch's widths
        return [
            Candidate(
                arch=str(c['arch']),
                arch_dict=c['arch'].to_dict(),
                bin=c['bin'],
                flops=c['flops'],
                params=c['params'],
                scores=dict(z=-sum(
                    abs(a - b)
                    for a, b in zip(c['arch'].widths, target.widths))))
            for c in candidates
        ]

    first = [
        sample_candidates(
            TINY, [b],
            6,
            seed,
            'flops',
            constraints=constraints,
            measures=measures) for b in bins
    ]
    return first, evolve(
        first,
        bins,
        score,
        measures,
        'flops',
        constraints,
        seed,
        population=6,
        generations=3,
        parents=3,
        mutation_prob=0.3)


def test_evolution_stays_in_budget_improves_and_is_seeded():
    measures = Measures(TINY, 32)
    bins = parse_budgets([(1e6, 1.5e6), (1.5e6, 2e6)], 'flops', 32)
    constraints = dict(params=(0, 3e5))
    first, records = _run_evolution(0, measures, bins, constraints)
    archs = [r.arch for r in records]
    assert len(set(archs)) == len(archs)
    assert len(records) > sum(len(p) for p in first)  # children were bred
    groups = by_bin(records)
    for b, population in zip(bins, first):
        inside = groups[b['name']]
        assert len(inside) <= 6 * 4
        ranges = bin_ranges(b, 'flops', constraints)
        assert all(
            within(measures.of(Arch.parse(r.arch)), ranges) for r in inside)
        start = max(r.scores['z'] for r in inside[:len(population)])
        assert max(r.scores['z'] for r in inside) >= start
    _, again = _run_evolution(0, measures, bins, constraints)
    assert [r.arch for r in again] == archs
    _, other = _run_evolution(1, measures, bins, constraints)
    assert [r.arch for r in other] != archs


def test_params_rank_inside_each_bin():
    from mmdata.search.outputs import add_params_rank
    records = [
        Candidate(str(i), {}, name, flops=0., params=params, scores={})
        for i, (name, params) in enumerate([('a', 5), ('a', 9), ('a',
                                                                 5), ('b', 1)])
    ]
    add_params_rank(records)
    assert [r.params_rank for r in records] == [2, 1, 2, 1]
