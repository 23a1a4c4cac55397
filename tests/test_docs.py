"""The documentation site: `make docs` (tools/build_docs.py) builds `_docs/` offline; every page is served on
127.0.0.1 and opened in headless Chromium (Debian package, driven by its own command line: `--dump-dom` for the
DOM after MathJax ran, `--screenshot` for `_docs/screenshots/<page>.png`, kept as CI artifacts). The search box,
the figures and the contents are used as a reader would, through the DevTools protocol (`Browser`, on a pipe)."""
import ast, fcntl, html, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from urllib.parse import unquote
from functools import partial
from pathlib import Path
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
DOCS = ROOT/'_docs'
CHROMIUM = next(filter(None, map(shutil.which, ['chromium', 'chromium-browser', 'google-chrome'])), None)
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--hide-scrollbars', '--enable-logging=stderr', '--v=0', '--window-size=1280,2400',
         '--virtual-time-budget=15000']
MATHJAX_SRC = '_static/mathjax/tex-svg-full.js'
# a code cell that draws: matplotlib calls, or a `plot_*`/`show_*` helper of the package
_re_plots = re.compile(r'\bplt\.\w+\(|\.(plot|scatter|imshow|stairs|hist|quiver|streamplot|contourf?|pcolormesh|'
                       r'fill_between|errorbar|bar)\(|\bplot_\w+\(|\bshow_\w+\(|\bdisplay\(\s*Image\(')

def _notebooks():
    "The notebooks that must become pages (nbdev's own glob: skips `_*` and `.*`)"
    from nbdev.doclinks import nbglob
    return sorted(Path(f) for f in nbglob(NBS))

def _page(nb):
    from nbdev.config import nbpath2html
    return nbpath2html(nb.relative_to(NBS)).as_posix()

def _directives(src): return {m.group(1) for m in re.finditer(r'^\s*#\|\s*([\w-]+)', src, re.M)}

def _expect(nb):
    "What the page of notebook `nb` must show: title, whether it draws figures and math, its exported API"
    import nbformat
    from nbdev.config import get_config
    flags = set(str(get_config().get('tst_flags', '')).split())
    cells = nbformat.read(nb, as_version=4).cells
    md = [c.source for c in cells if c.cell_type == 'markdown']
    title = next((m.group(1).strip() for s in md[:1] for m in [re.search(r'^#\s+(.+)$', s, re.M)] if m), nb.stem)
    shown = [c.source for c in cells if c.cell_type == 'code' and not (_directives(c.source) & ({'hide', 'export', 'exporti'} | flags))
             and not re.search(r'^\s*#\|\s*eval:\s*false', c.source, re.M)]
    api, classes = [], []
    for c in cells:
        if c.cell_type == 'code' and _directives(c.source) & {'export', 'exports'} and 'hide' not in _directives(c.source):
            try: tree = ast.parse(c.source)
            except SyntaxError: continue
            api += [_doc_name(o) for o in tree.body if isinstance(o, (ast.FunctionDef, ast.ClassDef)) and not o.name.startswith('_')]
            classes += [o.name for o in tree.body if isinstance(o, ast.ClassDef) and not o.name.startswith('_')]
    return dict(title=title, figures=any(_re_plots.search(s) for s in shown),
                math=any(re.search(r'\$[^$\n]+\$', s) for s in md), api=api, classes=classes)

def _doc_name(o):
    "The heading nbdev gives `o`: `Class.method` for a fastcore `@patch` on `self:Class`, else its name"
    patched = any(getattr(d, 'id', None) == 'patch' or getattr(getattr(d, 'func', None), 'id', None) == 'patch' for d in o.decorator_list)
    ann = o.args.args[0].annotation if patched and o.args.args else None
    return f'{ann.id}.{o.name}' if isinstance(ann, ast.Name) else o.name

NOTEBOOKS = _notebooks()

@pytest.fixture(scope='session')
def build():
    """Build the site once per session (`make docs`); executions are cached in _docs/.cache, so a rebuild is cheap.
    With DDM_DOCS_PREBUILT=1, use the `_docs/` an earlier `make docs` left."""
    if os.environ.get('DDM_DOCS_PREBUILT') == '1' and (DOCS/'pages.json').exists(): return None
    return subprocess.run([sys.executable, 'tools/build_docs.py'], cwd=ROOT, capture_output=True, text=True, timeout=1800)

@pytest.fixture(scope='session')
def site(build):
    "The built site; pages of notebooks that failed are there too, showing the error (their tests fail on it)"
    if not (DOCS/'pages.json').exists():
        pytest.fail(f'tools/build_docs.py wrote no site:\n{build.stdout[-5000:]}\n{build.stderr[-3000:]}')
    return DOCS

def test_build_succeeds(build, site):
    if build is None: pytest.skip('DDM_DOCS_PREBUILT=1: built by an earlier `make docs`')
    assert build.returncode == 0, f'tools/build_docs.py failed (rc {build.returncode}):\n{build.stdout[-5000:]}\n{build.stderr[-3000:]}'
    # the log says what was done: committed outputs, nothing executed; one line per page rendered; the search index
    log = build.stdout
    assert 'execut' not in log.replace('nothing re-executed', '').replace('runs the exported cells', ''), log
    for nb in NOTEBOOKS:
        assert re.search(rf"^  rendered {re.escape(_page(nb))} from {re.escape(nb.name)}'s committed outputs", log, re.M), log
    assert re.search(r'search index of \d+ sections from \d+ pages', log), log

@pytest.fixture(scope='session')
def chromium():
    if CHROMIUM is None:
        msg = 'Chromium not installed (Debian: apt-get install chromium; `make docs-deps` does it)'
        if os.environ.get('CI') == 'true': pytest.fail(msg + ': CI must run the browser checks')
        pytest.skip(msg)
    return CHROMIUM

class _Handler(http.server.SimpleHTTPRequestHandler):
    log = []
    def log_message(self, fmt, *args): pass
    def log_request(self, code='-', size='-'): self.log.append((self.path, int(code) if str(code).isdigit() else code))

@pytest.fixture(scope='session')
def server(site):
    "`_docs/` served on 127.0.0.1 at a free port, in a thread"
    handler = type('H', (_Handler,), {'log': []})
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(handler, directory=str(site)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}', handler.log
    httpd.shutdown(); httpd.server_close()

def test_every_notebook_is_a_page(site):
    pages = json.loads((site/'pages.json').read_text())
    assert [p['page'] for p in pages if p['page'] != 'index.html'] == [_page(nb) for nb in NOTEBOOKS if nb.name != 'index.ipynb']
    assert (site/'index.html').exists() and 'index.ipynb' in [nb.name for nb in NOTEBOOKS]
    for nb in NOTEBOOKS:
        text = (site/_page(nb)).read_text()
        for other in NOTEBOOKS: assert f'href="{_page(other)}"' in text, f'{_page(nb)}: sidebar lacks {_page(other)}'
        for src in re.findall(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]+)"', text):
            assert not re.match(r'(?:https?:)?//', src), f'{_page(nb)} loads {src} from the network'

def test_quarto_config_valid(site):
    "nbdev-docs still works where Quarto exists: _quarto.yml parses and the metadata files it names are there"
    q = yaml.safe_load((ROOT/'_quarto.yml').read_text())
    assert (NBS/'_quarto.yml').resolve() == (ROOT/'_quarto.yml').resolve()
    assert q['project']['type'] == 'website'
    for f in q['metadata-files']: assert (NBS/f).exists(), f'nbs/{f} missing (tools/build_docs.py writes it)'
    assert yaml.safe_load((NBS/'nbdev.yml').read_text())['project']['output-dir'] == '_docs'
    listed = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    assert sorted(listed) == sorted(nb.relative_to(NBS).as_posix() for nb in NOTEBOOKS)

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_page_in_chromium(nb, server, chromium, tmp_path):
    base, log = server
    page, want = _page(nb), _expect(nb)
    assert (DOCS/page).exists(), f'no page {page} for {nb.name} in _docs/'
    shots = DOCS/'screenshots'; shots.mkdir(exist_ok=True)
    shot = shots/page.replace('/', '__').replace('.html', '.png')
    shot.unlink(missing_ok=True)
    n0 = len(log)
    r = subprocess.run([chromium, *FLAGS, f'--user-data-dir={tmp_path/"profile"}', f'--screenshot={shot}',
                        '--dump-dom', f'{base}/{page}'], capture_output=True, text=True, timeout=120)
    dom = r.stdout
    assert r.returncode == 0 and '<html' in dom, f'chromium failed on {page} (rc {r.returncode}):\n{r.stderr[-2000:]}'
    assert shot.exists() and shot.stat().st_size > 10_000, f'no screenshot of {page}'
    # every request of the page was served (favicon aside)
    bad = [(p, c) for p, c in log[n0:] if c != 200 and not p.startswith('/favicon')]
    assert not bad, f'{page}: failed requests {bad}'
    assert any(p.lstrip('/') == page for p, _ in log[n0:])
    # title, in the tab and as the heading
    title = html.unescape(re.search(r'<title>(.*?)</title>', dom, re.S).group(1)).strip()
    assert title in (want['title'], f"{want['title']} – ddm-nb"), f'{page}: title {title!r}, want {want["title"]!r}'
    h1 = re.search(r'<h1\b[^>]*>(.*?)</h1>', dom, re.S)
    assert h1 and want['title'] in html.unescape(re.sub(r'<[^>]+>', '', h1.group(1))), f'{page}: first heading'
    # no error output: nbconvert renders errors and stderr as application/vnd.jupyter.stderr
    assert 'Traceback (most recent call last)' not in dom, f'{page} shows a traceback'
    built = re.search(r'Error building this page:(.*?)</ul>', dom, re.S)
    assert not built, f'{page}: the build failed: ' + html.unescape(re.sub(r'<[^>]+>', ' ', built.group(1))).strip()
    for block in re.findall(r'data-mime-type="application/vnd\.jupyter\.stderr"[^>]*>(.*?)</div>', dom, re.S):
        txt = html.unescape(re.sub(r'<[^>]+>', '', block))
        assert not re.search(r'\b\w*(Error|Exception)\b', txt), f'{page} shows an error output:\n{txt[:1500]}'
    console = [l for l in r.stderr.splitlines() if ':CONSOLE' in l]
    assert not [l for l in console if re.search(r'Uncaught|Error|Failed', l)], f'{page}: console errors {console}'
    # rendered math, without TeX errors
    if want['math']:
        assert dom.count('<mjx-container') > 0, f'{page}: math not rendered by MathJax'
    errs = re.findall(r'<[^<>]*\b(?:data-mjx-error="[^"]*"|data-mml-node="merror")', dom)
    assert not errs, f'{page}: MathJax could not typeset some TeX: {errs[:3]}'
    # figures on the pages whose notebooks draw
    imgs = re.findall(r'<img\b[^>]*\bsrc="(data:image/(?:png|jpeg|svg\+xml)[^"]{200,}|[^"]+\.(?:png|jpe?g|svg))"', dom)
    if want['figures']: assert imgs, f'{page}: no figure, though {nb.name} draws one'
    # API docs for every exported public function and class; a class shown as `class Name(...)`, never `def Name(...)`
    for name in want['api']:
        assert re.search(rf'<h[2-4]\b[^>]*>\s*(?:<[^>]+>\s*)*{re.escape(name)}\b', dom), f'{page}: no API docs for {name}'
    for name in want['classes']:
        sigs = _api_signatures(dom, name)
        assert any(re.match(rf'class {re.escape(name)}\(', t) for t in sigs), f'{page}: {name} not shown as a class: {sigs}'
    # a search box, and the contents of the page: a link to every section
    assert 'id="ddm-search-input"' in dom and 'id="ddm-search-results"' in dom, f'{page}: no search box'
    toc = re.search(r'<nav class="ddm-toc"[^>]*>(.*?)</nav>', dom, re.S)
    assert toc, f'{page}: no table of contents'
    links = {unquote(html.unescape(h)) for h in re.findall(r'href="#([^"]*)"', toc.group(1))}
    for hid in re.findall(r'<h2 id="([^"]+)"', dom):
        assert unquote(html.unescape(hid)) in links, f'{page}: section #{hid} missing from the contents'

def _api_signatures(dom, name):
    "The code under each heading called `name`, tags stripped (show_doc's signature comes first)"
    res = []
    for m in re.finditer(rf'<h[2-4]\b[^>]*>\s*(?:<[^>]+>\s*)*{re.escape(name)}\b.*?</h[2-4]>', dom, re.S):
        nxt = re.compile(r'<h[1-6]\b').search(dom, m.end())
        pre = re.search(r'<pre\b.*?</pre>', dom[m.end():nxt.start() if nxt else None], re.S)
        if pre: res.append(' '.join(html.unescape(re.sub(r'<[^>]+>', '', pre.group(0))).split())[:200])
    return res

def test_page_pipeline(tmp_path):
    "One small notebook through the pipeline: flagged cells skipped with a note, nbdev's `show_doc`, folds, figure, math"
    import importlib.util, nbformat
    spec = importlib.util.spec_from_file_location('build_docs', ROOT/'tools'/'build_docs.py')
    bd = importlib.util.module_from_spec(spec); spec.loader.exec_module(bd)
    work = DOCS/'.cache'/'selftest'; shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)  # inside the repo: nbdev config applies
    C = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell('# Self test\n> the pipeline, with $x^2$'),
        C('#| export\ndef foo(x:int # an int\n       ): "Foo of $x$."; return x'),
        C('#| slow\nprint("SLOW" + "RAN")'), C('#| eval: false\nprint("EVAL" + "RAN")'), C('#| hide\nprint("HID" + "CELL")'),
        C('import matplotlib.pyplot as plt'), C('plt.plot([1, 2, 3]);'), C('#| exports\ndef bar(): "Bar."'), C('foo(3)'),
        nbformat.v4.new_markdown_cell('## Classes\nFound by their $x$ fields.'),
        C('#| export\nclass Oops(UserWarning): "Something to know."'),
        C('#| export\nfrom typing import NamedTuple\nclass Pt(NamedTuple):\n    "A point."\n    x: float # abscissa\n    y: float = 0. # ordinate'),
        C('#| export\nclass Box:\n    "A box."\n    def __init__(self, w:int # width\n                 ): self.w = w')])
    nbformat.write(nb, work/'t.ipynb')
    try:
        r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--work', str(work/'t.ipynb'), str(work/'out.ipynb')],
                           capture_output=True, text=True, timeout=300, env={**os.environ, 'MPLBACKEND': 'Agg'})
        assert r.returncode == 0, r.stdout + r.stderr
        out = nbformat.read(work/'out.ipynb', as_version=4)
        assert out.metadata.ddm_docs['errors'] == [] and out.metadata.ddm_docs['title'] == 'Self test'
        page = bd.prepare(out, 'Self test', 'the pipeline')
        body, _ = bd._exporter().from_notebook_node(page, resources={'metadata': {'name': 'T', 'path': str(work)},
            'ddm': dict(pages=[dict(href='t.html', title='Self test')], current='t.html', prefix='', site='ddm-nb')})
        body, heads = bd.outline(body)
        body = bd.add_toc(body, heads)
        secs = bd.page_sections(body, heads, 'Self test')
    finally: shutil.rmtree(work, ignore_errors=True)
    strip = lambda h: ' '.join(html.unescape(re.sub(r'<[^>]+>', '', re.sub(r'</(?:pre|p|div|h\d)>', ' ', h))).split())
    text = lambda name: strip(re.split(r'<h[1-6] ', body.split(f'id="{name}"')[1])[0])
    assert re.search(r'class Oops\(UserWarning\)\s*Something to know\.', text('Oops'))   # not `def Oops(*args, **kwargs)`
    assert re.search(r'class Pt\( x:float, # abscissa y:float=0.0, # ordinate \) Bases: NamedTuple A point\.', text('Pt')), text('Pt')
    assert re.search(r'class Box\( w:int, # width \)', text('Box')) and re.search(r'def foo\(', text('foo')), text('Box')
    toc = re.search(r'<nav class="ddm-toc".*?</nav>', body, re.S).group(0)
    assert [h['id'] for h in heads if h['level'] <= 3] == re.findall(r'href="#([^"]+)"', toc) and '#Classes' in toc
    api = {s[0]: s for s in secs if s[2] == 'api'}
    assert {'foo', 'bar', 'Oops', 'Pt', 'Box'} <= set(api) and 'Something to know.' in api['Oops'][3]
    assert any(s[1] == 'Classes' and s[2] == 'section' and 'Found by their $x$ fields.' in s[3] for s in secs)
    assert not any('SLOW' in s[3] or 'plt.plot' in s[3] for s in secs)        # code and printed output: not indexed
    assert 'SLOWRAN' not in body and 'EVALRAN' not in body and 'HID' not in body   # not executed / not shown
    assert 'Not run when building the docs' in body and '#| slow' in body
    assert re.search(r'<h3[^>]*>foo', body) and re.search(r'<h3[^>]*>bar', body)       # API docs from show_doc
    assert 'Foo of $x$.' in body and re.search(r'<details class="ddm-fold" open(="")?><summary>Exported source</summary>', body)
    assert body.count('data:image/png;base64') >= 1 and MATHJAX_SRC in body and '<title>Self test' in body
    assert not re.search(r'#\|', re.sub(r'<[^>]+>', '', body.split('Not run when building')[0]))  # directives stripped

def test_committed_outputs_rendered_without_execution(tmp_path):
    "By default the site shows the outputs committed in the notebook and executes nothing"
    import nbformat
    work = DOCS/'.cache'/'selftest2'; shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)
    C = nbformat.v4.new_code_cell
    c = C('print("WOULD" + "RUN")')
    c.outputs = [nbformat.v4.new_output('stream', name='stdout', text='COMMITTED-OUTPUT\n')]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell('# Self test\n> committed outputs'), c,
                                         C('#| slow\nprint(1)')])
    nbformat.write(nb, work/'t.ipynb')
    try:
        r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--work', str(work/'t.ipynb'), str(work/'out.ipynb'),
                            '--no-exec'], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        out = nbformat.read(work/'out.ipynb', as_version=4)
    finally: shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(out)
    assert 'COMMITTED-OUTPUT' in text and 'WOULDRUN' not in text and 'Not run when building the docs' in text

# ---------------------------------------------------------------- the pages used as a reader uses them

class Browser:
    "Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`, fds 3 and 4): stdlib only"
    def __init__(self, chromium, profile, size=(1280, 900)):
        cmd_r, cmd_w = os.pipe(); ev_r, ev_w = os.pipe()
        hi = [fcntl.fcntl(f, fcntl.F_DUPFD_CLOEXEC, 10) for f in (cmd_r, ev_w)]
        for f in (cmd_r, ev_w): os.close(f)
        self.log = tempfile.TemporaryFile()
        args = [chromium, *[f for f in FLAGS if not f.startswith(('--window-size', '--virtual-time', '--enable-logging', '--v='))],
                f'--window-size={size[0]},{size[1]}', f'--user-data-dir={profile}', '--remote-debugging-pipe', 'about:blank']
        self.pid = os.posix_spawn(chromium, args, os.environ, file_actions=[   # posix_spawn: no fork of this threaded process
            (os.POSIX_SPAWN_DUP2, hi[0], 3), (os.POSIX_SPAWN_DUP2, hi[1], 4),
            (os.POSIX_SPAWN_DUP2, self.log.fileno(), 1), (os.POSIX_SPAWN_DUP2, self.log.fileno(), 2)])
        for f in hi: os.close(f)
        self.w, self.r = os.fdopen(cmd_w, 'wb', buffering=0), os.fdopen(ev_r, 'rb', buffering=0)
        self.n, self.replies, self.errors, self.cv = 0, {}, [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            tid = self.send('Target.createTarget', url='about:blank')['targetId']
            self.session = self.send('Target.attachToTarget', targetId=tid, flatten=True)['sessionId']
            for d in ('Page', 'Runtime'): self.send(f'{d}.enable', session=True)
        except Exception: self.close(); raise

    def _read(self):
        buf = b''
        while chunk := self.r.read(1 << 16):
            buf += chunk
            *msgs, buf = buf.split(b'\0')
            for raw in msgs:
                m = json.loads(raw)
                with self.cv:
                    if 'id' in m: self.replies[m['id']] = m
                    elif m.get('method') == 'Runtime.exceptionThrown': self.errors.append(m['params']['exceptionDetails'])
                    elif m.get('method') == 'Runtime.consoleAPICalled' and m['params']['type'] == 'error': self.errors.append(m['params'])
                    self.cv.notify_all()

    def send(self, method, session=False, timeout=30, **params):
        with self.cv: self.n += 1; i = self.n
        msg = dict(id=i, method=method, params=params, **({'sessionId': self.session} if session else {}))
        self.w.write(json.dumps(msg).encode() + b'\0')
        with self.cv:
            if not self.cv.wait_for(lambda: i in self.replies, timeout): raise TimeoutError(f'chromium: no answer to {method}')
            r = self.replies.pop(i)
        if 'error' in r: raise RuntimeError(f"chromium: {method}: {r['error']}")
        return r.get('result', {})

    def js(self, expr):
        "Value of the JavaScript expression `expr` in the page (promises awaited)"
        r = self.send('Runtime.evaluate', session=True, expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r: raise RuntimeError(f'{expr[:100]}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def wait(self, expr, timeout=20):
        "Poll `expr` until it is truthy; return its value"
        t0 = time.time()
        while time.time() - t0 < timeout:
            try: v = self.js(expr)
            except RuntimeError: v = None   # the page is navigating
            if v: return v
            time.sleep(0.05)
        raise TimeoutError(f'not true within {timeout}s: {expr}')

    def goto(self, url):
        self.send('Page.navigate', session=True, url=url)
        self.wait(f"document.readyState === 'complete' && location.href === {json.dumps(url)}")

    def type(self, text): self.send('Input.insertText', session=True, text=text)
    def key(self, key, code):
        for t in ('keyDown', 'keyUp'): self.send('Input.dispatchKeyEvent', session=True, type=t, key=key, code=key, windowsVirtualKeyCode=code)

    def close(self):
        try: self.send('Browser.close', timeout=5)
        except Exception: pass
        for _ in range(100):
            if os.waitpid(self.pid, os.WNOHANG)[0]: break
            time.sleep(0.05)
        else: os.kill(self.pid, 9); os.waitpid(self.pid, 0)
        self.w.close(); self.log.close()
    def __enter__(self): return self
    def __exit__(self, *a): self.close()

@pytest.fixture
def browser(chromium, tmp_path):
    with Browser(chromium, tmp_path/'profile') as b: yield b

def _search_index(site):
    "The search index the pages load: {'pages': [{href, title}], 'sections': [[page, id, heading, kind, text]]}"
    js = (site/'_static'/'search_index.js').read_text()
    return json.loads(js[js.index('=') + 1:].strip().rstrip(';'))

def _words(s): return re.sub(r'[^\w]+', ' ', html.unescape(s).lower().replace('_', ' '))

RESULTS = """(() => { const r = [...document.querySelectorAll('#ddm-search-results .ddm-result')];
  return r.length && r.map(a => ({href: a.href, where: a.querySelector('.ddm-result-where').innerText})); })()"""
LANDED = """(() => { const h = location.hash.slice(1); let d = h; try { d = decodeURIComponent(h); } catch (e) {}
  const e = document.getElementById(h) || document.getElementById(d);
  return e && {tag: e.tagName, id: e.id, top: Math.round(e.getBoundingClientRect().top)}; })()"""

@pytest.mark.parametrize('scheme', ['http', 'file'])
def test_search_from_index(scheme, site, server, browser):
    """From the index page: type a query in the search box, read the results (each a section holding every word, the
    first holding the phrase), press Enter: the first result's page opens at its section. Served, and from file://."""
    base = server[0] if scheme == 'http' else site.resolve().as_uri()
    idx = _search_index(site)
    sections = {(idx['pages'][p]['href'], unquote(hid)): (head, text, idx['pages'][p]['title']) for p, hid, head, kind, text in idx['sections']}
    for query in ['entropy production', 'Lyapunov']:
        browser.goto(f'{base}/index.html')
        browser.js("document.getElementById('ddm-search-input').focus()")
        browser.type(query)
        results = browser.wait(RESULTS)
        words = _words(query).split()
        for r in results:
            page, _, hid = r['href'][len(base) + 1:].partition('#')
            head, text, title = sections[(page, unquote(hid))]
            found = _words(' '.join([head, text, title]))
            assert all(re.search(rf'\b{w}', found) for w in words), f'{query!r}: result {r} lacks a word'
        first = results[0]
        page, _, hid = first['href'][len(base) + 1:].partition('#')
        assert hid, f'{query!r}: the first result {first} links to no section'
        head, text, _ = sections[(page, unquote(hid))]
        assert ' '.join(words) in _words(head + ' ' + text), f'{query!r}: first result {first} lacks the phrase'
        browser.key('Enter', 13)
        browser.wait(f"document.readyState === 'complete' && location.href === {json.dumps(first['href'])}")
        landed = browser.wait(LANDED)
        assert re.fullmatch(r'H[1-6]', landed['tag']) and abs(landed['top']) < 80, f'{query!r}: not at the section: {landed}'
        # the section of the page itself holds the words (the page as served, not the index)
        dom = browser.js('document.documentElement.outerHTML')
        at = dom.index('id="' + landed['id'].replace('&', '&amp;').replace('"', '&quot;') + '"')
        nxt = re.compile(r'<h[1-6] id=').search(dom, at + 10)
        assert all(w in _words(re.sub(r'<[^>]+>', ' ', dom[at:nxt.start() if nxt else None])) for w in words)
    assert not browser.errors, browser.errors

def test_figures_fill_the_text_and_enlarge(site, server, browser):
    """On the index page (a 1280 px window) a figure at least half as wide as the text is shown at the text's full
    width (more than 800 px: the four-panel figure once shrank to 550); a click shows the widest enlarged (wider than on
    the page, within the window), Escape closes it"""
    browser.goto(f'{server[0]}/index.html')
    info = browser.wait("""(() => { const imgs = [...document.querySelectorAll('main img')];
      if (!imgs.every(i => i.complete)) return null;
      const p = document.querySelector('.jp-MarkdownCell .jp-RenderedMarkdown'), cs = getComputedStyle(p);
      return {text: p.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
              imgs: imgs.map((i, k) => ({k, natural: i.naturalWidth, shown: i.getBoundingClientRect().width}))}; })()""")
    wide = [i for i in info['imgs'] if i['natural'] >= 0.5 * info['text']]
    assert info['text'] > 800 and wide, info
    for i in wide: assert i['shown'] >= 0.97 * info['text'], f"figure {i} narrower than the text ({info['text']:.0f} px)"
    big = max(wide, key=lambda i: i['natural'])
    browser.js(f"document.querySelectorAll('main img')[{big['k']}].click()")
    shown = browser.wait("(() => { const i = document.querySelector('.ddm-lightbox img'); return i && i.complete && i.getBoundingClientRect().width; })()")
    assert big['shown'] < shown <= 1280, (big, shown)
    browser.key('Escape', 27)
    assert browser.wait("!document.querySelector('.ddm-lightbox')")
    assert not browser.errors, browser.errors
