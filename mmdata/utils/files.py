"""Result files: atomic writes, content hashes, the identity of saved
results and runs that leave no trace.

Imports only the standard library (and :mod:`mmdata.errors`).
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Union

from mmdata.errors import UserError, one_line


def atomic_write(path: str, data: Union[str, bytes, Callable[[str],
                                                             None]]) -> None:
    """Write ``path`` all or nothing: to a temporary file unique to this
    process in the same folder, then renamed over ``path``.

    Args:
        path (str): The file to write.
        data (str | bytes | callable): The content, or a function that
            writes the file whose path it is given (e.g. ``plt.savefig``).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = osp.splitext(path)[1]  # writers that pick a format by suffix
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix=f'.tmp{suffix}', dir=folder)
    try:
        if callable(data):
            os.close(fd)
            data(tmp)
        else:
            with os.fdopen(fd, 'wb' if isinstance(data, bytes) else 'w') as f:
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def _hash_cache_file() -> str:
    cache = os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache')
    return osp.join(cache, 'mmdata', 'sha256.json')


def file_sha256(path: str) -> str:
    """SHA-256 of a file's content, computed once per (path, size, mtime)
    and cached in ``$XDG_CACHE_HOME/mmdata/sha256.json`` (``~/.cache``)."""
    real = osp.realpath(path)
    stat = os.stat(real)
    key = [stat.st_size, stat.st_mtime_ns]
    cache_file = _hash_cache_file()
    try:
        with open(cache_file) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(real)
    if isinstance(entry, dict) and entry.get('stat') == key:
        return entry['sha256']
    digest = hashlib.sha256()
    with open(real, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    cache[real] = dict(stat=key, sha256=digest.hexdigest())
    try:
        atomic_write(cache_file, json.dumps(cache, indent=0))
    except OSError:
        pass  # a read-only cache only costs the hash again
    return cache[real]['sha256']


def _flatten(value, prefix: str = '') -> Dict[str, str]:
    """Dotted keys of nested dicts, leaves as compact JSON."""
    if isinstance(value, dict):
        flat: Dict[str, str] = {}
        for key, sub in value.items():
            flat.update(_flatten(sub, f'{prefix}{key}.'))
        return flat
    return {prefix[:-1]: json.dumps(value, sort_keys=True)}


def identity_diff(saved: dict, current: dict, width: int = 80) -> List[str]:
    """``key: saved vs current`` for every leaf that differs."""
    old, new = _flatten(saved), _flatten(current)
    diff = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            a, b = (
                one_line(v or 'missing')[:width]
                for v in (old.get(key), new.get(key)))
            diff.append(f'{key}: {a} vs {b}')
    return diff


@contextmanager
def undo_on_user_error(work_dir: str) -> Iterator[None]:
    """Undo what a run did to ``work_dir`` when it stops on a
    :class:`UserError` before producing results: remove the folders and
    files it created there and restore the top-level config copies
    (``*.py``) it overwrote. A run that wrote results (a checkpoint, scored
    candidates) is left as it is, as after any other exception. In a
    distributed run only rank 0 undoes."""
    work = Path(work_dir)
    existed = work.is_dir()
    before = set(work.iterdir()) if existed else set()
    configs = {
        p: p.read_bytes()
        for p in before if p.suffix == '.py' and p.is_file()
    }
    try:
        yield
    except UserError:
        new = [work] if not existed else \
            set(work.iterdir()) - before if work.is_dir() else []
        started = any(
            f.suffix in ('.pth', '.jsonl') or f.name == 'last_checkpoint'
            for path in new
            for f in ([path] if path.is_file() else path.rglob('*')))
        if int(os.environ.get('RANK', '0')) == 0 and not started:
            if not existed:
                shutil.rmtree(work, ignore_errors=True)
            elif work.is_dir():
                for path in set(work.iterdir()) - before:
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
                for path, content in configs.items():
                    if not path.exists() or path.read_bytes() != content:
                        path.write_bytes(content)
        raise
