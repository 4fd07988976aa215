"""What the search benchmarks share: the supernets of a small space or of
the paper's Table 1 space, random target batches made on the fly, peak
memory counters and the common options. torch is imported where it is
used, so that ``--help`` answers before it."""
import argparse
import multiprocessing
import resource
from typing import Callable


def search_parser(doc: str) -> argparse.ArgumentParser:
    """The options every search benchmark takes."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--input-size', type=int, default=96)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--space',
        default='small',
        choices=['small', 'paper'],
        help='the supernet: a small space (default) or the '
        "paper's Table 1 space (use with --input-size 224)")
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: stable ratios on shared cores)')
    return parser


def start(args: argparse.Namespace) -> None:
    """Set the torch threads and print the settings."""
    import torch
    torch.set_num_threads(args.threads)
    print(
        f'settings: device {args.device}, {args.space} space, batch '
        f'{args.batch_size} x {args.input_size}px, {args.threads} torch '
        'threads',
        flush=True)


def target_streams(args: argparse.Namespace, score_batches: int = 2):
    """2 calibration batches and ``score_batches`` score batches."""
    return (Stream(2, args.batch_size, args.input_size, args.device, 0),
            Stream(score_batches, args.batch_size, args.input_size,
                   args.device, 1))


def supernets(device: str, which: str = 'small'):
    """Student and teacher supernets and the neck of a small space
    (``'small'``) or of the paper's Table 1 space (``'paper'``)."""
    import torch

    from mmdata.models import DynamicMoCoV2Neck, DynamicResNet
    from mmdata.space import ResNetSpace
    if which == 'paper':
        space = ResNetSpace()
        hidden = 2048
    else:
        space = ResNetSpace(
            stem=(16, 32, 8),
            widths=[(16, 32, 8), (32, 64, 16), (64, 128, 32), (128, 256, 64)],
            depths=[(1, 3, 1), (1, 3, 1), (2, 6, 2), (1, 3, 1)])
        hidden = 256
    torch.manual_seed(0)
    student = DynamicResNet(space=space.to_dict()).to(device).eval()
    teacher = DynamicResNet(space=space.to_dict()).to(device).eval()
    features = 4 * space.widths[3][1]  # pooled C5 of the max arch
    neck = DynamicMoCoV2Neck(features, hidden, 128).to(device).eval()
    return space, student, teacher, neck


class Stream:
    """Re-iterable random batches made on the fly (nothing kept)."""

    def __init__(self, num: int, batch: int, size: int, device: str,
                 seed: int) -> None:
        self.num, self.batch, self.size = num, batch, size
        self.device, self.seed = device, seed

    def __len__(self) -> int:
        return self.num

    def __iter__(self):
        import torch
        gen = torch.Generator().manual_seed(self.seed)
        for _ in range(self.num):
            yield torch.randn(
                self.batch, 3, self.size, self.size,
                generator=gen).to(self.device)


def _proc_status_mb(key: str) -> float:
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith(key + ':'))
    return int(line.split()[1]) / 1024


def reset_peak(device: str) -> float:
    """Reset the peak memory counter; returns the memory in use (MB)."""
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    try:  # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM)
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _proc_status_mb('VmRSS')
    except OSError:
        return peak_mb(device)


def peak_mb(device: str) -> float:
    import torch
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        return _proc_status_mb('VmHWM')
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(fn: Callable, *args):
    """``fn(*args)`` in a new (spawned) process: its peak memory is its
    own."""
    with multiprocessing.get_context('spawn').Pool(1) as pool:
        return pool.apply(fn, args)
