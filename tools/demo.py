"""The DATA pipeline on a CPU in about five minutes (``make demo``).

1. data: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (installed
   with apt-get when possible), else scikit-learn's digits (with a notice);
2. train the tiny supernet (MoCo v2, paper Alg. 1) briefly
   (``tools/train.py``);
3. search 3 FLOPs bins without labels (``tools/search.py``: BN-calibrated
   candidates, tap z, relation similarity), a few candidates per bin;
4. export each bin's best subnet (``tools/export_subnet.py``: backbone.pth
   + arch.yaml + an mmpretrain config);
5. print the winners, each with its rank by parameter count inside its bin
   (the free baseline a label-free search has to beat).

Every step runs the documented tool, resumes when re-run, and writes to
``--work-dir`` (default ``work_dirs/demo``). Whether the search ranks
better than the parameter count is the ranking study's question
(``make ranking``, docs/ranking.md), not the demo's.
"""
import argparse
import os
import os.path as osp
import shutil
import subprocess
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
TRAIN_CFG = ('configs/tiny/'
             'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
SEARCH_CFG = 'configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py'
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/fashion-mnist')
    parser.add_argument('--iters', type=int, default=468,
                        help='training iterations (468 = one epoch)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--candidates', type=int, default=5,
                        help='candidates per bin')
    parser.add_argument('--score-batches', type=int, default=8,
                        help='target batches (64 images) each candidate is '
                        'scored on (the search config scores all)')
    parser.add_argument('--no-apt', action='store_true',
                        help='never call apt-get')
    return parser.parse_args()


def data_name(root: Path) -> str:
    """Fashion-MNIST has 60000 training images; the offline fallback (digits)
    fewer."""
    with open(root / 'train-images-idx3-ubyte', 'rb') as f:
        count = int.from_bytes(f.read(8)[4:], 'big')
    return 'Fashion-MNIST' if count == 60000 else "scikit-learn's digits"


def ensure_data(root: Path, allow_apt: bool, steps) -> str:
    """Returns the data set's name."""
    if all((root / f).exists() for f in FILES):
        return f'{data_name(root)} (already in {root})'
    if not osp.isdir(DEBIAN_DIR) and allow_apt and shutil.which('apt-get') \
            and os.geteuid() == 0:
        print('installing Debian package dataset-fashion-mnist with apt-get')
        install = ['apt-get', 'install', '-y', '-q', 'dataset-fashion-mnist']
        if subprocess.run(install, check=False).returncode != 0:
            subprocess.run(['apt-get', 'update', '-q'], check=False)
            subprocess.run(install, check=False)
    if osp.isdir(DEBIAN_DIR):
        steps.run('prepare_data', 'tools/misc/prepare_fashion_mnist.py',
                  '--out', str(root))
        return 'Fashion-MNIST'
    print('NOTICE: Fashion-MNIST is not available (install it with '
          '`apt-get install dataset-fashion-mnist`, or put the idx files in '
          f'{root}); using scikit-learn\'s digits instead.')
    steps.run('prepare_data', 'tools/misc/prepare_fashion_mnist.py',
              '--digits', '--out', str(root))
    return "scikit-learn's digits"


def main(args: argparse.Namespace) -> None:
    from mmdata.utils.steps import Steps
    work = Path(args.work_dir).resolve()
    root = Path(args.data_root).resolve()
    steps = Steps(work / 'logs', REPO)
    steps.step('1/5 data')
    name = ensure_data(root, not args.no_apt, steps)

    steps.step('2/5 train the tiny supernet')
    ckpt = work / 'train' / f'iter_{args.iters}.pth'
    if ckpt.exists():
        print(f'{ckpt} exists, skipping')
    else:
        resume = ['--resume'] if (work / 'train' /
                                  'last_checkpoint').exists() else []
        steps.run('train', 'tools/train.py', TRAIN_CFG, '--work-dir',
                  str(work / 'train'), *resume, '--cfg-options',
                  f'train_dataloader.dataset.data_root={root}',
                  f'train_dataloader.batch_size={args.batch_size}',
                  f'train_cfg.max_iters={args.iters}')

    steps.step('3/5 label-free search of 3 FLOPs bins')
    steps.run('search', 'tools/search.py', SEARCH_CFG, str(ckpt),
              '--work-dir', str(work), '--cfg-options',
              f'train_dataloader.dataset.data_root={root}',
              f'train_cfg.num_candidates={args.candidates}',
              f'train_cfg.score_batches={args.score_batches}')
    search_dir = work / 'search'
    from mmdata.search.outputs import read_best
    best = read_best(str(search_dir))

    steps.step('4/5 export the best subnet of each bin')
    for bin_name in best:
        steps.run(f'export-{bin_name}', 'tools/export_subnet.py', str(ckpt),
                  '--search-dir', str(search_dir), '--bin', bin_name,
                  '--task', 'in1k-linear', '--out',
                  str(work / 'export' / bin_name), '--overwrite')

    steps.step('5/5 results')
    print(f'data: {name}')
    print(winners_table(best))
    steps.close()
    print(f'\noutputs in {work} (search/search.png, export/, logs/)\n'
          'next: does the search rank better than the parameter count on '
          'your data? `make ranking` (docs/ranking.md)')


def winners_table(best: dict) -> str:
    """The best arch of each bin (``best.yaml``) with its score and its
    rank by params among the bin's candidates."""
    lines = ['winners (best search score per bin; params rank: 1 = the '
             "bin's largest)",
             f'{"bin":<17} {"arch":<44} {"MFLOPs":>7} {"params":>8} '
             f'{"score":>8} {"params rank":>11}']
    for bin_name, b in best.items():
        lines.append(
            f'{bin_name:<17} {b["arch"]:<44} {b["flops"] / 1e6:7.2f} '
            f'{b["params"] / 1e6:7.2f}M {b["score"]:8.3f} '
            f'{b["params_rank"]:>11}')
    return '\n'.join(lines)


if __name__ == '__main__':
    main(parse_args())
