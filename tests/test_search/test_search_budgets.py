"""Budgets with units, constraints and latency: which archs may be
candidates, checked against a brute-force walk over the whole space."""
import pytest

from mmdata.errors import ConfigError
from mmdata.search.budgets import budget_label, parse_budgets
from mmdata.search.candidates import Measures, sample_candidates
from mmdata.space import LatencyTable, ResNetSpace, arch_cost, space_blocks

TINY = ResNetSpace(
    stem=(8, 16, 8),
    widths=[(8, 16, 4), (16, 32, 8), (32, 64, 16), (64, 128, 32)],
    depths=[(1, 2, 1), (1, 2, 1), (1, 4, 1), (1, 2, 1)])


def table(space=TINY, input_size=32) -> LatencyTable:
    """Made-up block times that differ per block, so that latency ranks
    archs unlike FLOPs (irregular, so that no sum lands on a bin edge)."""
    shapes = space_blocks(space, input_size)
    entries = {
        s.key: 0.013 + (7 * i % 11) / 97 + i / 7919
        for i, s in enumerate(shapes)
    }
    header = dict(
        device='cpu',
        torch='x',
        threads=1,
        batch_size=1,
        input_size=input_size,
        space=space.to_dict(),
        overhead_ms=0.2)
    return LatencyTable(header, entries)


def test_bin_labels_carry_units_and_input_size():
    assert budget_label(1e6, 1.5e6, 'flops', 32) == '1-1.5MFLOPs@32px'
    assert budget_label(5e5, 1e6, 'flops', (512, 1024)) == \
        '0.5-1MFLOPs@512x1024px'
    assert budget_label(2e6, 4e6, 'params', 224) == '2-4Mparams'
    assert budget_label(1.2, 1.5, 'latency', 32) == '1.2-1.5ms'
    assert parse_budgets([dict(lo=1, hi=2, name='fast')],
                         'latency')[0]['name'] == 'fast'
    with pytest.raises(ConfigError, match="metric='latency' needs budgets"):
        parse_budgets(None, 'latency')
    with pytest.raises(ConfigError, match="metric='speed'"):
        parse_budgets([(1, 2)], 'speed')


def test_space_prediction_equals_per_arch_prediction():
    lut = table()
    predicted = lut.predict_space(TINY)
    assert len(predicted) == TINY.size()
    for i in range(0, TINY.size(), 97):
        assert predicted[i] == pytest.approx(
            lut.predict(TINY.arch_at(i)), abs=1e-12)


def test_latency_bins_with_constraints_draw_exactly_the_allowed_archs():
    lut = table()
    bins = parse_budgets([(0.6, 0.66), (0.66, 0.72)], 'latency', 32)
    limits = dict(params=4e5, flops=(1e6, 3e6))
    every = sample_candidates(
        TINY,
        bins,
        10**6,
        metric='latency',
        input_size=32,
        constraints=limits,
        latency_table=lut)
    # brute force: every arch of the space, its bin and constraints
    expected = set()
    for i in range(TINY.size()):
        arch = TINY.arch_at(i)
        cost, ms = arch_cost(arch, 32), lut.predict(arch)
        if cost.params < 4e5 and 1e6 <= cost.flops < 3e6:
            for b in bins:
                if b['lo'] <= ms < b['hi']:
                    expected.add((str(arch), b['name']))
    assert len(expected) > 20
    assert {(str(c['arch']), c['bin']) for c in every} == expected
    for c in every:
        assert c['latency'] == pytest.approx(lut.predict(c['arch']))
        assert c['params'] == arch_cost(c['arch'], 32).params
    # a smaller draw: unique, inside, seeded
    few = sample_candidates(
        TINY,
        bins,
        5,
        seed=3,
        metric='latency',
        input_size=32,
        constraints=limits,
        latency_table=lut)
    assert len(few) == 10 and len({str(c['arch']) for c in few}) == 10
    assert {(str(c['arch']), c['bin']) for c in few} <= expected
    again = sample_candidates(
        TINY,
        bins,
        5,
        seed=3,
        metric='latency',
        input_size=32,
        constraints=limits,
        latency_table=lut)
    assert [c['arch'] for c in again] == [c['arch'] for c in few]


def test_draws_are_uniform_among_the_allowed_archs():
    """Drawing 1 of the allowed archs over many seeds hits each about
    equally often (chi-square against uniform)."""
    from scipy.stats import chisquare
    bins = parse_budgets([(1e6, 1.1e6)], 'flops', 32)
    limits = dict(params=2e5)  # 22 of the bin's 61 archs
    allowed = sample_candidates(
        TINY, bins, 10**6, input_size=32, constraints=limits)
    assert len(allowed) == 22
    counts = {str(c['arch']): 0 for c in allowed}
    for seed in range(40 * len(allowed)):
        pick = sample_candidates(
            TINY, bins, 1, seed=seed, input_size=32, constraints=limits)[0]
        counts[str(pick['arch'])] += 1
    assert chisquare(list(counts.values())).pvalue > 0.001


def test_bad_budgets_and_tables_give_one_clear_error():
    lut = table()
    bins = parse_budgets([(1.0, 1.3)], 'latency', 32)
    with pytest.raises(ConfigError, match='give latency_table=PATH'):
        sample_candidates(TINY, bins, 3, metric='latency', input_size=32)
    with pytest.raises(ConfigError, match='the constraint on latency'):
        sample_candidates(
            TINY,
            parse_budgets([(1e6, 2e6)], 'flops', 32),
            3,
            input_size=32,
            constraints=dict(latency=1.0))
    with pytest.raises(ConfigError, match="constraint 'speed'"):
        sample_candidates(
            TINY,
            bins,
            3,
            metric='latency',
            input_size=32,
            latency_table=lut,
            constraints=dict(speed=1))
    with pytest.raises(
            ConfigError,
            match=r"budget 1-1.3ms: none of the \d+ "
            r"archs with latency in \[1, 1.3\) at input size 32 "
            r"satisfies constraints=\{'params': \(0, 1000\)\}"):
        sample_candidates(
            TINY,
            bins,
            3,
            metric='latency',
            input_size=32,
            latency_table=lut,
            constraints=dict(params=1000))
    with pytest.raises(ConfigError, match=r'budget 50-60ms holds no arch'):
        sample_candidates(
            TINY,
            parse_budgets([(50, 60)], 'latency'),
            3,
            metric='latency',
            input_size=32,
            latency_table=lut)
    with pytest.raises(ConfigError, match='measured for the space'):
        Measures(ResNetSpace(), 32, lut)
    with pytest.raises(
            ConfigError, match='input_size=32, this run '
            'input_size=64'):
        Measures(TINY, 64, lut)
    with pytest.raises(
            ConfigError, match="device='cpu', this run "
            "device='cuda'"):
        Measures(TINY, 32, lut, dict(device='cuda'))
    Measures(TINY, 32, lut, dict(device='cpu', batch_size=1))
