"""Config checks shared by the tools."""
import os.path as osp
from typing import Iterator

from mmengine.config import Config, ConfigDict


def _dataset_cfgs(cfg) -> Iterator[dict]:
    """Dataset configs, unwrapping Concat/Repeat/ClassBalanced wrappers."""
    if not isinstance(cfg, (dict, ConfigDict)):
        return
    yield cfg
    if 'dataset' in cfg:
        yield from _dataset_cfgs(cfg['dataset'])
    for sub in cfg.get('datasets', []) or []:
        yield from _dataset_cfgs(sub)


def check_data_roots(cfg: Config) -> None:
    """Raise FileNotFoundError naming the first local ``data_root`` of the
    config's dataloaders that does not exist."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not loader:
            continue
        for dataset in _dataset_cfgs(loader.get('dataset')):
            root = dataset.get('data_root')
            if root and '://' not in str(root) and not osp.isdir(str(root)):
                raise FileNotFoundError(
                    f'{name}: data root {root} does not exist (set it with '
                    f'--cfg-options {name}.dataset.data_root=PATH)')
