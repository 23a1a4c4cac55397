"The `ddm` console script: presets, the demo's outputs, and clear errors with no half-written output."
import json, os
from conftest import run_ddm

def test_presets_listed():
    r = run_ddm('presets')
    assert r.returncode == 0, r.stderr
    assert {'lorenz', 'double_well', 'hopf', 'ou'} <= set(r.stdout.split())

def test_unknown_preset_is_a_clear_error(tmp_path):
    r = run_ddm('demo', 'lorenzz', '--out', str(tmp_path/'o'))
    assert r.returncode == 2 and 'unknown preset' in r.stderr and 'lorenz' in r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'o').exists()

def test_bad_size_is_a_clear_error(tmp_path):
    r = run_ddm('demo', 'hopf', '--out', str(tmp_path/'o'), '--set', 'n=-4')
    assert r.returncode == 2 and 'positive integer' in r.stderr

def test_unwritable_folder(tmp_path):
    "An output folder that cannot be created is a one-line error. As root, permissions do not stop writes, so a path under a file stands in."
    if os.geteuid() == 0:
        f = tmp_path/'file'; f.write_text('x'); out = f/'sub'/'o'       # cannot create a folder inside a file, even as root
    else:
        ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o555); out = ro/'sub'/'o'
    r = run_ddm('demo', 'hopf', '--out', str(out), '--device', 'cpu')
    assert r.returncode == 2 and r.stderr.startswith('ddm: error:') and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'file').is_dir()

def test_diverging_run_leaves_nothing(tmp_path):
    r = run_ddm('demo', 'hopf', '--out', str(tmp_path/'o'), '--device', 'cpu', '--set', 'dt=0.5', 't1=200.', 'system.mu=50.')
    assert r.returncode == 2 and 'diverged' in r.stderr
    assert os.listdir(tmp_path) == []

def test_demo_writes_report(tmp_path):
    r = run_ddm('demo', 'hopf', '--out', str(tmp_path/'o'), '--device', 'cpu', '--set', 't1=10.', 'n=128', 'samples=4000')
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path/'o'/'metrics.json').read_text())
    assert rep['preset'] == 'hopf' and rep['device'] == 'cpu' and rep['N'] == 128
    assert rep['fit']['drift_error'] < 0.02 and rep['metrics']['cov_err'] < 0.2   # the embedding is faithful
    for f in ('compare', 'trajectories', 'attractor', 'vector_field'): assert (tmp_path/'o'/f'{f}.png').stat().st_size > 1000
    from ddm_nb.network import load_net
    assert load_net(tmp_path/'o'/'network.pt').d == 128
    man = json.loads((tmp_path/'o'/'.ddm-nb-manifest.json').read_text())   # marks the folder as ddm-nb's, listing what it wrote
    assert man['tool'] == 'ddm-nb' and set(man['files']) == set(os.listdir(tmp_path/'o')) - {'.ddm-nb-manifest.json'}
    um = os.umask(0); os.umask(um)
    assert (tmp_path/'o').stat().st_mode & 0o777 == 0o777 & ~um   # normal permissions, not a temporary folder's 0700
