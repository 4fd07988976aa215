"""Omega, the student archs trained each iteration (paper §3.2, Alg. 1)."""
import random
from typing import List, Tuple, Union

from mmengine.dist import broadcast_object_list, get_dist_info

from mmdata.errors import ConfigError
from mmdata.space import Arch, ResNetSpace

OMEGA_PRESETS = {
    # paper §3.2: the max arch and two random ones
    'paper': dict(fixed=('max', ), num_random=2),
    # official code: max, min and one random arch
    'sandwich': dict(fixed=('max', 'min'), num_random=1),
}


def parse_omega(omega: Union[str, dict],
                space: ResNetSpace) -> Tuple[List[Tuple[str, Arch]], int]:
    """The fixed ``(name, arch)`` students and the number of random ones of
    ``omega``: a preset of :data:`OMEGA_PRESETS` or ``dict(fixed=(...),
    num_random=N)`` with ``'max'``, ``'min'`` or archs of ``space``."""
    if isinstance(omega, str):
        if omega not in OMEGA_PRESETS:
            raise ConfigError(f'omega={omega!r}: choose one of '
                              f'{sorted(OMEGA_PRESETS)} or a dict')
        omega = OMEGA_PRESETS[omega]
    unknown = set(omega) - {'fixed', 'num_random'}
    if unknown:
        raise ConfigError(f'omega has unknown keys {sorted(unknown)}; '
                          "allowed: 'fixed', 'num_random'")
    fixed = []
    for name in omega.get('fixed', ()):
        if name == 'max':
            fixed.append(('max', space.max_arch))
        elif name == 'min':
            fixed.append(('min', space.min_arch))
        else:
            arch = Arch.from_any(name)
            try:
                space.validate(arch)
            except ValueError as err:
                raise ConfigError(f'omega names an arch outside the '
                                  f'supernet space: {err}') from None
            fixed.append((f'fixed{len(fixed) + 1}', arch))
    num_random = int(omega.get('num_random', 0))
    if num_random < 0 or not fixed and num_random == 0:
        raise ConfigError(f'omega {omega} holds no student arch')
    return fixed, num_random


def sample_omega(space: ResNetSpace, fixed: List[Tuple[str,
                                                       Arch]], num_random: int,
                 seed: int, step: int) -> List[Tuple[str, Arch]]:
    """The ``(name, arch)`` students of iteration ``step``, equal on all
    ranks: the fixed ones and ``num_random`` archs drawn from
    ``Random(seed, step)`` on rank 0 and broadcast (a resumed run draws
    what an uninterrupted one would)."""
    rng = random.Random(f'{seed}-{step}')
    drawn = [(f'rand{i + 1}', space.sample(rng)) for i in range(num_random)]
    if get_dist_info()[1] > 1:
        box = [drawn]
        broadcast_object_list(box, src=0)
        drawn = box[0]
    return list(fixed) + drawn
