"""Reading a supernet checkpoint strictly: every path that scores or slices
a supernet (the search, the label metrics, the export) loads its weights
here, and any missing, size-mismatched or unexpected entry is one
:class:`~mmdata.errors.CheckpointError` instead of a silently random layer.
"""
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmdata.errors import CheckpointError, ConfigError
from mmdata.space import ResNetSpace
from mmdata.utils import load_local_checkpoint
from .backbones.dynamic_resnet import DynamicResNet, space_from_tensor

SOURCES = {'student': 'backbone.', 'teacher': 'teacher.backbone.'}


def read_supernet_state(path: str) -> Dict[str, Tensor]:
    """The state dict of an mmdata supernet checkpoint (``module.`` prefixes
    of a wrapped model removed); anything without the supernet's
    ``backbone.space_grid`` is refused."""
    ckpt = load_local_checkpoint(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if isinstance(state, dict):
        state = OrderedDict(
            (k[len('module.'):] if k.startswith('module.') else k, v)
            for k, v in state.items())
    if not isinstance(state, dict) or 'backbone.space_grid' not in state:
        raise CheckpointError(
            f"{path} is not an mmdata supernet checkpoint (no "
            "'backbone.space_grid' entry holding the search space; train "
            'one with tools/train.py and a supernet config)')
    return state


def _first(keys: List[str], num: int = 3) -> str:
    more = f' and {len(keys) - num} more' if len(keys) > num else ''
    return ', '.join(keys[:num]) + more


def check_state(expected: Dict[str, torch.Size],
                state: Dict[str, Tensor],
                path: str,
                what: str) -> None:
    """Refuse ``state`` unless it holds every key of ``expected`` with its
    shape, and nothing else.

    Args:
        expected (dict): Key -> shape the model needs.
        state (dict): The checkpoint's entries.
        path (str): The checkpoint, for the message.
        what (str): What the checkpoint is loaded into, for the message.
    """
    missing = [k for k in expected if k not in state]
    mismatched = [
        f'{k} {tuple(state[k].shape)} vs {tuple(shape)}'
        for k, shape in expected.items()
        if k in state and tuple(state[k].shape) != tuple(shape)
    ]
    unexpected = [k for k in state if k not in expected]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing keys ({_first(missing)})')
    if mismatched:
        problems.append(f'{len(mismatched)} keys of another shape '
                        f'({_first(mismatched)})')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys '
                        f'({_first(unexpected)})')
    if problems:
        raise CheckpointError(
            f"{path} does not fit {what}: {'; '.join(problems)}; pass the "
            'checkpoint of a supernet trained with this config (or the '
            'training config of this checkpoint)')


# what the search computes with: the student and the teacher, each a
# backbone and a neck (queues and predictors are training state)
SEARCHED = ('backbone.', 'neck.', 'teacher.')


def load_supernet(model: nn.Module, path: str) -> None:
    """Load the weights and buffers a search uses (:data:`SEARCHED`: the
    student's and the teacher's backbone and neck) of a supernet algorithm
    from ``path``, strictly (see :func:`check_state`)."""
    state = {k: v for k, v in read_supernet_state(path).items()
             if k.startswith(SEARCHED)}
    expected = {k: v.shape for k, v in model.state_dict().items()
                if k.startswith(SEARCHED)}
    check_state(expected, state, path, f'the {type(model).__name__} of the '
                'config')
    model.load_state_dict(state, strict=False)


def load_supernet_backbone(
        path: str,
        source: str = 'student') -> Tuple[Dict[str, Tensor], ResNetSpace]:
    """The supernet backbone state dict (keys without prefix) and its space,
    checked complete: every weight of the space's max arch with its shape.

    Args:
        path (str): Checkpoint written by an mmdata supernet algorithm.
        source (str): ``'student'`` (the supernet) or ``'teacher'`` (its
            EMA, max arch).
    """
    if source not in SOURCES:
        raise ConfigError(
            f'source={source!r}: choose one of {sorted(SOURCES)}')
    state = read_supernet_state(path)
    prefix = SOURCES[source]
    if f'{prefix}space_grid' not in state:
        raise CheckpointError(
            f'{path} holds no {source} supernet (no {prefix}space_grid '
            'entry)')
    space = space_from_tensor(state[f'{prefix}space_grid'])
    backbone = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                           if k.startswith(prefix))
    stem = backbone.get('conv1.weight')
    in_channels = stem.shape[1] if stem is not None and stem.dim() == 4 \
        else 3
    with torch.device('meta'):
        reference = DynamicResNet(space=space, in_channels=in_channels)
    expected = {k: v.shape for k, v in reference.state_dict().items()}
    check_state(expected, backbone, path, f'the {source} backbone of its '
                'space')
    return backbone, space
