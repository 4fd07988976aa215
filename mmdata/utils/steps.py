"""The console story of a multi-step tool (the demo, the ranking benchmark):
one header per step with its duration, each child tool's whole output in a
log file, a live progress line on a terminal. Standard library only."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

# `Iter(train) [ 20/468]` (mmengine logs), `] 20/468,` (mmengine progress
# bars), `progress train: 20/468` (a nested Steps forwarding its progress)
PROGRESS = re.compile(r'Iter\(\w+\)\s*\[\s*(\d+)/(\d+)\]|\]\s*(\d+)/(\d+),'
                      r'|^\s*progress \S+: (\d+)/(\d+)$')
# set for the children: a Steps inside a child forwards its progress as lines
FORWARD = 'MMDATA_STEPS_FORWARD'
# lines of a child's own story that reach the console (nested steps, errors)
STORY = ('=== ', 'done in ', 'error:')
TAIL_LINES = 20


class Steps:
    """Print step headers and run child tools with their output in
    ``log_dir``.

    Args:
        log_dir (Path): Folder of the children's logs (``NAME.log``).
    """

    def __init__(self, log_dir: Path, repo: Path) -> None:
        self.log_dir = Path(log_dir)
        self.repo = repo
        self._title: Optional[str] = None
        self._start = 0.

    def step(self, title: str) -> None:
        """Close the current step (printing its duration), open ``title``."""
        self.close()
        self._title, self._start = title, time.time()
        print(f'\n=== {title}', flush=True)

    def close(self) -> None:
        """Print the duration of the current step, if any."""
        if self._title is not None:
            print(f'  done in {time.time() - self._start:.0f} s', flush=True)
            self._title = None

    def run(self, name: str, *cmd: str) -> None:
        """Run ``python *cmd`` in the repository; its output goes to
        ``log_dir/name.log``. Exits with the child's code on failure, after
        printing the end of its log."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f'{name}.log'
        print(f'$ {" ".join(cmd)}\n  log: {log}', flush=True)
        forward = os.environ.get(FORWARD) == '1'
        live = forward or sys.stdout.isatty()
        shown, last = False, None
        with open(log, 'w') as f:
            # text mode turns the `\r` of progress bars into line ends;
            # unbuffered children write their log as they go
            proc = subprocess.Popen([sys.executable, *cmd],
                                    cwd=self.repo,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT,
                                    text=True,
                                    env={
                                        **os.environ, FORWARD: '1',
                                        'PYTHONUNBUFFERED': '1'
                                    })
            for line in proc.stdout:
                f.write(line)
                text = line.rstrip('\n')
                if text.lstrip().startswith(STORY):
                    print(('\n' if shown else '') + f'  {text}', flush=True)
                    shown = False
                    continue
                match = PROGRESS.search(text) if live else None
                if match and match.groups() != last:
                    last = match.groups()
                    done, total = [g for g in last if g][:2]
                    if forward:
                        print(f'  progress {name}: {done}/{total}', flush=True)
                    else:
                        print(
                            f'\r  {name}: {done}/{total}', end='', flush=True)
                        shown = True
            code = proc.wait()
        if shown:
            print(flush=True)
        if code != 0:
            tail = log.read_text().splitlines()[-TAIL_LINES:]
            print('\n'.join(tail), file=sys.stderr)
            print(
                f'error: {name} failed (exit {code}; full log: {log}); '
                're-run the same command to resume',
                file=sys.stderr)
            sys.exit(code)
