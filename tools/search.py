"""Search the best subnet per budget of a supernet checkpoint.

The supernet (any method's) is built from the model its training config
recorded in the checkpoint, or from ``--train-config``; the search config
describes the search. Equivalent to ``python tools/train.py SEARCH_CONFIG
--cfg-options load_from=SUPERNET_CKPT``; results go to
``WORK_DIR/search/``.
"""
import argparse
import os.path as osp

from cli_options import (add_cfg_options, add_launcher, parse_launched,
                         tool_parser)


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='search config (SearchLoop)')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    parser.add_argument('--work-dir', help='the dir to save results')
    parser.add_argument(
        '--train-config',
        help="the supernet's training config, for a "
        'checkpoint that records none (default: the model the checkpoint '
        'recorded)')
    add_cfg_options(parser)
    add_launcher(parser)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='drop the results of another search in WORK_DIR/search')
    return parse_launched(parser)


def main(args: argparse.Namespace) -> None:
    from mmdata.setup_env import register_all_modules
    from mmdata.utils import (ConfigError, check_checkpoint_file, load_config,
                              run_runner)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    loop = cfg.get('train_cfg', {}).get('type', '')
    if loop not in ('mmdata.SearchLoop', 'SearchLoop'):
        raise ConfigError(
            f'{args.config} is not a search config (train_cfg.type is '
            f"{loop!r}, expected 'mmdata.SearchLoop')")
    check_checkpoint_file(args.checkpoint)
    from mmdata.models.supernet_checkpoint import search_model_config
    search_model_config(cfg, args.checkpoint, args.train_config)
    cfg.train_cfg.overwrite = args.overwrite
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    run_runner(cfg)


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
