"""`ResNetSpace`: the grid of stem/stage widths and stage depths (Table 1)."""
import itertools
import random
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmdata.errors import ConfigError
from .arch import Arch
from .cost import Size, arch_cost, stage_cost, stem_cost

Range = Tuple[int, int, int]  # (low, high, step), both ends included
RngLike = Union[None, int, random.Random]

# Paper Table 1.
TABLE1_STEM: Range = (32, 64, 16)
TABLE1_WIDTHS: Tuple[Range, ...] = ((48, 80, 16), (96, 160, 32),
                                    (192, 320, 64), (384, 640, 128))
TABLE1_DEPTHS: Tuple[Range,
                     ...] = ((2, 4, 1), (2, 6, 2), (5, 29, 2), (2, 4, 1))


def _choices(name: str, rng: Sequence[int]) -> Tuple[int, ...]:
    if len(rng) != 3:
        raise ConfigError(f'{name} must be (low, high, step), got {rng!r}')
    low, high, step = (int(v) for v in rng)
    if low < 1 or step < 1 or high < low or (high - low) % step:
        raise ConfigError(
            f'{name}=({low}, {high}, {step}) is not a valid grid: need '
            '1 <= low <= high and (high - low) divisible by step >= 1')
    return tuple(range(low, high + 1, step))


def _as_rng(rng: RngLike) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


class ResNetSpace:
    """Search space of the bottleneck-ResNet supernet.

    Each field is a ``(low, high, step)`` grid, both ends included. The
    defaults are paper Table 1; pass other grids for small spaces.

    Args:
        stem (tuple): Grid of the stem width.
        widths (Sequence[tuple]): Grids of the 4 stage widths.
        depths (Sequence[tuple]): Grids of the 4 stage depths.
    """

    def __init__(self,
                 stem: Sequence[int] = TABLE1_STEM,
                 widths: Sequence[Sequence[int]] = TABLE1_WIDTHS,
                 depths: Sequence[Sequence[int]] = TABLE1_DEPTHS) -> None:
        if len(widths) != 4 or len(depths) != 4:
            raise ConfigError('widths and depths need one grid per stage (4), '
                              f'got {len(widths)} and {len(depths)}')
        self.stem = tuple(int(v) for v in stem)
        self.widths = tuple(tuple(int(v) for v in w) for w in widths)
        self.depths = tuple(tuple(int(v) for v in d) for d in depths)
        self.stem_choices = _choices('stem', self.stem)
        self.width_choices = tuple(
            _choices(f'widths[{i}]', w) for i, w in enumerate(self.widths))
        self.depth_choices = tuple(
            _choices(f'depths[{i}]', d) for i, d in enumerate(self.depths))

    # ----------------------------------------------------------- description
    def to_dict(self) -> Dict[str, list]:
        return dict(
            stem=list(self.stem),
            widths=[list(w) for w in self.widths],
            depths=[list(d) for d in self.depths])

    @classmethod
    def from_dict(cls, cfg: Dict[str, Sequence]) -> 'ResNetSpace':
        return cls(**cfg)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResNetSpace) and \
            self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.stem, self.widths, self.depths))

    def __repr__(self) -> str:
        return (f'ResNetSpace(stem={self.stem}, widths={self.widths}, '
                f'depths={self.depths})')

    @property
    def max_arch(self) -> Arch:
        return Arch(self.stem_choices[-1], [c[-1] for c in self.width_choices],
                    [c[-1] for c in self.depth_choices])

    @property
    def min_arch(self) -> Arch:
        return Arch(self.stem_choices[0], [c[0] for c in self.width_choices],
                    [c[0] for c in self.depth_choices])

    def size(self) -> int:
        """Number of distinct archs in the space."""
        n = len(self.stem_choices)
        for c in self.width_choices + self.depth_choices:
            n *= len(c)
        return n

    def validate(self, arch: Arch) -> Arch:
        """Return ``arch`` if it lies on the grid, else raise ValueError
        naming the field, the value and the allowed grid."""
        arch = Arch.from_any(arch)
        checks = [('stem', arch.stem, self.stem_choices, self.stem)]
        checks += [(f'widths[{i}] (stage {i + 1})', v, c, g) for i, (
            v, c,
            g) in enumerate(zip(arch.widths, self.width_choices, self.widths))]
        checks += [(f'depths[{i}] (stage {i + 1})', v, c, g) for i, (
            v, c,
            g) in enumerate(zip(arch.depths, self.depth_choices, self.depths))]
        for name, value, choices, grid in checks:
            if value not in choices:
                raise ConfigError(
                    f'arch {arch}: {name}={value} is outside the space; '
                    f'allowed {grid[0]}..{grid[1]} step {grid[2]}: '
                    f'{list(choices)}')
        return arch

    def __contains__(self, arch: Arch) -> bool:
        try:
            self.validate(arch)
        except ValueError:
            return False
        return True

    # -------------------------------------------------------------- sampling
    def sample(self,
               rng: RngLike = None,
               flops: Optional[Tuple[float, float]] = None,
               params: Optional[Tuple[float, float]] = None,
               input_size: Size = 224,
               head: Optional[dict] = None) -> Arch:
        """Draw one arch uniformly, optionally among those whose cost lies in
        ``[lo, hi)`` of FLOPs and/or params.

        Args:
            rng (random.Random | int | None): Random generator or seed.
            flops (tuple, optional): ``(lo, hi)`` FLOPs range.
            params (tuple, optional): ``(lo, hi)`` params range.
            input_size (int | tuple): Input size the FLOPs are counted at.
            head (dict, optional): Head included in the cost, see
                :func:`mmdata.space.head_cost`.
        """
        return self.sample_many(rng, 1, flops, params, input_size, head)[0]

    def sample_many(self,
                    rng: RngLike,
                    num: int,
                    flops: Optional[Tuple[float, float]] = None,
                    params: Optional[Tuple[float, float]] = None,
                    input_size: Size = 224,
                    head: Optional[dict] = None,
                    unique: bool = False) -> List[Arch]:
        """Draw ``num`` archs uniformly inside the cost range (see
        :meth:`sample`); ``unique=True`` draws without replacement and
        raises if the range holds fewer than ``num`` archs."""
        rng = _as_rng(rng)
        if flops is None and params is None:
            if unique and num > self.size():
                raise ConfigError(f'cannot draw {num} unique archs from a '
                                  f'space of {self.size()}')
            drawn: List[Arch] = []
            seen = set()
            while len(drawn) < num:  # terminates: num <= size when unique
                arch = self._uniform(rng)
                if unique and arch in seen:
                    continue
                seen.add(arch)
                drawn.append(arch)
            return drawn
        index = self.indices_in_range(flops, params, input_size, head)
        if len(index) == 0 or (unique and len(index) < num):
            raise ConfigError(
                f'{self!r} holds {len(index)} archs with flops in {flops} '
                f'and params in {params} at input size {input_size}; '
                f'{num} requested{" unique" if unique else ""}. Widen the '
                'range or change the space.')
        picks = rng.sample(range(len(index)), num) if unique else [
            rng.randrange(len(index)) for _ in range(num)
        ]
        return [self.arch_at(int(index[i])) for i in picks]

    def _uniform(self, rng: random.Random) -> Arch:
        return Arch(
            rng.choice(self.stem_choices),
            [rng.choice(c) for c in self.width_choices],
            [rng.choice(c) for c in self.depth_choices])

    # ----------------------------------------------------------- enumeration
    def _width_combos(self) -> List[Tuple[int, ...]]:
        return list(itertools.product(self.stem_choices, *self.width_choices))

    def _depth_combos(self) -> List[Tuple[int, ...]]:
        return list(itertools.product(*self.depth_choices))

    def arch_at(self, index: int) -> Arch:
        """The arch at a flat index of :meth:`costs` (width-major)."""
        depth_combos = self._depth_combos()
        w, d = divmod(index, len(depth_combos))
        widths = self._width_combos()[w]
        return Arch(widths[0], widths[1:], depth_combos[d])

    def costs(self,
              input_size: Size = 224,
              head: Optional[dict] = None) -> Tuple[np.ndarray, np.ndarray]:
        """FLOPs and params of every arch, as flat int64 arrays indexed like
        :meth:`arch_at`. Exact (same numbers as :func:`arch_cost`)."""
        size = input_size if isinstance(input_size, int) else tuple(input_size)
        key = (size, None if head is None else tuple(sorted(head.items())))
        return _enumerate_costs(self, *key)

    def indices_in_range(self,
                         flops: Optional[Tuple[float, float]] = None,
                         params: Optional[Tuple[float, float]] = None,
                         input_size: Size = 224,
                         head: Optional[dict] = None) -> np.ndarray:
        """Flat indices of the archs whose cost lies in ``[lo, hi)``."""
        all_flops, all_params = self.costs(input_size, head)
        mask = np.ones(len(all_flops), dtype=bool)
        for name, values, bounds in (('flops', all_flops, flops),
                                     ('params', all_params, params)):
            if bounds is None:
                continue
            lo, hi = bounds
            if lo >= hi:
                raise ConfigError(f'{name} range {bounds} is empty: need lo < '
                                  'hi')
            mask &= (values >= lo) & (values < hi)
        return np.flatnonzero(mask)

    def cost(self,
             arch: Arch,
             input_size: Size = 224,
             head: Optional[dict] = None):
        """Cost of one arch of this space (validated)."""
        return arch_cost(self.validate(arch), input_size, head=head)


@lru_cache(maxsize=32)
def _enumerate_costs(space: ResNetSpace, input_size,
                     head) -> Tuple[np.ndarray, np.ndarray]:
    """Costs of all archs, via the per-stage decomposition: a stage costs its
    first block plus (depth - 1) further blocks."""
    head_cfg = None if head is None else dict(head)
    depth_combos = np.array(space._depth_combos(), dtype=np.int64) - 1
    flops_rows, params_rows = [], []
    for combo in space._width_combos():
        arch = Arch(combo[0], combo[1:], [1, 1, 1, 1])
        base = arch_cost(arch, input_size, head=head_cfg)  # all depths = 1
        per_block_flops, per_block_params = [], []
        cin, hw = combo[0], stem_cost(combo[0], input_size)[1]
        for stage, (width, stride) in enumerate(zip(combo[1:], (1, 2, 2, 2))):
            sc = stage_cost(cin, width, hw, stride)
            per_block_flops.append(sc.other.flops)
            per_block_params.append(sc.other.params)
            cin, hw = 4 * width, sc.hw_out
        flops_rows.append(base.flops +
                          depth_combos @ np.array(per_block_flops, np.int64))
        params_rows.append(base.params +
                           depth_combos @ np.array(per_block_params, np.int64))
    return np.concatenate(flops_rows), np.concatenate(params_rows)
