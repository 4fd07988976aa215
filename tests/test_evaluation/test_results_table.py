"""The results table reads the studies' carried rows: planted cases."""
import json

import pytest

from mmdata.errors import DataError
from mmdata.evaluation.results_table import (Delta, Setting, deltas, figure,
                                             markdown)

SUMMARY = """| label metric | score | Kendall in bins | vs params: dtau [95% CI] | pick pct | Spearman all |
|---|---|---|---|---|---|
| linear | DATA (z) | +0.90 | +0.80 [+0.50, +0.99] | 90% | +0.5 |
| linear-fixed | DATA (z) | +0.40 | +0.44 [+0.07, +0.77] | 96% | +0.53 |
| linear-fixed | FLOPs | -0.08 |  | 56% | -0.17 |
| linear-fixed | params | -0.03 |  | 47% | -0.19 |
| linear-fixed | rankme-C5pool | +0.09 | +0.13 [-0.08, +0.34] | 56% | +0.01 |
"""  # noqa: E501


def test_summary_table_gives_intervals_and_baseline_differences(tmp_path):
    path = tmp_path / 'summary.md'
    path.write_text(SUMMARY)
    got = deltas(
        Setting('tiny', str(path), 'linear-fixed',
                dict(DATA='DATA (z)', FLOPs='FLOPs', RankMe='rankme-C5pool')))
    assert got['DATA'] == Delta(0.44, (0.07, 0.77))
    assert got['DATA'].cell() == '**+0.44** [+0.07, +0.77]'
    assert got['FLOPs'].delta == pytest.approx(-0.05)
    assert got['FLOPs'].cell() == '-0.05 (no interval)'
    assert got['RankMe'].cell() == 'n.s.'
    with pytest.raises(DataError, match="no 'knn' rows"):
        deltas(Setting('tiny', str(path), 'knn', dict(DATA='DATA (z)')))


def test_json_rows_are_bootstrapped_against_params(tmp_path):
    """score = the label in each bin (Kendall +1), params = its reverse
    (-1): Delta +2 on the data and in every resample."""
    rows = [
        dict(bin=b, arch=f'{b}{i}', top1=i * 0.1, score=i, params=-i)
        for b in 'ab' for i in range(6)
    ]
    path = tmp_path / 'rank_correlation.json'
    path.write_text(json.dumps(dict(label='top1', rows=rows)))
    table = {
        'scenes':
        deltas(
            Setting('scenes', str(path), 'json', dict(DATA='score')), num=50)
    }
    assert table['scenes']['DATA'].delta == pytest.approx(2.)
    assert table['scenes']['DATA'].ci == pytest.approx((2., 2.))
    text = markdown(table, ['DATA', 'CKA'])
    assert '| DATA | **+2.00** [+2.00, +2.00] |' in text
    assert '| CKA | - |' in text
    figure(table, ['DATA'], str(tmp_path / 'f.png'))
    assert (tmp_path / 'f.png').stat().st_size > 1000
    with pytest.raises(DataError, match="no column 'nope'"):
        deltas(Setting('s', str(path), 'json', dict(X='nope')), num=10)


def test_the_pages_tables_regenerate_from_the_carried_rows():
    """README.md and docs/results.md hold what the carried rows give."""
    from pathlib import Path

    from mmdata.evaluation.results_table import (ROWS, between_markers,
                                                 results_table, study_settings)
    repo = Path(__file__).resolve().parents[2]
    table = markdown(
        results_table(study_settings(str(repo / 'docs/studies'))), ROWS)
    assert '| DATA | **+0.44** [+0.07, +0.77] |' in table
    for page in ('README.md', 'docs/results.md'):
        assert between_markers((repo / page).read_text()) == table, page
