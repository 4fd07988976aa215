"""Read supernet weights out of an mmdata training checkpoint."""
from collections import OrderedDict
from typing import Dict, Tuple

from torch import Tensor

from mmdata.errors import CheckpointError, ConfigError
from mmdata.models.backbones.dynamic_resnet import space_from_tensor
from mmdata.space import ResNetSpace
from mmdata.utils import load_local_checkpoint

SOURCES = {'student': 'backbone.', 'teacher': 'teacher.backbone.'}


def load_supernet_backbone(
        path: str,
        source: str = 'student') -> Tuple[Dict[str, Tensor], ResNetSpace]:
    """The supernet backbone state dict (keys without prefix) and its space.

    Args:
        path (str): Checkpoint written by an mmdata supernet algorithm.
        source (str): ``'student'`` (the supernet) or ``'teacher'`` (its
            EMA, max arch).
    """
    if source not in SOURCES:
        raise ConfigError(f'source={source!r}: choose one of {sorted(SOURCES)}')
    ckpt = load_local_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    prefix = SOURCES[source]
    grid = f'{prefix}space_grid'
    if not isinstance(state, dict) or grid not in state:
        raise CheckpointError(
            f'{path} is not an mmdata supernet checkpoint (no {grid!r} '
            'entry holding the search space)')
    space = space_from_tensor(state[grid])
    backbone = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                           if k.startswith(prefix))
    return backbone, space
