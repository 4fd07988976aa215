"""Labeled data for the label metrics: a dataset config in the libraries'
own form.

A labeled-data config names datasets, not loaders::

    labeled_train = dict(type='CocoDataset', data_root='data/mine/',
                         ann_file='annotations/train.json',
                         data_prefix=dict(img='train/'),
                         metainfo=dict(classes=('cat', 'dog')))
    labeled_val = dict(...)   # the split a label metric reports
    labeled_test = dict(...)  # optional: a second split to test on

Any dataset of mmpretrain (``CustomDataset``, ``ImageNet``, ...), mmdet
(``CocoDataset``, ...) or mmseg (``BaseSegDataset``, ...) is allowed, with
``indices`` for a subset as MMEngine's ``BaseDataset`` takes it. What the
user leaves out comes from the protocol: its ``pipeline`` (the protocol's
resize and augmentation), ``filter_cfg`` and ``test_mode``. The Fashion-MNIST
scenes are shipped as such configs (``configs/labeled/``).
"""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from mmdata.errors import ConfigError, DataError

SPLITS = ('train', 'val', 'test')
INHERITED = ('pipeline', 'filter_cfg', 'test_mode')  # from the protocol


def split_key(split: str) -> str:
    return f'labeled_{split}'


def load_labeled_data(
    path: str,
    options: Optional[dict] = None,
    splits: Sequence[str] = ('train', 'val')
) -> Config:
    """Read a labeled-data config; ``options`` are set on every split's
    dataset (e.g. ``dict(data_root='data/x')``). Each of ``splits`` must be
    a dataset dict with a ``type``."""
    from mmdata.utils import load_config
    cfg = load_config(path)
    for split in splits:
        dataset = cfg.get(split_key(split))
        if not isinstance(dataset, dict) or 'type' not in dataset:
            raise ConfigError(
                f'{path} defines no {split_key(split)} (a dataset dict with '
                "a type, e.g. dict(type='CocoDataset', ann_file=...))")
    for split in SPLITS:
        if split_key(split) in cfg:
            cfg[split_key(split)].update(options or {})
    return cfg


def dataset_for(labeled: Config, split: str, protocol: dict) -> dict:
    """The dataset of ``split`` completed by the protocol's dataset dict
    (:data:`INHERITED` keys the user did not set)."""
    dataset = copy.deepcopy(dict(labeled[split_key(split)]))
    for key in INHERITED:
        if key in protocol and key not in dataset:
            dataset[key] = copy.deepcopy(protocol[key])
    if 'split' in dataset and 'test_mode' not in labeled[split_key(split)]:
        # mmpretrain's MNIST / CIFAR read their test files whenever
        # test_mode is set, whatever the split says
        dataset['test_mode'] = dataset['split'] == 'test'
    return dataset


def ann_path(dataset: dict) -> str:
    """The dataset's ``ann_file`` joined to its ``data_root``."""
    ann = dataset.get('ann_file') or ''
    root = dataset.get('data_root') or ''
    return ann if not ann or osp.isabs(ann) else osp.join(root, ann)


def build_checked(dataset: dict,
                  split: str,
                  scope: str,
                  image_size: Optional[int] = None):
    """Build ``dataset`` in ``scope`` ('mmdet', 'mmseg', 'mmpretrain') and
    check it: its ``ann_file`` exists (a COCO dataset needs one), it is not
    empty, a COCO dataset's classes are categories of its file and, given
    ``image_size``, its images are that many pixels square."""
    import importlib

    from mmengine.registry import DefaultScope
    name = split_key(split)
    importlib.import_module(f'{scope}.datasets')  # registers them
    DATASETS = importlib.import_module(f'{scope}.registry').DATASETS
    with DefaultScope.overwrite_default_scope(scope):
        cls = DATASETS.get(dataset['type'])
        if cls is None:
            raise ConfigError(f"{name}: dataset type {dataset['type']!r} is "
                              f'not registered in {scope}')
        is_coco = 'Coco' in cls.__name__
        ann = ann_path(dataset)
        if is_coco and not dataset.get('ann_file'):
            raise DataError(f'{name} is a {dataset["type"]} without '
                            'ann_file (the COCO json of its images)')
        if ann and not osp.isfile(ann):
            raise DataError(f'{name}: ann_file {ann} does not exist')
        if is_coco:
            check_coco_classes(name, ann, dataset)
        # (unserialised: MMEngine's serialisation fails on an empty list)
        built = DATASETS.build(dict(dataset, serialize_data=False))
    if len(built) == 0:
        raise DataError(f'{name} is empty (0 samples after its filter and '
                        'indices)')
    if image_size:
        check_image_size(name, built, image_size)
    return built


def check_coco_classes(name: str, ann: str, dataset: dict) -> None:
    classes = (dataset.get('metainfo') or {}).get('classes')
    if not classes:
        raise ConfigError(f'{name}: give metainfo=dict(classes=(...)), the '
                          'class names of its COCO categories')
    with open(ann) as f:
        categories = {c['name'] for c in json.load(f).get('categories', [])}
    missing = [c for c in classes if c not in categories]
    if missing:
        raise DataError(f'{name}: classes {missing} are not categories of '
                        f'{ann} (it has {sorted(categories)})')


def check_image_size(name: str, built, size: int, num: int = 3) -> None:
    from PIL import Image
    for i in range(min(num, len(built))):
        info = built.get_data_info(i)
        path = info.get('img_path') or info.get('img_info', {}).get('path')
        with Image.open(path) as image:
            if image.size != (size, size):
                raise DataError(
                    f'{name}: {path} is {image.size[0]}x{image.size[1]} px; '
                    f'the protocol is set for {size}x{size} px images')


def classes_of(built_by_split: Dict[str, object]) -> List[str]:
    """The class names all splits share; different names are an error."""
    names = {
        s: list(b.metainfo.get('classes') or [])
        for s, b in built_by_split.items()
    }
    first = next(iter(names.values()))
    for split, classes in names.items():
        if classes != first:
            raise DataError(f'{split_key(split)} has classes {classes}, '
                            f'another split {first}: they must match')
    return first


def subset_coco_file(built, ann: str, out: str) -> str:
    """``ann`` restricted to the images of the built dataset (a subset
    taken with ``indices``), written to ``out``, for the COCO evaluator,
    which scores every image of its file. Returns the file to use."""
    from mmdata.utils import atomic_write
    ids = {built.get_data_info(i)['img_id'] for i in range(len(built))}
    with open(ann) as f:
        coco = json.load(f)
    if len(ids) == len(coco['images']):
        return ann
    coco['images'] = [im for im in coco['images'] if im['id'] in ids]
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in ids
    ]
    atomic_write(out, json.dumps(coco))
    return out


def data_identity(labeled: Config, splits: Sequence[str]) -> dict:
    """What results depend on in the labeled data: each used split's
    dataset dict (without ``data_root``, a location) and, for the scenes,
    their recipe (``scenes.json`` of the data root)."""
    identity = {}
    for split in splits:
        dataset = json.loads(
            json.dumps(dict(labeled[split_key(split)]), default=str))
        root = dataset.pop('data_root', '') or ''
        identity[split] = dataset
        made = osp.join(root, 'scenes.json')
        if osp.isfile(made):
            with open(made) as f:
                identity['scenes'] = json.load(f)
    return identity
