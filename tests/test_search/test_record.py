"""The typed candidate record: JSON round trip, validation on read (a
damaged candidates.json is one ``error:`` line), values by column and
by_bin."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmdata.errors import UserError
from mmdata.search import Candidate, by_bin, read_candidates

REPO = Path(__file__).resolve().parents[2]


def record(arch='a', bin_name='b1', **extra) -> Candidate:
    return Candidate(
        arch=arch,
        arch_dict=dict(depths=[1]),
        bin=bin_name,
        flops=2e6,
        params=3e5,
        scores=dict(z=-1.5),
        proxies=dict(naswot=7.),
        rankers={'rankme-C5pool': 4.},
        **extra)


def write(folder: Path, candidates: list) -> Path:
    (folder / 'search').mkdir(parents=True)
    (folder / 'search' / 'candidates.json').write_text(
        json.dumps(dict(candidates=candidates, taps=['z'])))
    return folder


def test_round_trip_and_values():
    r = record(score=-1.5, params_rank=2)
    again = Candidate.from_json(json.loads(json.dumps(r.to_json())))
    assert again == r
    assert 'latency' not in r.to_json()  # unset optional fields left out
    assert (r.value('score'), r.value('params'), r.value('naswot'),
            r.value('rankme-C5pool')) == (-1.5, 3e5, 7., 4.)
    with pytest.raises(KeyError):
        r.value('latency')
    with pytest.raises(KeyError):
        r.value('cka-C2')


def test_by_bin_keeps_the_order_of_bins_and_records():
    records = [record('a', 'b2'), record('b', 'b1'), record('c', 'b2')]
    groups = by_bin(records)
    assert list(groups) == ['b2', 'b1']
    assert [r.arch for r in groups['b2']] == ['a', 'c']
    rows = [dict(bin='x', v=1), dict(bin='y', v=2), dict(bin='x', v=3)]
    assert [r['v'] for r in by_bin(rows)['x']] == [1, 3]  # study rows too


@pytest.mark.parametrize('change,message', [
    (dict(params=None), "has a bad params"),
    (dict(scores=dict(z='high')), 'has a bad scores'),
    (dict(bin=3), 'has a bad bin'),
    (dict(drop='arch_dict'), "lacks ['arch_dict']"),
])
def test_a_damaged_candidate_is_named(change, message, tmp_path):
    value = dict(record(score=1.).to_json(), **change)
    value.pop(change.get('drop'), None)
    value.pop('drop', None)
    write(tmp_path, [record('ok', score=0.).to_json(), value])
    with pytest.raises(
            UserError,
            match=r'candidate 1 \(arch .*\) ' +
            message.replace('[', r'\[').replace(']', r'\]')):
        read_candidates(str(tmp_path))


def test_a_damaged_candidates_json_is_one_error_line(tmp_path):
    bad = record(score=1.).to_json()
    del bad['params']
    write(tmp_path / 'search-dir', [bad])
    (tmp_path / 'truth.csv').write_text('arch,bin,seed,top1\na,b1,0,0.5\n')
    out = subprocess.run([
        sys.executable, 'tools/analysis/rank_correlation.py',
        str(tmp_path / 'search-dir'),
        str(tmp_path / 'truth.csv')
    ],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    assert "candidates.json, candidate 0 (arch 'a') lacks ['params']" in \
        lines[0]
