"""Make the Fashion-MNIST scenes: a small detection / segmentation benchmark
on which the search's feature maps and task-aware taps can be tested.

Each scene is a ``--size`` px gray canvas (default 96: C5 is 3x3, C2 24x24)
on a varied background (a random gradient, low-frequency blobs and noise)
holding 2 to ``--max-items`` Fashion-MNIST items, each resized to 16-48 px,
with a random brightness, at a random position; items may overlap a little
(box IoU <= 0.3 with every earlier item) and a later item hides what it
covers. Train scenes use the train split's items, val and test scenes the
test split's (disjoint halves), so no item is shared between splits.

Written to ``OUT``, in the formats the libraries read natively::

    OUT/{train,val,test}/images/000000.png    gray canvas
    OUT/{train,val,test}/semantic/000000.png  class + 1 per pixel, 0 = bg
    OUT/annotations/instances_{split}.json    COCO boxes + RLE masks
    OUT/scenes.json                           what made them (seed, sizes)

Everything follows from ``--seed``; each split has its own random stream,
so changing the size of one split leaves the others unchanged. The default
sizes (4,000 / 500 / 500 scenes, ~25 MB, ~30 s) suit the 2-core budget:
one epoch of MoCo v2 on the train scenes is ~30 iterations of batch 128.

Made by ``python tools/misc/prepare_fashion_scenes.py data/fashion-scenes``.
"""
import gzip
import json
import struct
from pathlib import Path

import numpy as np

from mmdata.errors import ConfigError, DataError, WorkDirError
from mmdata.utils.files import atomic_write

CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')
SPLITS = ('train', 'val', 'test')
ITEM_SIZES = (16, 48)  # item side in px, uniform
MAX_IOU = 0.3  # between the box of a new item and every earlier one
MASK_ALPHA = 0.5  # an item pixel belongs to its mask above this opacity


def read_idx(folder: Path, name: str) -> np.ndarray:
    """An idx file of ``folder`` (plain or ``.gz``) as an array."""
    path = folder / name
    opener = open
    if not path.exists():
        path, opener = folder / f'{name}.gz', gzip.open
    if not path.exists():
        raise DataError(
            f'{folder} has no {name}[.gz]: install Debian\'s '
            'dataset-fashion-mnist or run tools/misc/prepare_fashion_mnist.py'
            ' and pass its folder as --src')
    with opener(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    shape = struct.unpack(f'>{ndim}I', data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A float canvas in 0-255: a random linear gradient between two dark
    to mid gray levels, low-frequency blobs and pixel noise."""
    from PIL import Image
    lo, hi = np.sort(rng.uniform(0, 140, 2))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    canvas = lo + (hi - lo) * ramp
    coarse = rng.normal(0, 1, (4, 4)).astype(np.float32)
    blobs = np.asarray(
        Image.fromarray(coarse).resize((size, size), Image.BICUBIC))
    canvas += rng.uniform(0, 30) * blobs
    canvas += rng.normal(0, rng.uniform(2, 10), (size, size))
    return canvas


def box_iou(a: tuple, b: tuple) -> float:
    """IoU of two ``(x, y, side)`` squares."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[2], b[1] + b[2]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2]**2 + b[2]**2 - inter)


def make_scene(rng: np.random.Generator, items: np.ndarray, labels: np.ndarray,
               size: int, max_items: int):
    """One scene: the uint8 canvas, its semantic map and its instances
    (``label``, boolean visible mask), drawn from ``items``."""
    from PIL import Image
    canvas = background(rng, size)
    owner = np.full((size, size), -1, np.int64)  # instance per pixel
    placed, chosen = [], []
    for _ in range(int(rng.integers(2, max_items + 1))):
        side = int(rng.integers(ITEM_SIZES[0], ITEM_SIZES[1] + 1))
        for _try in range(20):
            box = (int(rng.integers(0, size - side + 1)),
                   int(rng.integers(0, size - side + 1)), side)
            if all(box_iou(box, p) <= MAX_IOU for p in placed):
                break
        else:
            continue
        index = int(rng.integers(len(items)))
        item = np.asarray(
            Image.fromarray(items[index]).resize((side, side), Image.BILINEAR),
            np.float64)
        alpha = np.clip(item / 96., 0, 1)
        gain = rng.uniform(0.7, 1.1)
        x, y = box[0], box[1]
        region = canvas[y:y + side, x:x + side]
        region[:] = region * (1 - alpha) + np.clip(item * gain, 0, 255) * alpha
        owner[y:y + side, x:x + side][alpha > MASK_ALPHA] = len(chosen)
        placed.append(box)
        chosen.append(int(labels[index]))
    instances = []
    semantic = np.zeros((size, size), np.uint8)
    for i, label in enumerate(chosen):
        mask = owner == i
        if mask.sum() >= 16:  # hidden items are no instance, nor labeled
            instances.append((label, mask))
            semantic[mask] = label + 1
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return image, semantic, instances


def coco_annotation(mask: np.ndarray, label: int, image_id: int,
                    ann_id: int) -> dict:
    """A COCO instance (box from the visible mask, RLE segmentation)."""
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    box = [x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0]
    return dict(
        id=ann_id,
        image_id=image_id,
        category_id=label + 1,
        bbox=box,
        area=int(mask.sum()),
        iscrowd=0,
        segmentation=rle)


def write_split(out: Path, split: str, num: int, rng: np.random.Generator,
                items: np.ndarray, labels: np.ndarray, size: int,
                max_items: int) -> int:
    """Write ``num`` scenes of ``split``; returns the number of
    instances."""
    from PIL import Image

    for sub in ('images', 'semantic'):
        (out / split / sub).mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(num):
        image, semantic, instances = make_scene(rng, items, labels, size,
                                                max_items)
        name = f'{image_id:06d}.png'
        Image.fromarray(image).save(out / split / 'images' / name)
        Image.fromarray(semantic).save(out / split / 'semantic' / name)
        images.append(
            dict(id=image_id, file_name=name, width=size, height=size))
        for label, mask in instances:
            annotations.append(
                coco_annotation(mask, label, image_id,
                                len(annotations) + 1))
    coco = dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)])
    (out / 'annotations').mkdir(parents=True, exist_ok=True)
    atomic_write(
        str(out / 'annotations' / f'instances_{split}.json'), json.dumps(coco))
    return len(annotations)


def prepare(src: Path,
            out: Path,
            sizes: dict,
            size: int = 96,
            max_items: int = 5,
            seed: int = 0,
            overwrite: bool = False) -> dict:
    """Write the scenes of every split into ``out``; returns what made them
    (also written to ``out/scenes.json``). Scenes made with the same
    settings are kept; other settings are refused unless ``overwrite``,
    which deletes the old scenes first."""
    import shutil

    if size < 64:
        raise ConfigError(f'--size {size}: allowed >= 64 (48 px items, and '
                          'C5 of at least 2x2)')
    if max_items < 2:
        raise ConfigError(f'--max-items {max_items}: allowed >= 2')
    for split, num in sizes.items():
        if num < 1:
            raise ConfigError(f'--num-{split} {num}: allowed >= 1')
    train = (read_idx(src, 'train-images-idx3-ubyte'),
             read_idx(src, 'train-labels-idx1-ubyte'))
    test = (read_idx(src, 't10k-images-idx3-ubyte'),
            read_idx(src, 't10k-labels-idx1-ubyte'))
    half = len(test[0]) // 2
    pools = dict(
        train=train,
        val=(test[0][:half], test[1][:half]),
        test=(test[0][half:], test[1][half:]))
    info = dict(
        seed=seed,
        size=size,
        max_items=max_items,
        item_sizes=list(ITEM_SIZES),
        max_iou=MAX_IOU,
        classes=list(CLASSES),
        scenes=dict(sizes),
        instances={})
    made = out / 'scenes.json'
    if made.exists():
        old = json.loads(made.read_text())
        if {
                k: v
                for k, v in old.items() if k != 'instances'
        } == {
                k: v
                for k, v in info.items() if k != 'instances'
        }:
            return old
        if not overwrite:
            raise WorkDirError(
                f'{out} holds scenes made with other settings ({made}); '
                'pass --overwrite to replace them or choose another folder')
    for split in SPLITS:
        shutil.rmtree(out / split, ignore_errors=True)
    made.unlink(missing_ok=True)
    for k, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, k])
        info['instances'][split] = write_split(out, split, sizes[split], rng,
                                               *pools[split], size, max_items)
    atomic_write(str(out / 'scenes.json'), json.dumps(info, indent=1))
    return info
