"""benchmarks/gpu_check.py on the CPU at tiny sizes (--dry-run): every part
runs, the resumed iteration's loss equals the uninterrupted run's."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_dry_run_passes_every_part(tmp_path):
    out = tmp_path / 'check'
    done = subprocess.run([
        sys.executable, 'benchmarks/gpu_check.py', '--dry-run', '--out',
        str(out), '--scale-limits', '10'
    ],
                          cwd=REPO,
                          env=env(),
                          capture_output=True,
                          text=True)
    result = json.loads((out / 'gpu_check.json').read_text())
    parts = result['parts']
    assert done.returncode == 0, (done.stdout[-3000:], parts)
    assert list(parts) == [
        'train_fp16', 'train_bf16', 'memory', 'resume', 'search', 'finetune'
    ]
    assert all(p['status'] == 'ok' for p in parts.values()), parts
    train = parts['train_fp16']['figures']
    assert train['iters'] == 4 and train['losses_finite']
    assert parts['resume']['figures']['equal_to_1e_5']
    search = parts['search']['figures']
    assert search['candidates'] == 2
    for tap in ('cls', 'det_fpn', 'seg'):
        assert search[f'{tap}_ms_per_candidate'] > 0
        assert search[f'{tap}_ratio_to_forwards'] > 0
    finetune = parts['finetune']['figures']
    assert finetune['protocol'] == 'coco-maskrcnn-fpn'  # mmcv ops here
    assert 0 <= finetune['value_after_test'] <= 1
    assert '| finetune | ok |' in done.stdout
    assert (out / 'logs' / 'search.log').is_file()
