"""Every config in configs/ loads, builds its model and its data, and the
model runs a training step on tiny inputs."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

from mmdata.registry import MODELS
from tests.helpers import (TINY_CFG, write_cityscapes, write_coco,
                           write_fashion_mnist, write_scenes, write_voc)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'configs').rglob('*.py')
    if '_base_' not in p.parts and 'downstream' not in p.parts
    and 'labeled' not in p.parts)
LABELED = sorted(
    str(p.relative_to(REPO))
    for p in (REPO / 'configs/labeled').glob('fashion-scenes*.py'))
LABELED_CLS = sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'configs/labeled').glob('*.py')
    if str(p.relative_to(REPO)) not in LABELED)


def fake_imagenet(root: Path,
                  per_class: int = 4,
                  num_classes: int = 2) -> Path:
    """ImageNet in mmpretrain's layout: train/<class>/*.JPEG + meta lists;
    each class has its own colour (seen by any random crop) under noise, so
    that a classifier can learn it."""
    rng = np.random.default_rng(0)

    def image(c: int) -> Image.Image:
        colour = np.array([(c >> bit) & 1 for bit in range(3)]) * 150 + 40
        if c >= 8:
            colour = colour // 2
        noise = rng.integers(0, 60, (40, 48, 3))
        return Image.fromarray((colour + noise).astype(np.uint8))

    lines = []
    for c in range(num_classes):
        folder = root / 'train' / f'n{c:08d}'
        folder.mkdir(parents=True)
        for i in range(per_class):
            image(c).save(folder / f'img_{i}.JPEG')
            lines.append(f'n{c:08d}/img_{i}.JPEG {c}')
    (root / 'val').mkdir()
    val = []
    for i in range(4):
        image(i % 2).save(root / 'val' / f'v_{i}.JPEG')
        val.append(f'v_{i}.JPEG {i % 2}')
    (root / 'meta').mkdir()
    (root / 'meta' / 'train.txt').write_text('\n'.join(lines))
    (root / 'meta' / 'train_10pc.txt').write_text('\n'.join(lines[::2]))
    (root / 'meta' / 'val.txt').write_text('\n'.join(val))
    return root


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('data')
    for split in ('train2017', 'val2017'):
        write_coco(base / 'coco', split)
    for split in ('train', 'val'):
        write_cityscapes(base / 'cityscapes', split)
    write_voc(base / 'voc', year='2012')
    return dict(
        ImageNet=fake_imagenet(base / 'imagenet'),
        FashionMNIST=write_fashion_mnist(base / 'fmnist', 64, 16),
        CustomDataset=write_scenes(base / 'scenes', 8, 2, 2),
        CocoDataset=base / 'coco',
        CityscapesDataset=base / 'cityscapes',
        VOCDataset=write_voc(base / 'voc'))


# the supernet config each folder's search configs are tested with
SEARCHED_SUPERNET = {
    'search':
    'configs/supernet/supernet-mocov2_dynresnet_16xb64-coslr-200e_'
    'in1k.py',
    'tiny':
    'configs/tiny/supernet-mocov2_dynresnet-tiny_1xb128-1e_'
    'fashion-mnist.py',
    'small':
    'configs/small/supernet-mocov2_dynresnet-tiny_1xb64-1500it_'
    'fashion-scenes.py',
}


def test_configs_are_found():
    assert any('tiny' in c for c in CONFIGS)
    assert any('16xb64' in c for c in CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_and_trains_one_step(config, data_roots):
    cfg = Config.fromfile(str(REPO / config))
    if 'SearchLoop' in cfg.train_cfg.type:
        # a search config's supernet is a checkpoint's; here its training
        # config's (the search config's own model options on top)
        from mmdata.models.supernet_checkpoint import search_model_config
        assert 'type' not in cfg.get('model', {})
        search_model_config(
            cfg, None, str(REPO / SEARCHED_SUPERNET[config.split('/')[1]]))
    dataset = cfg.train_dataloader.dataset
    for part in dataset.get('datasets', [dataset]):  # a ConcatDataset's too
        part.data_root = str(data_roots[part.type.split('.')[-1]])
    cfg.train_dataloader.update(
        batch_size=4, num_workers=0, persistent_workers=False)
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 16
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        loader = Runner.build_dataloader(cfg.train_dataloader)
        model = MODELS.build(cfg.model)
    model.init_weights()
    batch = next(iter(loader))
    if 'SearchLoop' in cfg.train_cfg.type:
        check_search_config(cfg, model, batch)
        return
    # tiny inputs: crop the (up to 224 px) views to 32 px
    batch['inputs'] = [v[..., :32, :32] for v in batch['inputs']]
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert losses and all(torch.isfinite(v) for v in losses.values())
    assert set(cfg.keys()) >= {
        'optim_wrapper', 'param_scheduler', 'train_cfg', 'default_hooks',
        'custom_hooks', 'custom_imports'
    }
    check_norms_excluded(cfg, model)


def check_norms_excluded(cfg, model):
    """A config that exempts batch norms from weight decay (a ``'bn'``
    custom key) does so for every trained norm, the necks' included."""
    from mmengine.optim import build_optim_wrapper
    from torch.nn.modules.batchnorm import _BatchNorm
    keys = cfg.optim_wrapper.get('paramwise_cfg', {}).get('custom_keys', {})
    if 'bn' not in keys:
        return
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    group = {
        id(p): g
        for g in optim.optimizer.param_groups
        for p in g['params']
    }
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm):
            for p in module.parameters(recurse=False):
                if p.requires_grad:
                    assert group[id(p)]['weight_decay'] == 0, name
                    assert group[id(p)].get('lars_exclude', True), name


def check_search_config(cfg, model, batch):
    """A search config: its target images batch up and feed the supernet,
    and every budget holds candidates of the supernet's space."""
    from mmdata.models.utils.image_batch import to_image_batch
    from mmdata.search import parse_budgets, resolve_taps, sample_candidates
    images = to_image_batch(batch, model.data_preprocessor)
    assert images.dim() == 4 and images.shape[1] == 3
    with torch.no_grad():
        feats = model.eval().backbone(images[..., :32, :32])
    assert len(feats) == 4
    loop = cfg.train_cfg
    resolve_taps(loop.get('tap', 'cls'))
    from mmdata.space import LatencyTable
    metric = loop.get('metric', 'flops')
    input_size = loop.get('input_size', 224)
    table = loop.get('latency_table')
    cands = sample_candidates(
        model.space,
        parse_budgets(loop.get('budgets'), metric, input_size),
        2,
        metric=metric,
        input_size=input_size,
        constraints=loop.get('constraints'),
        latency_table=LatencyTable.load(str(REPO / table)) if table else None)
    assert cands


SHUFFLE_BN = ('mmdata.SupernetMoCo', 'mmdata.SupernetDenseCL')


@pytest.mark.parametrize(
    'config', [c for c in CONFIGS if c.startswith('configs/supernet/')])
def test_paper_configs_normalise_one_way(config):
    """Methods with shuffle-BN in the teacher (MoCo v2, DenseCL) use
    per-GPU BN as MoCo v2's recipe; the others synchronise BN, the BYOL
    projector's included: never both, never neither."""
    model = Config.fromfile(str(REPO / config)).model
    norm = model.backbone.norm_cfg['type']
    if model.type in SHUFFLE_BN:
        assert norm == 'BN', config
    else:
        assert norm == 'SyncBN', config
        if model.neck.get('with_bn'):
            assert model.neck.norm_cfg['type'] == 'SyncBN', config


@pytest.mark.parametrize('config', LABELED_CLS)
def test_classification_labeled_data_config_feeds_the_probe(config, tmp_path):
    """A shipped classification labeled-data config replaces the probe
    loaders of the tiny supernet config: 4,000 train and 1,000 held-out
    train images (here 6 and 6 of a small Fashion-MNIST written here)."""
    from mmdata.evaluation.frozen_features import labeled_loaders
    from mmdata.evaluation.label_metrics import LabelMetricSettings
    from mmdata.evaluation.labeled_data import dataset_for
    from mmdata.utils import load_config
    cfg = load_config(str(REPO / config))
    assert cfg.labeled_train.indices == list(range(4000))
    assert cfg.labeled_val.indices == list(range(59000, 60000))
    assert cfg.labeled_train.split == cfg.labeled_val.split == 'train'
    root = write_fashion_mnist(tmp_path / 'fm', num_train=16, num_test=4)
    settings = LabelMetricSettings(
        'knn',
        config=TINY_CFG,
        labeled_data=str(REPO / config),
        data_options=dict(data_root=str(root), indices=6))
    train, val = labeled_loaders(settings.probe_config())
    # a split the user names is read even where the protocol's test loader
    # sets test_mode (mmpretrain's MNIST would read its test files)
    del cfg.labeled_val.test_mode
    assert dataset_for(cfg, 'val', dict(test_mode=True))['test_mode'] is False
    batch = next(iter(train))
    assert len(train.dataset) == len(val.dataset) == 6
    assert batch['inputs'].shape[-2:] == (32, 32)


@pytest.mark.parametrize('config', LABELED)
def test_labeled_data_config_builds_every_split(config, tmp_path):
    """A shipped labeled-data config read by its protocol: every split
    builds on scenes written here, with the scenes' ten classes (and
    background for segmentation)."""
    from mmdata.evaluation.downstream import (DownstreamSettings,
                                              check_labeled_data)
    from mmdata.export.tasks import TASKS, shipped_configs
    from mmdata.utils import load_config
    scenes = write_scenes(tmp_path / 'scenes', 8, 4, 4)
    cfg = load_config(str(REPO / config))
    options = dict(data_root=str(scenes))
    if '1k-labels' in config:  # 800 train scenes, 200 held out of train
        assert cfg.labeled_train.indices == 800
        assert cfg.labeled_val.indices == list(range(3800, 4000))
        assert 'train/' in str(cfg.labeled_val.data_prefix)
        options['indices'] = 2
    settings = DownstreamSettings(
        'det-map' if config.endswith('_det.py') else 'seg-miou',
        labeled_data=str(REPO / config),
        splits=('val', 'test'),
        data_options=options)
    protocol = load_config(
        str(Path(shipped_configs()) / TASKS[settings.task]['base']))
    classes, built = check_labeled_data(protocol, settings.load_data(),
                                        settings)
    seg = settings.metric == 'seg-miou'
    assert len(classes) == 10 + seg and (classes[0] == 'background') == seg
    assert set(built) == {'train', 'val', 'test'}
    assert all(len(d) > 0 for d in built.values())
