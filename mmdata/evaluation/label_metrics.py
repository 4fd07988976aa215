"""The label metrics of subnets of a supernet, measured into a resumable
CSV: what ``tools/analysis/label_metric.py`` and ``tools/select_subnet.py``
run.

Metrics (:data:`LABEL_METRICS`): ``linear``, ``linear-fixed``, ``knn``
(frozen BN-calibrated pooled C5, :mod:`.frozen_features`), ``finetune``
(:mod:`.finetune`), ``det-map`` and ``seg-miou`` (:mod:`.downstream`). The
labeled data is a labeled-data config (:mod:`.labeled_data`); without one,
the classification metrics read the probe loaders of the supernet's
config and the downstream ones the shipped Fashion-MNIST scenes.

A CSV holds one row per (arch, seed): ``arch, bin, seed`` and the value
(``top1``, ``bbox_mAP`` or ``mIoU``; with several test splits a column per
split before their mean). ``CSV.json`` records what the rows were computed
from; rows computed otherwise are refused, not mixed in.
"""
import csv
import dataclasses
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from mmdata.errors import ConfigError, UserError, WorkDirError

# every label metric and what it measures (the tools' choices, the reports'
# axis labels)
LABEL_METRICS = {
    'linear': 'linear-probe top-1',
    'linear-fixed': 'fixed-width linear-probe top-1',
    'knn': 'kNN top-1',
    'finetune': 'fine-tuning top-1',
    'det-map': 'scenes Faster R-CNN FPN bbox mAP',
    'seg-miou': 'scenes FCN mIoU'
}
DOWNSTREAM_METRICS = {'det-map': 'bbox_mAP', 'seg-miou': 'mIoU'}  # -> column


def label_seeds(values: list, metrics: list) -> dict:
    """The seeds per candidate of each label metric from ``--label-seeds``
    (``N`` for every metric, ``METRIC=N`` for one; later values win)."""
    seeds = dict.fromkeys(metrics, 1)
    for value in values:
        metric, _, count = value.rpartition('=')
        names = [metric] if metric else metrics
        if metric and metric not in metrics:
            raise ConfigError(f'--label-seeds {value}: {metric!r} is not one '
                              f'of --label-metrics {metrics}')
        if not count.isdigit() or int(count) < 1:
            raise ConfigError(f'--label-seeds {value}: allowed N or METRIC=N '
                              'with N >= 1')
        seeds.update(dict.fromkeys(names, int(count)))
    return seeds


def fields(metric: str, splits=('val', )) -> List[str]:
    """The CSV columns of ``metric``'s results; a downstream metric tested
    on several splits also has one column per split before the mean."""
    value = DOWNSTREAM_METRICS.get(metric, 'top1')
    each = [f'{value}@{s}' for s in splits] if len(splits) > 1 else []
    return ['arch', 'bin', 'seed', *each, value]


@dataclass
class LabelMetricSettings:
    """Everything a label metric's rows depend on besides arch and seed.

    ``config`` (with ``cfg_options``) is the supernet's config whose probe
    loaders and data preprocessor the classification metrics read;
    ``labeled_data`` (with ``data_options``) replaces the labeled splits.
    The other fields are the metrics' settings, as
    ``tools/analysis/label_metric.py --help`` explains them.
    """
    metric: str = 'linear'
    config: Optional[str] = None
    cfg_options: Optional[dict] = None
    labeled_data: Optional[str] = None
    data_options: Optional[dict] = None
    source: str = 'student'
    calib_batches: int = 10
    max_train: Optional[int] = 10000
    max_test: Optional[int] = None
    c: float = 0.1
    max_iter: int = 1000
    width: int = 128
    projection_seed: int = 0
    k: int = 20
    labels_per_class: int = 60
    epochs: int = 30
    lr: float = 0.05
    iters: Optional[int] = None
    eval_splits: Tuple[str, ...] = ('val', )
    protocol: Optional[str] = None
    _cfg: object = field(default=None, repr=False, compare=False)

    @classmethod
    def from_args(cls, args, **overrides) -> 'LabelMetricSettings':
        """The settings a CLI's parsed ``args`` name (an option per field,
        e.g. ``--max-train``), then ``overrides``."""
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        given = {n: getattr(args, n) for n in names if hasattr(args, n)}
        return cls(**dict(given, **overrides))

    def __post_init__(self) -> None:
        if self.metric not in LABEL_METRICS:
            raise ConfigError(f'label metric {self.metric!r}: choose one of '
                              f'{list(LABEL_METRICS)}')
        for name in ('calib_batches', 'max_train', 'max_test', 'max_iter',
                     'width', 'k', 'labels_per_class', 'epochs', 'iters'):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} {value}: "
                                  'allowed >= 1')
        for name in ('c', 'lr'):
            value = getattr(self, name)
            if not 0 < value < float('inf'):
                raise ConfigError(f'--{name} {value}: allowed: a finite '
                                  'number > 0')
        self.eval_splits = tuple(self.eval_splits)
        if self.downstream is None and self.config is None:
            raise ConfigError(f'{self.metric} reads the supernet config '
                              '(its probe loaders and preprocessor): give it')
        if self.downstream is not None:
            self.downstream.splits  # validated on construction

    @property
    def downstream(self):
        """The :class:`~.downstream.DownstreamSettings` of det-map and
        seg-miou (None for the classification metrics)."""
        if self.metric not in DOWNSTREAM_METRICS:
            return None
        from .downstream import DownstreamSettings
        return DownstreamSettings(
            metric=self.metric,
            labeled_data=self.labeled_data,
            iters=self.iters,
            splits=self.eval_splits,
            protocol=self.protocol,
            data_options=self.data_options)

    def probe_config(self):
        """The supernet config with its probe loaders reading the labeled
        data (``labeled_train`` -> probe train, ``labeled_val`` -> probe
        test) when a labeled-data config is given."""
        if self._cfg is not None:
            return self._cfg
        from mmdata.utils import load_config
        from .labeled_data import dataset_for, load_labeled_data
        cfg = load_config(self.config)
        if self.cfg_options:
            cfg.merge_from_dict(self.cfg_options)
        if self.labeled_data:
            labeled = load_labeled_data(self.labeled_data, self.data_options)
            for key, split in (('probe_train_dataloader', 'train'),
                               ('probe_test_dataloader', 'val')):
                if key not in cfg:
                    raise ConfigError(f'the config defines no {key} (the '
                                      'loader the labeled data replaces)')
                cfg[key].dataset = dataset_for(labeled, split,
                                               cfg[key].dataset)
        self._cfg = cfg
        return cfg

    def columns(self) -> List[str]:
        return fields(
            self.metric, self.eval_splits if self.downstream is not None else
            ('val', ))


def signature(settings: LabelMetricSettings, checkpoint: str) -> dict:
    """What the rows depend on, beside the arch and the seed."""
    from mmdata.models.supernet_checkpoint import supernet_weights_sha256
    s = settings
    sig = dict(
        supernet_weights_sha256=supernet_weights_sha256(checkpoint),
        metric=s.metric,
        source=s.source)
    if s.downstream is not None:
        from .downstream import settings_identity
        return dict(sig, **settings_identity(s.downstream))
    cfg = s.probe_config()
    sig.update(data=[
        json.loads(json.dumps(cfg[k].dataset, default=str))
        for k in ('probe_train_dataloader', 'probe_test_dataloader')
    ])
    if s.metric == 'finetune':
        from .finetune import settings_identity
        return dict(sig, **settings_identity(finetune_settings(s)))
    sig.update(
        calib_batches=s.calib_batches,
        max_train=s.max_train,
        max_test=s.max_test)
    if s.metric == 'knn':
        return dict(sig, k=s.k)
    sig.update(c=s.c)
    if s.metric == 'linear-fixed':
        sig.update(width=s.width, projection_seed=s.projection_seed)
    return sig


def finetune_settings(s: LabelMetricSettings):
    from .finetune import FinetuneSettings
    return FinetuneSettings(
        labels_per_class=s.labels_per_class, epochs=s.epochs, lr=s.lr)


class LabelRows:
    """A label metric's CSV and its signature file (``CSV.json``).

    Args:
        path (str): The CSV.
        sig (dict): What its rows are computed from.
        columns (list[str]): Its columns (a new CSV's header).
        overwrite (bool): Discard the rows already in it.
    """

    def __init__(self,
                 path: str,
                 sig: dict,
                 columns: List[str],
                 overwrite: bool = False) -> None:
        self.path, self.sig, self.columns = path, sig, columns
        if overwrite:
            for p in (path, path + '.json'):
                if osp.exists(p):
                    os.remove(p)
        self._open()

    def _open(self) -> None:
        from mmdata.utils import atomic_write
        from mmdata.utils.files import identity_diff
        side = self.path + '.json'
        if osp.isfile(self.path):
            with open(side) if osp.isfile(side) else open(os.devnull) as f:
                saved = json.loads(f.read() or '{}')
            diff = identity_diff(saved, json.loads(json.dumps(self.sig)))
            if diff:
                raise WorkDirError(
                    f'{self.path} holds label-metric results computed '
                    f"differently ({'; '.join(diff)}); pass --overwrite or "
                    'another --out')
            with open(self.path) as f:
                text = f.read()
            if text and not text.endswith('\n'):  # a row cut by a kill
                atomic_write(self.path, text[:text.rfind('\n') + 1])
            return
        atomic_write(side, json.dumps(self.sig, indent=1))
        try:  # exclusive: another shard started at the same time may win
            with open(self.path, 'x') as f:
                f.write(','.join(self.columns) + '\n')
        except FileExistsError:
            self._open()

    def rows(self) -> List[Dict[str, str]]:
        with open(self.path) as f:
            return list(csv.DictReader(f))

    def done(self) -> Set[Tuple[str, str]]:
        """``(arch, seed)`` pairs already measured (seed as text)."""
        return {(r['arch'], r['seed']) for r in self.rows()}

    def values(self, seed: int) -> Dict[str, float]:
        """``{arch: value}`` of ``seed``'s rows (the last column)."""
        last = self.columns[-1]
        return {
            r['arch']: float(r[last])
            for r in self.rows() if r['seed'] == str(seed)
        }

    def append(self, arch: str, bin_name: str, seed: int,
               values: Dict[str, float]) -> None:
        with open(self.path, 'a', newline='') as f:
            csv.DictWriter(
                f, fieldnames=self.columns).writerow({
                    'arch': arch,
                    'bin': bin_name,
                    'seed': seed,
                    **{
                        k: f'{v:.6f}'
                        for k, v in values.items()
                    }
                })


def measurer(settings: LabelMetricSettings, checkpoint: str,
             scratch: str) -> Callable:
    """``(arch, seed) -> {column: value}`` of the metric; downstream and
    fine-tuning runs use (and then remove) ``scratch/seed<seed>``."""
    s = settings
    columns = s.columns()[3:]
    if s.downstream is not None:
        from .downstream import downstream_metric
        down = s.downstream

        def measure(arch, seed: int) -> dict:
            folder = osp.join(scratch, f'seed{seed}')
            try:
                each = downstream_metric(checkpoint, arch, down, folder, seed,
                                         s.source)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            mean = sum(each.values()) / len(each)
            return dict(zip(columns, [*each.values(), mean][-len(columns):]))

        return measure
    if s.metric == 'finetune':
        from .finetune import finetune_top1

        def measure(arch, seed: int) -> dict:
            folder = osp.join(scratch, f'seed{seed}')
            try:
                return {
                    columns[-1]:
                    finetune_top1(checkpoint, arch, s.probe_config(), folder,
                                  seed, finetune_settings(s), s.source)
                }
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        return measure
    from mmdata.export import load_supernet_backbone
    return frozen_measurer(s, load_supernet_backbone(checkpoint, s.source)[0])


def frozen_measurer(s: LabelMetricSettings,
                    state: dict,
                    progress: bool = False) -> Callable:
    """``(arch, seed) -> {'top1': value}`` of a frozen-feature metric on
    the supernet backbone ``state``; seed None takes the first
    ``max_train`` / ``max_test`` images instead of a seeded draw."""
    from mmdata.export import build_subnet
    from .frozen_features import (calibrated_features, fixed_projection,
                                  knn_top1, labeled_loaders, linear_probe_top1,
                                  normalizer)
    cfg = s.probe_config()
    norm = normalizer(cfg)
    in_channels = cfg.model.backbone.get('in_channels', 3)
    loaders = {}

    def measure(arch, seed: int) -> dict:
        if seed not in loaders:
            loaders[seed] = labeled_loaders(cfg, s.max_train, s.max_test, seed)
        model = build_subnet(state, arch, in_channels=in_channels)
        (train_f, train_y), (test_f, test_y) = calibrated_features(
            model, *loaders[seed], norm, s.calib_batches, progress=progress)
        if s.metric == 'knn':
            return dict(top1=knn_top1(train_f, train_y, test_f, test_y, s.k))
        if s.metric == 'linear-fixed':
            train_f, test_f = fixed_projection(train_f, test_f, s.width,
                                               s.projection_seed)
        return dict(
            top1=linear_probe_top1(
                train_f, train_y, test_f, test_y, c=s.c, max_iter=s.max_iter))

    return measure


def measure_rows(rows: LabelRows,
                 measure: Callable,
                 todo: Iterable[Tuple[int, str, str]],
                 label: str = '',
                 progress: bool = True) -> Dict[Tuple[str, int], float]:
    """Measure each ``(seed, arch, bin)`` of ``todo`` not yet in ``rows``
    and append it (one row per write); returns ``{(arch, seed): seconds}``
    of the pairs measured now."""
    import time

    from mmengine.utils import ProgressBar

    from mmdata.space import Arch
    done = rows.done()
    todo = [(s, a, b) for s, a, b in todo if (a, str(s)) not in done]
    print(f'{label or "label metric"}: {len(todo)} (arch, seed) pairs to '
          f'do, {len(done)} already in {rows.path}')
    bar = ProgressBar(len(todo)) if todo and progress else None
    seconds = {}
    for seed, arch, bin_name in todo:
        start = time.perf_counter()
        try:
            values = measure(Arch.parse(arch), seed)
        except UserError as err:
            print()  # after the progress bar
            raise type(err)(f'{err} ({arch}, seed {seed})') from None
        rows.append(arch, bin_name, seed, values)
        seconds[(arch, seed)] = time.perf_counter() - start
        if bar:
            bar.update()
    if bar:
        print()
    return seconds
