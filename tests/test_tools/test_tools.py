"""Command-line tools and the mim packaging."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from tests.helpers import load_tool

REPO = Path(__file__).resolve().parents[2]


def test_train_args_are_merged_into_the_config(tmp_path, monkeypatch):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text("optim_wrapper = dict(optimizer=dict(type='SGD', "
                        'lr=0.1))\nx = 1\n')
    train = load_tool('train')
    monkeypatch.setattr(sys, 'argv', [
        'train.py',
        str(cfg_file), '--amp', '--resume', '--cfg-options', 'x=2',
        '--work-dir',
        str(tmp_path / 'w')
    ])
    args = train.parse_args()
    cfg = train.merge_args(Config.fromfile(str(cfg_file)), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.x == 2 and cfg.work_dir == str(tmp_path / 'w')
    assert cfg.launcher == 'none'


def test_tools_print_help():
    for tool in ('train', 'search'):
        out = subprocess.run(
            [sys.executable,
             str(REPO / 'tools' / f'{tool}.py'), '--help'],
            capture_output=True,
            text=True,
            check=True)
        assert '--cfg-options' in out.stdout and '--launcher' in out.stdout


HELP_TOOLS = [
    'tools/train.py', 'tools/search.py', 'tools/export_subnet.py',
    'tools/demo.py', 'tools/analysis/label_metric.py',
    'tools/analysis/rank_correlation.py',
    'tools/analysis/ranking_benchmark.py', 'tools/analysis/search_levers.py',
    'tools/analysis/knn_eval.py', 'tools/select_subnet.py',
    'tools/analysis/selection_regret.py', 'tools/analysis/results_table.py',
    'benchmarks/benchmark_search_cost.py',
    'benchmarks/benchmark_search_groups.py',
    'benchmarks/benchmark_search_scale.py',
    'benchmarks/benchmark_search_build.py',
    'benchmarks/benchmark_relation_memory.py',
    'benchmarks/benchmark_supernet.py', 'benchmarks/benchmark_train.py',
    'experiments/classifier_protocol_check.py',
    'tools/analysis/measure_latency.py', 'tools/misc/prepare_fashion_mnist.py'
]


@pytest.mark.parametrize('tool', HELP_TOOLS)
def test_help_answers_before_heavy_imports(tool):
    """``--help`` parses the arguments before importing torch or mmdata
    (so it answers in about a second)."""
    # as ``python TOOL`` runs it: the tool's folder first on the path
    code = (f'import runpy, sys; sys.argv = [{tool!r}, "--help"]\n'
            f'sys.path.insert(0, {str(Path(tool).parent)!r})\n'
            'try:\n'
            f'    runpy.run_path({tool!r}, run_name="__main__")\n'
            'except SystemExit:\n'
            '    pass\n'
            'print("heavy:", sorted(m for m in ("torch", "mmdata") '
            'if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO,
                         capture_output=True,
                         text=True,
                         check=True)
    assert 'usage:' in out.stdout
    assert out.stdout.strip().splitlines()[-1] == 'heavy: []', out.stdout
    if tool == 'tools/export_subnet.py':
        from mmdata.export import TASKS
        assert all(task in out.stdout for task in TASKS)


def test_mim_finds_mmdata_configs_and_tools():
    import mmdata
    mim_dir = Path(mmdata.__file__).parent / '.mim'
    assert (mim_dir / 'tools' / 'train.py').is_file()
    assert (mim_dir / 'configs').is_dir()
    # in a subprocess: mim's pip internals change the importing process
    # (a later `import onnxscript` then fails on pip's typing_extensions)
    out = subprocess.run([
        sys.executable, '-c', 'from mim.utils import get_installed_path; '
        "print(get_installed_path('mmdata'))"
    ],
                         capture_output=True,
                         text=True,
                         check=True)
    assert Path(out.stdout.strip()).resolve() == Path(
        mmdata.__file__).parent.resolve()


def test_schedules_follow_the_training_length(tmp_path, monkeypatch):
    """``train_cfg.max_iters=5`` shortens the cosine schedule with it;
    warm-up stays; an explicit scheduler option wins."""
    train = load_tool('train')
    tiny = str(REPO / 'configs/tiny/'
               'supernet-mocov2_dynresnet-tiny_1xb128-1e_fashion-mnist.py')
    paper = str(REPO / 'configs/supernet/'
                'supernet-byol_dynresnet_16xb256-coslr-200e_in1k-10pc.py')

    def merged(config, *options):
        monkeypatch.setattr(sys, 'argv',
                            ['train.py', config, '--cfg-options', *options])
        return train.merge_args(Config.fromfile(config), train.parse_args())

    cfg = merged(tiny, 'train_cfg.max_iters=5')
    assert cfg.param_scheduler[0].T_max == 5
    cfg = merged(tiny, 'train_cfg.max_iters=5', 'param_scheduler.0.T_max=100')
    assert cfg.param_scheduler[0].T_max == 100
    cfg = merged(paper, 'train_cfg.max_epochs=20')
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 10)
    assert (cosine.begin, cosine.end, cosine.T_max) == (10, 20, 10)
    assert merged(tiny, 'x=1').param_scheduler[0].T_max == 468


def test_shared_options_become_label_metric_settings():
    """The labeled-data options the label-metric tools share are fields of
    LabelMetricSettings: ``from_args`` takes them as parsed."""
    load_tool('train')  # puts tools/ on the path
    import cli_options

    from mmdata.evaluation.label_metrics import LabelMetricSettings
    parser = cli_options.tool_parser('A tool.\n\nMore.')
    cli_options.add_metric(parser, required=True)
    cli_options.add_labeled_data(parser, 'the probe loaders')
    cli_options.add_cfg_options(parser)
    args = parser.parse_args([
        '--metric', 'knn', '--labeled-data', 'mine.py', '--data-options',
        'data_root=data/mine/', '--cfg-options', 'a.b=2'
    ])
    assert parser.description == 'A tool.' and args.debug is False
    settings = LabelMetricSettings.from_args(args, config='supernet.py')
    assert (settings.metric, settings.labeled_data) == ('knn', 'mine.py')
    assert settings.data_options == {'data_root': 'data/mine/'}
    assert settings.cfg_options == {'a.b': 2}
    with pytest.raises(ValueError, match="'top5': choose one of"):
        LabelMetricSettings.from_args(
            parser.parse_args(['--metric', 'top5']), config='supernet.py')


def test_launched_tools_export_their_local_rank(monkeypatch):
    """``--local_rank`` becomes LOCAL_RANK unless the launcher set it."""
    load_tool('train')
    import cli_options
    parser = cli_options.tool_parser('A launched tool.')
    cli_options.add_launcher(parser)
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    monkeypatch.setattr(sys, 'argv', ['tool.py', '--local_rank', '3'])
    assert cli_options.parse_launched(parser).launcher == 'none'
    assert os.environ['LOCAL_RANK'] == '3'
    monkeypatch.setenv('LOCAL_RANK', '1')
    cli_options.parse_launched(parser)
    assert os.environ['LOCAL_RANK'] == '1'
