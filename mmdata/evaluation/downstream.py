"""Detection and segmentation label metrics of a subnet on labeled data:
the ground truths of the scenes ranking study and of the selection
(``tools/select_subnet.py``).

The subnet is exported with a shipped protocol (by default the scenes
protocols: Faster R-CNN FPN bbox mAP, FCN mIoU) and that config is trained
and tested by MMEngine's own Runner, as a user would with ``mim train
mmdet|mmseg``. Only what a measurement needs is changed, the same for every
candidate: the datasets (a labeled-data config,
:mod:`mmdata.evaluation.labeled_data`), the heads' number of classes, the
number of iterations (optional), the seed, and quiet logging with no
checkpoints.
"""
import copy
import hashlib
import os.path as osp
import uuid
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from mmengine.config import Config

from mmdata.errors import ConfigError, DataError
from .quiet_run import quiet_run

SCENE_SIZE = 96  # the scenes protocols' image size (resize, padding)
EVAL_SPLITS = ('val', 'test')  # labeled_val (the protocol's test) and more
# label metric -> the export tasks it may train and the default one
METRIC_TASKS = {
    'det-map':
    ('scenes-fasterrcnn-fpn', 'coco-maskrcnn-fpn', 'voc-fasterrcnn-c4'),
    'seg-miou': ('scenes-fcn', 'cityscapes-fcn'),
}
# the shipped labeled data of each metric (under configs/labeled/)
DEFAULT_DATA = {
    'det-map': 'labeled/fashion-scenes_det.py',
    'seg-miou': 'labeled/fashion-scenes_seg.py',
}
FIXED_SIZE = {'scenes-fasterrcnn-fpn': SCENE_SIZE, 'scenes-fcn': SCENE_SIZE}
# evaluator type -> (the test metric's key, scale to 0-1)
EVALUATOR_KEYS = {
    'CocoMetric': ('coco/bbox_mAP', 1.),
    'VOCMetric': ('pascal_voc/mAP', 0.01),
    'IoUMetric': ('mIoU', 0.01),
}


@dataclass
class DownstreamSettings:
    """What a detection / segmentation label metric depends on besides the
    arch and seed.

    Args:
        metric (str): ``'det-map'`` or ``'seg-miou'``.
        labeled_data (str, optional): Labeled-data config
            (:mod:`mmdata.evaluation.labeled_data`); ``None``: the shipped
            Fashion-MNIST scenes of the metric.
        iters (int, optional): Training iterations; ``None`` keeps the
            protocol's.
        splits (tuple[str]): Splits the trained model is tested on
            (``labeled_val``, ``labeled_test``); the label metric is the
            mean of their values.
        protocol (str, optional): The export task trained (default: the
            scenes protocol of the metric, see :data:`METRIC_TASKS`).
        data_options (dict, optional): Set on every split's dataset, e.g.
            ``dict(data_root='data/x')``.
    """
    metric: str
    labeled_data: Optional[str] = None
    iters: Optional[int] = None
    splits: Tuple[str, ...] = ('val', )
    protocol: Optional[str] = None
    data_options: Optional[dict] = None

    def __post_init__(self) -> None:
        if self.metric not in METRIC_TASKS:
            raise ConfigError(f'downstream metric {self.metric!r}: choose '
                              f'one of {sorted(METRIC_TASKS)}')
        tasks = METRIC_TASKS[self.metric]
        self.protocol = self.protocol or tasks[0]
        if self.protocol not in tasks:
            raise ConfigError(f'--protocol {self.protocol}: {self.metric} '
                              f'trains one of {list(tasks)}')
        if self.iters is not None and self.iters < 1:
            raise ConfigError(f'iters={self.iters}, allowed >= 1')
        self.splits = tuple(self.splits)
        bad = [s for s in self.splits if s not in EVAL_SPLITS]
        if bad or not self.splits or len(set(self.splits)) < len(self.splits):
            raise ConfigError(f'eval splits {list(self.splits)}: allowed '
                              f'distinct names of {list(EVAL_SPLITS)}')
        if self.labeled_data is None:
            from mmdata.export.tasks import shipped_configs
            self.labeled_data = osp.join(shipped_configs(),
                                         DEFAULT_DATA[self.metric])

    @property
    def task(self) -> str:
        return self.protocol

    def is_shipped_scenes(self) -> bool:
        """Whether the data is the metric's shipped scenes config (perhaps
        in another folder): then the scenes' recipe identifies it."""
        from mmdata.export.tasks import shipped_configs
        shipped = osp.join(shipped_configs(), DEFAULT_DATA[self.metric])
        return osp.abspath(self.labeled_data) == osp.abspath(shipped) and \
            set(self.data_options or {}) <= {'data_root'}

    def load_data(self) -> Config:
        """The labeled-data config (every split it is read on checked by
        :func:`check_labeled_data`)."""
        from .labeled_data import load_labeled_data
        return load_labeled_data(self.labeled_data, self.data_options,
                                 ('train', ) + self.splits)


def scenes_hint(dataset: dict, settings: DownstreamSettings) -> str:
    """How to make the shipped scenes, where their folder lacks them."""
    root = dataset.get('data_root') or '.'
    if settings.is_shipped_scenes() and not osp.isfile(
            osp.join(root, 'scenes.json')):
        return (f' ({root} holds no scenes: make them with '
                f'tools/misc/prepare_fashion_scenes.py {root})')
    return ''


def check_labeled_data(cfg: Config, labeled: Config,
                       settings: DownstreamSettings) -> tuple:
    """Build and check every split the measurement reads (see
    :func:`~mmdata.evaluation.labeled_data.build_checked`); returns the
    class names they share and ``{split: built dataset}``."""
    from mmdata.export import TASKS
    from .labeled_data import build_checked, classes_of, dataset_for
    scope = TASKS[settings.task]['library']
    built = {}
    for split in ('train', ) + settings.splits:
        protocol = (cfg.train_dataloader
                    if split == 'train' else cfg.test_dataloader).dataset
        dataset = dataset_for(labeled, split, protocol)
        try:
            built[split] = build_checked(dataset, split, scope,
                                         FIXED_SIZE.get(settings.task))
        except DataError as err:
            raise DataError(f'{err}{scenes_hint(dataset, settings)}') from None
    return classes_of(built), built


def set_num_classes(model: dict, num: int) -> None:
    """Every head's ``num_classes`` (not the RPN's, class-agnostic) set to
    ``num``, in place."""
    for key, value in model.items():
        if key == 'rpn_head':
            continue
        if key == 'num_classes':
            model[key] = num
        elif isinstance(value, dict):
            set_num_classes(value, num)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    set_num_classes(item, num)


def split_loader(cfg: Config, labeled: Config, split: str, built,
                 work_dir: str) -> Tuple[dict, dict]:
    """The protocol's test dataloader and evaluator set to read
    ``split`` of the labeled data (a COCO evaluator gets the annotations
    of exactly the split's images)."""
    from .labeled_data import ann_path, dataset_for, subset_coco_file
    loader = copy.deepcopy(cfg.test_dataloader)
    loader.dataset = dataset_for(labeled, split, loader.dataset)
    loader.update(num_workers=0, persistent_workers=False)
    evaluator = copy.deepcopy(cfg.test_evaluator)
    if evaluator.get('type') == 'CocoMetric':
        evaluator.ann_file = subset_coco_file(
            built, ann_path(loader.dataset),
            osp.join(work_dir, f'instances_{split}.json'))
    return loader, evaluator


def protocol_iters(cfg: Config, task: str) -> int:
    """The protocol's training length in iterations; an epoch-based one
    (e.g. the COCO 1x schedule) has none: one error line asks for it."""
    if 'max_iters' not in cfg.train_cfg:
        raise ConfigError(
            f'protocol {task} trains {cfg.train_cfg.get("max_epochs")} '
            'epochs; a label run is counted in iterations: pass --iters '
            '(label_metric.py) or --full-run (select_subnet.py)')
    return int(cfg.train_cfg.max_iters)


def iteration_schedule(cfg: Config, iters: Optional[int], task: str) -> None:
    """``cfg`` set to train ``iters`` iterations (``None``: the protocol's)
    with its schedule's shape: epoch-based schedulers become iteration-based
    at the same fractions of the run, iteration-based ones are cut at the
    end (a warm-up longer than the run) and their milestones scaled."""
    if iters is None:
        iters = protocol_iters(cfg, task)
    epochs = cfg.train_cfg.get('max_epochs')
    total = protocol_iters(cfg, task) if epochs is None else None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    for sched in cfg.param_scheduler:
        if sched.get('by_epoch', True) and epochs is not None:
            sched['by_epoch'] = False
            for key in ('begin', 'end', 'T_max'):
                if key in sched:
                    sched[key] = min(iters, round(sched[key] * iters / epochs))
            if 'milestones' in sched:
                sched['milestones'] = [
                    round(m * iters / epochs) for m in sched.milestones
                ]
            continue
        for key in ('end', 'T_max'):
            if key in sched and sched[key] > iters:
                sched[key] = iters
        if 'milestones' in sched and total is not None and iters != total:
            sched['milestones'] = [
                int(m * iters / total) for m in sched.milestones
            ]


def measurement_config(export_cfg: Config, settings: DownstreamSettings,
                       work_dir: str, seed: int) -> Tuple[Config, dict]:
    """The exported config set up for one measurement: trained on
    ``labeled_train``, tested once at the end on ``labeled_val`` (its test
    loader; more splits: :func:`split_loader`), the heads sized for the
    data's classes, ``settings``' iterations, ``seed``, quiet, no
    checkpoint. Returns it and ``{split: (test loader, evaluator)}`` of
    every split of ``settings.splits``."""
    from .labeled_data import dataset_for
    cfg = copy.deepcopy(export_cfg)
    labeled = settings.load_data()
    classes, built = check_labeled_data(cfg, labeled, settings)
    cfg.train_dataloader.dataset = dataset_for(labeled, 'train',
                                               cfg.train_dataloader.dataset)
    set_num_classes(cfg.model, len(classes))
    splits = {
        split: split_loader(cfg, labeled, split, built[split], work_dir)
        for split in settings.splits
    }
    cfg.test_dataloader, cfg.test_evaluator = splits[settings.splits[0]]
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    iteration_schedule(cfg, settings.iters, settings.task)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[key] = None
    # no files of the library's visualizer; a name of its own, so that a
    # measurement never reuses the logger or visualizer of an earlier one
    cfg.visualizer.vis_backends = []
    cfg.experiment_name = f'{settings.metric}-seed{seed}-{uuid.uuid4().hex}'
    return quiet_run(cfg, work_dir, seed), splits


def downstream_metric(checkpoint: str,
                      arch,
                      settings: DownstreamSettings,
                      work_dir: str,
                      seed: int,
                      source: str = 'student') -> Dict[str, float]:
    """Export ``arch`` of the supernet ``checkpoint`` with the protocol
    ``settings.task``, train it on the labeled data with MMEngine's Runner
    (``seed`` seeds the heads and the data order) and return its bbox mAP
    or mIoU (0-1) on each of ``settings.splits``: ``{split: value}``."""
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
    cfg, splits = measurement_config(export_cfg, settings,
                                     osp.join(work_dir, 'run'), seed)
    runner = Runner.from_cfg(cfg)
    runner.train()
    values = {}
    for split, (loader, evaluator) in splits.items():
        if split == settings.splits[0]:  # the config's own test loader
            metrics = runner.test()
        else:
            metrics = TestLoop(runner, loader, evaluator).run()
        values[split] = metric_value(metrics, evaluator['type'])
    return values


def metric_value(metrics: dict, evaluator: str) -> float:
    """The value (0-1) of the evaluator's metric in a Runner's test
    results. mmdet's CocoMetric returns nothing when the detector kept no
    box on any image: that is an mAP of 0, logged."""
    from mmengine.logging import print_log
    key, scale = EVALUATOR_KEYS[evaluator]
    if key in metrics:
        return float(metrics[key]) * scale
    if evaluator == 'CocoMetric' and not metrics:
        print_log(
            'the detector kept no box on any test image: bbox mAP 0',
            logger='current',
            level=30)
        return 0.
    raise KeyError(f'{key} not in the test results {sorted(metrics)}')


def settings_identity(settings: DownstreamSettings) -> dict:
    """What the results depend on, for a results file's signature: the
    settings, the protocol's text and the labeled data (each split's
    dataset and, for the scenes, their recipe)."""
    from mmdata.export.tasks import TASKS, shipped_configs
    from .labeled_data import data_identity
    protocol = osp.join(shipped_configs(), TASKS[settings.task]['base'])
    with open(protocol, 'rb') as f:
        protocol_sha = hashlib.sha256(f.read()).hexdigest()
    identity = dict(
        metric=settings.metric,
        iters=settings.iters,
        task=settings.task,
        protocol_sha256=protocol_sha)
    if settings.splits != ('val', ):
        identity['splits'] = list(settings.splits)
    data = data_identity(settings.load_data(), ('train', ) + settings.splits)
    scenes = data.pop('scenes', None)
    if scenes is not None:
        identity['scenes'] = scenes
    if not settings.is_shipped_scenes():
        identity['labeled_data'] = data
    return identity
