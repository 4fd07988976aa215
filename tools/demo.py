"""The DATA pipeline on a CPU in about five minutes (``make demo``).

1. data: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (installed
   with apt-get when possible), else scikit-learn's digits (with a notice);
2. train the tiny supernet (MoCo v2, paper Alg. 1) briefly
   (``tools/train.py``);
3. search 3 FLOPs bins without labels (``tools/search.py``: BN-calibrated
   candidates, tap z, relation similarity), a few candidates per bin;
4. export each bin's best subnet (``tools/export_subnet.py``: backbone.pth
   + arch.yaml + an mmpretrain config), and the largest bin's also for
   mmdet (a Faster R-CNN FPN config for the Fashion-MNIST scenes);
5. fine-tune both exports one iteration with ``mim train mmdet|mmpretrain``
   (the libraries' own Runner), each through a short config that inherits
   the export and points it at the demo's data (a few scenes made by
   ``tools/misc/prepare_fashion_scenes.py``; Fashion-MNIST), as you would
   for your data;
6. print the winners, each with its rank by parameter count inside its bin
   (the free baseline a label-free search has to beat).

Every step runs the documented tool, resumes when re-run, and writes to
``--work-dir`` (default ``work_dirs/demo``). Whether the search ranks
better than the parameter count is the ranking study's question
(``make ranking``, docs/studies/tiny_lengths.md), not the demo's.
"""
import argparse
import os
import os.path as osp
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN_CFG = ('configs/tiny/'
             'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
DET_TASK = 'scenes-fasterrcnn-fpn'
CLS_TASK = 'in1k-linear'
# a short config that adapts an exported config to the demo's data and
# stops after one iteration, as a user adapts it to theirs
DETECTOR = """_base_ = {base!r}
root = {root!r}
loader = dict(batch_size=2, num_workers=0, persistent_workers=False,
              dataset=dict(data_root=root))
train_dataloader = loader
val_dataloader = test_dataloader = loader
val_evaluator = test_evaluator = dict(
    ann_file=root + 'annotations/instances_val.json')
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""
CLASSIFIER = """_base_ = {base!r}
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(
        _delete_=True, type='FashionMNIST', data_root={root!r},
        split='train', download=False,
        pipeline=[dict(type='NumpyToPIL'),
                  dict(type='torchvision/Grayscale', num_output_channels=3),
                  dict(type='PILToNumpy'),
                  dict(type='Resize', scale=32, backend='pillow'),
                  dict(type='PackInputs')]))
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None
model = dict(head=dict(num_classes=10))
custom_hooks = [dict(type='mmdata.BNCalibrationHook', num_batches=2)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=1)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=1),
                     logger=dict(interval=1))
log_processor = dict(by_epoch=False)
"""
SEARCH_CFG = 'configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py'
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/fashion-mnist')
    parser.add_argument(
        '--iters',
        type=int,
        default=468,
        help='training iterations (468 = one epoch)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument(
        '--candidates', type=int, default=5, help='candidates per bin')
    parser.add_argument(
        '--score-batches',
        type=int,
        default=8,
        help='target batches (64 images) each candidate is '
        'scored on (the search config scores all)')
    parser.add_argument(
        '--no-apt', action='store_true', help='never call apt-get')
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
    steps.step('1/6 data')
    name = ensure_data(root, not args.no_apt, steps)

    steps.step('2/6 train the tiny supernet')
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

    steps.step('3/6 label-free search of 3 FLOPs bins')
    steps.run('search', 'tools/search.py', SEARCH_CFG, str(ckpt), '--work-dir',
              str(work), '--cfg-options',
              f'train_dataloader.dataset.data_root={root}',
              f'train_cfg.num_candidates={args.candidates}',
              f'train_cfg.score_batches={args.score_batches}')
    search_dir = work / 'search'
    from mmdata.search.outputs import read_best
    best = read_best(str(search_dir))

    steps.step('4/6 export the best subnet of each bin (mmpretrain), the '
               'largest bin\'s also for mmdet')
    for bin_name in best:
        steps.run(f'export-{bin_name}',
                  'tools/export_subnet.py', str(ckpt), '--search-dir',
                  str(search_dir), '--bin', bin_name, '--task', CLS_TASK,
                  '--out', str(work / 'export' / bin_name), '--overwrite')
    largest = list(best)[-1]
    steps.run('export-detector',
              'tools/export_subnet.py', str(ckpt), '--search-dir',
              str(search_dir), '--bin', largest, '--task', DET_TASK, '--out',
              str(work / 'export' / 'detector'), '--overwrite')

    steps.step('5/6 fine-tune both exports one iteration (mim train)')
    scenes = work / 'scenes'
    steps.run('scenes',
              'tools/misc/prepare_fashion_scenes.py', str(scenes), '--src',
              str(root), '--num-train', '16', '--num-val', '8', '--num-test',
              '8')
    finetune(steps, work, 'detector', 'mmdet', DETECTOR,
             work / 'export' / 'detector', DET_TASK, f'{scenes}/')
    finetune(steps, work, 'classifier', 'mmpretrain', CLASSIFIER,
             work / 'export' / largest, CLS_TASK, str(root))

    steps.step('6/6 results')
    print(f'data: {name}')
    print(winners_table(best))
    steps.close()
    print(f'\noutputs in {work}: search/ (candidates.json, best.yaml, '
          'search.png), export/ (one folder per bin, detector/), '
          'finetune/ (configs and runs), logs/\n'
          'next: does the search rank better than the parameter count on '
          'your data? `make ranking` (docs/studies/tiny_lengths.md)')


def finetune(steps, work: Path, name: str, library: str, template: str,
             export: Path, task: str, root: str) -> None:
    """Write ``finetune/NAME.py`` (the export's config adapted to ``root``'s
    data, one iteration) and train it with ``mim train LIBRARY``."""
    from mmdata.export import TASKS
    folder = work / 'finetune'
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f'{name}.py'
    config.write_text(
        template.format(base=str(export / TASKS[task]['config']), root=root))
    steps.run(f'finetune-{name}', '-m', 'mim', 'train', library, str(config),
              '--work-dir', str(folder / name))
    log = (work / 'logs' / f'finetune-{name}.log').read_text()
    loss = re.findall(r'\(train\).*?\sloss: ([0-9.]+)', log)
    found = re.findall(r'coco/bbox_mAP: ([0-9.]+)', log)
    print(f'  {name}: loss {loss[-1] if loss else "?"} after 1 iteration' +
          (f', val bbox mAP {found[-1]}' if found else '') +
          f'; {folder / name / "iter_1.pth"}')


def winners_table(best: dict) -> str:
    """The best arch of each bin (``best.yaml``) with its score and its
    rank by params among the bin's candidates."""
    lines = [
        'winners (best search score per bin; params rank: 1 = the '
        "bin's largest)",
        f'{"bin":<17} {"arch":<44} {"MFLOPs":>7} {"params":>8} '
        f'{"score":>8} {"params rank":>11}'
    ]
    for bin_name, b in best.items():
        lines.append(f'{bin_name:<17} {b["arch"]:<44} {b["flops"] / 1e6:7.2f} '
                     f'{b["params"] / 1e6:7.2f}M {b["score"]:8.3f} '
                     f'{b["params_rank"]:>11}')
    return '\n'.join(lines)


if __name__ == '__main__':
    main(parse_args())
