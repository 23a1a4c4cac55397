"""Build the documentation site offline into `_docs/`, without Quarto.

Each notebook in `nbs/` becomes one HTML page:
1. take the outputs committed in the notebook (made by `make outputs`, i.e. `tools/outputs.py run`, and checked
   fresh by tests/test_outputs.py), as `nbdev-docs` does; with `--execute`, execute it instead in a real kernel
   (nbconvert's `ExecutePreprocessor`, this venv's ipykernel), skipping the cells nbdev-test skips (`tst_flags`
   in pyproject's [tool.nbdev]: `#| slow`, `#| gpu`, `#| notest`, `#| eval: false`), in a subprocess per
   notebook with a timeout, two at a time;
2. process it with nbdev's own doc processors (`nbdev.processors.FilterDefaults`: frontmatter, `show_doc`
   API docs for exported symbols, `#| hide`/`#| export` cells removed, ...) -- what `nbdev-docs` feeds Quarto --
   with classes shown as `class Name(...)` and their bases (`install_class_renderer`: fastcore writes `def` for all);
3. render it with nbconvert's `HTMLExporter` (lab template, figures embedded as PNG data, MathJax 3 served
   from `_docs/_static/`, so pages need no network), with a sidebar listing every page and a search box, the
   page's contents (`toc_html`) and figures that fill the text's width and enlarge on a click (`tools/docs_site/`);
4. index every page's sections (prose, tables, API signatures and docstrings; `page_sections`) into
   `_docs/_static/search_index.js`, a script the search box loads: no server, works from file://.

Steps 1-2 are cached in `_docs/.cache/` by a hash of the notebook, the package sources, the nbdev config and
this script, so a rebuild after changing one notebook processes only that notebook (unless `ddm_nb/` changed).
`nbs/nbdev.yml` and `nbs/sidebar.yml` are refreshed with nbdev's own functions so `nbdev-docs` keeps working
where Quarto is installed.

    python tools/build_docs.py [--execute] [--force] [--only 01_sde ...] [--jobs 2] [--timeout 600]

`--jobs` and `--timeout` (seconds per notebook) default to $DDM_DOCS_JOBS (2) and $DDM_DOCS_NB_TIMEOUT (600).

Exits non-zero, naming the notebooks, when a notebook fails, times out or carries an error output (its page then
shows the error).
"""
import argparse, hashlib, html, json, os, re, shutil, signal, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/'_docs'
CACHE = OUT/'.cache'
KERNEL = 'ddm-nb-docs'
MATHJAX = '_static/mathjax/tex-svg-full.js'
SKIP_NOTE = 'Not run when building the docs (<code>#| {flag}</code> cell).'
WIDGET_NOTE = 'Interactive widget: run this notebook in Jupyter to use it.'

# ---------------------------------------------------------------- helpers

def _log(*a): print(*a, flush=True)

def notebooks(nbs):
    "The notebooks that become pages, as nbdev finds them (skips `_*`, `.*`), index first"
    from nbdev.doclinks import nbglob
    files = sorted(Path(f) for f in nbglob(nbs))
    return sorted(files, key=lambda p: (p.relative_to(nbs).as_posix() != 'index.ipynb', p.relative_to(nbs).as_posix()))

def page_name(nb, nbs):
    "nbdev's page name for `nb` (numeric prefix stripped: 01_sde.ipynb -> sde.html), relative to the site root"
    from nbdev.config import nbpath2html
    return nbpath2html(nb.relative_to(nbs)).as_posix()

def _sha(*parts):
    h = hashlib.sha256()
    for p in parts: h.update(p if isinstance(p, bytes) else str(p).encode()); h.update(b'\0')
    return h.hexdigest()

def common_hash(cfg):
    "Hash of everything a page depends on besides its own notebook: the package, presets, nbdev config, the worker"
    lib = Path(cfg.lib_path)
    import inspect
    files = sorted(lib.rglob('*.py')) + [ROOT/'settings.ini']
    try:
        import tomllib
        nbdev_cfg = json.dumps(tomllib.loads(cfg.config_file.read_text()).get('tool', {}).get('nbdev', {}), sort_keys=True)
    except ImportError: nbdev_cfg = cfg.config_file.read_text()   # Python 3.10: the whole pyproject.toml
    worker = ''.join(inspect.getsource(f) for f in (_skipped, work, _public_name, _calls_own_init, _class_source, _field_comments,
                                                      class_signature, install_class_renderer)) + SKIP_NOTE + KERNEL
    return _sha(worker, nbdev_cfg, *[f'{f.relative_to(ROOT)}'.encode() + f.read_bytes() for f in files if f.exists()])

def first_title(nb_path):
    "Title and subtitle as nbdev reads them: the first markdown cell's `# title` and `> description`"
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        if c.cell_type != 'markdown': continue
        m = re.search(r'^#\s+(.+?)\s*$', c.source, re.M)
        if m:
            d = re.search(r'^>\s*(.+?)\s*$', c.source, re.M)
            return m.group(1), (d.group(1) if d else '')
        break
    return nb_path.stem, ''

def ensure_kernelspec():
    "A kernelspec for this interpreter in `_docs/.cache/jupyter`, first on JUPYTER_PATH (nothing written to the venv)"
    kdir = CACHE/'jupyter'/'kernels'/KERNEL
    spec = {'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
            'display_name': 'Python 3 (ddm-nb docs)', 'language': 'python'}
    kdir.mkdir(parents=True, exist_ok=True)
    kf = kdir/'kernel.json'
    if not kf.exists() or json.loads(kf.read_text()) != spec: kf.write_text(json.dumps(spec, indent=1))
    os.environ['JUPYTER_PATH'] = os.pathsep.join([str(CACHE/'jupyter'), *filter(None, [os.environ.get('JUPYTER_PATH')])])

def refresh_quarto_files():
    "Keep `nbs/nbdev.yml` and `nbs/sidebar.yml` (the metadata files `_quarto.yml` names) current, as `nbdev-docs` does"
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    cwd = os.getcwd(); os.chdir(ROOT)
    try:
        refresh_quarto_yml()
        nbdev_sidebar.__wrapped__()
    finally: os.chdir(cwd)

# ---------------------------------------------------------------- worker: execute + nbdev-process one notebook

def _public_name(t, home):
    "How a base class reads in a signature: bare for builtins, typing and `home`'s own package, else its shortest public path"
    import importlib
    mod, nm = getattr(t, '__module__', '') or '', getattr(t, '__qualname__', getattr(t, '__name__', str(t)))
    if mod in ('builtins', 'typing', '__main__') or mod.split('.')[0] == home.split('.')[0]: return nm
    parts = mod.split('.')
    for i in range(1, len(parts) + 1):
        try:
            if getattr(importlib.import_module('.'.join(parts[:i])), nm, None) is t: return f"{'.'.join(parts[:i])}.{nm}"
        except Exception: pass
    return f'{mod}.{nm}'

def _calls_own_init(cls):
    "Whether calling `cls` runs Python code of its own (an `__init__`/`__new__` of it or of a base written in Python, a dataclass)"
    import dataclasses
    if dataclasses.is_dataclass(cls): return True
    for k in cls.__mro__:
        if k is object or k.__module__ == 'builtins': return False     # dict, list, Exception...: the builtin's (*args, **kwargs)
        if '__init__' in vars(k) or '__new__' in vars(k): return True
    return False

def _class_source(cls):
    """Source of class `cls`, also for a class defined in the notebook's shell, as nbdev's show_doc sees it (`__main__`,
    no file: `inspect.getsource` fails; IPython keeps each cell in `linecache`, where its methods point)"""
    import ast, inspect, linecache, textwrap
    try: return textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError): pass
    files = [f.__code__.co_filename for f in vars(cls).values() if inspect.isfunction(f)
             and f.__qualname__.startswith(cls.__qualname__ + '.') and not f.__code__.co_filename.startswith('<string')]
    files += [f for f in reversed(list(linecache.cache)) if f not in files]   # no method of its own: the latest cell defining it
    for f in files:
        src = ''.join(linecache.getlines(f))
        try: tree = ast.parse(src)
        except (SyntaxError, ValueError): continue
        node = next((n for n in reversed(tree.body) if isinstance(n, ast.ClassDef) and n.name == cls.__name__), None)
        if node: return textwrap.dedent(''.join(src.splitlines(True)[node.lineno - 1:node.end_lineno]))   # whole lines: comments too
    return ''

def _field_comments(cls):
    "`name: type # comment` fields of a dataclass's or NamedTuple's source, as {name: comment}"
    import ast, io, tokenize
    src = _class_source(cls)
    if not src: return {}
    try:
        comments = {t.start[0]: t.string.lstrip('#').strip() for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.COMMENT}
        body = ast.parse(src).body[0].body
    except (SyntaxError, tokenize.TokenError, IndexError, AttributeError): return {}
    return {a.target.id: comments[a.lineno] for a in body if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name) and a.lineno in comments}

def class_signature(cls, maxline=110):
    """`cls` as show_doc should write it: `class Name(params)` with their docments when calling it runs its own `__init__`
    (or a dataclass's, a NamedTuple's fields), else `class Name(Base, ...)`; and its bases, for the first form"""
    import dataclasses, inspect
    from fastcore.basics import AttrDict
    from fastcore.docments import DocmentText, _fmt_sig
    bases = [b for b in getattr(cls, '__orig_bases__', cls.__bases__) if b is not object]
    names = [_public_name(b, cls.__module__) for b in bases]
    own = _calls_own_init(cls)
    if own:
        dt = DocmentText(cls, maxline=maxline, docstring=False)
        if dataclasses.is_dataclass(cls) or (issubclass(cls, tuple) and hasattr(cls, '_fields')):
            # fields: docments read a NamedTuple's `__init__`, and no dataclass's source in the notebook's shell
            notes = _field_comments(cls)
            dt.dm = AttrDict({k: AttrDict(docment=notes.get(k), anno=p.annotation, default=p.default, kind=p.kind)
                              for k, p in inspect.signature(cls).parameters.items()})
        params = dt.params
        if [p for p, _ in params] and all(p.startswith('*') for p, _ in params): own = False   # (*args, **kwargs): says nothing
    if not own: return f"class {cls.__name__}({', '.join(names)})", []
    return _fmt_sig(cls.__name__, params, ')', maxline, prefix='class'), names

def install_class_renderer():
    """Make nbdev's `show_doc` write classes as classes. fastcore's `DocmentText` writes every callable as `def Name(...)`,
    so an exception without `__init__` read `def FitWarning(*args, **kwargs)`: classes get `class_signature` instead.
    Applies where the nbdev config names no `renderer` of its own."""
    import inspect, re
    import nbdev.showdoc as sd
    base = sd.BasicMarkdownRenderer
    if getattr(base, '_ddm', False): return
    class ClassRenderer(base):
        "nbdev's markdown renderer; classes as `class Name(...)` (with their bases), `__main__.` dropped from annotations"
        _ddm = True
        def __init__(self, sym, *a, **kw):
            super().__init__(sym, *a, **kw)
            self.bases = []
            if inspect.isclass(self.sym):
                try: self.dm, self.bases = class_signature(self.sym, self.maxline)
                except Exception: self.dm = re.sub(r'^(async )?def ', 'class ', str(self.dm))   # fastcore's parameters, as a class
            self.dm = str(self.dm).replace('__main__.', '')
        def _repr_markdown_(self):
            md, code = super()._repr_markdown_(), f'```python\n{self.dm}\n```'
            if not self.bases or code not in md: return md
            return md.replace(code, code + '\n\nBases: ' + ', '.join(f'`{b}`' for b in self.bases), 1)
    sd.BasicMarkdownRenderer = ClassRenderer

def _skipped(src, flags):
    "Indices of the cells nbdev-test would not run, with the flag that skips each (or '')"
    from nbdev.process import NBProcessor
    from nbdev.test import _skip_cell
    nb = NBProcessor(src, rm_directives=False, process=True).nb
    skip = _skip_cell(nb, flags)
    res = {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and skip(c):
            res[i] = next(iter(set(flags) & set((getattr(c, 'directives_', {}) or {}).keys())), '')
    return res

def work(src, dst, timeout, execute=True, process=True):
    "Execute notebook `src` (or take its committed outputs), process it with nbdev's doc processors (or not), write it to `dst`"
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbdev.config import get_config
    src, dst = Path(src).resolve(), Path(dst).resolve()
    ensure_kernelspec()
    os.chdir(src.parent)
    cfg = get_config()
    flags = cfg.get('tst_flags', '')
    flags = flags.split() if isinstance(flags, str) else list(flags)
    skipped = _skipped(src, flags)

    class Exec(ExecutePreprocessor):
        def preprocess_cell(self, cell, resources, index):
            if index in skipped:
                cell.outputs = []
                if skipped[index] and process:
                    cell.outputs = [nbformat.v4.new_output('display_data', data={
                        'text/html': f'<p class="ddm-skipped">{SKIP_NOTE.format(flag=skipped[index])}</p>'})]
                return cell, resources
            return super().preprocess_cell(cell, resources, index)

    # figures inline in a real kernel, whatever the caller's MPLBACKEND (pytest runs with Agg)
    os.environ.pop('MPLBACKEND', None)
    os.environ.pop('IN_TEST', None)
    nb = nbformat.read(src, as_version=4)
    errors, t0 = [], time.time()
    if execute:
        ep = Exec(timeout=min(int(cfg.get('cell_timeout', 600) or 600), timeout), kernel_name=KERNEL,
                  allow_errors=True, record_timing=False)
        try: ep.preprocess(nb, {'metadata': {'path': str(src.parent)}})
        except Exception as e: errors.append(f'execution stopped: {type(e).__name__}: {e}')
    else:
        for i, c in enumerate(nb.cells):
            if i in skipped and skipped[i] and not c.get('outputs'):
                c.outputs = [nbformat.v4.new_output('display_data', data={
                    'text/html': f'<p class="ddm-skipped">{SKIP_NOTE.format(flag=skipped[i])}</p>'})]
    for i, c in enumerate(nb.cells):
        for o in c.get('outputs', []):
            if o.output_type == 'error': errors.append(f'cell {i}: {o.ename}: {o.evalue}')
    t_exec = time.time() - t0
    if not process:
        nb.metadata['ddm_docs'] = dict(errors=errors, seconds=round(t_exec, 1))
        nbformat.write(nb, dst)
        return 1 if errors else 0

    from fastcore.nbio import dict2nb, write_nb
    from nbdev.processors import FilterDefaults
    pnb = dict2nb(json.loads(nbformat.writes(nb)))
    pnb.path_ = str(src)
    os.environ['IN_TEST'] = '1'   # as nbdev's own doc processing does
    if not cfg.get('renderer', None): install_class_renderer()
    try: FilterDefaults()(pnb)
    except Exception as e:
        errors.append(f'nbdev processing: {type(e).__name__}: {e}')
        pnb = dict2nb(json.loads(nbformat.writes(nb)))
    fm = dict(getattr(pnb, 'frontmatter_', {}) or {})
    pnb.metadata['ddm_docs'] = dict(title=fm.get('title'), description=fm.get('description'), errors=errors,
                                    seconds=round(t_exec, 1))
    write_nb(pnb, dst)
    return 1 if errors else 0

# ---------------------------------------------------------------- page assembly

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

def _brief(e):
    "First and last line of an error message (nbdev's include the whole cell in between)"
    ls = [l for l in str(e).strip().splitlines() if l.strip()] or ['?']
    return (ls[0][:300] + (f' ... {ls[-1][:300]}' if len(ls) > 1 else '')).replace('`', "'")

def _unquote(s): return s[1:-1] if len(s) > 1 and s[0] == s[-1] and s[0] in '"\'' else s

def prepare(nb, title, description, site='ddm-nb'):
    "Turn an nbdev-processed notebook (Quarto cell options, YAML frontmatter) into one nbconvert renders as Quarto would"
    import nbformat
    cells, std = [], {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}
    for c in nb.cells:
        for k in set(c) - std: del c[k]    # nbdev's working marks (e.g. `has_sd`)
        c.metadata.pop('execution', None)  # CaptureShell's timings (not valid nbformat)
        if c.cell_type == 'raw' and c.source.lstrip().startswith('---'): continue   # frontmatter: rendered as the header
        if c.cell_type == 'code':
            lines, opts = c.source.splitlines(), {}
            while lines and (m := _re_dir.match(lines[0])): opts[m.group(1)] = _unquote(m.group(2)); lines.pop(0)
            c.source = '\n'.join(lines)
            if opts.get('include') == 'false': continue
            if opts.get('echo') == 'false' or not c.source.strip(): c.metadata.setdefault('transient', {})['remove_source'] = True
            if opts.get('output') == 'false': c.outputs = []
            if 'code-fold' in opts and opts['code-fold'] != 'false':
                c.metadata['ddm_fold'] = opts.get('code-summary', 'Code')
                c.metadata['ddm_fold_open'] = opts['code-fold'] == 'show'
            for o in c.get('outputs', []):
                if 'application/vnd.jupyter.widget-view+json' in o.get('data', {}):
                    o['data'] = {'text/html': f'<p class="ddm-widget">{WIDGET_NOTE}</p>'}
        cells.append(c)
    head = f'# {title}'
    if description: head += f'\n\n> {description}'
    nb.cells = [nbformat.v4.new_markdown_cell(head)] + cells
    nb.metadata.pop('widgets', None)   # the widget manager would be fetched from a CDN; outputs say so instead
    nb.metadata['title'] = title if title == site else f'{title} – {site}'
    return nb

TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
        processEscapes: true, processEnvironments: true, tags: 'ams'},
  svg: {fontCache: 'global'}
};
</script>
<script id="MathJax-script" async src="{{ resources.ddm.prefix }}""" + MATHJAX + r""""></script>
{%- endblock html_head_js_mathjax -%}
{%- block extra_css -%}<link rel="stylesheet" href="{{ resources.ddm.prefix }}_static/site.css">{%- endblock extra_css -%}
{%- block body_header -%}
<body class="ddm-site" data-root="{{ resources.ddm.prefix }}" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="ddm-sidebar" aria-label="pages">
<a class="ddm-brand" href="{{ resources.ddm.prefix }}index.html">{{ resources.ddm.site }}</a>
<div class="ddm-search" role="search">
<input type="search" id="ddm-search-input" class="ddm-search-input" placeholder="Search the docs  ( / )" aria-label="Search the documentation"
 autocomplete="off" spellcheck="false" role="combobox" aria-autocomplete="list" aria-controls="ddm-search-results" aria-expanded="false">
<div id="ddm-search-results" class="ddm-search-results" role="listbox" aria-label="Search results" hidden></div>
</div>
<ul>
{%- for p in resources.ddm.pages %}
<li><a href="{{ resources.ddm.prefix }}{{ p.href }}"{% if p.href == resources.ddm.current %} class="active" aria-current="page"{% endif %}>{{ p.title | e }}</a></li>
{%- endfor %}
</ul>
</nav>
<main class="jp-Notebook ddm-page">
{%- endblock body_header -%}
{% block body_footer %}
</main>
<script src="{{ resources.ddm.prefix }}_static/site.js"></script>
</body>
{% endblock body_footer %}
{% block input_group -%}
{%- if cell.metadata.get('ddm_fold') -%}
<details class="ddm-fold"{% if cell.metadata.get('ddm_fold_open') %} open{% endif %}><summary>{{ cell.metadata.ddm_fold | e }}</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock input_group %}
"""

ASSETS = Path(__file__).resolve().parent/'docs_site'   # site.css, site.js: the page's style and script

# ---------------------------------------------------------------- contents of a page, search index

_re_head = re.compile(r'<h([1-6])\s+id="([^"]*)"\s*>(.*?)</h\1>', re.S)
_re_cell = re.compile(r'<div class="jp-Cell (jp-\w+Cell)\b')
_re_anchor = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)

def _text(fragment): return ' '.join(html.unescape(re.sub(r'<[^>]+>', '', _re_anchor.sub('', fragment))).split())

def outline(body):
    """The headings of a rendered page, each id made unique (nbconvert names a section `fit` and the API entry `fit`
    alike: the second becomes `fit-2`), as (page, [dict(level, id, text, api)]); `api`: a `show_doc` entry (a heading in
    a code cell's output)"""
    import bisect
    cells = [(m.start(), m.group(1)) for m in _re_cell.finditer(body)]
    starts = [c[0] for c in cells]
    seen, heads, out, pos = set(), [], [], 0
    for m in _re_head.finditer(body):
        lvl, raw, inner = int(m.group(1)), m.group(2), m.group(3)
        hid, k = html.unescape(raw), 1
        while (hid if k == 1 else f'{hid}-{k}') in seen: k += 1
        new = hid if k == 1 else f'{hid}-{k}'
        seen.add(new)
        if k > 1:
            q = html.escape(new, quote=True)
            inner = inner.replace(f'href="#{raw}"', f'href="#{q}"')
            out += [body[pos:m.start()], f'<h{lvl} id="{q}">{inner}</h{lvl}>']; pos = m.end()
        i = bisect.bisect_right(starts, m.start()) - 1
        heads.append(dict(level=lvl, id=new, text=_text(inner), api=i >= 0 and cells[i][1] == 'jp-CodeCell'))
    return ''.join(out) + body[pos:], heads

def _href(hid):
    from urllib.parse import quote
    return '#' + quote(hid, safe="!$&'()*+,;=:@-._~/?%")   # nbconvert's ids are percent-encoded already

def toc_html(heads):
    "The page's table of contents: its title, sections (h2) and entries (h3), API entries marked"
    items = [h for h in heads if h['level'] <= 3][:300]
    if not items: return ''
    lis = ''.join(f'<li class="ddm-toc-{h["level"]}{" ddm-toc-api" if h["api"] else ""}"><a href="{html.escape(_href(h["id"]))}">'
                  f'{html.escape(h["text"])}</a></li>' for h in items)
    return f'<nav class="ddm-toc" aria-label="Contents of this page"><p class="ddm-toc-title">On this page</p><ol>{lis}</ol></nav>\n'

def add_toc(body, heads):
    "Put the table of contents after the page's title cell (CSS moves it to a right-hand column on wide screens)"
    toc = toc_html(heads)
    cells = [m.start() for m in _re_cell.finditer(body)]
    at = cells[1] if len(cells) > 1 else body.rindex('</main>')
    return body[:at] + toc + body[at:]

_SKIP_CLS = {'jp-InputArea-editor', 'jp-RenderedText', 'anchor-link', 'ddm-toc', 'jp-InputPrompt', 'jp-OutputPrompt', 'ddm-sidebar',
             'ddm-skipped', 'ddm-widget'}
_BLOCK = {'p', 'div', 'li', 'td', 'th', 'tr', 'pre', 'br', 'blockquote', 'dd', 'dt', 'table', 'ul', 'ol', 'details', 'summary'}

def page_sections(body, heads, title):
    """Searchable text of a rendered page, by section: [id, heading, kind, text] for the part before the first section
    (kind 'page', id ''), each section ('section') and each API entry ('api', signature and docstring). Prose, tables and
    markdown outputs are indexed; code, printed output, figures and display math are not."""
    from bs4 import BeautifulSoup, NavigableString, Tag
    a, b = body.find('<main'), body.rfind('</main>')
    main = re.sub(r'(<img\b[^>]*?\bsrc=")data:[^"]*', r'\1', body[a:b] if a >= 0 and b > a else body)
    soup = BeautifulSoup(main, 'html.parser')
    api = {h['id'] for h in heads if h['api']}
    secs, cur = [], ['', title, 'page', []]
    def skipped(el):
        for par in el.parents:
            if par.name in ('script', 'style', 'nav', 'svg', 'mjx-container') or re.fullmatch(r'h[1-6]', par.name or ''): return True
            if _SKIP_CLS & set(par.get('class') or ()): return True
        return False
    for el in soup.descendants:
        if isinstance(el, Tag):
            if re.fullmatch(r'h[2-6]', el.name) and el.get('id') and not skipped(el):
                secs.append(cur)
                cur = [el['id'], _text(str(el)), 'api' if el['id'] in api else 'section', []]
            elif el.name in _BLOCK: cur[3].append(' ')
        elif type(el) is NavigableString and not skipped(el): cur[3].append(str(el))
    secs.append(cur)
    res = []
    for hid, head, kind, parts in secs:
        text = re.sub(r'\$\$.*?\$\$|\\begin\{(\w+\*?)\}.*?\\end\{\1\}|\\\[.*?\\\]', ' ', ''.join(parts), flags=re.S)
        text = ' '.join(text.split())[:20000]
        if text or kind != 'page': res.append([hid, head, kind, text])
    return res

def write_search_index(pages):
    "`_docs/_static/search_index.js`: every page's sections (`page_sections`, saved by `render`), for the page's search box"
    idx = dict(pages=[], sections=[])
    for p in pages:
        f = CACHE/'search'/f"{p['stem']}.json"
        if not (OUT/p['href']).exists() or not f.exists(): continue
        idx['pages'].append(dict(href=p['href'], title=p['title']))
        for sec in json.loads(f.read_text()): idx['sections'].append([len(idx['pages']) - 1, *sec])
    js = OUT/'_static'/'search_index.js'
    js.write_text('window.DDM_SEARCH_INDEX = ' + json.dumps(idx, ensure_ascii=False, separators=(',', ':')) + ';\n')
    return len(idx['pages']), len(idx['sections']), js.stat().st_size

def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name='lab', extra_loaders=[DictLoader({'ddm_page.html.j2': TEMPLATE})],
                        template_file='ddm_page.html.j2', embed_images=True,
                        exclude_input_prompt=True, exclude_output_prompt=True, theme='light')

def write_static(nbs):
    "MathJax 3 (from the `django-static-mathjax` wheel, a dev dependency), the site's CSS and script, into `_docs/_static/`"
    try: import mathjax
    except ImportError: sys.exit('build_docs: MathJax not found: pip install -e ".[dev]" (needs django-static-mathjax)')
    src = Path(mathjax.__file__).parent/'static'/'mathjax'/'es5'/'tex-svg-full.js'
    dst = OUT/MATHJAX
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.stat().st_size != src.stat().st_size: shutil.copyfile(src, dst)
    extra = (nbs/'styles.css').read_text() if (nbs/'styles.css').exists() else ''
    (OUT/'_static'/'site.css').write_text((ASSETS/'site.css').read_text() + '\n/* nbs/styles.css */\n' + extra)
    shutil.copyfile(ASSETS/'site.js', OUT/'_static'/'site.js')

def render(pages, nbs, cfg):
    "Write every page; return the names of the pages that show errors"
    import nbformat
    exp = _exporter()
    links = [dict(href=p['href'], title=p['title']) for p in pages]
    absolute = f"{cfg.get('doc_host', '')}{cfg.get('doc_baseurl', '')}".rstrip('/') + '/'
    for p in pages:
        if not p['selected']: continue
        prefix = '../' * p['href'].count('/')
        res = {'metadata': {'name': p['title'], 'path': str(p['nb'].parent)},
               'ddm': dict(pages=links, current=p['href'], prefix=prefix, site=cfg.get('title', 'ddm-nb'))}
        if p['proc'] is not None:
            nb = prepare(nbformat.read(p['proc'], as_version=4), p['title'], p['description'], res['ddm']['site'])
        else:
            nb = prepare(nbformat.v4.new_notebook(), p['title'], p['description'], res['ddm']['site'])
        if p['errors']:
            msg = '\n'.join(f'- `{_brief(e)}`' for e in p['errors'])
            nb.cells.insert(1, nbformat.v4.new_markdown_cell(f'**Error building this page:**\n\n{msg}'))
        body, _ = exp.from_notebook_node(nb, resources=res)
        if absolute.startswith('http'): body = body.replace(f'href="{absolute}', f'href="{prefix}')
        body, heads = outline(body)
        body = add_toc(body, heads)
        (CACHE/'search').mkdir(parents=True, exist_ok=True)
        (CACHE/'search'/f"{p['stem']}.json").write_text(json.dumps(page_sections(body, heads, p['title']), ensure_ascii=False))
        dst = OUT/p['href']
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(body)
        _log(f"  rendered {p['href']} from {p['nb'].name}{p.get('how', '')}")
    return [p['href'] for p in pages if p['selected'] and p['errors']]

# ---------------------------------------------------------------- driver

def run_workers(todo, jobs, timeout, extra=(), verb='processing {nb}'):
    "Run `work` for each (nb, dst) in subprocesses, `jobs` at a time, each killed (with its kernel) after `timeout` s"
    running, done, todo = {}, {}, list(todo)
    while todo or running:
        while todo and len(running) < jobs:
            nb, dst = todo.pop(0)
            log = open(dst.with_suffix('.log'), 'w')
            pr = subprocess.Popen([sys.executable, __file__, '--work', str(nb), str(dst), '--timeout', str(timeout), *extra],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                  env={**os.environ, 'OMP_NUM_THREADS': '1' if jobs > 1 else os.environ.get('OMP_NUM_THREADS', '')})  # no oversubscription
            running[nb] = (pr, time.time(), log, dst)
            _log(f'  {verb.format(nb=nb.name)} ...')
        time.sleep(0.2)
        for nb, (pr, t0, log, dst) in list(running.items()):
            rc = pr.poll()
            if rc is None and time.time() - t0 > timeout:
                os.killpg(pr.pid, signal.SIGKILL); pr.wait(); rc = 'timeout'
            if rc is None: continue
            log.close(); del running[nb]
            done[nb] = (rc, time.time() - t0)
            _log(f'  {nb.name}: {"timed out after %ds" % timeout if rc == "timeout" else "ok" if rc == 0 else "errors"}'
                 f' ({done[nb][1]:.0f}s)')
    return done

def build(force=False, only=None, jobs=2, timeout=600, execute=False):
    from nbdev.config import get_config
    os.chdir(ROOT)
    t0 = time.time()
    cfg = get_config()
    nbs = Path(cfg.nbs_path)
    refresh_quarto_files()
    CACHE.mkdir(parents=True, exist_ok=True)
    ensure_kernelspec()
    common = common_hash(cfg) + ('exec' if execute else 'committed')
    pages, todo = [], []
    for nb in notebooks(nbs):
        title, desc = first_title(nb)
        key = _sha(common, nb.relative_to(ROOT).as_posix(), nb.read_bytes())[:16]
        stem = nb.relative_to(nbs).with_suffix('').as_posix().replace('/', '__')
        cached = CACHE/f'{stem}.{key}.ipynb'
        p = dict(nb=nb, href=page_name(nb, nbs), title=title, description=desc, proc=cached, errors=[], stem=stem)
        p['selected'] = not only or any(o in nb.name for o in only)
        pages.append(p)
        if not p['selected']: continue
        p['cached'] = not force and cached.exists()
        p['how'] = ((', executed in an earlier build (cache)' if p['cached'] else ', executed now') if execute else
                    "'s committed outputs" + (' (processed in an earlier build: cache)' if p['cached'] else ''))
        if not p['cached']:
            for old in [*CACHE.glob(f'{stem}.*.ipynb'), *CACHE.glob(f'{stem}.*.log')]: old.unlink()
            todo.append((nb, CACHE/f'{stem}.{key}.tmp.ipynb'))
    n_cached = sum(p['selected'] for p in pages) - len(todo)
    how = ('executing them in a kernel, then nbdev doc processing' if execute else
           "from their committed outputs (nothing re-executed; nbdev's doc processing runs the exported cells for show_doc)")
    _log(f'build_docs: {len(pages)} notebooks; {len(todo)} to process {how}, {jobs} at a time, {timeout}s limit each'
         + (f'; {n_cached} unchanged, from the cache' if n_cached else ''))
    done = run_workers(todo, jobs, timeout, extra=() if execute else ('--no-exec',),
                       verb='executing {nb}' if execute else 'processing {nb} from its committed outputs')
    for p in pages:
        tmp = p['proc'].with_name(p['proc'].name.replace('.ipynb', '.tmp.ipynb'))
        if p['nb'] in done:
            rc, _ = done[p['nb']]
            log = tmp.with_suffix('.log')
            if rc == 'timeout': p['errors'] = [f'timed out after {timeout}s']
            elif not tmp.exists(): p['errors'] = [f'worker failed (rc {rc}): ' + (log.read_text()[-2000:] if log.exists() else '')]
            if tmp.exists():
                import nbformat
                meta = nbformat.read(tmp, as_version=4).metadata.get('ddm_docs', {})
                p['errors'] += meta.get('errors', [])
                if p['errors']: p['proc'] = tmp            # shown, never reused
                else: tmp.replace(p['proc']); log.unlink(missing_ok=True)
            else: p['proc'] = None
    write_static(nbs)
    n = sum(p['selected'] for p in pages)
    _log(f'build_docs: rendering {n} page{"s" * (n != 1)} to HTML')
    failed = render(pages, nbs, cfg)
    n_pages, n_secs, size = write_search_index(pages)
    _log(f'build_docs: search index of {n_secs} sections from {n_pages} pages: {OUT.relative_to(ROOT)}/_static/search_index.js ({size/1e3:.0f} kB)')
    if not only:   # drop pages of notebooks that are gone
        keep = {p['href'] for p in pages}
        for f in OUT.glob('*.html'):
            if f.name not in keep: f.unlink()
    (OUT/'pages.json').write_text(json.dumps([dict(page=p['href'], notebook=p['nb'].relative_to(ROOT).as_posix(),
        title=p['title'], errors=p['errors']) for p in pages], indent=1))
    _log(f'build_docs: wrote {n} page{"s" * (n != 1)} to {OUT.relative_to(ROOT)}/ in {time.time()-t0:.0f}s')
    if failed:
        for p in pages:
            for e in p['errors']: _log(f'  ERROR {p["nb"].name}: {_brief(e)}')
        _log(f'build_docs: {len(failed)} page(s) with errors: {", ".join(failed)}')
        return 1
    return 0

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--force', action='store_true', help='process notebooks even when cached')
    ap.add_argument('--execute', action='store_true', help='execute the notebooks instead of using their committed outputs')
    ap.add_argument('--no-exec', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--raw', action='store_true', help=argparse.SUPPRESS)
    ap.add_argument('--only', nargs='*', help='build only the pages of notebooks whose name contains one of these')
    ap.add_argument('--jobs', type=int, default=int(os.environ.get('DDM_DOCS_JOBS', min(2, os.cpu_count() or 1))))
    ap.add_argument('--timeout', type=int, default=int(os.environ.get('DDM_DOCS_NB_TIMEOUT', 600)),
                    help='seconds per notebook (execution and processing)')
    ap.add_argument('--work', nargs=2, metavar=('NB', 'DST'), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.work: return work(*a.work, timeout=a.timeout, execute=not a.no_exec, process=not a.raw)
    return build(force=a.force, only=a.only, jobs=max(1, a.jobs), timeout=a.timeout, execute=a.execute)

if __name__ == '__main__': sys.exit(main())
