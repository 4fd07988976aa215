"""Similarity metrics (paper Eq. 4-5) and candidate sampling."""
import math

import pytest
import torch

from mmdata.search import (embedding_similarity, map_similarity, parse_budgets,
                           resolve_taps, sample_candidates)
from mmdata.space import ResNetSpace, arch_cost


def test_relation_matches_a_hand_computed_example():
    # student positions (1,0) and (0,1); teacher positions both (1,0)
    student = torch.tensor([[1., 0.], [0., 1.]]).view(1, 2, 1, 2)
    teacher = torch.tensor([[1., 1.], [0., 0.]]).view(1, 2, 1, 2)
    # teacher relations are uniform (p' = 1/2); student row 1 has log-probs
    # (1 - log(1 + e), -log(1 + e)) at tau = 1, row 2 the mirror image
    expected = 0.5 * (1 - math.log(1 + math.e)) - 0.5 * math.log(1 + math.e)
    score = map_similarity(student, teacher, 'relation', tau=1.0)
    assert score.shape == (1, )
    assert score.item() == pytest.approx(expected, abs=1e-6)
    # identical relations score higher than different ones
    assert map_similarity(teacher, teacher, tau=1.0) > score


def test_relation_ignores_channel_counts_and_scale():
    gen = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 16, 4, 5, generator=gen)
    # a student whose positions span the same directions, 8 channels
    proj = torch.linalg.qr(torch.randn(16, 16, generator=gen))[0][:8]
    student = torch.einsum('oc,nchw->nohw', proj, teacher) * 3.0
    same = map_similarity(teacher, teacher)
    other = map_similarity(torch.randn(2, 8, 4, 5, generator=gen), teacher)
    assert (map_similarity(student, teacher) > other).all()
    assert (same >= other).all()


@pytest.mark.parametrize('kind', ['relation', 'cosine', 'mse'])
def test_chunked_equals_unchunked(kind):
    gen = torch.Generator().manual_seed(1)
    s, t = torch.randn(
        3, 6, 5, 7, generator=gen), torch.randn(
            3, 9, 5, 7, generator=gen)
    full = map_similarity(s, t, kind, chunk=10_000)
    torch.testing.assert_close(map_similarity(s, t, kind, chunk=3), full)


def _per_image_reference(s, t, kind, tau=0.1):
    """The earlier scorer: one image at a time, one relation row at a
    time, float64 (an independent path for the batched one)."""
    import torch.nn.functional as F
    scores = []
    for s_map, t_map in zip(s.double(), t.double()):
        sr = F.normalize(s_map.flatten(1).t(), dim=1)
        tr = F.normalize(t_map.flatten(1).t(), dim=1)
        rows = []
        for i in range(sr.shape[0]):
            a, b = sr[i] @ sr.t(), tr[i] @ tr.t()
            if kind == 'relation':
                rows.append(
                    (F.softmax(b / tau, 0) * F.log_softmax(a / tau, 0)).sum())
            elif kind == 'cosine':
                rows.append(F.cosine_similarity(a, b, dim=0))
            else:
                rows.append(-((a - b)**2).mean())
        scores.append(torch.stack(rows).mean())
    return torch.stack(scores).float()


@pytest.mark.parametrize('kind', ['relation', 'cosine', 'mse'])
@pytest.mark.parametrize('memory_mb', [1e-4, 0.01, 0.05, 256])
def test_batched_relations_equal_the_per_image_path(kind, memory_mb):
    """Images in memory-capped groups (one, two, all) and rows in chunks
    (1 row, a few, all) score as one image and one row at a time did, to
    1e-6, with the teacher's relations computed per chunk or once."""
    from mmdata.search.similarity import (Similarity, relation_plan,
                                          rows_per_step)
    gen = torch.Generator().manual_seed(2)
    for shape_s, shape_t in (((4, 8, 6, 6), (4, 16, 6, 6)),
                             ((3, 32, 3, 3), (3, 64, 3, 3)), ((2, 4, 12, 10),
                                                              (2, 8, 12, 10))):
        s = torch.randn(*shape_s, generator=gen)
        t = torch.randn(*shape_t, generator=gen)
        got = map_similarity(s, t, kind, 0.1, 1024, memory_mb)
        torch.testing.assert_close(
            got, _per_image_reference(s, t, kind), atol=1e-6, rtol=1e-6)
        # the teacher's relations computed once (what a group of candidates
        # shares per batch) score the same
        similarity = Similarity(kind, 0.1, 1024, 2 * memory_mb)
        side = similarity.teacher_side(t)
        if memory_mb in (1e-4, 256):  # too large for the cap / cached
            assert (side is None) == (memory_mb == 1e-4)
        torch.testing.assert_close(
            similarity(s, t, side), got, atol=1e-6, rtol=1e-6)
    assert rows_per_step(32, 56 * 56, 1024, 256) == 167  # C2, batch 32
    assert rows_per_step(32, 56 * 56, 1024, 1e-6) == 1
    assert rows_per_step(2, 9, 1024, 256) == 1024
    # images per group: the normalised copies count against the cap too
    assert relation_plan(4, 36, 24, 1024, 0.05) == (2, 36)
    assert relation_plan(4, 36, 24, 1024, 256) == (4, 36)
    assert relation_plan(32, 56 * 56, 512, 1024, 256) == (4, 1024)
    assert relation_plan(32, 56 * 56, 512, 1024, 1) == (1, 1)


def test_embedding_relation_by_hand():
    z_t = torch.tensor([[1., 0.], [1., 0.]])
    z_s = torch.tensor([[1., 0.], [0., 1.]])
    expected = 0.5 * (1 - math.log(1 + math.e)) - 0.5 * math.log(1 + math.e)
    scores = embedding_similarity(z_s, z_t, 'relation', tau=1.0)
    torch.testing.assert_close(scores, torch.full((2, ), expected))
    assert embedding_similarity(z_t, z_t, 'cosine').tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match='one size'):
        embedding_similarity(torch.ones(2, 3), torch.ones(2, 4), 'mse')


def test_taps():
    assert resolve_taps('det_fpn') == [0, 1, 2, 3]
    assert resolve_taps('seg') == [2, 3]
    assert resolve_taps('det_c4') == [3]
    assert resolve_taps('cls') == ['z']
    assert resolve_taps(['C3', 'z']) == [1, 'z']
    assert resolve_taps('C5pool') == ['pool']
    with pytest.raises(ValueError, match="tap 'C7'"):
        resolve_taps(['C7'])


def test_paper_bins_and_candidates_are_unique_uniform_and_seeded():
    bins = parse_budgets(None)
    assert [b['name'] for b in bins
            ] == [f'{i}-{i + 1}GFLOPs@224px' for i in range(1, 8)]
    space = ResNetSpace()
    # the smallest paper bin holds only 27 archs of Table 1: all are taken
    assert len(sample_candidates(space, bins[:1], 100)) == 27
    bins = bins[1:4]
    cands = sample_candidates(space, bins, 100, seed=0)
    assert len(cands) == 300
    for c in cands[::17]:
        b = next(b for b in bins if b['name'] == c['bin'])
        assert b['lo'] <= arch_cost(c['arch']).flops < b['hi']
    assert len({c['arch'] for c in cands}) == 300
    again = sample_candidates(space, bins, 100, seed=0)
    assert [c['arch'] for c in again] == [c['arch'] for c in cands]
    other = sample_candidates(space, bins, 100, seed=1)
    assert [c['arch'] for c in other] != [c['arch'] for c in cands]
    with pytest.raises(ValueError, match='holds no arch'):
        sample_candidates(space, parse_budgets([(20e9, 30e9)]), 5)
    with pytest.raises(ValueError, match='empty'):
        parse_budgets([(2e9, 1e9)])


def test_bn_calibration_says_when_the_data_ends(monkeypatch):
    """Asked for 5 batches, given 3: the statistics average the 3 and a
    warning gives the count actually used."""
    import mmdata.models.utils.calibration as calibration
    logged = []
    monkeypatch.setattr(calibration, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    torch.manual_seed(0)
    batches = [torch.randn(4, 3, 2, 2) * (i + 1) for i in range(3)]
    bn = torch.nn.BatchNorm2d(3)
    calibration.calibrate_bn(bn, iter(batches), 5)
    assert logged == [
        'BN calibration used 3 batches, fewer than the 5 '
        'asked: the data ended'
    ]
    expected = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, expected)
    logged.clear()
    calibration.calibrate_bn(bn, iter(batches), 3)
    assert logged == []
