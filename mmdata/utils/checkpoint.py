"""Loading of local mmengine checkpoints under torch >= 2.6.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. Since torch 2.6
that defaults to ``True`` and fails on mmengine's own checkpoints, whose
``message_hub`` and ``meta`` hold numpy arrays and :class:`HistoryBuffer`
objects, so ``Runner(resume=True)`` breaks. We keep ``weights_only=True`` and
allow exactly those types (and ``getattr`` only for the HistoryBuffer
statistics methods that pickles reference), for local files only; remote URLs
keep torch's defaults.
"""
import os.path as osp
import pickle
import re
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmdata.errors import CheckpointError, one_line

_EXTRA_SAFE_GLOBALS: List[Any] = []


def _numpy_globals() -> List[Any]:
    """Numpy objects that appear when arrays and scalars are pickled."""
    multiarray = np.core.multiarray
    dtype_classes = [
        type(np.dtype(t)) for t in np.typecodes['All'] if t not in 'Mm'
    ]
    return [
        multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
        *dtype_classes, np.dtypes.DateTime64DType, np.dtypes.TimeDelta64DType
    ]


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to what pickled HistoryBuffers reference: their
    statistics methods (``getattr(HistoryBuffer, 'mean')``)."""
    methods = {'min', 'max', 'current', 'mean'}
    methods.update(HistoryBuffer._statistics_methods)  # registered ones
    if obj is HistoryBuffer and name in methods:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def checkpoint_safe_globals() -> List[Any]:
    """Types allowed when unpickling a local checkpoint."""
    return [
        *_numpy_globals(), HistoryBuffer,
        (_history_buffer_getattr, 'builtins.getattr'), *_EXTRA_SAFE_GLOBALS
    ]


def allow_checkpoint_globals(*objs: Union[type, Callable]) -> None:
    """Allow more types in local checkpoints (e.g. custom objects in meta).

    Args:
        *objs: Classes or functions that checkpoints may reference.
    """
    _EXTRA_SAFE_GLOBALS.extend(objs)


def check_checkpoint_file(path: str) -> None:
    """Refuse a checkpoint path that does not exist or is a directory."""
    if not osp.isfile(path):
        raise CheckpointError(f'checkpoint {path} ' + (
            'is a directory' if osp.isdir(path) else 'does not exist'))


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and mmengine types.

    Args:
        filename (str): Path of the checkpoint file.
        map_location: Same as :func:`torch.load`.
    """
    filename = osp.expanduser(filename)
    check_checkpoint_file(filename)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except Exception as err:
        refused = re.search(r'Unsupported global: GLOBAL ([\w.]+)', str(err))
        if refused:
            raise CheckpointError(
                f'{filename} references {refused.group(1)}, which is not '
                'allowed when loading a checkpoint safely; if you trust this '
                'file, allow it with mmdata.utils.allow_checkpoint_globals('
                '...) before loading') from err
        detail = re.search(r'WeightsUnpickler error:\s*(.+?)\n', str(err))
        reason = one_line(
            detail.group(1) if detail else f'{type(err).__name__}: {err}'
        )[:120]
        raise CheckpointError(
            f'{filename} is not a readable PyTorch checkpoint ({reason}); it '
            'may be truncated or not a checkpoint: save or copy it '
            'again') from err


def register_local_checkpoint_loader() -> None:
    """Make mmengine load local files through :func:`load_local_checkpoint`."""
    CheckpointLoader.register_scheme(
        prefixes='', force=True)(
            load_local_checkpoint)
