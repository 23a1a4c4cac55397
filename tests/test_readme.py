"README.md is generated from nbs/index.ipynb by tools/readme.py: regenerating it must give the same text."
import difflib, importlib.util

def _readme_tool(root):
    spec = importlib.util.spec_from_file_location('readme_tool', root/'tools'/'readme.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_readme_in_sync_with_index(root):
    want = _readme_tool(root).nb2md(root/'nbs'/'index.ipynb')
    have = (root/'README.md').read_text()
    diff = ''.join(list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), 'README.md',
                                             'from nbs/index.ipynb'))[:60])
    assert have == want, f"README.md is out of date with nbs/index.ipynb: run `make readme` and commit it.\n{diff}"

def test_readme_paths_point_into_nbs(root, tmp_path):
    "Relative links and images in index.ipynb (relative to nbs/) are rewritten to work from the repository root"
    md = _readme_tool(root).fix_paths('![fig](images/a.png) [nb](00_sde.ipynb) [web](https://x.org/a.png) '
                                       '[top](#install) <img src="images/b.png">', 'nbs')
    assert md == ('![fig](nbs/images/a.png) [nb](nbs/00_sde.ipynb) [web](https://x.org/a.png) '
                  '[top](#install) <img src="nbs/images/b.png">')
