"""The library's data flow is one-way: each module of `ddm_nb` imports only modules of lower-numbered notebooks.

Module → notebook comes from each generated file's `File to edit: ../nbs/NN_name.ipynb` line; imports are read with
`ast` from the whole module (imports inside functions count too)."""
import ast, re
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent/'ddm_nb'

def _modules():
    "Each generated module's name with the number of its notebook"
    res = {}
    for f in LIB.glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\d+)_[\w-]+\.ipynb', f.read_text())
        if m: res[f.stem] = int(m.group(1))
    return res

def _imports(mod):
    "The `ddm_nb` modules that module `mod` imports, anywhere in its source"
    out = set()
    for node in ast.walk(ast.parse((LIB/f'{mod}.py').read_text())):
        if isinstance(node, ast.ImportFrom):
            name = node.module or ''
            if node.level == 1 and name: out.add(name.split('.')[0])
            elif node.level == 1: out.update(a.name for a in node.names)   # `from . import matching`: the names are modules (or `__version__`)
            elif name.startswith('ddm_nb.'): out.add(name.split('.')[1])
            elif name == 'ddm_nb': out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split('.')[1] for a in node.names if a.name.startswith('ddm_nb.'))
    return out - {'', '_modidx', '__version__'}

def test_every_module_comes_from_a_notebook():
    mods = _modules()
    assert len(mods) >= 10 and all(f.stem in mods for f in LIB.glob('*.py') if f.stem not in ('__init__', '_modidx'))

def test_imports_go_down_only():
    "No module imports a module of its own or a later notebook (so no cycle either)"
    mods = _modules()
    bad = [f'{m} (notebook {n:02d}) imports {i} (notebook {mods[i]:02d})'
           for m, n in mods.items() for i in sorted(_imports(m)) if i in mods and mods[i] >= n]
    assert not bad, 'upward or sideways imports:\n' + '\n'.join(bad)

def test_no_private_name_crosses_modules():
    "A module imports only public names from another module of the package: a shared helper gets a public name in its home (issue 22)"
    bad = []
    for m in _modules():
        for node in ast.walk(ast.parse((LIB/f'{m}.py').read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level == 1 or (node.module or '').startswith('ddm_nb')):
                bad += [f'{m} imports {a.name} from {node.module or "."}' for a in node.names if a.name.startswith('_') and a.name != '__version__']
    assert not bad, 'private names imported across modules:\n' + '\n'.join(bad)
