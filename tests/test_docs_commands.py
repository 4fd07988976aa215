"""The commands the README and docs show cannot drift from the code: every
tool they call exists, every config path they name exists, and every
``--option`` they pass is one the tool's ``--help`` lists."""
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / 'README.md', *sorted((REPO / 'docs').rglob('*.md'))]
TOOL = re.compile(r'^(tools|benchmarks|experiments)/\S+\.(py|sh)$')


def shown_commands():
    """``(doc, command)`` of every ``python tools/...`` / ``bash tools/...``
    in a bash block (continuation lines joined) or inline code."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        blocks = re.findall(r'```bash\n(.*?)```', text, flags=re.S)
        lines = [
            ln for b in blocks for ln in b.replace('\\\n', ' ').splitlines()
        ]
        lines += re.findall(r'`((?:python|bash) [^`]+)`', text)
        for line in lines:
            line = line.split(' #')[0].strip()
            if re.match(
                    r'(\.venv/bin/)?(python|bash) (tools|benchmarks|'
                    r'experiments)/', line):
                found.append((doc.name, line))
    return found


@lru_cache(maxsize=None)
def help_text(tool: str) -> str:
    out = subprocess.run([sys.executable, tool, '--help'],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, (tool, out.stderr[-1000:])
    return out.stdout


def test_the_docs_show_commands():
    assert len(shown_commands()) >= 20
    # an option a tool does not have is caught
    assert not re.search(r'(^|[\s,\[])--no-such-option\b',
                         help_text('tools/search.py'))


@pytest.mark.parametrize('doc,command', shown_commands())
def test_shown_command_fits_the_code(doc, command):
    tokens = shlex.split(command)
    tool = next(t for t in tokens if TOOL.match(t))
    assert (REPO / tool).is_file(), f'{doc}: {tool} does not exist'
    for token in tokens:
        if token.startswith('configs/') and token.endswith('.py'):
            assert (REPO / token).is_file(), f'{doc}: {token} is missing'
    if tool.endswith('.py'):
        text = help_text(tool)
        flags = [t.strip('[]').split('=')[0] for t in tokens]
        for flag in (f for f in flags if f.startswith('--')):
            assert re.search(rf'(^|[\s,\[]){re.escape(flag)}\b', text), \
                f'{doc}: {tool} has no option {flag}'


RUNNABLE = re.compile(r'<!-- runnable[^\n]*-->\n```python\n(.*?)```', re.S)
CHECKED = re.compile(r'^(\S.*?)\s+# -> (.+)$')


def runnable_snippets():
    """``(doc, code)`` of every python block marked ``<!-- runnable -->``;
    a line ``EXPR  # -> VALUE`` asserts ``repr(EXPR) == VALUE``."""
    found = []
    for doc in DOCS:
        for block in RUNNABLE.findall(doc.read_text()):
            lines = []
            for line in block.splitlines():
                checked = CHECKED.match(line)
                lines.append(f'assert repr({checked[1]}) == {checked[2]!r}, '
                             f'repr({checked[1]})' if checked else line)
            found.append((doc.name, '\n'.join(lines)))
    return found


def test_the_docs_mark_runnable_snippets():
    snippets = runnable_snippets()
    assert snippets and any('assert repr(' in code for _, code in snippets)


@pytest.mark.parametrize('doc,code', runnable_snippets())
def test_runnable_snippet_runs(doc, code):
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=REPO,
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, f'{doc}: {out.stderr[-2000:]}'


def github_anchors(doc: Path) -> set:
    """The anchors GitHub gives the headings of ``doc`` (lower case,
    punctuation dropped, spaces to hyphens, ``-1``, ``-2`` for repeats)."""
    text = re.sub(r'```.*?```', '', doc.read_text(), flags=re.S)
    seen: dict = {}
    anchors = set()
    for title in re.findall(r'^#{1,6} (.+?)\s*$', text, flags=re.M):
        slug = re.sub(r'[^\w\- ]', '', title.lower()).replace(' ', '-')
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f'{slug}-{n}')
    return anchors


def internal_links():
    """``(doc, target)`` of every relative markdown link of the docs."""
    found = []
    for doc in DOCS:
        text = re.sub(r'```.*?```', '', doc.read_text(), flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if not re.match(r'[a-z]+:', target):
                found.append((doc, target))
    return found


@pytest.mark.parametrize(
    'doc,target',
    internal_links(),
    ids=[f'{d.name}:{t}' for d, t in internal_links()])
def test_internal_links_and_anchors_exist(doc, target):
    path, _, anchor = target.partition('#')
    linked = (doc.parent / path).resolve() if path else doc
    assert linked.exists(), f'{doc.name}: {target}: no such file'
    if anchor and linked.suffix == '.md':
        assert anchor in github_anchors(linked), \
            f'{doc.name}: {target}: no such heading'


@pytest.mark.parametrize('doc', DOCS, ids=[d.name for d in DOCS])
def test_docs_name_no_sessions_or_issue_numbers(doc):
    """Readers see neither the team's sessions nor its issue numbers."""
    words = re.findall(
        r'\bsessions?\b|\bissues? #?\d+', doc.read_text(), flags=re.I)
    assert not words, f'{doc.name}: {words}'
