"""Fine-tuning top-1 of a subnet: paper Table 2's semi-supervised protocol
(ImageNet 1%) in miniature, on a labeled split of the probe config.

The subnet is exported with the shipped ``in1k-semi-1pc`` protocol
(:func:`mmdata.export.export_subnet`) and that config is trained end to end
by MMEngine's own Runner on a class-balanced, seeded subset of the labeled
train split, then tested on the whole test split. Only what the small data
needs is changed, the same for every candidate: the datasets, the number
of classes, the image normalisation and the schedule (stated in
:class:`FinetuneSettings`).
"""
import copy
import os.path as osp
from dataclasses import asdict, dataclass
from typing import List, Sequence

import numpy as np
from mmengine.config import Config

from mmdata.errors import ConfigError
from .quiet_run import quiet_run

TASK = 'in1k-semi-1pc'


@dataclass
class FinetuneSettings:
    """The miniature schedule (the shipped one is 20 epochs of ImageNet 1%
    at batch 256, MultiStep lr).

    Args:
        labels_per_class (int): Labeled train images per class (60 x 10
            classes = 600 = 1% of Fashion-MNIST's train split).
        epochs (int): Training epochs over the labeled subset.
        batch_size (int): Batch size.
        lr (float): SGD lr of the backbone, cosine to 0; the classifier
            keeps the exported config's lr multiplier.
        crop_padding (int): Random crop with this zero padding, and a
            horizontal flip, as training augmentation.
    """
    labels_per_class: int = 60
    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.05
    crop_padding: int = 4

    def __post_init__(self) -> None:
        for name in ('labels_per_class', 'epochs', 'batch_size'):
            if getattr(self, name) < 1:
                raise ConfigError(f'finetune {name}={getattr(self, name)}, '
                                  'allowed >= 1')
        if not 0 < self.lr < float('inf'):
            raise ConfigError(f'finetune lr={self.lr}, allowed > 0')


def balanced_subset(labels: Sequence[int], per_class: int,
                    seed: int) -> List[int]:
    """Indices of ``per_class`` random items of every class (seeded),
    sorted; a class with fewer items is an error."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < per_class:
            raise ConfigError(f'class {cls} has {len(members)} labeled '
                              f'images, fewer than {per_class} per class')
        chosen.extend(rng.choice(members, per_class, replace=False).tolist())
    return sorted(chosen)


def _train_pipeline(pipeline: list, size: int, padding: int) -> list:
    """The eval pipeline with a padded random crop and a flip before
    packing."""
    pipeline = copy.deepcopy(list(pipeline))
    augment = [
        dict(type='RandomCrop', crop_size=size, padding=padding),
        dict(type='RandomFlip', prob=0.5)
    ]
    return pipeline[:-1] + augment + pipeline[-1:]


def finetune_config(export_cfg: Config,
                    probe_cfg: Config,
                    subset: List[int],
                    settings: FinetuneSettings,
                    work_dir: str,
                    seed: int,
                    input_size: int = 32) -> Config:
    """The exported protocol config ``export_cfg`` set up for the probe
    config's labeled splits (train: ``subset``, test: all)."""
    cfg = copy.deepcopy(export_cfg)
    train = copy.deepcopy(probe_cfg.probe_train_dataloader)
    test = copy.deepcopy(probe_cfg.probe_test_dataloader)
    train.dataset.indices = subset
    train.dataset.pipeline = _train_pipeline(train.dataset.pipeline,
                                             input_size, settings.crop_padding)
    train.update(
        batch_size=settings.batch_size,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        persistent_workers=False)
    test.update(num_workers=0, persistent_workers=False)
    pre = probe_cfg.model.data_preprocessor
    cfg.model.data_preprocessor = dict(
        type='ClsDataPreprocessor',
        mean=pre.mean,
        std=pre.std,
        to_rgb=pre.get('to_rgb', False))
    cfg.train_dataloader = train
    cfg.test_dataloader = test
    cfg.test_evaluator = dict(type='Accuracy', topk=(1, ))
    for split in ('val_dataloader', 'val_cfg', 'val_evaluator'):
        cfg[split] = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=settings.epochs)
    cfg.optim_wrapper.optimizer.lr = settings.lr
    cfg.param_scheduler = dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        T_max=settings.epochs,
        begin=0,
        end=settings.epochs)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=256)
    cfg.default_hooks.visualization = dict(
        type='VisualizationHook', enable=False)
    cfg.visualizer = dict(type='Visualizer', vis_backends=[])
    return quiet_run(cfg, work_dir, seed)


def finetune_top1(checkpoint: str,
                  arch,
                  probe_cfg: Config,
                  work_dir: str,
                  seed: int,
                  settings: FinetuneSettings,
                  source: str = 'student') -> float:
    """Export ``arch`` of the supernet ``checkpoint`` (its ``source``
    weights, ``'student'`` or ``'teacher'``) with the shipped
    semi-supervised protocol, fine-tune it with MMEngine's Runner on
    ``settings.labels_per_class`` images per class of the probe config's
    train split (drawn with ``seed``, which also seeds training) and return
    its top-1 (0-1) on the whole test split."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mmdata.export import TASKS, export_subnet
    from mmdata.utils import load_config
    export_dir = osp.join(work_dir, 'export')
    export_subnet(
        checkpoint, arch, TASK, export_dir, source=source, overwrite=True)
    export_cfg = load_config(osp.join(export_dir, TASKS[TASK]['config']))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = Runner.build_dataloader(
            probe_cfg.probe_train_dataloader).dataset
        labels = dataset.get_gt_labels()
        classes = len(dataset.metainfo.get('classes') or np.unique(labels))
    subset = balanced_subset(labels, settings.labels_per_class, seed)
    cfg = finetune_config(export_cfg, probe_cfg, subset, settings,
                          osp.join(work_dir, 'run'), seed)
    cfg.model.head.num_classes = classes
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    return float(metrics['accuracy/top1']) / 100


def settings_identity(settings: FinetuneSettings) -> dict:
    """What fine-tuning results depend on, for a results file's
    signature."""
    return dict(task=TASK, **asdict(settings))
