"""Command-line options several mmdata tools share, each written once.

Only the standard library and mmengine's ``DictAction`` are imported here:
a tool builds its parser from these before it imports torch or mmdata, so
``--help`` answers at once. Tools in ``tools/analysis`` and ``tools/misc``
put ``tools/`` on ``sys.path`` first.
"""
import argparse
import os

from mmengine.config import DictAction

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def tool_parser(doc: str, **kwargs) -> argparse.ArgumentParser:
    """A tool's parser, described by the first line of its docstring ``doc``,
    with ``--debug`` (tracebacks instead of one ``error:`` line)."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0], **kwargs)
    parser.add_argument(
        '--debug',
        action='store_true',
        help='show the traceback of an error (also MMDATA_DEBUG=1)')
    return parser


def add_cfg_options(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options key=value ...`` merged into a config."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs such as '
        'xxx=yyy or a.b=[1,2]')


def add_child_cfg_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--cfg-options key=value ...`` a study passes on, as they are, to the
    tools it runs (``what`` says which)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help=f'key=value options of {what} (e.g. data roots)')


def add_bootstrap(parser: argparse.ArgumentParser,
                  default: int = 1000) -> None:
    """``--bootstrap N``: resamples of a study's intervals and tests."""
    parser.add_argument(
        '--bootstrap',
        type=int,
        default=default,
        help='bootstrap resamples (0: no intervals)')


def add_launcher(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and ``--local_rank``, as every OpenMMLab launcher
    script passes them; :func:`parse_launched` exports the rank."""
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launched(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the arguments of a launched tool; ``LOCAL_RANK`` is set from
    ``--local_rank`` unless the launcher already set it."""
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def add_labeled_data(parser: argparse.ArgumentParser, default: str) -> None:
    """``--labeled-data`` and ``--data-options``: the user's labeled data
    (mmdata.evaluation.labeled_data); ``default`` says what is read
    without it."""
    parser.add_argument(
        '--labeled-data',
        help='labeled-data config (labeled_train, labeled_val, optionally '
        f'labeled_test datasets); default: {default}')
    parser.add_argument(
        '--data-options',
        nargs='+',
        action=DictAction,
        help='set on every labeled split, e.g. data_root=data/mine/')


def add_metric(parser: argparse.ArgumentParser, **kwargs) -> None:
    """``--metric``: a name of ``LABEL_METRICS`` (validated by the package,
    so that this stays free of torch)."""
    parser.add_argument(
        '--metric',
        help='a label metric of mmdata.evaluation.label_metrics.'
        'LABEL_METRICS, e.g. knn, det-map, seg-miou',
        **kwargs)


def add_combine(parser: argparse.ArgumentParser) -> None:
    """``--combine COLUMN ...`` (repeatable): a score that is the mean of
    the within-bin ranks of these columns."""
    parser.add_argument(
        '--combine',
        nargs='+',
        action='append',
        default=[],
        metavar='COLUMN',
        help='add a score: the mean of the within-bin ranks of these '
        'columns (e.g. --combine params cka-C5pool; pre-register it, see '
        'docs/studies/rankers.md); repeat for several')


def add_shard(parser: argparse.ArgumentParser, what: str) -> None:
    """``--shard I/N``: this process's share of ``what``."""
    parser.add_argument(
        '--shard',
        default='1/1',
        metavar='I/N',
        help=f'do every N-th of {what}, from the I-th: N processes with the '
        'same output share the work')
