"""The whole DATA pipeline on a CPU, in one command (``make demo``).

1. data: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (installed
   with apt-get when possible), else scikit-learn's digits (with a notice);
2. train the tiny supernet (MoCo v2, paper Alg. 1), one epoch;
3. search 3 FLOPs bins without labels (tap z, relation similarity);
4. export each bin's best subnet (backbone.pth + arch.yaml + config);
5. linear-probe every candidate with labels;
6. print the Spearman / Kendall correlation of search scores with the probe
   accuracies (paper Table 2) and a table of the winners.

Every step runs the documented tool, resumes when re-run, and writes to
``--work-dir`` (default ``work_dirs/demo``).
"""
import argparse
import csv
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
    parser.add_argument('--candidates', type=int, default=10,
                        help='candidates per bin')
    parser.add_argument('--probe-train', type=int, default=5000)
    parser.add_argument('--probe-test', type=int, default=2000)
    parser.add_argument('--no-apt', action='store_true',
                        help='never call apt-get')
    return parser.parse_args()


def step(title: str) -> None:
    print(f'\n=== {title}', flush=True)


def run(*cmd: str) -> None:
    print('$ ' + ' '.join(cmd), flush=True)
    result = subprocess.run([sys.executable, *cmd], cwd=REPO)
    if result.returncode != 0:
        sys.exit(f'error: the step above failed (exit {result.returncode}); '
                 're-run `make demo` to resume')


def ensure_data(root: Path, allow_apt: bool) -> str:
    """Returns the data set's name."""
    if all((root / f).exists() for f in FILES):
        return f'idx files already in {root}'
    if not osp.isdir(DEBIAN_DIR) and allow_apt and shutil.which('apt-get') \
            and os.geteuid() == 0:
        print('installing Debian package dataset-fashion-mnist with apt-get')
        install = ['apt-get', 'install', '-y', '-q', 'dataset-fashion-mnist']
        if subprocess.run(install, check=False).returncode != 0:
            subprocess.run(['apt-get', 'update', '-q'], check=False)
            subprocess.run(install, check=False)
    if osp.isdir(DEBIAN_DIR):
        run('tools/misc/prepare_fashion_mnist.py', '--out', str(root))
        return 'Fashion-MNIST'
    print('NOTICE: Fashion-MNIST is not available (install it with '
          '`apt-get install dataset-fashion-mnist`, or put the idx files in '
          f'{root}); using scikit-learn\'s digits instead.')
    run('tools/misc/prepare_fashion_mnist.py', '--digits', '--out', str(root))
    return "scikit-learn's digits"


def main() -> None:
    args = parse_args()
    work = Path(args.work_dir).resolve()
    root = Path(args.data_root).resolve()
    step('1/6 data')
    name = ensure_data(root, not args.no_apt)
    data_opts = [
        f'train_dataloader.dataset.data_root={root}',
        f'probe_train_dataloader.dataset.data_root={root}',
        f'probe_test_dataloader.dataset.data_root={root}'
    ]

    step(f'2/6 train the tiny supernet ({args.iters} iterations)')
    ckpt = work / 'train' / f'iter_{args.iters}.pth'
    if ckpt.exists():
        print(f'{ckpt} exists, skipping')
    else:
        resume = ['--resume'] if (work / 'train' /
                                  'last_checkpoint').exists() else []
        run('tools/train.py', TRAIN_CFG, '--work-dir', str(work / 'train'),
            *resume, '--cfg-options', *data_opts,
            f'train_dataloader.batch_size={args.batch_size}',
            f'train_cfg.max_iters={args.iters}',
            f'param_scheduler.0.T_max={args.iters}')

    step('3/6 label-free search: 3 FLOPs bins')
    run('tools/search.py', SEARCH_CFG, str(ckpt), '--work-dir',
        str(work / 'search'), '--cfg-options', *data_opts,
        f'train_cfg.num_candidates={args.candidates}')
    search_dir = work / 'search' / 'search'
    best = yaml.safe_load((search_dir / 'best.yaml').read_text())

    step('4/6 export the best subnet of each bin')
    for bin_name in best:
        run('tools/export_subnet.py', str(ckpt), '--search-dir',
            str(search_dir), '--bin', bin_name, '--task', 'in1k-linear',
            '--out', str(work / 'export' / bin_name), '--overwrite')

    step('5/6 linear probe of every candidate (labels used only here)')
    probe = work / 'probe.csv'
    run('tools/analysis/linear_probe.py', TRAIN_CFG, str(ckpt),
        '--search-dir', str(search_dir), '--out', str(probe),
        '--max-train', str(args.probe_train), '--max-test',
        str(args.probe_test), '--cfg-options', *data_opts)

    step('6/6 ranking correlation (paper Table 2)')
    run('tools/analysis/rank_correlation.py', str(search_dir), str(probe),
        '--out', str(work))
    with open(probe) as f:
        top1 = {row['arch']: float(row['top1']) for row in csv.DictReader(f)}
    report = json.loads((work / 'rank_correlation.json').read_text())
    rho = report['report']['all (score)']['spearman']
    print(f'\ndata: {name}')
    print('winners (best search score per bin):')
    print(f'{"bin":<10} {"arch":<44} {"MFLOPs":>7} {"params":>8} '
          f'{"score":>8} {"probe top1":>10} {"bin rank":>8}')
    for bin_name, b in best.items():
        in_bin = sorted((v for a, v in top1.items() if a in {
            c['arch'] for c in json.loads(
                (search_dir / 'candidates.json').read_text())['candidates']
            if c['bin'] == bin_name}), reverse=True)
        rank = in_bin.index(top1[b['arch']]) + 1
        print(f'{bin_name:<10} {b["arch"]:<44} {b["flops"] / 1e6:7.2f} '
              f'{b["params"]:8d} {b["score"]:8.3f} {top1[b["arch"]]:10.4f} '
              f'{rank:>5}/{len(in_bin)}')
    print(f'\nSpearman correlation of search scores with probe top-1: '
          f'{"undefined" if rho is None else f"{rho:.3f}"}')
    print(f'outputs in {work}')


if __name__ == '__main__':
    main()
