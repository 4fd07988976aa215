"""Detection and segmentation ground truths of a subnet on the Fashion-MNIST
scenes (``tools/misc/prepare_fashion_scenes.py``): the scenes ranking
study's label metrics.

The subnet is exported with a shipped scenes protocol
(:data:`SCENE_TASKS`: Faster R-CNN FPN bbox mAP or FCN mIoU, both on the val
split) and that config is trained and tested by MMEngine's own Runner, as a
user would with ``mim train mmdet|mmseg``. Only what a measurement needs is
changed, the same for every candidate: the data root, the number of
iterations (optional), the seed, and quiet logging with no checkpoints.
"""
import copy
import hashlib
import json
import os.path as osp
import re
import uuid
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple

from mmengine.config import Config

from mmdata.errors import ConfigError, DataError
from .quiet_run import quiet_run

SCENE_SIZE = 96  # the scenes protocols' image size (resize, padding)
EVAL_SPLITS = ('val', 'test')  # the shipped protocols test on 'val'
# label metric -> (export task, the test metric's key, scale to 0-1)
SCENE_TASKS = {
    'det-map': ('scenes-fasterrcnn-fpn', 'coco/bbox_mAP', 1.),
    'seg-miou': ('scenes-fcn', 'mIoU', 0.01),
}


@dataclass
class DownstreamSettings:
    """What a scenes ground truth depends on besides the arch and seed.

    Args:
        metric (str): ``'det-map'`` or ``'seg-miou'``.
        data_root (str): Folder of the scenes.
        iters (int, optional): Training iterations; ``None`` keeps the
            shipped protocol's (1200).
        splits (tuple[str]): Scenes splits the trained model is tested on;
            the label metric is the mean of their values (``('val',
            'test')``: 1,000 scenes instead of 500).
    """
    metric: str
    data_root: str = 'data/fashion-scenes'
    iters: Optional[int] = None
    splits: Tuple[str, ...] = ('val', )

    def __post_init__(self) -> None:
        if self.metric not in SCENE_TASKS:
            raise ConfigError(f'scenes metric {self.metric!r}: choose one of '
                              f'{sorted(SCENE_TASKS)}')
        if self.iters is not None and self.iters < 1:
            raise ConfigError(f'iters={self.iters}, allowed >= 1')
        self.splits = tuple(self.splits)
        bad = [s for s in self.splits if s not in EVAL_SPLITS]
        if bad or not self.splits or len(set(self.splits)) < len(self.splits):
            raise ConfigError(f'scenes splits {list(self.splits)}: allowed '
                              f'distinct names of {list(EVAL_SPLITS)}')
        made = osp.join(self.data_root, 'scenes.json')
        if not osp.isfile(made):
            raise DataError(
                f'{self.data_root} holds no scenes (no scenes.json): make '
                'them with tools/misc/prepare_fashion_scenes.py '
                f'{self.data_root}')
        with open(made) as f:
            size = json.load(f)['size']
        if size != SCENE_SIZE:
            raise DataError(
                f'{self.data_root} holds {size} px scenes; the shipped scenes '
                f'protocols are set for {SCENE_SIZE} px (make them with '
                'prepare_fashion_scenes.py --size 96)')

    @property
    def task(self) -> str:
        return SCENE_TASKS[self.metric][0]


def _datasets(cfg: Config):
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            yield cfg[key].dataset


def measurement_config(export_cfg: Config, settings: DownstreamSettings,
                       work_dir: str, seed: int) -> Config:
    """The exported config set up for one measurement: ``settings``'
    data root and iterations, ``seed``, tested once at the end on the test
    loader (the val split), quiet, no checkpoint."""
    cfg = copy.deepcopy(export_cfg)
    shipped_root = cfg.train_dataloader.dataset.data_root
    for dataset in _datasets(cfg):
        dataset.data_root = settings.data_root
    evaluator = cfg.test_evaluator
    if evaluator.get('ann_file', '').startswith(shipped_root):
        evaluator.ann_file = osp.join(settings.data_root,
                                      evaluator.ann_file[len(shipped_root):])
    for key in ('train_dataloader', 'test_dataloader'):
        cfg[key].update(num_workers=0, persistent_workers=False)
    iters = settings.iters or cfg.train_cfg.max_iters
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    for sched in cfg.param_scheduler:  # a shortened schedule keeps its shape
        for key in ('end', 'T_max'):
            if key in sched and sched[key] > iters:
                sched[key] = iters
        if 'milestones' in sched and settings.iters:
            scale = iters / export_cfg.train_cfg.max_iters
            sched['milestones'] = [int(m * scale) for m in sched.milestones]
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[key] = None
    # no files of the library's visualizer; a name of its own, so that a
    # measurement never reuses the logger or visualizer of an earlier one
    cfg.visualizer.vis_backends = []
    cfg.experiment_name = f'{settings.metric}-seed{seed}-{uuid.uuid4().hex}'
    return quiet_run(cfg, work_dir, seed)


def downstream_metric(checkpoint: str,
                      arch,
                      settings: DownstreamSettings,
                      work_dir: str,
                      seed: int,
                      source: str = 'student') -> Dict[str, float]:
    """Export ``arch`` of the supernet ``checkpoint`` with the scenes
    protocol of ``settings.metric``, train it with MMEngine's Runner
    (``seed`` seeds the heads and the data order) and return its bbox mAP
    or mIoU (0-1) on each of ``settings.splits`` (by default the val
    scenes): ``{split: value}``."""
    from mmengine.runner import Runner, TestLoop

    from mmdata.export import TASKS, export_subnet
    from mmdata.utils import load_config
    export_dir = osp.join(work_dir, 'export')
    export_subnet(
        checkpoint,
        arch,
        settings.task,
        export_dir,
        source=source,
        overwrite=True)
    export_cfg = load_config(
        osp.join(export_dir, TASKS[settings.task]['config']))
    cfg = measurement_config(export_cfg, settings, osp.join(work_dir, 'run'),
                             seed)
    runner = Runner.from_cfg(cfg)
    runner.train()
    values = {}
    for split in settings.splits:
        if split == 'val':  # the protocol's own test loader
            metrics = runner.test()
        else:
            metrics = TestLoop(runner, *split_loader(cfg, split)).run()
        values[split] = metric_value(metrics, settings.metric)
    return values


def split_loader(cfg: Config, split: str) -> tuple:
    """The protocol's test dataloader and evaluator (which read the val
    scenes) set to read ``split`` instead."""

    def other(path: str) -> str:
        return re.sub(r'(?<![A-Za-z0-9])val(?![A-Za-z0-9])', split, path)

    loader = copy.deepcopy(cfg.test_dataloader)
    evaluator = copy.deepcopy(cfg.test_evaluator)
    dataset = loader.dataset
    if 'ann_file' in dataset:
        dataset.ann_file = other(dataset.ann_file)
    dataset.data_prefix = {k: other(v) for k, v in dataset.data_prefix.items()}
    if 'ann_file' in evaluator:
        evaluator.ann_file = other(evaluator.ann_file)
    return loader, evaluator


def metric_value(metrics: dict, metric: str) -> float:
    """The value (0-1) of ``metric`` in a Runner's test results. mmdet's
    CocoMetric returns nothing when the detector kept no box on any val
    scene: that is an mAP of 0, logged."""
    from mmengine.logging import print_log
    _, key, scale = SCENE_TASKS[metric]
    if key in metrics:
        return float(metrics[key]) * scale
    if metric == 'det-map' and not metrics:
        print_log(
            'the detector kept no box on any val scene: bbox mAP 0',
            logger='current',
            level=30)
        return 0.
    raise KeyError(f'{key} not in the test results {sorted(metrics)}')


def settings_identity(settings: DownstreamSettings) -> dict:
    """What the results depend on, for a results file's signature: the
    settings, the shipped protocol's text and the scenes' recipe."""
    from mmdata.export.tasks import TASKS, shipped_configs
    protocol = osp.join(shipped_configs(), TASKS[settings.task]['base'])
    with open(protocol, 'rb') as f:
        protocol_sha = hashlib.sha256(f.read()).hexdigest()
    with open(osp.join(settings.data_root, 'scenes.json')) as f:
        scenes = json.load(f)
    identity = dict(
        asdict(settings),
        task=settings.task,
        protocol_sha256=protocol_sha,
        scenes=scenes)
    identity.pop('data_root')  # the scenes' recipe says what they are
    if settings.splits == ('val', ):  # as before splits could be chosen
        identity.pop('splits')
    return identity
