import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

@pytest.fixture(scope='session')
def root(): return ROOT

def run_ddm(*args, cwd=ROOT, **kw):
    "Run the installed `ddm` console script; return the CompletedProcess."
    import subprocess
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1'}
    return subprocess.run([str(BIN/'ddm'), *args], cwd=cwd, capture_output=True, text=True, env=env, **kw)
