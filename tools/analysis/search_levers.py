"""Which search settings rank subnets best? Re-run the label-free search of
one supernet with other settings ("levers") and compare each with the same
label metric, side by side with the free baselines.

Each lever is a search (``tools/search.py`` with extra ``--cfg-options``)
into ``WORK_DIR/<lever>/search`` (resumable) scored against ``PROBE_CSV``
(made by ``ranking_benchmark.py`` / ``label_metric.py`` for the same
candidates: the candidates depend only on the bins, their number and the
seed, not on the lever). Prints one row per lever (the search score) and
per baseline, and writes ``levers.json`` and ``levers.md``.

Example::

    python tools/analysis/search_levers.py \\
        configs/tiny/search-cls_dynresnet-tiny_fashion-mnist.py \\
        work_dirs/ranking/train/iter_468.pth work_dirs/ranking/probe.csv \\
        --work-dir work_dirs/ranking/levers --levers default tap-C5pool
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('search_config')
    parser.add_argument('checkpoint', help='supernet checkpoint')
    parser.add_argument('probe_csv', help='label metric per arch')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument(
        '--levers', nargs='+', default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument('--candidates', type=int, default=15)
    parser.add_argument('--metric', default='top1')
    parser.add_argument('--bootstrap', type=int, default=200)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='options of every search (data roots)')
    return parser.parse_args()


def run(*cmd: str) -> None:
    print('$ ' + ' '.join(cmd), flush=True)
    out = subprocess.run([sys.executable, *cmd],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or [''])[-1]
        print(
            f'error: {cmd[0]} failed (exit {out.returncode}): {last}',
            file=sys.stderr)
        sys.exit(out.returncode)


def main() -> None:
    args = parse_args()
    from mmdata.evaluation.ranking import BASELINES
    from mmdata.evaluation.ranking_report import column_summary, levers_table
    from mmdata.search.proxies import PROXIES
    from mmdata.utils import atomic_write
    work = Path(args.work_dir).resolve()
    rows, baselines = [], None
    for lever in args.levers:
        what, options = LEVERS[lever]
        folder = work / lever
        run('tools/search.py', args.search_config, args.checkpoint,
            '--work-dir', str(folder), '--cfg-options', *args.cfg_options,
            f'train_cfg.num_candidates={args.candidates}', *options)
        run('tools/analysis/rank_correlation.py', str(folder / 'search'),
            args.probe_csv, '--out', str(folder), '--metric', args.metric,
            '--bootstrap', str(args.bootstrap))
        report = json.loads((folder / 'rank_correlation.json').read_text())
        columns = report['columns']
        data = next(iter(columns))
        rows.append(
            dict(
                name=f'{lever}: {data}',
                what=what,
                **column_summary(columns[data])))
        if baselines is None:
            baselines = [
                dict(
                    name=name,
                    what='baseline' if name in BASELINES or name in PROXIES
                    else 'ranker (train_cfg.rankers)',
                    **column_summary(columns[name]))
                for name in list(columns)[1:]
            ]
    table = levers_table(rows + (baselines or []))
    print(table)
    atomic_write(str(work / 'levers.md'), table + '\n')
    atomic_write(
        str(work / 'levers.json'),
        json.dumps(dict(levers=rows, baselines=baselines), indent=1))
    print(f'written {work}/levers.md and levers.json')


if __name__ == '__main__':
    main()
