"""User mistakes, and the one way every command-line tool reports them.

A :class:`UserError` is a mistake the user can fix (a bad value, path, file
or work dir). The tools run their ``main`` through :func:`run_cli`, which
prints such an error as one line ``error: <what> (<bad value>; <what to
do>)`` on stderr and exits with code 2. ``--debug`` on the command line, or
``MMDATA_DEBUG=1``, shows the traceback instead. Any other exception is a
bug and raises normally. This module imports only the standard library, so
every layer of mmdata may raise these errors.
"""
import os
import sys
from typing import Callable


class UserError(Exception):
    """A mistake of the user, reported as one ``error:`` line."""


class ConfigError(UserError, ValueError):
    """A config value or command-line argument that is not allowed."""


class CheckpointError(UserError):
    """A checkpoint that is missing, unreadable or refused."""


class DataError(UserError):
    """Data that is missing, empty or unusable for the run."""


class WorkDirError(UserError):
    """A work dir (or results file) that holds another run's results or is
    in use by another run."""


def debug_requested() -> bool:
    """Whether the user asked for tracebacks (``--debug``, MMDATA_DEBUG=1)."""
    return '--debug' in sys.argv[1:] or os.environ.get('MMDATA_DEBUG') == '1'


def one_line(message: str) -> str:
    """``message`` with all whitespace runs (newlines too) as one space."""
    return ' '.join(str(message).split())


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's ``main``; a :class:`UserError` exits with code 2 after
    printing ``error: <message>`` (one line) on stderr."""
    try:
        main()
    except UserError as err:
        if debug_requested():
            raise
        print(f'error: {one_line(err)}', file=sys.stderr, flush=True)
        sys.exit(2)
