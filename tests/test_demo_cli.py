"The demo's command line: version, presets table, `--set` keys in `--help`, a `--quick` run with stage lines and summary."
import json, math, re
from pathlib import Path
import pytest
from conftest import run_ddm, ROOT

def test_version():
    import ddm_nb
    r = run_ddm('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'ddm-nb {ddm_nb.__version__}', (r.stdout, r.stderr)

def test_presets_table():
    from ddm_nb.presets import get_preset, list_presets
    from ddm_nb.cost import estimate_seconds
    r = run_ddm('presets')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:5] == ['preset', 'system', 'N', 'horizon', 'traj.'] and 'est. time' in lines[0]
    for name in list_presets():
        p = get_preset(name)
        row = next(l.split() for l in lines[1:] if l.split()[:1] == [name])
        assert row[1] == p.system and int(row[2]) == p.n and float(row[3]) == p.t1, row
        assert row[5] == f'{estimate_seconds(p):.0f}' and row[6] == 's', row   # the estimate is the cost model's

def test_cost_model_is_the_bench_calibration():
    "`ddm presets` prices work with the constants bench/bench_demo.py measured (its quiet run): `COST` is the JSON's calibration, copied."
    from ddm_nb.cost import COST
    cal = json.loads((ROOT/'bench'/'results'/'demo-cpu.json').read_text())['calibration']
    assert {k: COST.get(k) for k in cal} == cal and set(COST) - {'machine'} == set(cal), \
        f"bench/results/demo-cpu.json was recalibrated: set COST in nbs/17_cost.ipynb to {dict(machine=COST['machine'], **cal)}"

def test_help_lists_every_set_key():
    from ddm_nb.presets import PRESET_KEYS as SET_KEYS
    r = run_ddm('demo', '--help')
    assert r.returncode == 0
    for k,v in SET_KEYS.items(): assert re.search(rf'^\s+{re.escape(k)}\s+{re.escape(v[:30])}', r.stdout, re.M), k
    for k in ('system.noise', 'system.eps', 'system.omega', '--quick', '--quiet'): assert k in r.stdout, k

def test_quick_demo(tmp_path):
    "`ddm demo --quick`: under 30 s of work (CPU seconds of its stages), a line per stage as it starts and ends, and the summary."
    r = run_ddm('demo', '--quick', '--out', str(tmp_path/'o'), '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path/'o'/'metrics.json').read_text())
    assert rep['quick'] and rep['t1'] == 10. and rep['fit']['samples'] == 5000
    assert rep['cpu_seconds']['total'] < 30, rep['cpu_seconds']
    stages = ['fit', 'simulate target', 'simulate network', 'metrics', 'Lyapunov spectrum of the target', 'Lyapunov spectrum of the network', 'figures', 'save']
    for i,s in enumerate(stages, 1):
        assert re.search(rf'^\[{i}/8\] {s}.* \.\.\.$', r.stdout, re.M), s
        assert re.search(rf'^\[{i}/8\] {s}.*: done in \d+\.\d s', r.stdout, re.M), s
    out = r.stdout
    assert 'it/s' not in r.stderr, r.stderr[-300:]   # stderr is a pipe here, not a terminal: the stage lines alone, no progress bars in the log
    for k in ('drift error', 'D_stsp', 'D_H', 'λ target', 'λ network', 'files:'): assert k in out, (k, out)
    assert re.search(r'D_stsp .* floor \d\.\d{3} \(target ‖ independent target run\)', out) and 0 < rep['metrics']['d_stsp_floor'] < 1, out
    assert str((tmp_path/'o').resolve()) in out and '{' not in out      # a summary, not the JSON
    m = rep['metrics']
    assert m['net_off_plane_drift'] < 1e-4 and m['lyapunov_net_transverse'] == -1/0.05
    assert abs(m['lyapunov_net'][0]/0.9056 - 1) < 0.15 and abs(m['lyapunov_net'][2]/14.572 + 1) < 0.05   # 4 starts × 10 time units

def test_quiet_prints_only_the_summary(tmp_path):
    r = run_ddm('demo', 'hopf', '--quiet', '--out', str(tmp_path/'o'), '--device', 'cpu', '--set', 't1=10.', 'n=64', 'samples=2000')
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == '' and 'D_stsp' in r.stdout and '[1/' not in r.stdout
