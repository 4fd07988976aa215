"""What a search scores and how: the options of ``SearchLoop``, checked."""
from dataclasses import dataclass, field, fields
from typing import List, Optional, Sequence, Union

from mmdata.errors import ConfigError
from .budgets import check_metric, parse_budgets, parse_constraints
from .proxies import check_proxies
from .rankers import check_rankers
from .similarity import SIMILARITIES
from .taps import TAP_NAMES, resolve_taps

EVOLUTION = dict(population=20, generations=4, parents=5, mutation_prob=0.3)


@dataclass
class SearchSettings:
    """The search's options (``train_cfg`` of a search config).

    Args:
        budgets (list, optional): ``(lo, hi)`` ranges (or dicts with
            ``name``, ``lo``, ``hi``) of ``metric``, in FLOPs, params or
            milliseconds. Defaults to the paper's 1-8 GFLOPs bins, 1 G wide.
        metric (str): ``'flops'``, ``'params'`` or ``'latency'`` (predicted
            by ``latency_table``).
        input_size (int | tuple): Input size the FLOPs are counted at (224).
        latency_table (str, optional): A table written by
            ``tools/analysis/measure_latency.py`` for this space and input
            size; every candidate then carries its predicted ``latency`` (ms).
        latency_setting (dict, optional): What the table must have been
            measured with (``device``, e.g. ``'cpu'`` or the GPU's name as
            the table's header writes it, ``batch_size``, ``threads``): a
            table measured otherwise is refused.
        constraints (dict, optional): ``flops``, ``params`` and/or
            ``latency`` limits, each ``(lo, hi)`` or an upper bound ``hi``
            (exclusive), that every candidate must meet besides its bin.
            Candidates are drawn uniformly among the archs meeting all.
        num_candidates (int): Candidates per bin (random strategy), unique
            and uniform inside the bin. Defaults to 100.
        tap (str | list): ``cls`` (z), ``det_c4`` (C5), ``det_fpn``
            (C2-C5), ``seg`` (C4-C5) or a list of stages / ``'z'``.
        similarity (str): ``relation`` (Eq. 4-5), ``cosine`` or ``mse``.
        temperature (float): Temperature of the relations.
        chunk_size (int): Relation rows of each image computed at once, at
            most.
        relation_memory_mb (float): Memory the relations of one batch may
            take (MB): all images of a batch are compared together, in
            chunks of rows small enough for this cap.
        calib_batches (int): Target batches used to recalibrate BN.
        score_batches (int, optional): Target batches the features are
            compared on; ``None``: every image not used for calibration
            (whole batches).
        max_positions (int, optional): Positions a feature map keeps for
            its relations: larger maps (C2 at detection sizes) are
            average-pooled to at most this many (aspect ratio kept).
            Defaults to 56 x 56, the paper's C2 at 224 px; ``None`` keeps
            all.
        candidates_per_pass (int): Candidates scored per pass over the
            target images (their static copies are alive together).
            Results do not depend on it.
        calibrate_teacher (bool): Recalibrate the teacher's BN as well.
        source (str): Candidates from the ``'student'`` supernet (default)
            or the ``'teacher'`` EMA weights.
        proxies (list[str]): Label-free baselines stored next to the score
            of every candidate (``'naswot'``, ``'synflow'``, see
            :mod:`mmdata.search.proxies`), for ranking studies. FLOPs and
            params are always stored. Defaults to none.
        rankers (list[str]): Label-free rankers beyond the paper's score
            (``KIND-TAP``, e.g. ``'cka-C5pool'``, ``'rankme-C5pool'``, see
            :mod:`mmdata.search.rankers`), stored per candidate like the
            proxies. Defaults to none.
        strategy (str): ``'random'`` or ``'evolution'``.
        evolution (dict): ``population`` (per bin), ``generations``,
            ``parents``, ``mutation_prob`` (defaults: :data:`EVOLUTION`).
        seed (int): Seed of the target images and the candidates.
    """
    budgets: Optional[Sequence] = None
    metric: str = 'flops'
    input_size: Union[int, Sequence[int]] = 224
    latency_table: Optional[str] = None
    latency_setting: Optional[dict] = None
    constraints: Optional[dict] = None
    num_candidates: int = 100
    tap: Union[str, Sequence] = 'cls'
    similarity: str = 'relation'
    temperature: float = 0.1
    chunk_size: int = 1024
    relation_memory_mb: float = 256.
    calib_batches: int = 10
    score_batches: Optional[int] = 4
    max_positions: Optional[int] = 56 * 56
    candidates_per_pass: int = 8
    calibrate_teacher: bool = True
    source: str = 'student'
    proxies: Sequence[str] = ()
    rankers: Sequence[str] = ()
    strategy: str = 'random'
    evolution: Optional[dict] = None
    seed: int = 0
    # derived: the bins as dicts, the constraints as ranges, the taps
    bins: List[dict] = field(init=False)
    taps: list = field(init=False)

    @classmethod
    def from_options(cls, **options) -> 'SearchSettings':
        """Like the constructor, but an unknown option is a
        :class:`ConfigError` naming the allowed ones."""
        allowed = [f.name for f in fields(cls) if f.init]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ConfigError(f'unknown SearchLoop option(s) {unknown}: '
                              f'allowed are out_dir, overwrite, {allowed}')
        return cls(**options)

    def __post_init__(self) -> None:
        check_metric(self.metric)
        for name, value, allowed in (('similarity', self.similarity,
                                      SIMILARITIES),
                                     ('strategy', self.strategy,
                                      ('random', 'evolution')),
                                     ('source', self.source, ('student',
                                                              'teacher'))):
            if value not in allowed:
                raise ConfigError(f'{name}={value!r}: choose one of '
                                  f'{tuple(allowed)}')
        for name in ('calib_batches', 'score_batches', 'max_positions',
                     'candidates_per_pass', 'num_candidates'):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f'{name}={value}, allowed >= 1')
        if not (isinstance(self.temperature, (int, float))
                and 0 < self.temperature < float('inf')):
            raise ConfigError(f'temperature={self.temperature!r}, allowed: '
                              'a finite number > 0')
        if self.chunk_size < 1:
            raise ConfigError(f'chunk_size={self.chunk_size}, allowed >= 1')
        if not 0 < self.relation_memory_mb < float('inf'):
            raise ConfigError(f'relation_memory_mb={self.relation_memory_mb}'
                              ', allowed: a finite number > 0')
        unknown = sorted(set(self.evolution or {}) - set(EVOLUTION))
        if unknown:
            raise ConfigError(f'evolution keys {unknown}: allowed are '
                              f'{sorted(EVOLUTION)}')
        self.evolution = {**EVOLUTION, **(self.evolution or {})}
        for key in ('population', 'generations', 'parents'):
            if self.evolution[key] < 1:
                raise ConfigError(f'evolution.{key}={self.evolution[key]}, '
                                  'allowed >= 1')
        if not 0 <= self.evolution['mutation_prob'] <= 1:
            raise ConfigError('evolution.mutation_prob='
                              f"{self.evolution['mutation_prob']}, allowed: "
                              '0 to 1')
        self.bins = parse_budgets(self.budgets, self.metric, self.input_size)
        self.constraints = parse_constraints(self.constraints)
        self.taps = resolve_taps(self.tap)
        self.proxies = check_proxies(self.proxies)
        self.rankers = check_rankers(self.rankers)

    def identity(self) -> dict:
        """The settings the scores depend on (``candidates_per_pass`` and
        ``chunk_size``, ``relation_memory_mb`` change speed and memory
        only)."""
        keys = ('calib_batches', 'score_batches', 'max_positions', 'metric',
                'input_size', 'constraints', 'similarity', 'temperature',
                'calibrate_teacher', 'proxies', 'strategy', 'seed', 'source')
        identity = {key: getattr(self, key) for key in keys}
        identity.update(
            budgets=self.bins,
            taps=[TAP_NAMES[t] for t in self.taps],
            evolution=self.evolution if self.strategy == 'evolution' else None)
        if self.rankers:  # absent when none: older searches stay valid
            identity['rankers'] = self.rankers
        return identity
