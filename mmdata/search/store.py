"""Resume state of a search in ``OUT_DIR/progress``: identity, lock, records.

- ``identity.json``: everything the scores depend on (checkpoint content,
  target data, budgets, metric, taps, ...). A search whose identity differs
  is refused, naming the keys and both values, so that old scores are never
  reused for another checkpoint or setting.
- ``lock``: pid and host of the search that runs in the folder, created
  exclusively; a second search is refused at once. A lock left by a process
  that no longer runs on this host is taken over (logged).
- ``rank*.jsonl``: one scored candidate per line, appended as it is done,
  so a killed search resumes where it stopped.
"""
import json
import os
import os.path as osp
import shutil
import socket
from typing import Dict, Optional

from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.logging import print_log

from mmdata.errors import UserError, WorkDirError
from mmdata.utils.files import atomic_write, identity_diff
from .record import Candidate

OUTPUTS = ('candidates.json', 'best.yaml', 'search.png')


def read_identity(path: str) -> dict:
    """A search's ``identity.json`` (written by :meth:`SearchStore.open`);
    a damaged one is a :class:`WorkDirError`."""
    try:
        with open(path) as f:
            identity = json.load(f)
        if not isinstance(identity, dict):
            raise ValueError
    except ValueError:
        raise WorkDirError(
            f'{path} is damaged (not a JSON identity), so the scores beside '
            'it cannot be trusted; pass --overwrite to start over, or '
            'another --work-dir')
    return identity


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


class SearchStore:
    """The ``progress`` folder of a search output folder.

    Args:
        out_dir (str): The search output folder (``WORK_DIR/search``).
    """

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.folder = osp.join(out_dir, 'progress')
        self.lock_file = osp.join(self.folder, 'lock')
        self.identity_file = osp.join(self.folder, 'identity.json')
        self.me = dict(pid=os.getpid(), host=socket.gethostname())

    # ------------------------------------------------------------------ lock
    def _holder(self) -> Optional[dict]:
        try:
            with open(self.lock_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def lock(self) -> None:
        """Create the lock, or refuse when another live search holds it."""
        os.makedirs(self.folder, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(self.lock_file,
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self._holder()
                if holder == self.me:
                    return
                if holder and holder.get('host') == self.me['host'] and \
                        not _alive(int(holder.get('pid', -1))):
                    print_log(
                        f"taking over the lock of {self.folder}: its search "
                        f"(pid {holder['pid']}) no longer runs",
                        logger='current')
                    os.remove(self.lock_file)
                    continue
                who = (f"pid {holder.get('pid')} on {holder.get('host')}"
                       if holder else 'unknown process')
                raise WorkDirError(
                    f'another search ({who}) is running in {self.out_dir}; '
                    'wait for it to end or pass another --work-dir (delete '
                    f'{self.lock_file} if that search is gone)')
            with os.fdopen(fd, 'w') as f:
                json.dump(self.me, f)
            return
        raise WorkDirError(f'could not lock {self.folder} (a search keeps '
                           'taking it); pass another --work-dir')

    def unlock(self) -> None:
        """Remove the lock if this process holds it."""
        if self._holder() == self.me:
            os.remove(self.lock_file)

    # -------------------------------------------------------------- identity
    def open(self, identity: dict, overwrite: bool = False) -> None:
        """Lock the folder, then check the identity against the saved one
        (or record it). ``overwrite`` drops earlier results instead."""
        identity = json.loads(json.dumps(identity, default=str))
        self.lock()
        try:
            if overwrite:
                self.clear()
            if osp.exists(self.identity_file):
                saved = read_identity(self.identity_file)
                diff = identity_diff(saved, identity)
                if diff:
                    raise WorkDirError(
                        f'{self.out_dir} holds the results of another search '
                        f"({'; '.join(diff)}); pass another --work-dir, or "
                        '--overwrite to start over')
            elif self.records():
                raise WorkDirError(
                    f'{self.out_dir} holds scores without a recorded identity '
                    '(an older mmdata); pass another --work-dir, or '
                    '--overwrite to start over')
            else:
                atomic_write(self.identity_file,
                             json.dumps(identity, indent=1))
        except BaseException:
            self.unlock()
            raise

    def open_on_every_rank(self,
                           identity: dict,
                           overwrite: bool = False) -> Dict[str, dict]:
        """:meth:`open` on rank 0 (every rank raises its error), then the
        records scored so far, read by every rank."""
        error = [None]
        if is_main_process():
            try:
                self.open(identity, overwrite)
            except UserError as err:
                error = [err]
        broadcast_object_list(error)
        if error[0] is not None:
            raise error[0]
        return self.records()

    def clear(self) -> None:
        """Remove the results of earlier searches (keeps the lock)."""
        for name in os.listdir(self.folder):
            if name != 'lock':
                path = osp.join(self.folder, name)
                shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
        for name in OUTPUTS:
            path = osp.join(self.out_dir, name)
            if osp.exists(path):
                os.remove(path)

    # --------------------------------------------------------------- records
    def records(self) -> Dict[str, Candidate]:
        """Scored records by arch (lines cut by a kill are skipped)."""
        done: Dict[str, Candidate] = {}
        names = sorted(os.listdir(self.folder)) if osp.isdir(
            self.folder) else []
        for name in names:
            if not name.endswith('.jsonl'):
                continue
            with open(osp.join(self.folder, name)) as f:
                for line in f:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    record = Candidate.from_json(record,
                                                 osp.join(self.folder, name))
                    done[record.arch] = record
        return done

    def progress_file(self, rank: int) -> str:
        """The file rank ``rank`` appends its records to."""
        os.makedirs(self.folder, exist_ok=True)
        return osp.join(self.folder, f'rank{rank}.jsonl')
