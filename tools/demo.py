"""The whole DATA pipeline on a CPU, in one command (``make demo``).

1. data: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (installed
   with apt-get when possible), else scikit-learn's digits (with a notice);
2. the ranking benchmark (``tools/analysis/ranking_benchmark.py``): train
   the tiny supernet (MoCo v2, paper Alg. 1) for one epoch, search 3 FLOPs
   bins without labels (tap z, relation similarity) storing FLOPs, params,
   NASWOT and SynFlow beside the search score, linear-probe every candidate
   (and the probe's noise floor), compare every score with the probe;
3. export each bin's best subnet (backbone.pth + arch.yaml + config);
4. print the ranking table and the winners.

Every step runs the documented tool, resumes when re-run, and writes to
``--work-dir`` (default ``work_dirs/demo``).
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

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
    parser.add_argument('--candidates', type=int, default=15,
                        help='candidates per bin')
    parser.add_argument('--probe-train', type=int, default=10000)
    parser.add_argument('--probe-test', type=int,
                        help='default: the whole test split')
    parser.add_argument('--noise-seeds', type=int, default=5)
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
    steps.step('1/4 data')
    name = ensure_data(root, not args.no_apt, steps)
    data_opts = [
        f'train_dataloader.dataset.data_root={root}',
        f'probe_train_dataloader.dataset.data_root={root}',
        f'probe_test_dataloader.dataset.data_root={root}'
    ]

    steps.step('2/4 ranking benchmark: train, search, probe, compare')
    bench = [
        'tools/analysis/ranking_benchmark.py', TRAIN_CFG, SEARCH_CFG,
        '--work-dir', str(work), '--iters', str(args.iters), '--candidates',
        str(args.candidates), '--probe-train', str(args.probe_train),
        '--noise-seeds', str(args.noise_seeds), '--label-metrics', 'linear'
    ]
    bench += ['--probe-test', str(args.probe_test)] if args.probe_test else []
    steps.run('ranking_benchmark', *bench, '--cfg-options', *data_opts,
              '--train-options',
              f'train_dataloader.batch_size={args.batch_size}')
    ckpt = work / 'train' / f'iter_{args.iters}.pth'
    search_dir = work / 'search'
    best = yaml.safe_load((search_dir / 'best.yaml').read_text())

    steps.step('3/4 export the best subnet of each bin')
    for bin_name in best:
        steps.run(f'export-{bin_name}', 'tools/export_subnet.py', str(ckpt),
                  '--search-dir', str(search_dir), '--bin', bin_name,
                  '--task', 'in1k-linear', '--out',
                  str(work / 'export' / bin_name), '--overwrite')

    steps.step('4/4 results')
    report = json.loads(
        (work / 'rank_correlation-linear.json').read_text())
    print(f'data: {name}')
    table = (work / 'ranking.txt').read_text().split('\n', 1)[1]  # no title
    print(table.split('\n\nbin ')[0])
    data = next(iter(report['columns']))
    print('\nwinners (best search score per bin):')
    print(f'{"bin":<17} {"arch":<44} {"MFLOPs":>7} {"score":>8} '
          f'{"probe top1":>10} {"pct":>5}')
    for bin_name, b in best.items():
        pick = report['columns'][data]['bins'][bin_name]
        print(f'{bin_name:<17} {b["arch"]:<44} {b["flops"] / 1e6:7.2f} '
              f'{b["score"]:8.3f} {pick["winner"]:10.4f} '
              f'{pick["percentile"]:4.0f}%')
    steps.close()
    print(f'\noutputs in {work} (figure: rank_correlation-linear.png, logs in '
          'logs/)')


if __name__ == '__main__':
    main(parse_args())
