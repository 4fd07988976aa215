"""The code passes flake8 with the settings of setup.cfg (what the
pre-commit hook runs)."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_flake8_is_clean():
    out = subprocess.run(
        [sys.executable, '-m', 'flake8', 'mmdata', 'tools', 'benchmarks',
         'experiments', 'tests', 'configs', 'setup.py'], cwd=REPO,
        capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
