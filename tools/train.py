"""Train (or search, with a SearchLoop config) with an mmdata config."""
import argparse
import copy
import os.path as osp

from cli_options import (add_cfg_options, add_launcher, parse_launched,
                         tool_parser)
from mmengine.config import Config


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest checkpoint '
        'in the work_dir when no path is given')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation')
    add_cfg_options(parser)
    add_launcher(parser)
    return parse_launched(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command line arguments into the config; schedulers follow a
    training length changed with ``--cfg-options`` unless those set
    ``param_scheduler`` themselves."""
    from mmdata.utils import follow_train_length
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        original = copy.deepcopy(cfg)
        cfg.merge_from_dict(args.cfg_options)
        if not any(k.startswith('param_scheduler') for k in args.cfg_options):
            for change in follow_train_length(cfg, original):
                print(f'schedule follows the training length: {change}')
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


def main(args: argparse.Namespace) -> None:
    from mmdata.setup_env import register_all_modules
    from mmdata.utils import load_config, run_runner
    register_all_modules(init_default_scope=False)
    cfg = merge_args(load_config(args.config), args)
    if 'SearchLoop' in str(cfg.get('train_cfg', {}).get('type', '')):
        # a search config: the supernet is the checkpoint's own
        from mmdata.models.supernet_checkpoint import search_model_config
        search_model_config(cfg, cfg.get('load_from'))
    run_runner(cfg)


if __name__ == '__main__':
    args = parse_args()  # --help answers before the heavy imports
    from mmdata.utils import run_cli
    run_cli(lambda: main(args))
