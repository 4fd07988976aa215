"""The label-efficient pick: the halving schedule checked by hand, labeled
data from a COCO dataset written here (not the scenes generator), det-map
and tools/select_subnet.py end to end, and resume after a kill at a round
boundary."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mmdata.errors import ConfigError, DataError
from mmdata.evaluation.selection import (HalvingPlan, parse_budget,
                                         plan_for_budget, ranker_values,
                                         shortlist_order, successive_halving)
from tests.helpers import write_coco

REPO = Path(__file__).resolve().parents[2]
ARCHS = [
    'Depth [1,1,1,1] Width [8,8,16,32,64]',
    'Depth [1,1,2,1] Width [8,8,16,32,64]',
    'Depth [1,1,1,1] Width [8,16,16,32,64]',
    'Depth [1,1,1,1] Width [8,8,24,32,64]',
    'Depth [1,1,1,1] Width [8,8,16,48,64]',
]


def test_halving_schedule_by_hand():
    assert HalvingPlan(10, 200).rungs() == [(10, 200), (5, 400), (2, 800)]
    assert HalvingPlan(10, 200).cost() == 2000 + 2000 + 1600
    assert HalvingPlan(8, 200).cost() == 4800
    assert HalvingPlan(4, 200).rungs() == [(4, 200), (2, 400)]
    assert HalvingPlan(4, 200).cost(3) == 3 * 200  # a bin of 3: 3 -> 1
    assert HalvingPlan(1, 200).rungs() == []
    assert HalvingPlan(9, 10, eta=3).rungs() == [(9, 10), (3, 30)]
    assert parse_budget('20%', 2400, 10) == 4800
    assert parse_budget('2runs', 2400, 10) == 4800
    assert parse_budget('4800', 2400, 10) == 4800
    assert plan_for_budget(4800, 8, 2, 10) == HalvingPlan(8, 200, 2)
    assert plan_for_budget(4900, 8, 2, 10) == HalvingPlan(8, 204, 2)
    with pytest.raises(ConfigError, match=r"--budget 1x: allowed"):
        parse_budget('1x', 2400, 10)
    with pytest.raises(ConfigError, match='less than one unit'):
        plan_for_budget(10, 8, 2, 10)
    with pytest.raises(ConfigError, match='--eta 1: allowed >= 2'):
        HalvingPlan(4, 10, eta=1)


def test_successive_halving_keeps_the_better_half_each_round():
    # values per (arch, run): 'c' wins the short rung, 'b' the long one
    table = {
        100: dict(a=0.1, b=0.3, c=0.5, d=0.2, e=0.4, f=0.0),
        200: dict(b=0.6, c=0.4, e=0.5),
    }
    calls = []

    def measure(archs, run):
        calls.append((list(archs), run))
        return {a: table[run][a] for a in archs}

    out = successive_halving(list('abcdef'), HalvingPlan(6, 100), measure)
    # 6 -> 3 -> 1 (each rung keeps n // eta)
    assert calls == [(list('abcdef'), 100), (['c', 'e', 'b'], 200)]
    assert [r['kept'] for r in out['rounds']] == [['c', 'e', 'b'], ['b']]
    assert out['pick'] == 'b' and out['shortlist'] == list('abcdef')
    assert out['spent'] == 6 * 100 + 3 * 200
    # a shortlist of 4 drops e and f before any label run
    out = successive_halving(list('abcdef'), HalvingPlan(4, 100), measure)
    assert out['shortlist'] == list('abcd') and out['pick'] == 'b'
    assert out['spent'] == 4 * 100 + 2 * 200


def test_ties_follow_the_ranker_order():
    out = successive_halving(['y', 'x', 'z'], HalvingPlan(3, 1),
                             lambda archs, run: {a: 0.5
                                                 for a in archs})
    assert out['pick'] == 'y'


def test_rankers_order_the_shortlist():
    from mmdata.search import Candidate
    records = [
        Candidate(
            arch=arch,
            arch_dict={},
            bin='b1',
            params=params,
            flops=flops,
            scores=dict(z=score),
            score=score,
            proxies=dict(naswot=naswot))
        for arch, params, flops, score, naswot in [('a', 3, 1, 0.2,
                                                    5), ('b', 1, 3, 0.9,
                                                         1), ('c', 2, 2, 0.5,
                                                              9)]
    ]
    assert shortlist_order(records, 'score') == ['b', 'c', 'a']
    assert shortlist_order(records, 'params') == ['a', 'c', 'b']
    assert shortlist_order(records, 'naswot') == ['c', 'a', 'b']
    assert ranker_values(records, 'random',
                         1) == ranker_values(records, 'random', 1)
    with pytest.raises(
            ConfigError,
            match=r"--ranker cka-C2: the search "
            r"recorded \['flops', 'naswot', 'params', 'random', "
            r"'score'\]"):
        shortlist_order(records, 'cka-C2')


def labeled_coco(root: Path,
                 size: int = 96,
                 classes=('person', 'bicycle'),
                 val: str = 'val') -> Path:
    write_coco(root, 'train', 8, seed=0, size=size)
    write_coco(root, 'val', 4, seed=1, size=size)
    path = root / 'labeled.py'
    path.write_text(f'''
classes = {tuple(classes)!r}
labeled_train = dict(type='CocoDataset', data_root={str(root) + '/'!r},
                     ann_file='annotations/instances_train.json',
                     data_prefix=dict(img='train/'),
                     metainfo=dict(classes=classes))
labeled_val = dict(type='CocoDataset', data_root={str(root) + '/'!r},
                   ann_file='annotations/instances_{val}.json',
                   data_prefix=dict(img='val/'),
                   metainfo=dict(classes=classes))
''')
    return path


def measurement(labeled: Path, tmp_path: Path):
    from mmengine.config import Config

    from mmdata.evaluation.downstream import (DownstreamSettings,
                                              measurement_config)
    from mmdata.export.tasks import TASKS, shipped_configs
    settings = DownstreamSettings('det-map', str(labeled), iters=2)
    protocol = Config.fromfile(
        str(Path(shipped_configs()) / TASKS[settings.task]['base']))
    return measurement_config(protocol, settings, str(tmp_path / 'run'), 0)


def test_labeled_coco_data_sets_the_protocol(tmp_path):
    cfg, splits = measurement(labeled_coco(tmp_path / 'coco'), tmp_path)
    dataset = cfg.train_dataloader.dataset
    assert dataset.ann_file == 'annotations/instances_train.json'
    assert dataset.pipeline[0].type == 'LoadImageFromFile'  # the protocol's
    assert cfg.model.roi_head.bbox_head.num_classes == 2  # the data's
    assert list(splits) == ['val']
    assert cfg.test_evaluator.ann_file.endswith('instances_val.json')


def test_coco_subset_is_evaluated_on_its_own_images(tmp_path):
    labeled = labeled_coco(tmp_path / 'coco')
    labeled.write_text(labeled.read_text() +
                       "labeled_val.update(indices=[1, 3])\n")
    cfg, _ = measurement(labeled, tmp_path)
    subset = json.loads(Path(cfg.test_evaluator.ann_file).read_text())
    assert [im['id'] for im in subset['images']] == [2, 4]
    assert {a['image_id'] for a in subset['annotations']} == {2, 4}


@pytest.mark.parametrize('change, message', [
    (dict(size=64), r'is 64x64 px; the protocol is set for 96x96'),
    (dict(classes=('person', 'cat')), r"classes \['cat'\] are not categories"),
    (dict(val='missing'), r'ann_file .*instances_missing.json does not exist'),
])
def test_bad_labeled_data_is_one_error(tmp_path, change, message):
    with pytest.raises(DataError, match=message):
        measurement(labeled_coco(tmp_path / 'coco', **change), tmp_path)


def test_empty_split_and_missing_ann_file_are_errors(tmp_path):
    labeled = labeled_coco(tmp_path / 'coco')
    text = labeled.read_text()
    labeled.write_text(text + 'labeled_val.update(indices=0)\n')
    with pytest.raises(DataError, match='labeled_val is empty'):
        measurement(labeled, tmp_path)
    labeled.write_text(text + "labeled_train.pop('ann_file')\n")
    with pytest.raises(DataError, match='CocoDataset without ann_file'):
        measurement(labeled, tmp_path)


def fake_search(folder: Path) -> Path:
    from mmdata.space import Arch, arch_cost
    records = []
    for i, arch in enumerate(ARCHS):
        a = Arch.parse(arch)
        cost = arch_cost(a, 96)
        records.append(
            dict(
                arch=str(a),
                arch_dict=a.to_dict(),
                bin='b1' if i < 4 else 'b2',
                flops=cost.flops,
                params=cost.params,
                score=float(i),
                scores=dict(z=float(i)),
                proxies=dict(naswot=float(-i))))
    (folder / 'search').mkdir(parents=True)
    (folder / 'search' / 'candidates.json').write_text(
        json.dumps(dict(candidates=records, input_size=96, bins=[])))
    return folder


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)],
                          cwd=REPO,
                          capture_output=True,
                          text=True)


def test_det_map_and_select_end_to_end_on_coco(tiny_supernet, tmp_path):
    labeled = labeled_coco(tmp_path / 'coco')
    ckpt = tiny_supernet['ckpt']
    out = run('tools/analysis/label_metric.py', 'unused.py', ckpt, '--metric',
              'det-map', '--labeled-data', labeled, '--iters', '2', '--archs',
              ARCHS[0], '--out', tmp_path / 'det.csv')
    assert out.returncode == 0, out.stderr[-3000:]
    rows = (tmp_path / 'det.csv').read_text().splitlines()
    assert rows[0] == 'arch,bin,seed,bbox_mAP' and len(rows) == 2
    assert 0 <= float(rows[1].split(',')[-1]) <= 1
    search = fake_search(tmp_path / 'search')
    work = tmp_path / 'select'
    out = run('tools/select_subnet.py', search, ckpt, '--metric', 'det-map',
              '--labeled-data', labeled, '--shortlist', '2', '--min-run', '1',
              '--ranker', 'naswot', '--work-dir', work)
    assert out.returncode == 0, out.stderr[-3000:]
    selection = json.loads((work / 'selection.json').read_text())
    b1 = selection['bins']['b1']
    assert b1['shortlist'] == [ARCHS[0], ARCHS[1]]  # naswot 0, -1
    assert b1['spent'] == 2 and selection['bins']['b2']['spent'] == 0
    assert selection['bins']['b2']['pick'] == ARCHS[4]  # alone in its bin
    best = yaml.safe_load((work / 'best.yaml').read_text())
    assert best['b1']['arch'] == b1['pick']
    # the exporter reads the pick
    out = run('tools/export_subnet.py', ckpt, '--search-dir', work, '--bin',
              'b1', '--task', 'scenes-fasterrcnn-fpn', '--out',
              tmp_path / 'export')
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / 'export' / 'backbone.pth').is_file()
    bad = run('tools/select_subnet.py', search, ckpt, '--metric', 'det-map',
              '--labeled-data', labeled, '--budget', '5x', '--work-dir', work)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith(
        'error: --budget 5x: allowed')


class Killed(Exception):
    pass


def test_resume_after_a_kill_at_a_round_boundary_gives_the_same_pick(
        tiny_supernet, tmp_path, monkeypatch):
    from mmdata.evaluation import label_metrics
    from mmdata.evaluation.label_metrics import LabelMetricSettings
    from mmdata.evaluation.label_selection import select
    labeled = labeled_coco(tmp_path / 'coco')
    search = fake_search(tmp_path / 'search')
    measured = []

    def fake_measurer(settings, checkpoint, scratch):

        def measure(arch, seed):  # a value that changes the order by rung
            measured.append((str(arch), settings.iters))
            if settings.iters == 4 and kill:
                raise Killed
            flip = 1 if settings.iters == 2 else -1
            return dict(bbox_mAP=0.5 + flip * ARCHS.index(str(arch)) / 10)

        return measure

    monkeypatch.setattr(label_metrics, 'measurer', fake_measurer)
    settings = LabelMetricSettings(metric='det-map', labeled_data=str(labeled))

    def go(work):
        return select(
            str(search),
            str(tiny_supernet['ckpt']),
            settings,
            str(work),
            str(work / 'rows'),
            shortlist=4,
            min_run=2,
            bins=['b1'])

    kill = False
    whole = go(tmp_path / 'whole')
    first = [(a, 2) for a in ARCHS[3::-1]]
    assert measured == first + [(ARCHS[3], 4), (ARCHS[2], 4)]
    assert whole['bins']['b1']['pick'] == ARCHS[2]
    kill = True
    with pytest.raises(Killed):
        go(tmp_path / 'resumed')
    kill, measured[:] = False, []
    resumed = go(tmp_path / 'resumed')
    assert measured == [(ARCHS[3], 4), (ARCHS[2], 4)]  # rung 1 was kept
    keys = ('pick', 'shortlist', 'rounds', 'spent')
    assert [resumed['bins']['b1'][k]
            for k in keys] == [whole['bins']['b1'][k] for k in keys]


def test_regret_of_picks_on_a_planted_truth(tmp_path):
    """Truth b1: ARCHS[0..3] = 0.1, 0.4, 0.3, 0.2 (two seeds, +-0.01);
    score picks ARCHS[3] (the highest score): percentile 50%, regret 0.2;
    naswot picks ARCHS[0]: 25%, 0.3; random: mean percentile 62.5%,
    regret 0.4 - 0.25."""
    from mmdata.evaluation.selection_regret import (fidelity_kendall, goal_met,
                                                    noise_floor, ranker_rows,
                                                    selection_rows, summary,
                                                    truth_means)
    search = fake_search(tmp_path / 'search')
    truth_csv = tmp_path / 'truth.csv'
    values = [0.1, 0.4, 0.3, 0.2, 0.5]
    truth_csv.write_text('arch,bin,seed,mIoU\n' + ''.join(
        f'"{a}",,{s},{v + (0.01 if s else -0.01):.4f}\n'
        for a, v in zip(ARCHS, values) for s in (0, 1)))
    truth = truth_means([str(truth_csv)])
    assert truth[ARCHS[1]] == pytest.approx(0.4)
    assert noise_floor([str(truth_csv)], ARCHS[:4]) == pytest.approx(0.01)
    from mmdata.search import by_bin, read_candidates
    by_bin = by_bin(read_candidates(str(search))['candidates'])
    rows = ranker_rows({'b1': by_bin['b1']}, truth,
                       ['score', 'naswot', 'random'])
    got = {r['strategy']: (r['percentile'], r['regret']) for r in rows}
    assert got['score'] == pytest.approx((50., 0.2))
    assert got['naswot'] == pytest.approx((25., 0.3))
    assert got['random'] == pytest.approx((62.5, 0.15))
    reversed_truth = {a: -v for a, v in truth.items()}
    taus = fidelity_kendall({
        200: truth,
        400: reversed_truth
    }, {}, ARCHS[:4], truth)
    assert taus == {'label run 200': (1., 4), 'label run 400': (-1., 4)}
    assert fidelity_kendall({200: truth}, {}, ARCHS[:2], truth) == {}
    picked = tmp_path / 'sel'
    picked.mkdir()
    rung_rows = tmp_path / 'rows'
    rung_rows.mkdir()
    (rung_rows / 'seg-miou-iters200.csv').write_text(truth_csv.read_text())
    (picked / 'selection.json').write_text(
        json.dumps(
            dict(
                bins=dict(
                    b1=dict(pick=ARCHS[1], shortlist=ARCHS[1:3],
                            fraction=0.2)))))
    rows += selection_rows(str(picked), 'sel', {'b1': by_bin['b1']}, truth)
    assert rows[-1]['percentile'] == 100. and rows[-1]['regret'] == 0.
    assert rows[-1]['best_kept'] and rows[-1]['spent'] == 0.2
    goal = goal_met(summary(rows), 'sel', ['score', 'naswot', 'random'])
    assert goal['met'] and goal['best_label_free'] == 'random'
    assert not goal_met(summary(rows), 'score', ['naswot'])['met']
    done = run('tools/analysis/selection_regret.py', search, '--truth',
               truth_csv, '--rankers', 'score', 'naswot', 'random',
               '--selection', f'{picked}=sel', '--judge', 'sel', '--bins',
               'b1', '--rows-dir', rung_rows, '--out',
               tmp_path / 'regret.json')
    assert done.returncode == 0, done.stderr[-2000:]
    assert '| sel | 100% / 0.0000 | 20.0% | 0.0000 | yes |' in done.stdout
    assert '- b1: ground-truth noise' in done.stdout
    assert "an arch's mean) 0.0100" in done.stdout
    assert '- sel: every pick in the top quartile: yes' in done.stdout
    assert 'label run 200 +1.00 (n=4)' in done.stdout
    saved = json.loads((tmp_path / 'regret.json').read_text())
    assert saved['goals'][0]['met'] is True


def test_epoch_based_protocol_becomes_an_iteration_schedule():
    """COCO 1x (12 epochs, steps at 8 and 11, a 500-iteration warm-up) as
    a 20-iteration label run: steps at 13 and 18, the warm-up cut at 20;
    without a length, one error line."""
    from mmengine.config import Config

    from mmdata.evaluation.downstream import iteration_schedule
    from mmdata.export.tasks import TASKS, shipped_configs
    task = 'coco-maskrcnn-fpn'
    path = str(Path(shipped_configs()) / TASKS[task]['base'])
    cfg = Config.fromfile(path)
    iteration_schedule(cfg, 20, task)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=20)
    warmup, steps = cfg.param_scheduler
    assert warmup.end == 20 and not warmup.by_epoch
    assert steps.milestones == [13, 18] and steps.end == 20
    assert steps.by_epoch is False
    with pytest.raises(ConfigError, match='trains 12 epochs.*--iters'):
        iteration_schedule(Config.fromfile(path), None, task)


@pytest.mark.parametrize('study,rows,blocks', [
    ('selection_scenes', '',
     (('seg, search seed 0', 'SEG0'), ('det, search seed 0', 'DET0'),
      ('seg, search seed 1', 'SEG1'))),
    ('selection_tiny', 'tiny', (('tiny, search seed 0', 'TINY0'),
                                ('tiny, search seed 1', 'TINY1'))),
])
def test_the_selection_tables_regenerate_from_the_carried_rows(
        study, rows, blocks, tmp_path):
    """The tables of docs/selection.md are what
    ``experiments/STUDY.sh report`` prints from the carried candidates,
    rows and selections, character for character."""
    shutil.copytree(REPO / 'docs' / 'selection' / rows, tmp_path / 'work')
    out = subprocess.run(['bash', f'experiments/{study}.sh', 'report'],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         env=dict(
                             os.environ,
                             PY=sys.executable,
                             SELECTION_WORK=str(tmp_path / 'work')))
    assert out.returncode == 0, out.stderr[-2000:]
    printed = dict(
        block.split('\n', 1) for block in out.stdout.split('## ')[1:])
    page = (REPO / 'docs' / 'selection.md').read_text()
    for title, marker in blocks:
        shown = page.split(f'<!-- {marker} -->')[1].split(
            f'<!-- /{marker} -->')[0]
        assert printed[title].strip() == shown.strip(), marker
