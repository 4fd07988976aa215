"""The GPU path in one prepared run: train, resume, search, export, fine-tune.

Each part runs the user's own entry points as subprocesses, with its own
time limit, so that a hang costs that part and not the rest:

1. ``train-fp16`` / ``train-bf16``: the Table 1 supernet (MoCo v2, Omega as
   in the paper) trained by ``tools/train.py --launcher pytorch`` under
   ``torch.distributed.run`` (world size 1, the shipped norm layers) on
   synthetic images, with ``AmpOptimWrapper`` in float16, then bfloat16:
   iterations/s, peak GPU memory (MMEngine's log), whether every loss is
   finite.
2. ``memory``: short runs of the same config with every student's backward
   summed and with the max arch alone: their peak memory beside the
   per-student backward's (target: per-student <= 1.3x max alone).
3. ``resume``: the bf16 run resumed from its half-way checkpoint for one
   iteration; that iteration's loss against the uninterrupted run's.
4. ``search``: ``tools/search.py`` on the trained supernet (the paper's
   classification bins, a few candidates each, 224 px) and
   ``benchmark_search_cost.py`` on the Table 1 space: ms per candidate
   for the cls, det_fpn and seg taps, the ratio to the bare forward passes
   (the CPU benchmark's column) and the peak memory.
5. ``finetune``: the search's pick exported for mmdet Mask R-CNN FPN and
   trained 20 iterations by MMEngine's Runner at the protocol's 1333x800 on
   a synthetic COCO set (``label_metric.py --metric det-map``). Mask R-CNN
   needs mmcv's compiled ops; where ``mmcv.ops`` does not import (an mmcv
   built without ops) the part says so and runs the mmseg FCN protocol
   (``cityscapes-fcn``, no compiled ops) instead.

Prints one table and writes it, with every figure, to ``OUT/gpu_check.json``
(each part's console in ``OUT/logs/``). ``--dry-run`` runs the same parts on
the CPU at tiny sizes (what the test suite does, so that the script cannot
rot); its figures mean nothing.

Example::

    python benchmarks/gpu_check.py --out work_dirs/gpu_check
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
SUPERNET = ('configs/supernet/'
            'supernet-mocov2_dynresnet_16xb64-coslr-200e_in1k.py')
SEARCH = 'configs/search/search-cls_dynresnet_in1k.py'
# part -> seconds it may take (the whole run stays under 8 minutes)
LIMITS = dict(
    train_fp16=100,
    train_bf16=100,
    memory=60,
    resume=45,
    search=90,
    finetune=80)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--iters', type=int, default=100)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='the same parts on the CPU at tiny sizes (figures meaningless)')
    parser.add_argument(
        '--scale-limits',
        type=float,
        default=1.,
        help='multiply every part\'s time limit (e.g. 4 for a slow CPU)')
    return parser.parse_args()


class Part:
    """One part's commands, run under one time limit; its log in
    ``out/logs/<name>.log``."""

    def __init__(self, name: str, out: Path, limit: float) -> None:
        self.name, self.out, self.limit = name, out, limit
        self.start = time.monotonic()
        self.log = out / 'logs' / f'{name}.log'
        self.log.parent.mkdir(parents=True, exist_ok=True)

    def run(self, cmd: List[str], env: Optional[dict] = None) -> str:
        """Run ``cmd`` in the repo within what is left of the limit; its
        output (also appended to the log). Raises on failure or timeout."""
        left = self.limit - (time.monotonic() - self.start)
        if left <= 0:
            raise TimeoutError(f'{self.name}: no time left')
        full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
        full_env['PYTHONPATH'] = os.pathsep.join(
            [str(REPO), full_env.get('PYTHONPATH', '')])
        try:
            done = subprocess.run(
                cmd,
                cwd=REPO,
                env=full_env,
                capture_output=True,
                text=True,
                timeout=left)
        except subprocess.TimeoutExpired as err:
            self._write(cmd, (err.stdout or b''), (err.stderr or b''))
            raise TimeoutError(f'timed out after {self.limit:.0f} s')
        self._write(cmd, done.stdout, done.stderr)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(f'exit {done.returncode}: '
                               f'{lines[-1] if lines else ""}')
        return done.stdout + done.stderr

    def _write(self, cmd, stdout, stderr) -> None:

        def text(x):
            return x.decode(errors='replace') if isinstance(x, bytes) else x

        with open(self.log, 'a') as f:
            f.write(f'$ {" ".join(cmd)}\n{text(stdout)}{text(stderr)}\n')

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start


def write_images(folder: Path, num: int, size: int) -> Path:
    """``num`` random-noise JPEGs of ``size`` px (unlabeled images)."""
    import numpy as np
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(num):
        Image.fromarray(rng.integers(0, 255, (size, size, 3),
                                     dtype=np.uint8)).save(folder /
                                                           f'{i:05d}.jpg')
    return folder


def train_config(out: Path,
                 images: Path,
                 args,
                 dtype: Optional[str],
                 iters: int,
                 omega: Optional[dict] = None,
                 backward: Optional[str] = None) -> str:
    """The shipped Table 1 config on the synthetic images: an iteration
    loop of ``iters``, a checkpoint half-way, a log line per iteration,
    ``AmpOptimWrapper`` in ``dtype`` (None: float32)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(REPO / SUPERNET))
    pipeline = cfg.train_dataloader.dataset.pipeline
    if args.dry_run:  # 32 px views: the CPU run is about the plumbing
        set_crop_size(pipeline, 32)
    cfg.train_dataloader.dataset = dict(
        type='mmpretrain.CustomDataset',
        data_root=str(images),
        with_label=False,
        pipeline=pipeline)
    cfg.train_dataloader.update(
        batch_size=args.batch_size,
        num_workers=0 if args.dry_run else 4,
        persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = None
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=max(1, iters // 2), by_epoch=False)
    cfg.randomness = dict(seed=0)
    # the paper's lr is for 1024 images a step: scaled to this batch
    cfg.auto_scale_lr = dict(base_batch_size=1024, enable=True)
    if dtype is not None:
        cfg.optim_wrapper.update(type='AmpOptimWrapper', dtype=dtype)
    if omega is not None:
        cfg.model.omega = omega
    if backward is not None:
        cfg.model.backward = backward
    path = out / 'config.py'
    out.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(path))
    return str(path)


def set_crop_size(node, size: int) -> None:
    """Every ``RandomResizedCrop`` of a pipeline set to ``size``, in
    place."""
    if isinstance(node, dict):
        if node.get('type') == 'RandomResizedCrop':
            node['scale'] = size
        for value in node.values():
            set_crop_size(value, size)
    elif isinstance(node, list):
        for value in node:
            set_crop_size(value, size)


def train_cmd(config: str,
              work_dir: Path,
              port: int,
              resume: Optional[str] = None) -> List[str]:
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=1',
        f'--master_port={port}', 'tools/train.py', config, '--launcher',
        'pytorch', '--work-dir',
        str(work_dir)
    ]
    return cmd + (['--resume', resume] if resume else [])


def scalars(work_dir: Path) -> List[dict]:
    """The per-iteration log records of MMEngine's LocalVisBackend (the
    latest run in ``work_dir``)."""
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not runs:
        raise RuntimeError(f'no scalars.json under {work_dir}')
    with open(runs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def train_figures(work_dir: Path) -> dict:
    """Iterations/s (median time after the first 5), peak memory (MB) and
    whether every loss is finite."""
    import numpy as np
    rows = [r for r in scalars(work_dir) if 'loss' in r]
    times = [r['time'] for r in rows[5:]] or [r['time'] for r in rows]
    losses = [r['loss'] for r in rows]
    return dict(
        iters=len(rows),
        iters_per_s=1. / float(np.median(times)),
        peak_mb=max((r.get('memory', 0) for r in rows), default=0),
        losses_finite=all(math.isfinite(v) for v in losses),
        first_loss=losses[0],
        last_loss=losses[-1])


def part_train(dtype_name: str, ctx: dict) -> dict:
    args, part = ctx['args'], ctx['part']
    dtype = None if args.dry_run else dtype_name
    work = ctx['out'] / f'train-{dtype_name}'
    config = train_config(work, ctx['images'], args, dtype, args.iters)
    part.run(train_cmd(config, work, 29500 + len(dtype_name)))
    figures = train_figures(work)
    if not figures['losses_finite']:
        raise RuntimeError(f'a loss is not finite (log: {work})')
    figures['precision'] = dtype or 'float32 (dry run)'
    ctx[f'work_{dtype_name}'] = work
    return figures


def part_memory(ctx: dict) -> dict:
    """Peak memory of short runs: students summed, the max arch alone,
    against the per-student run of part 1."""
    args, part = ctx['args'], ctx['part']
    dtype = None if args.dry_run else 'float16'
    iters = min(args.iters, 10)
    figures = {}
    variants = dict(
        summed=dict(backward='summed'),
        max_alone=dict(omega=dict(fixed=('max', ), num_random=0)))
    for i, (name, change) in enumerate(variants.items()):
        work = ctx['out'] / f'memory-{name}'
        config = train_config(work, ctx['images'], args, dtype, iters,
                              **change)
        part.run(train_cmd(config, work, 29520 + i))
        figures[f'{name}_peak_mb'] = train_figures(work)['peak_mb']
    per_student = train_figures(ctx['out'] / 'train-float16')['peak_mb']
    figures['per_student_peak_mb'] = per_student
    if figures['max_alone_peak_mb']:
        figures['per_student_vs_max_alone'] = \
            per_student / figures['max_alone_peak_mb']
    return figures


def part_resume(ctx: dict) -> dict:
    """One iteration resumed from the bf16 run's half-way checkpoint: its
    loss against the uninterrupted run's at that iteration."""
    args, part = ctx['args'], ctx['part']
    straight = ctx['out'] / 'train-bfloat16'
    half = max(1, args.iters // 2)
    work = ctx['out'] / 'resumed'
    dtype = None if args.dry_run else 'bfloat16'
    config = train_config(work, ctx['images'], args, dtype, half + 1)
    part.run(
        train_cmd(config, work, 29540, str(straight / f'iter_{half}.pth')))
    want = next(r['loss'] for r in scalars(straight) if r['step'] == half + 1)
    got = next(r['loss'] for r in scalars(work) if r['step'] == half + 1)
    return dict(
        iteration=half + 1,
        loss_uninterrupted=want,
        loss_resumed=got,
        abs_diff=abs(got - want),
        equal_to_1e_5=abs(got - want) <= 1e-5 * max(1., abs(want)))


def part_search(ctx: dict) -> dict:
    from mmengine.config import Config
    args, part = ctx['args'], ctx['part']
    cfg = Config.fromfile(str(REPO / SEARCH))
    cfg.train_dataloader.dataset = dict(
        type='mmpretrain.CustomDataset',
        data_root=str(ctx['images']),
        with_label=False,
        pipeline=cfg.train_dataloader.dataset.pipeline)
    batch = 2 if args.dry_run else 32
    cfg.train_dataloader.update(
        batch_size=batch, num_workers=0 if args.dry_run else 4)
    if args.dry_run:  # one bin of two candidates
        cfg.train_cfg.budgets = [(1e9, 8e9)]
    cfg.train_cfg.update(
        num_candidates=2,
        calib_batches=1 if args.dry_run else 4,
        score_batches=1 if args.dry_run else 4)
    work = ctx['out'] / 'search'
    work.mkdir(parents=True, exist_ok=True)
    cfg.dump(str(work / 'config.py'))
    checkpoint = ctx['work_float16'] / f'iter_{args.iters}.pth'
    start = time.monotonic()
    part.run([
        sys.executable, 'tools/search.py',
        str(work / 'config.py'),
        str(checkpoint), '--work-dir',
        str(work / 'run')
    ])
    seconds = time.monotonic() - start
    with open(work / 'run' / 'search' / 'candidates.json') as f:
        candidates = json.load(f)['candidates']
    ctx['search'] = work / 'run' / 'search'
    ctx['checkpoint'] = checkpoint
    figures = dict(
        candidates=len(candidates),
        tool_s_per_candidate=seconds / max(1, len(candidates)))
    out = part.run([
        sys.executable, 'benchmarks/benchmark_search_cost.py', '--space',
        'paper', '--input-size', '64' if args.dry_run else '224',
        '--candidates', '2' if args.dry_run else '10', '--batch-size',
        str(batch), '--device', ctx['device'], '--threads',
        '1' if args.dry_run else '8'
    ])
    for line in out.splitlines():
        line = line.strip()
        for tap in ('cls', 'det_fpn', 'seg'):
            if line.startswith(f'{tap}: search '):
                words = line.replace(',', '').replace(';', '').split()
                figures[f'{tap}_ms_per_candidate'] = float(words[2])
                figures[f'{tap}_ratio_to_forwards'] = float(
                    words[words.index('ratio') + 1])
                figures[f'{tap}_peak_mb'] = float(words[words.index('memory') +
                                                        1])
    return figures


def mmcv_has_ops() -> bool:
    try:
        import mmcv.ops  # noqa: F401
        return True
    except Exception:  # ImportError, or a missing compiled library
        return False


def part_finetune(ctx: dict) -> dict:
    """The search's pick exported and trained by MMEngine's Runner at the
    protocol's resolution (``label_metric.py``: export, train, test)."""
    sys.path.insert(0, str(REPO))  # the tests' tiny dataset writers
    from tests.helpers import write_cityscapes, write_coco
    args, part = ctx['args'], ctx['part']
    data = ctx['out'] / 'labeled'
    if mmcv_has_ops():
        metric, protocol = 'det-map', 'coco-maskrcnn-fpn'
        write_coco(data, 'train', 8, seed=0, size=None)
        write_coco(data, 'val', 4, seed=1, size=None)
        labeled = f'''
classes = ('person', 'bicycle')
labeled_train = dict(type='CocoDataset', data_root={str(data) + '/'!r},
    ann_file='annotations/instances_train.json',
    data_prefix=dict(img='train/'), metainfo=dict(classes=classes))
labeled_val = dict(type='CocoDataset', data_root={str(data) + '/'!r},
    ann_file='annotations/instances_val.json',
    data_prefix=dict(img='val/'), metainfo=dict(classes=classes))
'''
        note = 'Mask R-CNN FPN at 1333x800'
    else:
        metric, protocol = 'seg-miou', 'cityscapes-fcn'
        write_cityscapes(data, 'train', 4)
        write_cityscapes(data, 'val', 2, seed=1)
        labeled = f'''
labeled_train = dict(type='CityscapesDataset', data_root={str(data)!r},
    data_prefix=dict(img_path='leftImg8bit/train',
                     seg_map_path='gtFine/train'))
labeled_val = dict(type='CityscapesDataset', data_root={str(data)!r},
    data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'))
'''
        note = ('mmcv.ops does not import (mmcv built without ops), so '
                'Mask R-CNN cannot run: the FCN protocol instead')
    (ctx['out'] / 'labeled.py').write_text(labeled)
    with open(ctx['search'] / 'best.yaml') as f:
        import yaml
        best = yaml.safe_load(f)
    pick = next(iter(best.values()))['arch']
    iters = 2 if args.dry_run else 20
    start = time.monotonic()
    part.run([
        sys.executable, 'tools/analysis/label_metric.py', 'unused.py',
        str(ctx['checkpoint']), '--archs', pick, '--metric', metric,
        '--protocol', protocol, '--labeled-data',
        str(ctx['out'] / 'labeled.py'), '--iters',
        str(iters), '--out',
        str(ctx['out'] / 'finetune.csv')
    ])
    with open(ctx['out'] / 'finetune.csv') as f:
        value = float(f.read().strip().splitlines()[-1].split(',')[-1])
    return dict(
        protocol=protocol,
        note=note,
        arch=pick,
        iters=iters,
        seconds=time.monotonic() - start,
        value_after_test=value)


def table(results: Dict[str, dict]) -> str:
    lines = ['| part | status | seconds | figures |', '|---|---|---|---|']
    for name, r in results.items():
        figures = ', '.join(
            f'{k} {v:.4g}' if isinstance(v, float) else f'{k} {v}'
            for k, v in r.get('figures', {}).items())
        lines.append(f"| {name} | {r['status']} | {r['seconds']:.0f} | "
                     f"{figures or r.get('error', '')} |")
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    import torch
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.dry_run:
        args.iters, args.batch_size = min(args.iters, 4), 4
    elif not torch.cuda.is_available():
        sys.exit('error: no CUDA GPU here (pass --dry-run for the CPU run)')
    ctx = dict(
        args=args,
        out=out,
        device='cpu' if args.dry_run else 'cuda',
        images=write_images(out / 'images', 8 if args.dry_run else 512,
                            64 if args.dry_run else 256))
    parts: Dict[str, Callable[[dict], dict]] = dict(
        train_fp16=lambda c: part_train('float16', c),
        train_bf16=lambda c: part_train('bfloat16', c),
        memory=part_memory,
        resume=part_resume,
        search=part_search,
        finetune=part_finetune)
    results = dict(
        device=torch.cuda.get_device_name(0)
        if torch.cuda.is_available() else 'cpu',
        torch=torch.__version__,
        dry_run=args.dry_run,
        parts={})
    for name, fn in parts.items():
        part = Part(name, out, LIMITS[name] * args.scale_limits)
        ctx['part'] = part
        try:
            result = dict(status='ok', figures=fn(ctx))
        except Exception as err:  # a part's failure is reported, not fatal
            result = dict(
                status='failed',
                error=f'{type(err).__name__}: '
                f'{err}'.replace('|', '/')[:300])
        result['seconds'] = part.seconds
        results['parts'][name] = result
        print(
            f'{name}: {result["status"]} in {part.seconds:.0f} s', flush=True)
        with open(out / 'gpu_check.json', 'w') as f:
            json.dump(results, f, indent=1)
    print(f"device {results['device']}, torch {results['torch']}")
    print(table(results['parts']))
    print(f'written to {osp.join(out, "gpu_check.json")}; logs in '
          f'{out / "logs"}')
    sys.exit(0 if all(r['status'] == 'ok'
                      for r in results['parts'].values()) else 1)


if __name__ == '__main__':
    main()
