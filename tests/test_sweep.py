"""Local sweeps resume after a crash or an interrupt with no duplicated and no repeated points; Ray stays optional;
`ddm sweep` refuses a bad grid before running anything."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from ddm_nb.sweep import sweep, read_sweep, point_key, grid_points

HERE = Path(__file__).resolve().parent
GRID = dict(x=[1, 2, 3, 4], y=[0.5, 1.5])

def slow_square(x:int, y:float, seed:int=0, log:str=None, pause:float=0.):
    "A cheap experiment that notes each call in the file `log` and takes `pause` seconds."
    if log:
        with open(log, 'a') as f: f.write(point_key(dict(x=x, y=y, seed=seed))+'\n')
    time.sleep(pause)
    return dict(z=x*x*y+seed, parity=x%2==0)

def _env(): return {**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in [str(HERE), os.environ.get('PYTHONPATH', '')] if p)}

def _calls(log): return Path(log).read_text().splitlines() if Path(log).exists() else []

def test_crashed_sweep_resumes(tmp_path):
    "SIGKILL a sweep mid-run, leave a half-written line, rerun: every point once, finished points not redone."
    out,log = tmp_path/'s.csv',tmp_path/'calls.log'
    keys = [point_key(p) for p in grid_points(slow_square, GRID, 2)]
    code = ("import sys, functools; from ddm_nb.sweep import sweep; from test_sweep import slow_square, GRID;"
            "sweep(functools.partial(slow_square, log=sys.argv[2], pause=0.3), GRID, out=sys.argv[1], seeds=2, progress=False)")
    p = subprocess.Popen([sys.executable, '-c', code, str(out), str(log)], env=_env())
    try:
        t0 = time.time()
        while len(read_sweep(out)) < 5:
            assert p.poll() is None and time.time()-t0 < 120, "the sweep ended or stalled before it could be killed"
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
    finally:
        p.kill(); p.wait()
    done = {r['key'] for r in read_sweep(out)}
    assert 5 <= len(done) < len(keys)
    with open(out, 'a') as f: f.write(keys[-1]+',4,1.5,1,')   # a crash in the middle of a write
    assert len(read_sweep(out)) == len(done)

    before = _calls(log)
    res = sweep(lambda x, y, seed: slow_square(x, y, seed, log=str(log)), GRID, out=out, seeds=2, progress=False)
    again = _calls(log)[len(before):]
    assert not set(again) & done, "finished points were run again"
    assert sorted(again) == sorted(set(keys)-done)
    assert [r['key'] for r in res] == keys
    lines = out.read_text().splitlines()
    assert len(lines) == 1+len(keys) and sorted(l.split(',')[0] for l in lines[1:]) == sorted(keys)
    assert [r['z'] for r in res] == [x*x*y+s for x in GRID['x'] for y in GRID['y'] for s in (0, 1)]

def test_interrupted_sweep_resumes(tmp_path):
    "Ctrl-C in the middle: the finished rows stay, the rerun does only the rest."
    out,calls = tmp_path/'s.csv',[]
    def exp(x:int, y:float, seed:int=0):
        if len(calls)==6 and not resumed: raise KeyboardInterrupt
        calls.append(point_key(dict(x=x, y=y, seed=seed))); return slow_square(x, y, seed)
    resumed = False
    with pytest.raises(KeyboardInterrupt): sweep(exp, GRID, out=out, seeds=2, progress=False)
    assert len(read_sweep(out)) == 6
    resumed = True
    res = sweep(exp, GRID, out=out, seeds=2, progress=False)
    assert len(calls) == len(set(calls)) == 16 == len(res) == len(read_sweep(out))
    assert out.read_text().count('\n') == 17

def test_repeated_rows_are_read_once(tmp_path):
    out = tmp_path/'s.csv'
    sweep(slow_square, GRID, out=out, progress=False)
    text = out.read_text(); out.write_text(text + text.splitlines()[3] + '\n')
    with pytest.warns(UserWarning, match='repeated'): rows = read_sweep(out)
    assert len(rows) == 8

def test_module_imports_without_ray():
    code = ("import sys; sys.modules['ray'] = None\n"
            "import ddm_nb.sweep as s\n"
            "try: s.sweep(lambda x, seed: dict(y=x), dict(x=[1]), backend='ray', progress=False)\n"
            "except ImportError as e: print('ERR', e)\n")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0 and "ERR backend='ray' needs Ray: pip install 'ddm-nb[ray]'" in r.stdout, r.stderr

def test_cli_refuses_a_bad_grid(tmp_path, capsys):
    from ddm_nb.cli import sweep_cli
    for grid,msg in [('system.eps=0.1,-0.1', 'noise eps must be positive'), ('system.eps=', 'is empty'),
                     ('n=64,many', 'needs numbers'), ('epz=0.1', "did you mean 'system.eps'"), ('dt=0.1:0.2:x', 'positive number')]:
        rc = sweep_cli(['double_well', '--grid', grid, '--out', str(tmp_path/'o.csv'), '--presets', str(HERE.parent/'settings.ini')])
        err = capsys.readouterr().err
        assert rc == 2 and err.startswith('ddm: error:') and msg in err, (grid, err)
    assert not (tmp_path/'o.csv').exists()

# `ddm sweep` runs the main job at every point (issue 24)
from conftest import BIN
EMBED = ['sweep', 'hopf', '--grid', 'n=8,16', '--seeds', '2', '--set', 't1=2', 'samples=2000', 'n_paths=2', '--device', 'cpu', '--no-progress']
COLUMNS = ['drift_error', 'closed_loop_ok', 'd_stsp', 'd_stsp_floor', 'd_hellinger', 'd_hellinger_floor',
           'lambda_max_target', 'lambda_max_net', 'ablation_gap', 'diverged', 'seconds']

def _ddm(*args, cwd, **kw):
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    return subprocess.Popen([str(BIN/'ddm'), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

def test_cli_sweep_of_the_main_job_resumes_after_ctrl_c(tmp_path):
    "Ctrl-C after the first row: exit 130 naming the rows kept; the same command finishes the rest, writes every fidelity column and the figure."
    out = tmp_path/'s.csv'
    p = _ddm(*EMBED, '--out', str(out), '--ablation', cwd=tmp_path)
    first = p.stdout.readline()
    assert first.startswith('ddm sweep: 4 points (2 n × 2 seeds), fit, simulate, measure at each: about '), first
    t0 = time.time()
    while len(read_sweep(out)) < 1:
        assert p.poll() is None and time.time()-t0 < 600, p.stderr.read() if p.poll() is not None else 'too slow'
        time.sleep(0.2)
    p.send_signal(signal.SIGINT); _,err = p.communicate(timeout=120)
    assert p.returncode == 130 and 'run the same command again to resume' in err and 'Traceback' not in err, (p.returncode, err[-2000:])
    kept = len(read_sweep(out)); assert 1 <= kept < 4 and not (tmp_path/'s.png').exists()
    p = _ddm(*EMBED, '--out', str(out), '--ablation', cwd=tmp_path); so,err = p.communicate(timeout=900)
    assert p.returncode == 0, err[-2000:]
    assert f'4 points ({4-kept} run now)' in so and (tmp_path/'s.png').stat().st_size > 10_000, so
    rows = read_sweep(out)
    assert [c for c in rows.columns if c in COLUMNS] == COLUMNS and len(rows) == 4
    for r in rows: assert 0 < r['drift_error'] < 1 and r['d_stsp'] >= 0 and r['ablation_gap'] > 0 and r['diverged'] is False, r

def test_cli_sweep_asks_before_a_long_run(tmp_path):
    "A million points: the count and the estimate at once, and a refusal without --yes, before any point is checked or run."
    t0 = time.time(); _ddm('--version', cwd=tmp_path).communicate(timeout=300); t_import = time.time()-t0   # the import: most of it on a quiet machine
    p = _ddm('sweep', 'hopf', '--grid', 'system.sigma=0.1:0.2:1000000', '--out', 's.csv', cwd=tmp_path)
    t0 = time.time(); so,err = p.communicate(timeout=120); t = time.time()-t0
    assert p.returncode == 2 and so.startswith('ddm sweep: 1,000,000 points (1000000 system.sigma × 1 seed)'), (so, err)
    assert err.startswith('ddm: error: this sweep is estimated at ') and 'pass --yes' in err and err.count('\n') == 1, err
    assert t < 3*t_import + 10 and os.listdir(tmp_path) == [], (t, t_import)   # about 5 s on a quiet machine

def test_cli_sweep_target_only_keeps_the_target_map(tmp_path):
    p = _ddm('sweep', 'hopf', '--grid', 'system.mu=0.5,1', '--set', 't1=2', 'n_paths=2', '--target-only', '--out', 's.csv', '--no-progress', cwd=tmp_path)
    so,err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    rows = read_sweep(tmp_path/'s.csv')
    assert len(rows) == 2 and {'mean_1', 'std_2', 'diverged'} <= set(rows.columns) and 'drift_error' not in rows.columns
    assert (tmp_path/'s.png').exists()

def test_cli_sweep_too_large_refused(tmp_path):
    p = _ddm('sweep', 'hopf', '--grid', 'n=64,1000000', '--out', 's.csv', cwd=tmp_path); so,err = p.communicate(timeout=120)
    assert p.returncode == 2 and 'N = 1,000,000' in err and 'is available' in err and err.count('\n') == 1, err
    assert os.listdir(tmp_path) == []
