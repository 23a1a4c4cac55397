"""The layout rules (issue 22): no module over 400 lines, no exported cell over 40, one home for the shared helpers.

(No private name crosses modules: tests/test_imports.py.)"""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIB, NBS = ROOT/'ddm_nb', ROOT/'nbs'
MAX_MODULE, MAX_CELL = 400, 40

def _long_modules():
    return {f'{f.name}: {n} lines' for f in LIB.glob('*.py') if f.stem != '_modidx' and (n := len(f.read_text().splitlines())) > MAX_MODULE}

def _long_cells():
    out = set()
    for nb in sorted(NBS.glob('[0-9]*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] == 'code' and re.match(r'#\|\s*export', src) and (n := len(src.splitlines())) > MAX_CELL:
                out.add(f'{nb.name} cell {c.get("id")}: {n} lines')
    return out

def test_modules_are_short():
    bad = _long_modules()
    assert not bad, f'modules over {MAX_MODULE} lines (split them):\n' + '\n'.join(sorted(bad))

def test_exported_cells_are_short():
    bad = _long_cells()
    assert not bad, f'exported cells over {MAX_CELL} lines (split them, a sentence of prose before each):\n' + '\n'.join(sorted(bad))

def test_one_home_for_shared_helpers():
    "Did-you-mean, plain values and one-line errors are defined once, in checks (notebook 00), and imported by name"
    defs = {}
    for f in sorted(LIB.glob('*.py')):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and re.search(r'plain|one_line|did_you_mean|close_match', node.name): defs.setdefault(node.name, []).append(f.stem)
            if isinstance(node, (ast.Import, ast.ImportFrom)) and 'difflib' in [a.name for a in node.names] + [node.module if isinstance(node, ast.ImportFrom) else None]:
                defs.setdefault('import difflib', []).append(f.stem)
    assert defs == {'did_you_mean': ['checks'], 'to_plain': ['checks'], 'one_line': ['checks'], 'import difflib': ['checks']}, defs

