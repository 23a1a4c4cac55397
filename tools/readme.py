"""Write README.md from nbs/index.ipynb without Quarto: nbdev directives stripped, `#| hide` cells dropped, outputs kept."""
import re, sys
from pathlib import Path
import nbformat

def nb2md(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
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
        elif c.cell_type == 'markdown': out.append(src.strip())
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    root = Path(__file__).resolve().parent.parent
    md = nb2md(root/'nbs'/'index.ipynb')
    (root/'README.md').write_text(md)
    print('wrote README.md')
