"""Write README.md from nbs/index.ipynb without Quarto: nbdev directives stripped, `#| hide` cells dropped, outputs kept.

Relative links and images (relative to nbs/ in the notebook) are rewritten to work from the repository root.
It also writes README.pypi.md, the wheel's long description (pyproject's `readme`): on a package index a relative link
resolves against nothing, so there each figure becomes a line naming it and each relative link its text.
`python tools/readme.py --check` exits 1, writing nothing, when either is out of date (tests/test_readme.py and
tests/test_packaging.py check the same).
"""
import re, sys
from pathlib import Path
import nbformat

PYPI = 'README.pypi.md'
_re_md_link = re.compile(r'(!?\[[^\]]*\]\()([^)\s]+)')          # ![alt](path  /  [text](path
_re_html_src = re.compile(r'(<(?:img|a)\b[^>]*?\b(?:src|href)=")([^"]+)')
_re_absolute = re.compile(r'^[a-z][\w+.-]*:', re.I)            # https:, mailto:, data: ...

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

_re_md_image = re.compile(r'!\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
_re_md_anchor = re.compile(r'(?<!!)\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
_re_html_img = re.compile(r'<img\b[^>]*>', re.I)
_re_html_a = re.compile(r'<a\b[^>]*\bhref="([^"]+)"[^>]*>(.*?)</a>', re.I | re.S)
_re_ref_def = re.compile(r'^ {0,3}\[[^\]]+\]:\s*(\S+).*$', re.M)

def _figure(alt, path): return f'*[Figure: {alt.strip() or Path(path).name} — `{path}` in the repository]*'

def _prose(md, f):
    "Apply `f` to the prose of markdown `md`: fenced and indented code blocks are kept as they are"
    out, block, fence = [], [], None
    def flush():
        if block: out.append(f('\n'.join(block))); block.clear()
    for line in md.split('\n'):
        m = re.match(r'^ {0,3}(```+|~~~+)', line)
        if fence:
            out.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence): fence = None
        elif m: flush(); fence = m.group(1); out.append(line)
        elif line.startswith('    ') and (not block or not block[-1].strip()): flush(); out.append(line)   # indented code
        else: block.append(line)
    flush()
    return '\n'.join(out)

def pypi_md(md):
    """README for a package index: no relative link, since it resolves against nothing there. A figure becomes a line
    naming it and its place in the repository, a relative link its text; absolute links stay."""
    def rel(url): return not _re_absolute.match(url)
    def conv(s):
        s = _re_md_image.sub(lambda m: _figure(m.group(1), m.group(2)) if rel(m.group(2)) else m.group(0), s)
        def img(m):
            src = re.search(r'\bsrc="([^"]+)"', m.group(0))
            alt = re.search(r'\balt="([^"]*)"', m.group(0))
            return _figure(alt.group(1) if alt else '', src.group(1)) if src and rel(src.group(1)) else m.group(0)
        s = _re_html_img.sub(img, s)
        s = _re_md_anchor.sub(lambda m: (f'{m.group(1)} (`{m.group(2)}` in the repository)' if not m.group(2).startswith('#')
                                         else m.group(1)) if rel(m.group(2)) else m.group(0), s)
        s = _re_html_a.sub(lambda m: m.group(2) if rel(m.group(1)) else m.group(0), s)
        s = _re_ref_def.sub(lambda m: '' if rel(m.group(1)) else m.group(0), s)
        return re.sub(r'^(\*\[Figure: .*\]\*)$', r'- \1', s, flags=re.M)   # a line of figures: one item each
    return _prose(md, conv)

if __name__ == '__main__':
    root = Path(__file__).resolve().parent.parent
    md = nb2md(root/'nbs'/'index.ipynb')
    want = {root/'README.md': md, root/PYPI: pypi_md(md)}
    if '--check' in sys.argv[1:]:
        stale = [f.name for f, text in want.items() if not f.exists() or f.read_text() != text]
        if stale: sys.exit(f'{" and ".join(stale)} out of date with nbs/index.ipynb: run `make readme`')
        print(f'README.md and {PYPI} in sync with nbs/index.ipynb')
    else:
        for f, text in want.items(): f.write_text(text)
        print(f'wrote README.md and {PYPI} (the package index\'s copy, without relative links)')
