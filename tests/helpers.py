"""Helpers shared by tests: the tools run as subprocesses, the tiny
supernet, tiny synthetic datasets and test-only hooks."""
import gzip
import importlib.util
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope

from mmdata.evaluation import fashion_scenes
from mmdata.registry import HOOKS, MODELS

REPO = Path(__file__).resolve().parents[1]

# objects are drawn bright on dim noise, so that a detector, a segmenter or a
# classifier can learn them in a few iterations
OBJECT_COLOURS = ((230, 60, 60), (60, 230, 60))


def write_fashion_mnist(root: Path,
                        num_train: int = 256,
                        num_test: int = 64,
                        seed: int = 0) -> Path:
    """Write a tiny dataset in the (un-gzipped) MNIST idx format that
    mmpretrain's ``FashionMNIST`` reads: 10 classes of 28x28 images, each
    class a bright square at its own position plus noise."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, num in (('train', num_train), ('t10k', num_test)):
        labels = rng.integers(0, 10, num).astype(np.uint8)
        images = rng.integers(0, 60, (num, 28, 28)).astype(np.uint8)
        for img, label in zip(images, labels):
            r, c = divmod(int(label), 5)
            img[4 + 10 * r:12 + 10 * r, 2 + 5 * c:7 + 5 * c] = 230
        with open(root / f'{prefix}-images-idx3-ubyte', 'wb') as f:
            f.write(struct.pack('>IIII', 2051, num, 28, 28))
            f.write(images.tobytes())
        with open(root / f'{prefix}-labels-idx1-ubyte', 'wb') as f:
            f.write(struct.pack('>II', 2049, num))
            f.write(labels.tobytes())
    return root


def load_tool(name: str):
    """The module of ``tools/NAME.py`` (e.g. ``train``), for the tests of
    the tools themselves; ``tools/`` goes on the path, as when the tool
    runs (its shared options, ``cli_options``)."""
    if str(REPO / 'tools') not in sys.path:
        sys.path.insert(0, str(REPO / 'tools'))
    spec = importlib.util.spec_from_file_location(
        name.replace('/', '.'), REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_scenes(root: Path,
                 num_train: int = 16,
                 num_val: int = 8,
                 num_test: int = 4,
                 seed: int = 0) -> Path:
    """Fashion-MNIST scenes (:mod:`mmdata.evaluation.fashion_scenes`) made
    of the synthetic items of :func:`write_fashion_mnist`."""
    items = write_fashion_mnist(root.parent / f'{root.name}-items', 128, 64)
    fashion_scenes.prepare(
        items,
        root,
        dict(train=num_train, val=num_val, test=num_test),
        seed=seed)
    return root


def gzip_copy(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        with open(path, 'rb') as fin, gzip.open(dst / (path.name + '.gz'),
                                                'wb') as fout:
            fout.write(fin.read())


@HOOKS.register_module()
class KillAtIter(Hook):
    """Test-only: SIGKILL the process after iteration ``kill_at`` (1-based),
    as a crash or a pre-empted job would."""

    priority = 'LOWEST'

    def __init__(self, kill_at: int) -> None:
        self.kill_at = kill_at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class RecordOmega(Hook):
    """Test-only: write the student archs of every iteration and, at the end,
    the teacher parameters to ``work_dir``, one file per rank."""

    def __init__(self) -> None:
        self.archs = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        model = getattr(runner.model, 'module', runner.model)
        self.archs.append([str(arch) for _, arch in model.last_omega])

    def after_train(self, runner) -> None:
        import json

        import torch
        from mmengine.dist import get_rank
        model = getattr(runner.model, 'module', runner.model)
        rank = get_rank()
        with open(os.path.join(runner.work_dir, f'omega_{rank}.json'),
                  'w') as f:
            json.dump(self.archs, f)
        # parameters only: BN running stats are per rank unless SyncBN
        params = {k: v.detach() for k, v in model.teacher.named_parameters()}
        torch.save(params, os.path.join(runner.work_dir,
                                        f'teacher_{rank}.pth'))


def write_coco(root: Path,
               split: str = 'val2017',
               num_images: int = 4,
               seed: int = 0,
               size: int = None) -> Path:
    """A tiny COCO-format detection dataset: JPEGs + instances json (images
    of ``size`` x ``size`` px, else of varied heights)."""
    import json

    from PIL import Image
    rng = np.random.default_rng(seed)
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        h, w = (size, size) if size else (48 + 8 * i, 64)
        name = f'{i:012d}.jpg'
        x, y = float(rng.integers(0, 30)), float(rng.integers(0, 20))
        image = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        image[int(y):int(y) + 16, int(x):int(x) + 20] = OBJECT_COLOURS[i % 2]
        Image.fromarray(image).save(root / split / name)
        images.append(dict(id=i + 1, file_name=name, height=h, width=w))
        annotations.append(
            dict(
                id=i + 1,
                image_id=i + 1,
                category_id=1 + i % 2,
                bbox=[x, y, 20.0, 16.0],
                area=320.0,
                iscrowd=0,
                segmentation=[[x, y, x + 20, y, x + 20, y + 16, x, y + 16]]))
    categories = [dict(id=1, name='person'), dict(id=2, name='bicycle')]
    with open(root / 'annotations' / f'instances_{split}.json', 'w') as f:
        json.dump(
            dict(
                images=images, annotations=annotations, categories=categories),
            f)
    return root


def write_cityscapes(root: Path,
                     split: str = 'val',
                     num_images: int = 4,
                     seed: int = 0) -> Path:
    """A tiny Cityscapes-format segmentation dataset (train-id label pngs)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    img_dir = root / 'leftImg8bit' / split / 'city'
    seg_dir = root / 'gtFine' / split / 'city'
    img_dir.mkdir(parents=True, exist_ok=True)
    seg_dir.mkdir(parents=True, exist_ok=True)
    for i in range(num_images):
        stem = f'city_{i:06d}_000019'
        image = rng.integers(0, 80, (64, 128, 3), dtype=np.uint8)
        labels = np.zeros((64, 128), np.uint8)  # road, with a car and a person
        for k, (label, top, left) in enumerate(((13, 8, 16), (11, 24, 72))):
            r = top + int(rng.integers(0, 8))
            c = left + int(rng.integers(0, 16))
            labels[r:r + 24, c:c + 32] = label
            image[r:r + 24, c:c + 32] = OBJECT_COLOURS[k]
        Image.fromarray(image).save(img_dir / f'{stem}_leftImg8bit.png')
        Image.fromarray(labels).save(seg_dir /
                                     f'{stem}_gtFine_labelTrainIds.png')
    return root


def write_voc(root: Path,
              num_images: int = 4,
              seed: int = 0,
              year: str = '2007') -> Path:
    """A tiny PASCAL VOC-format detection dataset (JPEG + xml)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    voc = root / f'VOC{year}'
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (voc / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(num_images):
        name = f'{i:06d}'
        h, w = 60, 80
        image = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        image[12:40, 10:50] = OBJECT_COLOURS[0]  # the dog's box
        Image.fromarray(image).save(voc / 'JPEGImages' / f'{name}.jpg')
        (voc / 'Annotations' / f'{name}.xml').write_text(
            f'<annotation><filename>{name}.jpg</filename><size>'
            f'<width>{w}</width><height>{h}</height><depth>3</depth></size>'
            '<object><name>dog</name><difficult>0</difficult><bndbox>'
            '<xmin>10</xmin><ymin>12</ymin><xmax>50</xmax><ymax>40</ymax>'
            '</bndbox></object></annotation>')
        names.append(name)
    for split in ('test', 'trainval'):
        (voc / 'ImageSets' / 'Main' /
         f'{split}.txt').write_text('\n'.join(names) + '\n')
    return root


TINY_CFG = str(REPO / 'configs/tiny/'
               'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')


def env():
    e = dict(os.environ)
    e['PYTHONPATH'] = f'{REPO}{os.pathsep}' + e.get('PYTHONPATH', '')
    e['OMP_NUM_THREADS'] = '1'
    return e


def options(data_root, max_iters, extra=()):
    return [
        '--cfg-options', f'data_root={data_root}',
        f'train_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=16', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'model.queue_len=64',
        f'train_cfg.max_iters={max_iters}',
        'default_hooks.checkpoint.interval=4',
        'default_hooks.logger.interval=1', *extra
    ]


def train(work_dir,
          data_root,
          max_iters,
          extra=(),
          resume=False,
          config=TINY_CFG):
    cmd = [
        sys.executable,
        str(REPO / 'tools/train.py'), config, '--work-dir',
        str(work_dir)
    ]
    cmd += ['--resume'] if resume else []
    cmd += options(data_root, max_iters, extra)
    return subprocess.run(
        cmd, cwd=REPO, env=env(), capture_output=True, text=True, check=False)


def build(config: str = TINY_CFG, seed: int = 0):
    cfg = Config.fromfile(str(REPO / config))
    if 'queue_len' in cfg.model:
        cfg.model.queue_len = 64
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model
