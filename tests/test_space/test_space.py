"""Arch, ResNetSpace and the analytical cost model (no torch needed)."""
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mmdata.space import Arch, ResNetSpace, arch_cost

REPO = Path(__file__).resolve().parents[2]
PAPER_3G = 'Depth [3,2,17,3] Width [32,48,96,192,512]'


def test_space_package_does_not_import_torch():
    """mmdata.space is plain Python: importing it alone loads no torch."""
    code = '\n'.join([
        'import sys, types',
        'pkg = types.ModuleType("mmdata")',  # skip mmdata/__init__
        f'pkg.__path__ = [{str(REPO / "mmdata")!r}]',
        'sys.modules["mmdata"] = pkg',
        'import mmdata.space',
        'print("torch" in sys.modules)',
    ])
    out = subprocess.run([sys.executable, '-c', code],
                         capture_output=True,
                         text=True,
                         check=True)
    assert out.stdout.strip() == 'False'


def test_arch_round_trips():
    arch = Arch.parse(PAPER_3G)
    assert arch == Arch(32, (48, 96, 192, 512), (3, 2, 17, 3))
    assert str(arch) == PAPER_3G
    assert Arch.parse(str(arch)) == arch
    assert Arch.from_dict(arch.to_dict()) == arch
    assert Arch.from_any(json.dumps(arch.to_dict())) == arch
    assert Arch.from_any(yaml.safe_dump(arch.to_dict())) == arch
    assert len({arch, Arch.parse(PAPER_3G)}) == 1
    with pytest.raises(Exception):
        arch.stem = 64  # immutable
    assert arch.out_channels == (192, 384, 768, 2048)


@pytest.mark.parametrize('text', [
    'Depth [3,2,17] Width [32,48,96,192,512]', 'Width [32] Depth [1]',
    'Depth [3,2,17,3] Width [32,48,96,192,512.5]'
])
def test_arch_parse_errors(text):
    with pytest.raises(ValueError, match='arch|Arch'):
        Arch.parse(text)


def test_table1_space():
    space = ResNetSpace()
    assert space.max_arch == Arch(64, (80, 160, 320, 640), (4, 6, 29, 4))
    assert space.min_arch == Arch(32, (48, 96, 192, 384), (2, 2, 5, 2))
    assert space.size() == 3**5 * 3 * 3 * 13 * 3
    assert arch_cost(space.max_arch).flops == pytest.approx(15.5e9, rel=0.01)


def test_validate_names_field_value_and_grid():
    space = ResNetSpace()
    with pytest.raises(ValueError) as err:
        space.validate(Arch(32, (48, 96, 200, 384), (2, 2, 5, 2)))
    msg = str(err.value)
    assert 'widths[2]' in msg and '200' in msg and '192..320 step 64' in msg
    with pytest.raises(ValueError, match=r'depths\[2\].*6.*5\.\.29 step 2'):
        space.validate(Arch(32, (48, 96, 192, 384), (2, 2, 6, 2)))
    assert space.validate(PAPER_3G) == Arch.parse(PAPER_3G)


def test_bad_grid_is_rejected():
    with pytest.raises(ValueError, match='stem=.*not a valid grid'):
        ResNetSpace(stem=(32, 60, 16))


def test_paper_costs():
    """Paper Table 3: 3.7 GFLOPs / 25.7 M and 1.8 GFLOPs / 13.6 M."""
    big = arch_cost(Arch.parse(PAPER_3G))
    small = arch_cost(Arch.parse('Depth [2,2,5,2] Width [32,48,96,192,512]'))
    assert 3.65e9 < big.flops < 3.75e9 and 25.6e6 < big.params < 25.8e6
    assert 1.8e9 <= small.flops < 1.95e9 and 13.6e6 < small.params < 13.7e6
    # mmengine's counts on a torchvision R50 backbone (design notes)
    r50 = arch_cost(Arch.parse('Depth [3,4,6,3] Width [64,64,128,256,512]'))
    assert r50.flops == 4_087_136_256 + 22_227_968
    assert r50.params == 23_508_032


def test_enumerated_costs_match_arch_cost(tiny_space):
    flops, params = tiny_space.costs(64)
    assert len(flops) == tiny_space.size()
    rng = random.Random(1)
    for index in rng.sample(range(tiny_space.size()), 30):
        cost = arch_cost(tiny_space.arch_at(index), 64)
        assert (flops[index], params[index]) == (cost.flops, cost.params)


def test_sample_is_uniform_and_seeded(tiny_space):
    a = [tiny_space.sample(random.Random(3)) for _ in range(2)]
    assert a[0] == a[1]
    draws = tiny_space.sample_many(random.Random(0), 4000)
    stems = np.array([arch.stem for arch in draws])
    assert abs((stems == 8).mean() - 0.5) < 0.05
    assert all(arch in tiny_space for arch in draws)


def test_sample_in_flops_range_is_uniform_over_the_bin():
    space = ResNetSpace()
    lo, hi = 3e9, 4e9
    index = space.indices_in_range(flops=(lo, hi))
    rng = random.Random(0)
    draws = space.sample_many(rng, 3000, flops=(lo, hi))
    assert all(lo <= arch_cost(a).flops < hi for a in draws[:50])
    # uniform over the bin's archs: the share of stem=64 matches the bin's
    share_bin = np.mean([space.arch_at(int(i)).stem == 64 for i in index])
    share_drawn = np.mean([a.stem == 64 for a in draws])
    assert abs(share_bin - share_drawn) < 0.03
    unique = space.sample_many(rng, 100, flops=(lo, hi), unique=True)
    assert len(set(unique)) == 100


def test_empty_range_raises_instead_of_hanging():
    space = ResNetSpace()
    with pytest.raises(ValueError, match='holds 0 archs'):
        space.sample(0, flops=(100e9, 200e9))
    with pytest.raises(ValueError, match='holds 0 archs'):
        space.sample(0, params=(1, 2))
    with pytest.raises(ValueError, match='empty'):
        space.sample(0, flops=(4e9, 3e9))
