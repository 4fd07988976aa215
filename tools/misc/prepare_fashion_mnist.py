"""Un-gzip Fashion-MNIST into the folder mmpretrain's FashionMNIST reads.

The idx files come from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or any folder holding
``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.

Example::

    python tools/misc/prepare_fashion_mnist.py --out data/fashion-mnist
"""
import argparse
import gzip
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from cli_options import tool_parser

FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'


def prepare(src: Path, out: Path) -> Path:
    """Copy (un-gzipping) the 4 idx files from ``src`` into ``out``."""
    missing = [
        f for f in FILES
        if not (src / f).exists() and not (src / f'{f}.gz').exists()
    ]
    if missing:
        from mmdata.utils import DataError
        raise DataError(
            f'{src} lacks {missing}; install Debian\'s dataset-fashion-mnist '
            f'(apt-get install dataset-fashion-mnist, files in {DEBIAN_DIR}) '
            'or pass --src with the idx files')
    from mmdata.utils import atomic_write

    def copy(name: str, tmp: str) -> None:
        if (src / name).exists():
            shutil.copyfile(src / name, tmp)
        else:
            with gzip.open(src / f'{name}.gz', 'rb') as fin, \
                    open(tmp, 'wb') as fout:
                shutil.copyfileobj(fin, fout)

    for name in FILES:
        if not (out / name).exists():
            atomic_write(str(out / name), lambda tmp: copy(name, tmp))
    return out


def write_digits(out: Path, seed: int = 0) -> Path:
    """Fallback: scikit-learn's bundled 8x8 digits (1797 images, 10 classes)
    upscaled to 28x28 and written in the same idx format (1497 train / 300
    test images)."""
    import struct

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.images))
    images = np.stack([
        np.asarray(
            Image.fromarray(
                (digits.images[i] * 255 / 16).astype(np.uint8)).resize(
                    (28, 28), Image.BILINEAR)) for i in order
    ])
    labels = digits.target[order].astype(np.uint8)
    out.mkdir(parents=True, exist_ok=True)
    splits = (('train', slice(0, 1497)), ('t10k', slice(1497, None)))
    for prefix, sl in splits:
        imgs, labs = images[sl], labels[sl]
        with open(out / f'{prefix}-images-idx3-ubyte', 'wb') as f:
            f.write(struct.pack('>IIII', 2051, len(imgs), 28, 28))
            f.write(imgs.tobytes())
        with open(out / f'{prefix}-labels-idx1-ubyte', 'wb') as f:
            f.write(struct.pack('>II', 2049, len(labs)))
            f.write(labs.tobytes())
    return out


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('--src', default=DEBIAN_DIR)
    parser.add_argument('--out', default='data/fashion-mnist')
    parser.add_argument(
        '--digits',
        action='store_true',
        help="write scikit-learn's digits instead (offline fallback)")
    return parser.parse_args()


def main(args: argparse.Namespace) -> None:
    if args.digits:
        print(f'wrote scikit-learn digits to {write_digits(Path(args.out))}')
        return
    out = prepare(Path(args.src), Path(args.out))
    print(f'Fashion-MNIST ready in {out}')


if __name__ == '__main__':
    args = parse_args()  # --help answers before importing mmdata
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
