"""Latency lookup table: block enumeration, prediction, the measuring tool
and its refusals."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmdata.errors import ConfigError
from mmdata.space import LatencyTable, ResNetSpace, arch_blocks, space_blocks

REPO = Path(__file__).resolve().parents[2]
TINY = ResNetSpace(
    stem=(8, 16, 8),
    widths=[(8, 16, 4), (16, 32, 8), (32, 64, 16), (64, 128, 32)],
    depths=[(1, 2, 1), (1, 2, 1), (1, 4, 1), (1, 2, 1)])
CONFIG = ('configs/tiny/'
          'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')


def header(**kwargs) -> dict:
    return dict(
        device='cpu',
        torch='x',
        threads=1,
        batch_size=1,
        input_size=32,
        space=TINY.to_dict(),
        **kwargs)


def test_space_blocks_cover_every_arch_exactly():
    shapes = space_blocks(TINY, 32)
    # 2 stems; first blocks: 2x3 + 3 x (3x3); further blocks: 3 per stage
    assert len(shapes) == 2 + 6 + 27 + 12
    keys = {s.key for s in shapes}
    assert len(keys) == len(shapes)
    used = set()
    for seed in range(200):
        arch = TINY.sample(seed)
        blocks = arch_blocks(arch, 32)
        assert sum(n for _, n in blocks) == 1 + sum(arch.depths)
        used.update(s.key for s, _ in blocks)
    assert used <= keys and len(used) > 0.9 * len(keys)


def test_prediction_is_the_sum_of_blocks_plus_overhead():
    shapes = space_blocks(TINY, 32)
    entries = {s.key: 0.5 + i for i, s in enumerate(shapes)}
    table = LatencyTable(header(overhead_ms=0.25), entries)
    arch = TINY.sample(3)
    expected = 0.25 + sum(entries[s.key] * n for s, n in arch_blocks(arch, 32))
    assert table.predict(arch) == pytest.approx(expected, abs=1e-12)
    assert table.predict(TINY.max_arch) > table.predict(TINY.min_arch)


def test_table_from_another_space_or_setting_is_refused(tmp_path):
    table = LatencyTable(header(), {})
    table.check(TINY, device='cpu', batch_size=1, input_size=32)
    with pytest.raises(ConfigError, match='measured for the space'):
        table.check(ResNetSpace(), device='cpu')
    with pytest.raises(
            ConfigError, match="batch_size=1, this run "
            'batch_size=8'):
        table.check(TINY, batch_size=8)
    with pytest.raises(ConfigError, match='lacks'):
        table.predict(TINY.max_arch)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"entries": {}}')
    with pytest.raises(ConfigError, match='not a latency table'):
        LatencyTable.load(str(bad))


@pytest.mark.slow
def test_measure_latency_tool(tmp_path):
    tool = [
        sys.executable, 'tools/analysis/measure_latency.py', CONFIG,
        '--input-size', '32', '--repeats', '2', '--warmup', '1'
    ]
    out = tmp_path / 'lut.json'
    run = subprocess.run(
        tool + ['--out', str(out), '--validate', '2'],
        cwd=REPO,
        capture_output=True,
        text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data['header']['input_size'] == 32
    assert data['header']['batch_size'] == 1
    assert data['header']['device'] == 'cpu'
    assert set(data['entries']) == {s.key for s in space_blocks(TINY, 32)}
    assert all(v > 0 for v in data['entries'].values())
    assert 'relative error over 2 archs: mean' in run.stdout
    # a table measured for batch 1 is refused for batch 4, in one line
    bad = subprocess.run(
        tool + ['--table',
                str(out), '--batch-size', '4', '--validate', '1'],
        cwd=REPO,
        capture_output=True,
        text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        'error: the latency table has batch_size=1, this run batch_size=4: '
        'measure a table for it')


def test_timed_blocks_are_the_subnet_blocks():
    """The modules the table times are the subnet's own blocks: their
    parameters, counted per arch, add up to the subnet's (min and max arch,
    and a mixed one), and each maps its input shape to its output shape."""
    import torch

    from mmdata.models import SubnetResNet
    from mmdata.models.latency import block_module
    from mmdata.space import Arch

    def count(module):
        return sum(p.numel() for p in module.parameters())

    mixed = Arch(16, [8, 32, 16, 128], [2, 1, 4, 1])
    for arch in (TINY.min_arch, TINY.max_arch, mixed):
        blocks = arch_blocks(arch, 32)
        assert count(SubnetResNet(arch)) == sum(
            count(block_module(shape)) * n for shape, n in blocks)
        for shape, _ in blocks:
            out = block_module(shape).eval()(
                torch.zeros(1, shape.in_channels, *shape.hw))
            assert out.shape[1] == shape.width * (1 if shape.kind == 'stem'
                                                  else 4)
