"`pip install .` into a clean venv gives an importable `ddm_nb`, its public API, the presets file and the `ddm` script."
import os, subprocess, sys, venv
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

def sh(*a, **kw):
    r = subprocess.run([str(x) for x in a], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{a}\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return r.stdout

@pytest.mark.slow
def test_clean_venv_install(tmp_path):
    wheels = tmp_path/'wheels'
    sh(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', wheels, ROOT)
    whl = next(wheels.glob('ddm_nb-*.whl'))
    env = tmp_path/'env'; venv.create(env, with_pip=True)
    py = env/'bin'/'python'
    sh(py, '-m', 'pip', 'install', '-q', 'torch==2.13.0')   # the CPU wheel on disk; the library asks for a range
    sh(py, '-m', 'pip', 'install', '-q', whl)
    out = sh(py, '-c', 'import ddm_nb, ddm_nb.sde as s, ddm_nb.simulate as m; print(ddm_nb.__version__, s.get_system("lorenz").d, m.simulate.__name__)', cwd=tmp_path)
    assert out.split() == [__import__('ddm_nb').__version__, '3', 'simulate']
    assert 'lorenz' in sh(env/'bin'/'ddm', 'presets', cwd=tmp_path).split()   # installed share/ddm_nb/settings.ini
