"""Un-gzip Fashion-MNIST into the folder mmpretrain's FashionMNIST reads.

The idx files come from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or any folder holding
``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.

Example::

    python tools/misc/prepare_fashion_mnist.py --out data/fashion-mnist
"""
import argparse
import gzip
import os
import shutil
import sys
from pathlib import Path

FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'


def prepare(src: Path, out: Path) -> Path:
    """Copy (un-gzipping) the 4 idx files from ``src`` into ``out``."""
    missing = [f for f in FILES if not (src / f).exists()
               and not (src / f'{f}.gz').exists()]
    if missing:
        raise FileNotFoundError(
            f'{src} lacks {missing}. Install Debian\'s dataset-fashion-mnist '
            f'(apt-get install dataset-fashion-mnist, files in {DEBIAN_DIR}) '
            'or pass --src with the idx files.')
    out.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        target = out / name
        if target.exists():
            continue
        tmp = out / f'.{name}.tmp'
        if (src / name).exists():
            shutil.copyfile(src / name, tmp)
        else:
            with gzip.open(src / f'{name}.gz', 'rb') as fin, open(tmp,
                                                                 'wb') as fo:
                shutil.copyfileobj(fin, fo)
        os.replace(tmp, target)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', default=DEBIAN_DIR)
    parser.add_argument('--out', default='data/fashion-mnist')
    args = parser.parse_args()
    try:
        out = prepare(Path(args.src), Path(args.out))
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    print(f'Fashion-MNIST ready in {out}')


if __name__ == '__main__':
    main()
