"""Reading a supernet checkpoint strictly: every path that scores or slices
a supernet (the search, the label metrics, the export) loads its weights
here, and any missing, size-mismatched or unexpected entry is one
:class:`~mmdata.errors.CheckpointError` instead of a silently random layer.
"""
import hashlib
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

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
    return _supernet_state(
        load_local_checkpoint(path, map_location='cpu'), path)


def _supernet_state(ckpt, path: str) -> Dict[str, Tensor]:
    """:func:`read_supernet_state` of a loaded checkpoint."""
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


def supernet_weights_sha256(path: str) -> str:
    """SHA-256 of a supernet checkpoint's weights and buffers (names, dtypes,
    shapes and values in name order), blind to the run's metadata (time,
    message hub, optimizer): two trainings that give the same weights give
    the same hash, so results measured on one stand for the other."""
    digest = hashlib.sha256()
    state = read_supernet_state(path)
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f'{name}|{tensor.dtype}|{list(tensor.shape)}|'.encode())
        if tensor.numel():
            digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _first(keys: List[str], num: int = 3) -> str:
    more = f' and {len(keys) - num} more' if len(keys) > num else ''
    return ', '.join(keys[:num]) + more


def check_state(expected: Dict[str, torch.Size], state: Dict[str, Tensor],
                path: str, what: str) -> None:
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
    state = {
        k: v
        for k, v in read_supernet_state(path).items() if k.startswith(SEARCHED)
    }
    expected = {
        k: v.shape
        for k, v in model.state_dict().items() if k.startswith(SEARCHED)
    }
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
    backbone = OrderedDict(
        (k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    stem = backbone.get('conv1.weight')
    in_channels = stem.shape[1] if stem is not None and stem.dim() == 4 \
        else 3
    with torch.device('meta'):
        reference = DynamicResNet(space=space, in_channels=in_channels)
    expected = {k: v.shape for k, v in reference.state_dict().items()}
    check_state(expected, backbone, path, f'the {source} backbone of its '
                'space')
    return backbone, space


def recorded_model_config(path: str) -> dict:
    """The ``model`` of the training config an MMEngine checkpoint recorded
    (``meta.cfg``, written by the Runner): the supernet algorithm of any
    method (MoCo v2, BYOL, ReSSL, DenseCL), its space and its teacher."""
    from mmengine.config import Config
    ckpt = load_local_checkpoint(path, map_location='cpu')
    _supernet_state(ckpt, path)  # a supernet's at all?
    meta = ckpt.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    model = None
    if isinstance(text, str) and text.strip():
        try:
            model = Config.fromstring(text, '.py').get('model')
        except Exception:  # a recorded text that does not parse
            model = None
    if not isinstance(model, dict) or 'type' not in model:
        raise CheckpointError(
            f'{path} records no model config (an older or foreign '
            'checkpoint): pass the training config of this supernet with '
            '--train-config TRAIN_CONFIG')
    return model.to_dict() if hasattr(model, 'to_dict') else dict(model)


def search_model_config(cfg,
                        checkpoint: Optional[str],
                        train_config: Optional[str] = None) -> None:
    """Give a search config the supernet it searches, in place.

    A search config describes the search only (target images, tap,
    budgets); the model is the checkpoint's: the ``model`` its training
    config recorded, or the ``model`` of ``train_config`` when given (for
    checkpoints that record none). A ``model`` in the search config without
    a ``type`` (e.g. ``--cfg-options model.queue_len=64``) updates it; a
    search config with a whole ``model`` (an older config that inherits the
    training config) is kept as it is.
    """
    from mmengine.config import Config
    own = cfg.get('model')
    if own is not None and 'type' in own and train_config is None:
        return
    if not checkpoint and train_config is None:
        raise ConfigError(
            'a search needs the supernet checkpoint to search: run '
            'tools/search.py CONFIG CHECKPOINT (or set load_from=PATH, '
            f'resume=False; got load_from={checkpoint!r})')
    if train_config is not None:
        from mmdata.utils import load_config
        model = load_config(train_config).get('model')
        if model is None:
            raise ConfigError(f'{train_config} has no model (pass the '
                              "supernet's training config)")
        model = model.to_dict()
    else:
        model = recorded_model_config(checkpoint)
    merged = Config(dict(model=model))
    if own is not None and 'type' not in own:  # MMEngine's merge, _delete_
        merged.merge_from_dict(dict(model=own.to_dict()))
    cfg.model = merged.model
