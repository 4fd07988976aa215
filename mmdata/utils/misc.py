"""What the tools share: loading a config, checking its data before the
Runner makes its work dir, and running the Runner so that a user's mistake
leaves no files behind."""
import inspect
import os
import os.path as osp
import re
from contextlib import contextmanager
from typing import Iterator

from mmengine.config import Config, ConfigDict

from mmdata.errors import ConfigError, DataError
from .dist import prepare_cpu_distributed
from .files import undo_on_user_error

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def load_config(path: str) -> Config:
    """``Config.fromfile`` with a one-line error for a missing file or one
    that is not a config."""
    if not osp.isfile(path):
        raise ConfigError(
            f'config {path} ' +
            ('is a directory' if osp.isdir(path) else 'does not exist') +
            ' (pass the path of a config file, e.g. configs/tiny/...)')
    if not path.endswith(CONFIG_SUFFIXES):
        raise ConfigError(
            f'{path} is not a config file (allowed: {CONFIG_SUFFIXES}); a '
            'checkpoint goes after the config: TOOL CONFIG CHECKPOINT')
    return Config.fromfile(path)


def check_work_dir(work_dir: str) -> None:
    """Refuse a work dir that is a file or lies under a file."""
    path = osp.abspath(work_dir)
    while path:
        if osp.exists(path):
            if not osp.isdir(path):
                raise ConfigError(
                    f'work dir {work_dir}: {path} is a file, not a folder '
                    '(pass another --work-dir)')
            return
        parent = osp.dirname(path)
        path = '' if parent == path else parent


def _dataset_cfgs(cfg) -> Iterator[dict]:
    """Dataset configs, unwrapping Concat/Repeat/ClassBalanced wrappers."""
    if not isinstance(cfg, (dict, ConfigDict)):
        return
    yield cfg
    if 'dataset' in cfg:
        yield from _dataset_cfgs(cfg['dataset'])
    for sub in cfg.get('datasets', []) or []:
        yield from _dataset_cfgs(sub)


def _local(path) -> bool:
    return bool(path) and '://' not in str(path)


def _required_files(dataset: dict, scope: str = None) -> list:
    """Files a dataset type reads from its root: MNIST-style datasets list
    them in ``train_list``/``test_list`` (their extracted names). A type
    without a scope prefix is looked up in ``scope`` (the config's
    ``default_scope``)."""
    from mmengine.registry import DATASETS
    name = str(dataset.get('type', ''))
    if scope and '.' not in name:
        name = f'{scope}.{name}'
    try:
        cls = DATASETS.get(name)
    except Exception:  # an unknown scope: the Runner reports it
        return []
    names = [
        name for name, _ in getattr(cls, 'train_list', []) +
        getattr(cls, 'test_list', [])
    ]
    return [name[:-3] if name.endswith('.gz') else name for name in names]


def check_data(cfg: Config) -> None:
    """Raise :class:`DataError` naming the first local data path of the
    config's dataloaders that is missing or empty: ``data_root``, the
    ``ann_file``, the ``data_prefix`` folders and the files a known dataset
    type needs."""
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not loader:
            continue
        for dataset in _dataset_cfgs(loader.get('dataset')):
            fix = f'--cfg-options {name}.dataset.data_root=PATH'
            root = dataset.get('data_root')
            if _local(root):
                if osp.isfile(str(root)):
                    raise DataError(f'{name}: data root {root} is a file, '
                                    f'not a folder (set it with {fix})')
                if not osp.isdir(str(root)):
                    raise DataError(f'{name}: data root {root} does not '
                                    f'exist (set it with {fix})')
                if not os.listdir(str(root)):
                    raise DataError(f'{name}: data root {root} is empty (put '
                                    f'the dataset there or set {fix})')
            base = str(root) if _local(root) else ''
            ann = dataset.get('ann_file')
            if _local(ann) and not osp.isfile(osp.join(base, str(ann))):
                raise DataError(f'{name}: annotation file '
                                f'{osp.join(base, str(ann))} does not exist')
            prefix = dataset.get('data_prefix') or {}
            folders = prefix.values() if isinstance(prefix, dict) else [prefix]
            for folder in folders:
                path = osp.join(base, str(folder))
                if _local(folder) and not osp.exists(path):
                    raise DataError(f'{name}: data folder {path} does not '
                                    'exist')
            missing = [
                f for f in _required_files(dataset, cfg.get('default_scope'))
                if _local(root) and not osp.isfile(osp.join(str(root), f))
            ]
            if missing:
                raise DataError(
                    f"{name}: {dataset.get('type')} needs {missing} in "
                    f'{root} (for Fashion-MNIST run tools/misc/'
                    'prepare_fashion_mnist.py)')


def run_runner(cfg: Config, method: str = 'train') -> None:
    """Check the data, build the Runner from ``cfg`` and call ``method``;
    a :class:`UserError` (raised before the first iteration) undoes what the
    run wrote to ``cfg.work_dir``."""
    from mmengine.runner import Runner
    check_work_dir(cfg.work_dir)
    check_data(cfg)
    prepare_cpu_distributed(cfg)
    with undo_on_user_error(cfg.work_dir), config_mistakes():
        getattr(Runner.from_cfg(cfg), method)()


_UNKNOWN_ARG = re.compile(
    r"^(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'$")
_UNKNOWN_TYPE = re.compile(r'^(\S+) is not in the (\S+) registry')


@contextmanager
def config_mistakes() -> Iterator[None]:
    """Turn MMEngine's errors about a config's own mistakes into one-line
    :class:`ConfigError` s: a misspelled ``type`` (the registry's
    ``KeyError``) and an unknown argument of a registered class built from
    the config (its constructor's ``TypeError``), naming the allowed ones."""
    try:
        yield
    except TypeError as err:
        match = _UNKNOWN_ARG.match(str(err))
        cls = _registered_class(match.group(1)) if match else None
        if cls is None:
            raise
        allowed = [
            p for p in inspect.signature(cls).parameters
            if p not in ('self', 'runner', 'dataloader', 'args', 'kwargs')
        ]
        raise ConfigError(
            f'{match.group(1)} has no argument {match.group(2)!r} (a typo in '
            f'the config or --cfg-options?); allowed: {allowed}') from err
    except KeyError as err:
        match = _UNKNOWN_TYPE.match(str(err.args[0]) if err.args else '')
        if match is None:
            raise
        raise ConfigError(
            f'unknown type {match.group(1)!r} (not in the {match.group(2)} '
            'registry): check its spelling, and give classes of mmdata the '
            "'mmdata.' prefix") from err


def _registered_class(name: str):
    """The class called ``name`` in one of MMEngine's root registries (or
    mmdata's), else None."""
    import mmengine.registry as root

    from mmdata import registry as ours
    for module in (root, ours):
        for registry in vars(module).values():
            if isinstance(registry, root.Registry):
                cls = registry.get(name)
                if isinstance(cls, type):
                    return cls
    return None


def _length(cfg: Config) -> tuple:
    """``(key, by_epoch, value)`` of the training length of ``cfg``."""
    train_cfg = cfg.get('train_cfg') or {}
    for key, by_epoch in (('max_iters', False), ('max_epochs', True)):
        if train_cfg.get(key) is not None:
            return key, by_epoch, train_cfg[key]
    return None, None, None


def follow_train_length(cfg: Config, original: Config) -> list:
    """Make the schedulers of ``cfg`` follow a training length changed from
    ``original`` (e.g. ``--cfg-options train_cfg.max_iters=5``): a scheduler
    counted in the loop's unit that ran to the old end now runs to the new
    one (``end`` and ``T_max`` move with it); shorter ones (warm-up) stay.
    Returns the changes as ``'param_scheduler.i.key old -> new'``."""
    key, by_epoch, new = _length(cfg)
    old_key, _, old = _length(original)
    if key is None or key != old_key or new == old:
        return []
    changes = []
    for i, sched in enumerate(cfg.get('param_scheduler') or []):
        if bool(sched.get('by_epoch', True)) != by_epoch:
            continue
        begin = sched.get('begin', 0)
        whole = sched.get('end',
                          old) == old and ('T_max' not in sched
                                           or sched['T_max'] == old - begin)
        if not whole:
            continue
        for name, value in (('end', new), ('T_max', new - begin)):
            if name in sched:
                changes.append(f'param_scheduler.{i}.{name} {sched[name]} '
                               f'-> {value}')
                sched[name] = value
    return changes


def parse_shard(text: str) -> tuple:
    """``(i, n)`` of a ``--shard I/N`` value, 1 <= I <= N."""
    import re
    match = re.fullmatch(r'(\d+)/(\d+)', text)
    i, n = (int(g) for g in match.groups()) if match else (0, 0)
    if not 1 <= i <= n:
        raise ConfigError(f'--shard {text}: allowed I/N with '
                          '1 <= I <= N, e.g. 1/2 and 2/2')
    return i, n
