"""Search levers: the label-free search of one supernet re-run with other
settings, each compared with the same label metric, side by side with the
free baselines (``tools/analysis/search_levers.py``)."""
import json
from pathlib import Path
from typing import Dict, List, Sequence

from mmdata.errors import ConfigError
from mmdata.search.proxies import PROXIES
from mmdata.utils.files import atomic_write
from mmdata.utils.steps import Steps
from .correlation_study import CorrelationStudy, correlation_study
from .ranking import BASELINES
from .ranking_report import column_summary, levers_table

# name: (what it changes, --cfg-options of the search)
LEVERS = {
    'default': ('the config as shipped', []),
    'teacher-weights':
    ('candidates from the EMA teacher', ['train_cfg.source=teacher']),
    'more-images':
    ('16 calibration + 8 score batches (4 + 2)',
     ['train_cfg.calib_batches=16', 'train_cfg.score_batches=8']),
    'many-images':
    ('16 calibration + 32 score batches (4 + 2), a random '
     'subset', ['train_cfg.calib_batches=16', 'train_cfg.score_batches=32']),
    'all-images': ('every target image not used for calibration is scored '
                   '(Eq. 3 sums over the target set)',
                   ['train_cfg.score_batches=None']),
    'all-images-calib32':
    ('32 calibration batches (4), every other '
     'image scored',
     ['train_cfg.calib_batches=32', 'train_cfg.score_batches=None']),
    'tap-C5pool': ('tap: pooled C5 (what the probe reads) instead of z',
                   ['train_cfg.tap=C5pool']),
    'tap-C5pool+z': ('taps: pooled C5 and z, scores averaged',
                     ["train_cfg.tap=[C5pool,z]"]),
    'cosine': ('cosine of the embeddings instead of relations',
               ['train_cfg.similarity=cosine']),
    'tau-0.05': ('relation temperature 0.05 (0.1)',
                 ['train_cfg.temperature=0.05']),
    'tau-0.5': ('relation temperature 0.5 (0.1)',
                ['train_cfg.temperature=0.5']),
    'no-teacher-calib': ('teacher BN statistics kept from training',
                         ['train_cfg.calibrate_teacher=False']),
}


def lever_rows(study: CorrelationStudy, lever: str) -> List[Dict]:
    """The rows of one lever's ``study``: its search score, then every
    baseline and ranker of the search."""
    columns = study.report['columns']
    score, *others = columns
    rows = [
        dict(
            name=f'{lever}: {score}',
            what=LEVERS[lever][0],
            **column_summary(columns[score]))
    ]
    for name in others:
        what = 'baseline' if name in BASELINES or name in PROXIES \
            else 'ranker (train_cfg.rankers)'
        rows.append(
            dict(name=name, what=what, **column_summary(columns[name])))
    return rows


def search_levers(search_config: str,
                  checkpoint: str,
                  probe_csv: str,
                  work_dir: str,
                  repo: Path,
                  cfg_options: Sequence[str] = (),
                  levers: Sequence[str] = (),
                  metric: str = 'top1',
                  bootstrap: int = 200) -> str:
    """Search with each of ``levers`` (default: all) into
    ``WORK_DIR/<lever>`` (resumable, by ``repo``'s ``tools/search.py``),
    compare each with ``probe_csv``; ``cfg_options`` go to every search
    (e.g. data roots and ``train_cfg.num_candidates``);
    ``levers.md`` and ``levers.json`` in ``work_dir``. Returns the table:
    one row per lever (its search score), then the first lever's baselines.
    """
    levers = levers or list(LEVERS)
    unknown = [name for name in levers if name not in LEVERS]
    if unknown:
        raise ConfigError(f'--levers {unknown}: choose from {list(LEVERS)}')
    work = Path(work_dir).resolve()
    steps = Steps(work / 'logs', repo)
    rows, baselines = [], []
    for lever in levers:
        folder = work / lever
        steps.step(f'lever {lever}: {LEVERS[lever][0]}')
        steps.run(lever, 'tools/search.py', search_config, checkpoint,
                  '--work-dir', str(folder), '--cfg-options', *cfg_options,
                  *LEVERS[lever][1])
        study = correlation_study(
            str(folder / 'search'), probe_csv, metric, bootstrap=bootstrap)
        study.save(str(folder), 'rank_correlation', metric)
        first, *others = lever_rows(study, lever)
        rows.append(first)
        baselines = baselines or others
    steps.close()
    table = levers_table(rows + baselines)
    atomic_write(str(work / 'levers.md'), table + '\n')
    atomic_write(
        str(work / 'levers.json'),
        json.dumps(dict(levers=rows, baselines=baselines), indent=1))
    return table
