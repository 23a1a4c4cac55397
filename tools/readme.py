"""Write README.md from nbs/index.ipynb without Quarto: nbdev directives stripped, `#| hide` cells dropped, outputs kept.

Relative links and images (relative to nbs/ in the notebook) are rewritten to work from the repository root.
`python tools/readme.py --check` exits 1, writing nothing, when README.md is out of date (tests/test_readme.py checks the same).
"""
import re, sys
from pathlib import Path
import nbformat

_re_md_link = re.compile(r'(!?\[[^\]]*\]\()([^)\s]+)')          # ![alt](path  /  [text](path
_re_html_src = re.compile(r'(<(?:img|a)\b[^>]*?\b(?:src|href)=")([^"]+)')

def fix_paths(md, prefix):
    "Prefix relative link and image targets in markdown `md` with `prefix/`"
    def _fix(m):
        url = m.group(2)
        if re.match(r'^(?:[a-z][\w+.-]*:|#|/)', url, re.I): return m.group(0)
        return f'{m.group(1)}{prefix}/{url}'
    return _re_html_src.sub(_fix, _re_md_link.sub(_fix, md))

def nb2md(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    nb_dir = Path(nb_path).resolve().parent
    prefix = nb_dir.relative_to(nb_dir.parent).as_posix()   # README.md lives one level above the notebooks
    out = []
    for c in nb.cells:
        src = c.source
        if c.cell_type == 'code':
            if re.search(r'^#\|\s*hide\b', src, re.M): continue
            code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
            if code: out.append(f'```python\n{code}\n```')
            for o in c.get('outputs', []):
                txt = o.get('text') or o.get('data', {}).get('text/plain')
                if txt: out.append('    ' + ''.join(txt).rstrip().replace('\n', '\n    '))
        elif c.cell_type == 'markdown': out.append(fix_paths(src.strip(), prefix))
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    root = Path(__file__).resolve().parent.parent
    md, readme = nb2md(root/'nbs'/'index.ipynb'), root/'README.md'
    if '--check' in sys.argv[1:]:
        if readme.read_text() != md: sys.exit('README.md is out of date with nbs/index.ipynb: run `make readme`')
        print('README.md in sync with nbs/index.ipynb')
    else:
        readme.write_text(md)
        print('wrote README.md')
