"""Notebooks are committed with their outputs (figures, printed numbers), and those outputs are not stale."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import outputs

def test_outputs_fresh():
    "Every notebook's outputs were made from its current code and the library code it runs, without errors"
    bad = outputs.stale()
    assert not bad, 'stale notebook outputs (run `make outputs` and commit):\n' + '\n'.join(f'  {k}: {v}' for k, v in bad.items())

def test_notebooks_have_outputs():
    "Every notebook with code shows something, and nbs/ stays small"
    for nb in outputs.notebooks():
        cells = json.loads(nb.read_text())['cells']
        if any(c['cell_type'] == 'code' for c in cells):
            assert any(c.get('outputs') for c in cells), f'{nb.name} has no outputs in git'
    size = sum(f.stat().st_size for f in (ROOT/'nbs').rglob('*') if f.is_file())
    assert size < 15e6, f'nbs/ is {size/1e6:.1f} MB; keep figures small'

def test_stale_detected(tmp_path, monkeypatch):
    "Changing a code cell makes its notebook stale; changing prose does not"
    nb = outputs.notebooks()[0]
    h, _ = outputs.stamp(nb)
    d = json.loads(nb.read_text())
    code = next(c for c in d['cells'] if c['cell_type'] == 'code')
    md = next(c for c in d['cells'] if c['cell_type'] == 'markdown')
    md['source'] = ['changed prose\n']
    f = tmp_path/nb.name; f.write_text(json.dumps(d))
    assert outputs.stamp(f)[0] == h
    code['source'] = code['source'] + ['\n1+1']
    f.write_text(json.dumps(d))
    assert outputs.stamp(f)[0] != h
