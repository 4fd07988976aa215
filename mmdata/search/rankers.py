"""Label-free rankers beyond the paper's relation score.

A ranker compares a candidate's features of one tap with the teacher's (or
reads the candidate's alone) over **all** score images, streamed batch by
batch: it keeps running sums, never the features. The search stores every
ranker chosen with ``SearchLoop(rankers=[...])`` per candidate (``rankers``
in ``candidates.json``), next to the search score and the proxies, so that a
ranking study can test it against the parameter count. Higher is better for
every ranker. A name is ``KIND-TAP``, e.g. ``cka-C5pool``; the taps are
those of :mod:`mmdata.search.taps` (``z``, ``C5pool``, ``C2``-``C5``):

* ``relation-centred`` (z, C5pool): the paper's relation of embeddings
  across the batch, with the features centred over the batch and each
  image's similarity to itself masked out, so the score is carried by how
  the candidate relates *other* images (the default relation puts most of
  a row's mass on the image itself). Minus the cross-entropy of the
  student's rows against the teacher's, temperature ``tau`` (0.1).
* ``cka`` (any tap): centred linear CKA (Kornblith et al., 2019) between
  the candidate's and the teacher's features; for maps every position of
  every image is a sample (both maps have the same grid), after the same
  position bound as the search score.
* ``infonce``, ``top1`` (z): the training objective on the target images.
  The candidate's embedding of an image is a query, the teacher's
  embeddings of the batch are the keys (the image's own is the positive):
  minus the InfoNCE loss at temperature 0.2 (MoCo v2's), or the fraction of
  queries whose nearest key is their own (instance discrimination top-1).
  The batch is the search dataloader's batch.
* ``rankme`` (z, C5pool): RankMe (Garrido et al., 2023), the effective rank
  ``exp(H(p))`` of the candidate's embeddings, ``p`` the normalised
  singular values of the images x features matrix (uncentred, as the
  paper). Bounded by the number of images: use at least 1,000 (a warning
  is logged when there are fewer images than features).

Add one with :func:`register_ranker`: a class with ``update(student,
teacher)`` per batch and ``value() -> float``.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from mmdata.errors import ConfigError
from .taps import TAP_NAMES, resolve_taps

EMBEDDING_TAPS = ('z', 'pool')
MOCO_TEMPERATURE = 0.2

# kind -> (class, taps it accepts: None = every tap)
RANKERS: Dict[str, Tuple[Callable, Sequence]] = {}


def register_ranker(kind: str, taps: Sequence = None) -> Callable:
    """Decorator adding a ranker class to :data:`RANKERS`."""

    def wrap(cls: Callable) -> Callable:
        RANKERS[kind] = (cls, taps)
        return cls

    return wrap


def parse_ranker(name: str) -> Tuple[str, object]:
    """``'cka-C5pool'`` -> ``('cka', 'pool')``: the kind and the tap key."""
    kind, _, tap = str(name).rpartition('-')
    if kind not in RANKERS:
        raise ConfigError(
            f'unknown ranker {name!r}: a ranker is KIND-TAP with KIND one of '
            f'{sorted(RANKERS)}, e.g. cka-C5pool')
    try:
        key = resolve_taps([tap])[0]
    except ConfigError:
        raise ConfigError(
            f'ranker {name!r}: unknown tap {tap!r}, choose one of '
            f'{list(TAP_NAMES.values())}') from None
    allowed = RANKERS[kind][1]
    if allowed is not None and key not in allowed:
        raise ConfigError(
            f'ranker {name!r}: {kind} compares embeddings, choose the tap '
            f'from {[TAP_NAMES[t] for t in allowed]}')
    return kind, key


def check_rankers(names: Sequence[str]) -> List[str]:
    """The names, each validated with :func:`parse_ranker`."""
    names = list(names or [])
    for name in names:
        parse_ranker(name)
    return names


def build_ranker(name: str, tau: float = 0.1):
    """A fresh accumulator of the ranker ``name``."""
    kind, _ = parse_ranker(name)
    cls = RANKERS[kind][0]
    return cls(tau) if kind == 'relation-centred' else cls()


def ranker_tap(name: str):
    """The tap key a ranker reads."""
    return parse_ranker(name)[1]


def _samples(x: Tensor) -> Tensor:
    """Features as a samples x channels float64 matrix (maps: every
    position of every image is a sample)."""
    if x.dim() == 4:
        x = x.flatten(2).transpose(1, 2).flatten(0, 1)
    return x.double()


@register_ranker('relation-centred', taps=EMBEDDING_TAPS)
class CentredRelation:
    """Relation of centred embeddings across the batch, self term masked."""

    def __init__(self, tau: float = 0.1) -> None:
        self.tau = tau
        self.total, self.count = 0., 0

    @staticmethod
    def logits(x: Tensor, tau: float) -> Tensor:
        x = F.normalize(x - x.mean(0, keepdim=True), dim=1)
        logits = x @ x.t() / tau
        return logits.masked_fill(
            torch.eye(len(x), dtype=torch.bool, device=x.device),
            float('-inf'))

    def update(self, student: Tensor, teacher: Tensor) -> None:
        if len(student) < 3:
            raise ConfigError('relation-centred needs batches of >= 3 '
                              f'images, got {len(student)}')
        s = self.logits(student.double(), self.tau)
        t = self.logits(teacher.double(), self.tau)
        t_prob = F.softmax(t, dim=1)
        s_logp = F.log_softmax(s, dim=1).masked_fill(t_prob == 0, 0.)
        self.total += (t_prob * s_logp).sum().item()
        self.count += len(student)

    def value(self) -> float:
        return self.total / self.count


@register_ranker('cka')
class LinearCKA:
    """Centred linear CKA, from streamed sums of products."""

    def __init__(self) -> None:
        self.sums = None

    def update(self, student: Tensor, teacher: Tensor) -> None:
        x, y = _samples(student), _samples(teacher)
        if self.sums is None:
            self.sums = dict(n=0, x=0., y=0., xy=0., xx=0., yy=0.)
        s = self.sums
        s['n'] += len(x)
        s['x'] = s['x'] + x.sum(0)
        s['y'] = s['y'] + y.sum(0)
        s['xy'] = s['xy'] + x.t() @ y
        s['xx'] = s['xx'] + x.t() @ x
        s['yy'] = s['yy'] + y.t() @ y

    def value(self) -> float:
        s = self.sums
        n, mx, my = s['n'], s['x'] / s['n'], s['y'] / s['n']
        cxy = s['xy'] - n * torch.outer(mx, my)
        cxx = s['xx'] - n * torch.outer(mx, mx)
        cyy = s['yy'] - n * torch.outer(my, my)
        denom = torch.linalg.norm(cxx) * torch.linalg.norm(cyy)
        return (torch.linalg.norm(cxy)**2 / denom).item()


class _Contrastive:
    """Queries (candidate) against keys (teacher) of one batch."""

    def __init__(self) -> None:
        self.total, self.count = 0., 0

    def logits(self, student: Tensor, teacher: Tensor) -> Tensor:
        if student.shape[1] != teacher.shape[1]:
            raise ConfigError(
                f'{type(self).__name__} needs embeddings of one size, got '
                f'{student.shape[1]} and {teacher.shape[1]}')
        q = F.normalize(student.double(), dim=1)
        k = F.normalize(teacher.double(), dim=1)
        return q @ k.t() / MOCO_TEMPERATURE

    def value(self) -> float:
        return self.total / self.count


@register_ranker('infonce', taps=('z', ))
class InfoNCE(_Contrastive):
    """Minus the InfoNCE loss of candidate queries against teacher keys."""

    def update(self, student: Tensor, teacher: Tensor) -> None:
        logits = self.logits(student, teacher)
        target = torch.arange(len(logits), device=logits.device)
        self.total -= F.cross_entropy(logits, target, reduction='sum').item()
        self.count += len(logits)


@register_ranker('top1', taps=('z', ))
class InstanceTop1(_Contrastive):
    """Fraction of queries whose nearest teacher key is their own."""

    def update(self, student: Tensor, teacher: Tensor) -> None:
        logits = self.logits(student, teacher)
        target = torch.arange(len(logits), device=logits.device)
        self.total += (logits.argmax(1) == target).sum().item()
        self.count += len(logits)


@register_ranker('rankme', taps=EMBEDDING_TAPS)
class RankMe:
    """Effective rank of the candidate's embeddings (teacher unused)."""

    EPS = 1e-7

    def __init__(self) -> None:
        self.gram, self.count = 0., 0

    def update(self, student: Tensor, teacher: Tensor) -> None:
        x = student.double()
        self.gram = self.gram + x.t() @ x
        self.count += len(x)

    def value(self) -> float:
        if self.count < self.gram.shape[0]:
            print_log(
                f'rankme: {self.count} images for {self.gram.shape[0]}'
                ' features, the rank is bounded by the image count',
                logger='current',
                level=30)
        sigma = torch.linalg.eigvalsh(self.gram).clamp(min=0).sqrt()
        p = sigma / sigma.sum() + self.EPS
        return torch.exp(-(p * p.log()).sum()).item()
