"""`pip install .` into a clean venv gives an importable `ddm_nb`, its public API, the presets file and the `ddm` script;
the wheel's long description (the package index's page) has no relative link, which would resolve against nothing there."""
import importlib.util, re, subprocess, sys, venv, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def sh(*a, **kw):
    r = subprocess.run([str(x) for x in a], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{a}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r.stdout

def relative_links(md):
    "Targets of the markdown/HTML links and images in `md` (code blocks aside) that are not absolute URLs"
    md = re.sub(r'(?ms)^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$', '', md)          # fenced code
    md = re.sub(r'(?m)^(?: {4}|\t).*$', '', md)                                  # indented code (outputs)
    md = re.sub(r'`[^`\n]*`', '', md)                                            # inline code
    targets = re.findall(r'\]\(\s*<?([^)\s>]+)', md) + re.findall(r'(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)', md)
    targets += re.findall(r'<(?:img|a|source)\b[^>]*?\b(?:src|href|srcset)\s*=\s*["\']([^"\']+)', md, re.I)
    return [t for t in targets if not re.match(r'^[a-z][\w+.-]*:', t, re.I)]

def test_relative_links_found():
    "The check finds what breaks on a package index, and only that"
    md = ('![a](nbs/images/a.png) [b](00_sde.ipynb) [c](#top) <img src="x.png">\n[d]: rel.html\n'
          '[ok](https://x.org/a.png) <a href="mailto:a@b.c">m</a> `[not](code)`\n\n```python\nx[0](y)\n```\n')
    assert relative_links(md) == ['nbs/images/a.png', '00_sde.ipynb', '#top', 'rel.html', 'x.png']

def _readme_tool():
    spec = importlib.util.spec_from_file_location('readme_tool', ROOT/'tools'/'readme.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_long_description_without_relative_links():
    "pyproject's `readme` is tools/readme.py's package-index copy of README.md: current, every figure named, no relative link"
    import tomllib
    readme = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['readme']
    f = ROOT/(readme if isinstance(readme, str) else readme['file'])
    tool = _readme_tool()
    assert f.name == tool.PYPI, f'pyproject.toml: readme = {readme!r}, want {tool.PYPI!r} (README.md has relative image links)'
    want = tool.pypi_md((ROOT/'README.md').read_text())
    assert f.read_text() == want, f'{f.name} is out of date with README.md: run `make readme` and commit it'
    assert not relative_links(want), relative_links(want)
    figures = re.findall(r'!\[([^\]]*)\]\((?![a-z]+:)', (ROOT/'README.md').read_text())
    assert figures and all(f'Figure: {alt}' in want for alt in figures)           # each figure named, not silently dropped

@pytest.mark.slow
def test_clean_venv_install(tmp_path):
    wheels = tmp_path/'wheels'
    sh(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', wheels, ROOT)
    whl = next(wheels.glob('ddm_nb-*.whl'))
    # the package index's page: the wheel's METADATA body, markdown, without relative links
    with zipfile.ZipFile(whl) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))).decode()
    head, _, body = meta.partition('\n\n')
    assert 'Description-Content-Type: text/markdown' in head and body.lstrip().startswith('# ddm-nb'), head
    assert not relative_links(body), f'the long description links relative paths: {relative_links(body)}'
    env = tmp_path/'env'; venv.create(env, with_pip=True)
    py = env/'bin'/'python'
    sh(py, '-m', 'pip', 'install', '-q', 'torch==2.13.0')   # the CPU wheel on disk; the library asks for a range
    sh(py, '-m', 'pip', 'install', '-q', whl)
    out = sh(py, '-c', 'import ddm_nb, ddm_nb.sde as s, ddm_nb.simulate as m; print(ddm_nb.__version__, s.get_system("lorenz").d, m.simulate.__name__)', cwd=tmp_path)
    assert out.split() == [__import__('ddm_nb').__version__, '3', 'simulate']
    assert 'lorenz' in sh(env/'bin'/'ddm', 'presets', cwd=tmp_path).split()   # installed share/ddm_nb/settings.ini
