"""Search the best subnet per budget of a supernet checkpoint.

Equivalent to ``python tools/train.py SEARCH_CONFIG --cfg-options
load_from=SUPERNET_CKPT``; results go to ``WORK_DIR/search/``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmdata.models.backbones import SpaceMismatchError
from mmdata.utils import (check_data_roots, prepare_cpu_distributed,
                          register_all_modules)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='search config (SearchLoop)')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    parser.add_argument('--work-dir', help='the dir to save results')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    loop = cfg.get('train_cfg', {}).get('type', '')
    if loop not in ('mmdata.SearchLoop', 'SearchLoop'):
        sys.exit(f'error: {args.config} is not a search config '
                 f"(train_cfg.type is {loop!r}, expected 'mmdata.SearchLoop')")
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    try:
        check_data_roots(cfg)
    except FileNotFoundError as err:
        sys.exit(f'error: {err}')
    prepare_cpu_distributed(cfg)
    try:
        Runner.from_cfg(cfg).train()
    except SpaceMismatchError as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
