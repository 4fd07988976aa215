"""Search at downstream scale: seeded target subsets, streamed images
(memory flat in their number), groups that do not change scores, bounded
positions, normalised multi-tap scores, candidates built on the device."""
import math
import weakref

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from scipy.stats import spearmanr

from mmdata.errors import DataError
from mmdata.registry import MODELS
from mmdata.search import SubnetScorer, resolve_taps, static_extractor
from mmdata.search.outputs import combine_tap_scores
from mmdata.search.record import Candidate
from mmdata.search.scorer import bound_positions
from mmdata.search.similarity import map_similarity
from mmdata.search.target import split_target
from tests.test_search.test_search_runs import TRAIN_CFG


@pytest.fixture(scope='module')
def model():
    cfg = Config.fromfile(TRAIN_CFG)
    cfg.model.queue_len = 64
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg.model).eval()


class Batches:
    """Re-iterable fresh batches; counts how many of the batches it made
    are alive at once (a scorer that cached images would keep them)."""

    def __init__(self, num: int, seed: int, size: int = 32) -> None:
        self.num, self.seed, self.size = num, seed, size
        self.alive, self.most_alive = [], 0

    def __len__(self) -> int:
        return self.num

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        for _ in range(self.num):
            batch = torch.randn(8, 3, self.size, self.size, generator=gen)
            self.alive.append(weakref.ref(batch))
            self.alive = [r for r in self.alive if r() is not None]
            self.most_alive = max(self.most_alive, len(self.alive))
            yield batch
            del batch


def scorer(model, calib, score, taps=('C2', 'z'), **kwargs):
    return SubnetScorer(model.backbone,
                        model.teacher.backbone, model.neck, model.teacher.neck,
                        resolve_taps(list(taps)), calib, score, **kwargs)


def test_images_are_streamed_not_cached(model):
    """Doubling the target images keeps the batches alive at once (memory)
    the same: the one in use while the next is made, and the first score
    batch (proxies); a scorer that cached images would hold them all."""
    archs = [model.space.min_arch, model.space.max_arch]
    most = {}
    for num in (3, 6):
        calib, score = Batches(num, 0), Batches(num, 1)
        s = scorer(model, calib, score, proxies=['naswot'])
        s.evaluate_group(archs)
        most[num] = (calib.most_alive, score.most_alive)
    assert most[3] == most[6] and most[6][0] <= 2 and most[6][1] <= 3


def test_scores_do_not_depend_on_groups_or_order(model):
    archs = [model.space.sample(seed) for seed in range(4)]
    s = scorer(model, Batches(2, 0), Batches(2, 1))
    together = s.evaluate_group(archs)
    apart = s.evaluate_group(archs[2:][::-1]) + \
        s.evaluate_group(archs[:1]) + s.evaluate_group(archs[1:2])
    apart = dict(zip([archs[3], archs[2], archs[0], archs[1]], apart))
    for arch, result in zip(archs, together):
        for tap, value in result['scores'].items():
            assert apart[arch]['scores'][tap] == pytest.approx(value, abs=1e-6)
    again = scorer(model, Batches(2, 0), Batches(2, 1)).evaluate(archs[0])
    assert again['scores'] == together[0]['scores']


@pytest.mark.parametrize('similarity', ['relation', 'cosine', 'mse'])
def test_teacher_relations_once_per_batch_score_as_per_candidate(
        model, similarity):
    """A group shares the teacher's relations of a batch (default cap); a
    cap too small for them makes every candidate recompute them chunk by
    chunk: the scores of several archs on every map tap agree to 1e-6."""
    archs = [model.space.sample(seed) for seed in range(3)]
    taps = ('C2', 'C3', 'C4', 'C5')
    results = {}
    for memory_mb in (256., 0.01):
        s = scorer(
            model,
            Batches(2, 0, 64),
            Batches(2, 1, 64),
            taps,
            similarity=similarity,
            memory_mb=memory_mb)
        results[memory_mb] = s.evaluate_group(archs)
        shared = s.similarity.teacher_side(torch.zeros(8, 16, 8, 8))
        assert (shared is None) == (memory_mb < 1)
    for shared, alone in zip(results[256.], results[0.01]):
        assert shared['scores'].keys() == alone['scores'].keys()
        for tap, value in shared['scores'].items():
            assert alone['scores'][tap] == pytest.approx(value, abs=1e-6)


def test_candidates_are_built_on_the_device_without_random_init(
        model, monkeypatch):
    """The static copy is made on the meta device and filled with the
    supernet's weights: no init function touches real memory; it equals
    the copy built the plain way."""
    from mmdata.export import export_subnet_state_dict
    from mmdata.models.backbones import SubnetResNet
    arch = model.space.sample(3)
    sup = model.backbone
    plain = SubnetResNet(arch, out_indices=(0, 1, 2, 3))
    plain.load_state_dict(export_subnet_state_dict(sup, arch))

    def no_init(original):

        def init(tensor, *args, **kwargs):
            assert tensor.is_meta, 'random init while building a candidate'
            return original(tensor, *args, **kwargs)

        return init

    for name in ('kaiming_uniform_', 'kaiming_normal_', 'uniform_', 'normal_',
                 'ones_', 'zeros_'):
        monkeypatch.setattr(torch.nn.init, name,
                            no_init(getattr(torch.nn.init, name)))
    built = static_extractor(sup, None, arch)
    assert all(p.device == sup.conv1.weight.device for p in built.parameters())
    x = torch.randn(2, 3, 32, 32)
    for a, b in zip(built.backbone(x), plain.eval()(x)):
        assert torch.equal(a, b)
    # its weights are copies: training-mode BN on it leaves the supernet be
    before = {k: v.clone() for k, v in sup.state_dict().items()}
    built.train()(x)
    assert all(torch.equal(v, before[k]) for k, v in sup.state_dict().items())
    mean = built.backbone.bn1.running_mean  # it moved on the copy
    assert not torch.equal(mean, before['bn1.running_mean'][:len(mean)])


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_bounded_positions_keep_the_ranking(seed):
    """Students ever further from the teacher (noise 3x apart) rank the same
    at all 32 x 32 positions and pooled to at most 256 (16 x 16). (Pooled
    to 64, 16x fewer, adjacent levels swapped in 4 of 5 seeds: pooling
    averages white noise away, so keep the bound well above a quarter of
    the positions when differences are fine.)"""
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(2, 16, 32, 32, generator=gen)
    teacher = torch.nn.functional.avg_pool2d(teacher, 3, 1, 1)  # smooth
    mix = torch.randn(24, 16, generator=gen)
    full, bounded = [], []
    for level in [0.3, 1.0, 3.0, 10.0]:
        noise = torch.randn(2, 24, 32, 32, generator=gen)
        student = torch.einsum('oc,nchw->nohw', mix, teacher) + level * noise
        full.append(map_similarity(student, teacher).mean().item())
        bounded.append(
            map_similarity(
                bound_positions(student, 256),
                bound_positions(teacher, 256)).mean().item())
    assert bound_positions(teacher, 256).shape[2:] == (16, 16)
    assert bound_positions(teacher, 2000).shape[2:] == (32, 32)
    assert bound_positions(torch.randn(1, 4, 30, 60), 200).shape[2:] == \
        (10, 20)
    assert full == sorted(full, reverse=True)
    assert spearmanr(full, bounded)[0] == pytest.approx(1.0)


def test_target_split_is_seeded_disjoint_and_counted():
    calib, score = split_target(100, 8, 2, 3, seed=0)
    assert len(calib) == 16 and len(score) == 24
    assert not set(calib) & set(score)
    again = split_target(100, 8, 2, 3, seed=0)
    assert np.array_equal(again[0], calib) and np.array_equal(again[1], score)
    other = split_target(100, 8, 2, 3, seed=1)
    assert not np.array_equal(other[1], score)
    calib, score = split_target(100, 8, 2, None, seed=0)  # all the rest
    assert len(score) == 80 and len(set(calib) | set(score)) == 96
    with pytest.raises(
            DataError,
            match='has 20 images; calib_batches=2 x '
            'batch_size=8 .* plus 1 x 8'):
        split_target(20, 8, 2, 1, seed=0)


def test_multi_tap_scores_are_standardised_within_the_bin():

    def record(arch, bin_name, **scores):
        return Candidate(
            arch, {}, bin_name, flops=0., params=0., scores=scores)

    records = [
        record(f'a{i}', 'b', C2=c2, C5=c5)
        for i, (c2, c5) in enumerate([(-9.0, -1.0), (-8.0, -1.2), (-7.0,
                                                                   -1.1)])
    ] + [record('one', 'other', C2=-3.0, C5=-3.0)]
    combine_tap_scores(records)
    c2 = np.array([-9.0, -8.0, -7.0])
    c5 = np.array([-1.0, -1.2, -1.1])
    expected = ((c2 - c2.mean()) / c2.std() + (c5 - c5.mean()) / c5.std()) / 2
    assert [r.score for r in records[:3]] == pytest.approx(expected)
    assert records[3].score == 0  # a bin of one: constant taps
    single = [record('x', 'b', z=-2.5)]
    combine_tap_scores(single)
    assert single[0].score == -2.5


def test_scorer_stores_every_ranker_independent_of_the_group(model):
    names = [
        'cka-C5pool', 'cka-C2', 'rankme-z', 'top1-z', 'infonce-z',
        'relation-centred-C5pool'
    ]
    s = scorer(
        model, Batches(2, 0), Batches(2, 1), taps=('C4', ), rankers=names)
    archs = [model.space.sample(seed) for seed in range(3)]
    together = s.evaluate_group(archs)
    for arch, result in zip(archs, together):
        assert list(result['rankers']) == names
        alone = s.evaluate(arch)['rankers']
        for name in names:
            assert math.isfinite(result['rankers'][name])
            assert alone[name] == pytest.approx(
                result['rankers'][name], rel=1e-9, abs=1e-12)
    # the teacher's own max arch has CKA 1 with itself
    own = s.evaluate(model.space.max_arch)['rankers']
    assert own['cka-C5pool'] == pytest.approx(1, abs=1e-6)
    assert own['top1-z'] == 1
