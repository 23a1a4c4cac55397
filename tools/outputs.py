"""Notebook outputs committed to git, and a check that they are not stale.

The notebooks are lessons read on the repository page, so they are committed with their outputs (figures, printed
numbers). `run` executes notebooks in place (a real kernel, the cells nbdev-test skips left without outputs, two at
a time), cleans them with nbdev-clean and records a stamp per notebook in `nbs/_outputs.json`: a hash of the
notebook's code cells and of every `ddm_nb` module the notebook imports, directly or through other modules (and
`settings.ini` where such a module reads it). `check` recomputes the stamps: a notebook whose code, or the library
code it runs, changed since its outputs were made is stale; so is a notebook without a stamp or with an error output.

    python tools/outputs.py run [--only 07_matching ...] [--jobs 2] [--timeout 900]
    python tools/outputs.py check          # exit 1 naming the stale notebooks (tests/test_outputs.py runs it)
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, LIB, STAMPS = ROOT/'nbs', ROOT/'ddm_nb', ROOT/'nbs'/'_outputs.json'
_re_nb_import = re.compile(r'^\s*(?:from\s+ddm_nb(?:\.(\w+))?\s+import|import\s+ddm_nb(?:\.(\w+))?)', re.M)
_re_mod_import = re.compile(r'^\s*from\s+(?:ddm_nb)?\.(\w+)\s+import|^\s*from\s+ddm_nb\.(\w+)\s+import', re.M)

def notebooks():
    "The notebooks nbdev knows (skips `_*` and `.*`), sorted"
    from nbdev.doclinks import nbglob
    return sorted(Path(f) for f in nbglob(NBS))

def _modules(names):
    "Every `ddm_nb` module reachable from `names` through imports (lazy ones inside functions included)"
    seen, todo = set(), list(names)
    while todo:
        m = todo.pop()
        if m in seen or not (LIB/f'{m}.py').exists(): continue
        seen.add(m)
        todo += [a or b for a, b in _re_mod_import.findall((LIB/f'{m}.py').read_text())]
    return sorted(seen)

def stamp(nb):
    "Hash of what the outputs of notebook `nb` depend on: its code cells and the library code it imports"
    cells = json.loads(Path(nb).read_text())['cells']
    code = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
    names = {a or b for src in code for a, b in _re_nb_import.findall(src)}
    names = {n for n in names if n} | ({'__init__'} if any(not (a or b) for src in code for a, b in _re_nb_import.findall(src)) else set())
    mods = _modules(names)
    h = hashlib.sha256()
    for src in code: h.update(src.encode()); h.update(b'\0')
    for m in mods:
        text = (LIB/f'{m}.py').read_bytes()
        h.update(m.encode()); h.update(text)
        if b'settings.ini' in text and (ROOT/'settings.ini').exists(): h.update((ROOT/'settings.ini').read_bytes())
    return h.hexdigest()[:16], mods

def _errors(nb):
    cells = json.loads(Path(nb).read_text())['cells']
    return [f'cell {i}: {o.get("ename")}: {o.get("evalue", "")[:200]}' for i, c in enumerate(cells)
            for o in c.get('outputs', []) if o.get('output_type') == 'error']

def stale(nbs=None):
    "The notebooks whose committed outputs are stale, each with the reason"
    stamps = json.loads(STAMPS.read_text()) if STAMPS.exists() else {}
    res = {}
    for nb in nbs or notebooks():
        key = nb.relative_to(NBS).as_posix()
        if key not in stamps: res[key] = 'no outputs recorded'; continue
        h, mods = stamp(nb)
        if stamps[key]['stamp'] != h:
            res[key] = f'its code or the library code it runs ({", ".join(mods) or "none"}) changed since its outputs were made'
        elif errs := _errors(nb): res[key] = 'error outputs: ' + '; '.join(errs)
    return res

def run(only=None, jobs=2, timeout=900):
    "Execute the notebooks in place, clean them, record their stamps; return the names that failed"
    sys.path.insert(0, str(ROOT/'tools'))
    import build_docs
    from nbdev.clean import nbdev_clean
    nbs = [nb for nb in notebooks() if not only or any(o in nb.name for o in only)]
    tmpdir = ROOT/'_docs'/'.outputs'
    tmpdir.mkdir(parents=True, exist_ok=True)
    todo = [(nb, tmpdir/nb.name) for nb in nbs]
    t0 = time.time()
    done = build_docs.run_workers(todo, jobs, timeout, extra=('--raw',))
    stamps = json.loads(STAMPS.read_text()) if STAMPS.exists() else {}
    failed = []
    for nb, dst in todo:
        rc, secs = done[nb]
        import nbformat
        if rc == 0 and dst.exists():
            out = nbformat.read(dst, as_version=4)
            out.metadata.pop('ddm_docs', None)
            nbformat.write(out, nb)
            nbdev_clean(str(nb))
            stamps[nb.relative_to(NBS).as_posix()] = dict(stamp=stamp(nb)[0], seconds=round(secs, 1))
        else:
            why = (dst.with_suffix('.log').read_text()[-1500:] if dst.with_suffix('.log').exists() else '')
            if dst.exists(): why = '; '.join(nbformat.read(dst, as_version=4).metadata.get('ddm_docs', {}).get('errors', [])) or why
            failed.append(nb.name); print(f'outputs: {nb.name} FAILED ({"timeout" if rc == "timeout" else rc}): {why}', flush=True)
    known = {nb.relative_to(NBS).as_posix() for nb in notebooks()}
    STAMPS.write_text(json.dumps({k: v for k, v in sorted(stamps.items()) if k in known}, indent=1) + '\n')
    shutil.rmtree(tmpdir, ignore_errors=True)
    print(f'outputs: {len(nbs) - len(failed)} notebook(s) executed in place in {time.time() - t0:.0f}s'
          + (f'; failed: {", ".join(failed)}' if failed else ''), flush=True)
    return failed

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('cmd', choices=['run', 'check'])
    ap.add_argument('--only', nargs='*', help='notebooks whose name contains one of these')
    ap.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument('--timeout', type=int, default=900, help='seconds per notebook')
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    if a.cmd == 'run': return 1 if run(a.only, max(1, a.jobs), a.timeout) else 0
    bad = stale()
    for k, why in bad.items(): print(f'stale outputs: nbs/{k}: {why}')
    if bad: print('outputs: run `make outputs` (tools/outputs.py run) and commit the notebooks', file=sys.stderr)
    return 1 if bad else 0

if __name__ == '__main__': sys.exit(main())
