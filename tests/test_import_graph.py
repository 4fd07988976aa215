"""The package's import graph is the layering of docs/concepts.md ("Package
map"): each folder imports only the folders below it, so it has no cycle."""
import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'mmdata'
BASE = {'errors', 'registry', 'utils'}
ALLOWED = {
    'errors': set(),
    'registry': set(),
    'version': set(),
    'utils': {'errors', 'registry'},
    'space': BASE,
    'models': BASE | {'space'},
    'search': BASE | {'space', 'models'},
    'export': BASE | {'space', 'models', 'search'},
    'evaluation': BASE | {'space', 'models', 'search', 'export'},
    'engine': BASE | {'space', 'models', 'search', 'export'},
    # the package's entry points register everything
    'setup_env': {'engine', 'models'},
    '__init__': {'engine', 'export', 'utils', 'version'},
}


def imported_folders(path: Path, package: Path = PACKAGE) -> set:
    """The top-level parts of mmdata that the module ``path`` of
    ``package`` imports."""
    rel = path.relative_to(package)
    here = list(rel.parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - node.level + 1]
            full = base + (node.module.split('.') if node.module else [])
            found.add(full[0] if full else node.names[0].name)
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module + '.').startswith('mmdata.'):
            parts = node.module.split('.')
            found.add(parts[1] if len(parts) > 1 else node.names[0].name)
        elif isinstance(node, ast.Import):
            found |= {
                a.name.split('.')[1]
                for a in node.names if a.name.startswith('mmdata.')
            }
    return found


def test_each_folder_imports_only_the_layers_below():
    graph = defaultdict(set)
    for path in PACKAGE.rglob('*.py'):
        rel = path.relative_to(PACKAGE)
        folder = rel.parts[0] if len(rel.parts) > 1 else path.stem
        graph[folder] |= imported_folders(path) - {folder}
    assert set(graph) <= set(ALLOWED), set(graph) - set(ALLOWED)
    wrong = {f: sorted(graph[f] - ALLOWED[f]) for f in graph}
    assert not {f: w for f, w in wrong.items() if w}


def test_the_check_sees_a_forbidden_import(tmp_path):
    """A planted upward import (space -> search) is found."""
    module = tmp_path / 'mmdata' / 'space' / 'planted.py'
    module.parent.mkdir(parents=True)
    module.write_text('from mmdata.search import SubnetScorer\n'
                      'from ..models import DynamicResNet\n'
                      'from .cost import arch_cost\n')
    found = imported_folders(module, tmp_path / 'mmdata')
    assert found == {'search', 'models', 'space'}
    assert found - {'space'} - ALLOWED['space'] == {'search', 'models'}
