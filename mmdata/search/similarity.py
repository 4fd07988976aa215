"""Label-free similarity of student and teacher features (paper Eq. 3-5).

Every function returns one score per image (or one per batch for
embeddings compared across samples); **higher means more similar**.

* ``relation`` (default, Eq. 4-5). For a map ``M`` (C x HW) each position
  ``m_i`` is L2-normalised and gets the distribution
  ``p_i = softmax_j(m_i . m_j / tau)`` over positions. Channel counts of
  student and teacher may differ; only these HW x HW relations are compared,
  by the cross-entropy ``-sum_j p'_ij log p_ij`` of the student's rows
  against the teacher's, averaged over rows. The score is minus that
  cross-entropy. The images of a batch are processed together, in groups
  and rows in chunks sized so that the normalised copies of both maps and
  the relation buffers stay under a memory cap. For embeddings ``z``
  (N x D), the
  relations are taken across the N samples of the batch.
* ``cosine``: cosine similarity of the (L2-normalised) relation logits
  ``m_i . m_j`` rows (maps) or of the embeddings themselves (``z``).
* ``mse``: minus the mean squared difference of the same quantities.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

SIMILARITIES = ('relation', 'cosine', 'mse')


def _rows(x: Tensor) -> Tensor:
    """(N, C, H, W) maps -> (N, HW, C) L2-normalised positions, float32."""
    return F.normalize(x.float().flatten(2).transpose(1, 2), dim=2)


def _teacher_side(t_logits: Tensor, kind: str, tau: float) -> Tensor:
    """What a student's relation rows are compared with: the teacher's row
    distributions (``relation``) or its logits (``cosine``, ``mse``)."""
    if kind == 'relation':  # in place: the logits are temporaries
        return F.softmax(t_logits.div_(tau), dim=-1)
    if kind in SIMILARITIES:
        return t_logits
    raise ValueError(f'similarity={kind!r}: choose one of {SIMILARITIES}')


def _row_score(s_logits: Tensor, t_side: Tensor, kind: str,
               tau: float) -> Tensor:
    """Per-row score of student relation logits against the teacher's side
    (:func:`_teacher_side`; ``... x HW``: the last dimension holds a row)."""
    if kind == 'relation':
        s_logp = F.log_softmax(s_logits.div_(tau), dim=-1)
        return s_logp.mul_(t_side).sum(-1)  # = -cross-entropy
    if kind == 'cosine':
        return F.cosine_similarity(s_logits, t_side, dim=-1)
    return -((s_logits - t_side)**2).mean(-1)


def teacher_relations(teacher: Tensor, kind: str, tau: float) -> Tensor:
    """The teacher's side of the map relations of a batch (N x HW x HW):
    the same for every candidate compared on the batch, so computed once
    (see :class:`Similarity`)."""
    t_rows = _rows(teacher)
    return _teacher_side(t_rows @ t_rows.transpose(1, 2), kind, tau)


# float32 HW-wide buffers alive per relation row: student and teacher
# logits, and the softmax / product temporaries
_BUFFERS_PER_ROW = 4


def rows_per_step(num: int, positions: int, chunk: int,
                  memory_mb: float) -> int:
    """Relation rows of every image computed at once: ``chunk`` at most, and
    no more than ``memory_mb`` of HW x rows buffers for the ``num`` images."""
    per_row = num * positions * 4 * _BUFFERS_PER_ROW
    return max(1, min(chunk, int(memory_mb * 2**20 // per_row)))


def relation_plan(num: int, positions: int, channels: int, chunk: int,
                  memory_mb: float) -> Tuple[int, int]:
    """``(images, rows)`` computed at once so that, for each image, the
    float32 normalised positions of both maps (``channels`` = student's +
    teacher's) and the relation buffers of ``rows`` rows fit in
    ``memory_mb`` together: as many images as fit with all rows (``chunk``
    at most), else one image with the rows that fit (at least one)."""
    cap = memory_mb * 2**20
    copies = positions * channels * 4
    rows = min(chunk, positions)
    images = int(cap // (copies + rows * positions * 4 * _BUFFERS_PER_ROW))
    if images >= 1:
        return min(num, images), rows
    return 1, rows_per_step(1, positions, chunk, max(cap - copies, 0) / 2**20)


def map_similarity(student: Tensor,
                   teacher: Tensor,
                   kind: str = 'relation',
                   tau: float = 0.1,
                   chunk: int = 1024,
                   memory_mb: float = 256.,
                   teacher_side: Optional[Tensor] = None) -> Tensor:
    """Per-image similarity of two batches of maps with equal H, W.

    The relations of a group of images are computed together, by batched
    matrix products over chunks of rows; groups and chunks are bounded by
    ``chunk`` and by ``memory_mb`` (see :func:`relation_plan`).

    Args:
        student (Tensor): N x C' x H x W.
        teacher (Tensor): N x C x H x W.
        kind (str): ``relation``, ``cosine`` or ``mse``.
        tau (float): Softmax temperature of the relations.
        chunk (int): Rows of the HW x HW relation computed at once, at most.
        memory_mb (float): Memory the normalised maps and the relation
            buffers may take, in MB (one image and one row at least).
        teacher_side (Tensor, optional): :func:`teacher_relations` of
            ``teacher`` with the same ``kind`` and ``tau``, when already
            computed (the teacher's rows are then not recomputed).

    Returns:
        Tensor: N scores (higher = more similar).
    """
    if student.shape[0] != teacher.shape[0] or \
            student.shape[2:] != teacher.shape[2:]:
        raise ValueError('student and teacher maps need the same batch and '
                         f'spatial size, got {tuple(student.shape)} and '
                         f'{tuple(teacher.shape)}')
    if chunk < 1:
        raise ValueError(f'chunk={chunk}, allowed >= 1')
    num, positions = student.shape[0], student.shape[2] * student.shape[3]
    images, step = relation_plan(num, positions,
                                 student.shape[1] + teacher.shape[1], chunk,
                                 memory_mb)
    scores = []
    for first in range(0, num, images):
        s_rows = _rows(student[first:first + images])
        if teacher_side is None:
            t_rows = _rows(teacher[first:first + images])
        total = s_rows.new_zeros(len(s_rows))
        for start in range(0, positions, step):
            rows = slice(start, start + step)
            s_logits = s_rows[:, rows] @ s_rows.transpose(1, 2)
            if teacher_side is None:
                t_side = _teacher_side(
                    t_rows[:, rows] @ t_rows.transpose(1, 2), kind, tau)
            else:
                t_side = teacher_side[first:first + images, rows]
            total += _row_score(s_logits, t_side, kind, tau).sum(1)
            # freed before the next chunk's are made, not after
            del s_logits, t_side
        scores.append(total / positions)
    return scores[0] if len(scores) == 1 else torch.cat(scores)


def embedding_similarity(student: Tensor,
                         teacher: Tensor,
                         kind: str = 'relation',
                         tau: float = 0.1) -> Tensor:
    """Similarity of embeddings ``z`` (N x D' and N x D).

    ``relation`` compares the N x N relations across the batch and returns
    one score per sample (its row); ``cosine`` / ``mse`` compare each
    sample's normalised embeddings and need D' == D.
    """
    s, t = F.normalize(
        student.float(), dim=1), F.normalize(
            teacher.float(), dim=1)
    if kind == 'relation':
        return _row_score(s @ s.t(), _teacher_side(t @ t.t(), kind, tau), kind,
                          tau)
    if s.shape != t.shape:
        raise ValueError(f'{kind} similarity needs embeddings of one size, '
                         f'got {tuple(s.shape)} and {tuple(t.shape)}')
    if kind == 'cosine':
        return (s * t).sum(1)
    if kind == 'mse':
        return -((s - t)**2).mean(1)
    raise ValueError(f'similarity={kind!r}: choose one of {SIMILARITIES}')


class Similarity:
    """``(student, teacher) -> per-image scores`` for maps (4-D) or
    embeddings (2-D), see :func:`map_similarity` and
    :func:`embedding_similarity`.

    :meth:`teacher_side` computes the teacher's relations of a batch of maps
    once for all the candidates compared on it, when computing them fits in
    half of ``memory_mb`` (the comparisons then plan with the other half);
    else ``None`` and every comparison recomputes them chunk by chunk.
    """

    def __init__(self,
                 kind: str,
                 tau: float,
                 chunk: int,
                 memory_mb: float = 256.) -> None:
        if kind not in SIMILARITIES:
            raise ValueError(
                f'similarity={kind!r}: choose one of {SIMILARITIES}')
        self.kind, self.tau = kind, tau
        self.chunk, self.memory_mb = chunk, memory_mb

    def teacher_side(self, teacher: Tensor) -> Optional[Tensor]:
        """The teacher's relations of a batch of maps, or ``None`` (an
        embedding, or relations larger than half of ``memory_mb``)."""
        if teacher.dim() != 4:
            return None
        positions = teacher.shape[2] * teacher.shape[3]
        # at its peak: the normalised map, the logits and the result
        size = teacher.shape[0] * positions * (2 * positions +
                                               teacher.shape[1])
        if size * 4 > self.memory_mb * 2**20 / 2:
            return None
        return teacher_relations(teacher, self.kind, self.tau)

    def __call__(self,
                 student: Tensor,
                 teacher: Tensor,
                 teacher_side: Optional[Tensor] = None) -> Tensor:
        if student.dim() == 2:
            return embedding_similarity(student, teacher, self.kind, self.tau)
        memory = self.memory_mb / 2 if teacher_side is not None \
            else self.memory_mb
        return map_similarity(student, teacher, self.kind, self.tau,
                              self.chunk, memory, teacher_side)


def get_similarity(kind: str,
                   tau: float,
                   chunk: int,
                   memory_mb: float = 256.) -> Similarity:
    """The :class:`Similarity` of ``kind``."""
    return Similarity(kind, tau, chunk, memory_mb)
