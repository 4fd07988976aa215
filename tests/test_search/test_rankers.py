"""Label-free rankers beyond the paper: each equals its known value on a
planted case and streams (batches = one pass); names are checked. (The
scorer's rankers: tests/test_search/test_search_streaming.py.)"""
import math

import numpy as np
import pytest
import torch

from mmdata.errors import ConfigError
from mmdata.evaluation.ranking import add_rank_mean
from mmdata.search.rankers import build_ranker, check_rankers, parse_ranker
from mmdata.search.settings import SearchSettings


def run(name, student, teacher, batches=1, tau=0.1):
    ranker = build_ranker(name, tau)
    for s, t in zip(student.chunk(batches), teacher.chunk(batches)):
        ranker.update(s, t)
    return ranker.value()


def cka_by_formula(x, y):
    x = x - x.mean(0)
    y = y - y.mean(0)
    return (np.linalg.norm(y.T @ x)**2 /
            (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def test_cka_is_one_under_rotation_scale_shift_and_streams():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(60, 8, generator=gen)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=gen))
    assert run('cka-C5pool', x, 3 * x @ q + 5) == pytest.approx(1, abs=1e-9)
    y = torch.randn(60, 5, generator=gen)  # another width
    expected = cka_by_formula(x.double().numpy(), y.double().numpy())
    assert run('cka-C5pool', x, y) == pytest.approx(expected, abs=1e-12)
    assert run(
        'cka-C5pool', x, y, batches=3) == pytest.approx(
            expected, abs=1e-12)


def test_cka_of_maps_takes_every_position_as_a_sample():
    gen = torch.Generator().manual_seed(1)
    s, t = torch.randn(
        4, 6, 3, 3, generator=gen), torch.randn(
            4, 9, 3, 3, generator=gen)
    flat = [
        m.permute(0, 2, 3, 1).reshape(-1, m.shape[1]).double().numpy()
        for m in (s, t)
    ]
    assert run(
        'cka-C4', s, t, batches=2) == pytest.approx(
            cka_by_formula(*flat), abs=1e-12)


def test_rankme_counts_equal_directions():
    """k orthogonal directions of equal energy: effective rank k."""
    gen = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(200, 16, generator=gen))
    for k in (1, 4, 10):
        feats = torch.zeros(200, 32)
        feats[:, :k] = basis[:, :k] * 7
        assert run('rankme-C5pool', feats, feats, batches=4) == \
            pytest.approx(k, rel=1e-4)


def test_contrastive_rankers_by_hand():
    n = 6
    keys = torch.eye(n, 8)  # orthonormal: own key cosine 1, others 0
    loss = -math.log(math.exp(5) / (math.exp(5) + n - 1))  # tau 0.2
    assert run('infonce-z', keys, keys) == pytest.approx(-loss, abs=1e-12)
    assert run('top1-z', keys, keys, batches=2) == 1
    rolled = keys.roll(1, dims=0)  # every query nearest to another key
    assert run('top1-z', rolled, keys) == 0
    with pytest.raises(ConfigError, match='one size'):
        run('infonce-z', torch.randn(4, 3), torch.randn(4, 5))


def test_centred_relation_masks_the_self_term():
    """Three embeddings whose centred versions form an equilateral
    triangle: each row puts 1/2 on each other image, score -ln 2; the
    default relation would put most mass on the image itself."""
    angles = torch.tensor([0, 2 * math.pi / 3, 4 * math.pi / 3])
    tri = torch.stack([angles.cos(), angles.sin()], 1) + 10  # shifted
    assert run('relation-centred-C5pool', tri, tri) == pytest.approx(
        -math.log(2), abs=1e-9)
    gen = torch.Generator().manual_seed(0)
    t = torch.randn(16, 8, generator=gen)
    same = run('relation-centred-z', t, t)
    other = run('relation-centred-z', torch.randn(16, 8, generator=gen), t)
    assert other < same  # Gibbs: the teacher's own rows score best


def test_ranker_names_are_checked():
    assert parse_ranker('cka-C5pool') == ('cka', 'pool')
    assert parse_ranker('relation-centred-z') == ('relation-centred', 'z')
    for bad, match in (('ckb-z', 'unknown ranker'), ('cka-C9', 'unknown tap'),
                       ('rankme-C4', 'compares embeddings'),
                       ('infonce-C5pool', 'compares embeddings')):
        with pytest.raises(ConfigError, match=match):
            check_rankers([bad])
    with pytest.raises(ConfigError, match='unknown ranker'):
        SearchSettings(rankers=['nope-z'])


def test_rankers_enter_the_identity_only_when_chosen():
    plain = SearchSettings().identity()
    assert 'rankers' not in plain
    assert SearchSettings(rankers=['cka-z']).identity()['rankers'] == \
        ['cka-z']


def test_rank_mean_is_the_mean_of_within_bin_ranks():
    rows = [
        dict(bin='a', p=1, s=30),
        dict(bin='a', p=2, s=10),
        dict(bin='a', p=3, s=20),
        dict(bin='b', p=5, s=1),
        dict(bin='b', p=4, s=2)
    ]
    name = add_rank_mean(rows, ['p', 's'])
    assert name == 'p+s ranks'
    assert [r[name] for r in rows] == [2, 1.5, 2.5, 1.5, 1.5]
