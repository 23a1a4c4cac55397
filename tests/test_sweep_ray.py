"""`sweep(backend='ray')` on a real Ray head bound to 127.0.0.1: a worker killed mid-sweep, every point still
written exactly once, and the same metrics as the same grid in this process."""
import functools, json, os, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pytest

ray = pytest.importorskip('ray')
from ddm_nb.sweep import sweep, read_sweep, point_key, grid_points

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
GRID, SEEDS, WORK = dict(sigma=[0.1, 0.2, 0.3]), 2, 1.5
# Ray turns --node-ip-address=127.0.0.1 into the machine's outward address unless clusters are "off"
# (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0); with everything on loopback no token is needed.
RAY_ENV = dict(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER='0', RAY_AUTH_MODE='disabled', RAY_USAGE_STATS_ENABLED='0')

def hopf_point(sigma:float, seed:int=0, marks:str=None, work:float=0.):
    "A short noisy Hopf run: final radii. With `marks`, leave a file naming this attempt's pid there and take `work` s longer."
    if marks:
        Path(marks, f'{sigma}_{seed}_{os.getpid()}').touch()
        time.sleep(work)
    from ddm_nb.sde import Hopf
    from ddm_nb.simulate import simulate
    sde = Hopf(mu=1., sigma=sigma)
    _,ys = simulate(sde, sde.y0, t1=2., dt=0.01, n_paths=16, seed=seed, device='cpu', method='heun')
    r = ys[-1].norm(dim=-1)
    return dict(radius=float(r.mean()), radius_max=float(r.max()))

def _pythonpath(): return os.pathsep.join(p for p in [str(HERE), os.environ.get('PYTHONPATH', '')] if p)

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _is_ray_worker(pid):
    try: cmd = Path(f'/proc/{pid}/cmdline').read_bytes().replace(b'\0', b' ').decode()
    except OSError: return False
    return 'ray::' in cmd or 'default_worker' in cmd

def _alive(pid):
    try: st = Path(f'/proc/{pid}/stat').read_text().split(')')[-1].split()[0]
    except OSError: return False
    return st!='Z'

@pytest.fixture(scope='module')
def ray_head():
    "A Ray head on 127.0.0.1 with 2 CPUs, in a process group of its own; torn down by pid whatever happens."
    tmp = Path(tempfile.mkdtemp(prefix='ray', dir='/tmp'))   # short: Ray's socket paths must stay under 107 characters
    port = _free_port()
    cmd = [BIN/'ray', 'start', '--head', '--block', '--node-ip-address=127.0.0.1', f'--port={port}', '--num-cpus=2', '--num-gpus=0',
           '--include-dashboard=false', '--disable-usage-stats', f'--temp-dir={tmp}',
           f'--ray-client-server-port={_free_port()}', f'--dashboard-agent-listen-port={_free_port()}']
    log = open(tmp/'head.log', 'w')
    env = {**os.environ, **RAY_ENV, 'PYTHONPATH': _pythonpath()}   # workers import this module for `hopf_point`
    head = subprocess.Popen([str(c) for c in cmd], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.time()
        while True:
            try: socket.create_connection(('127.0.0.1', port), 0.5).close(); break
            except OSError: pass
            if head.poll() is not None or time.time()-t0 > 60:
                pytest.fail(f"Ray head did not start:\n{(tmp/'head.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield f'127.0.0.1:{port}'
    finally:
        head.terminate()                       # `ray start --block` stops its own processes on SIGTERM
        try: head.wait(20)
        except subprocess.TimeoutExpired: pass
        try: os.killpg(head.pid, signal.SIGKILL)   # stragglers of this head's process group only
        except ProcessLookupError: pass
        head.wait(); log.close()
        shutil.rmtree(tmp, ignore_errors=True)

DRIVER = """
import functools, json, sys
from ddm_nb.sweep import sweep
from test_sweep_ray import hopf_point, GRID, SEEDS, WORK
res = sweep(functools.partial(hopf_point, marks=sys.argv[2], work=WORK), GRID, out=sys.argv[1], seeds=SEEDS, backend='ray', progress=False)
print(json.dumps(res))
"""

def test_ray_sweep_survives_a_killed_worker(ray_head, tmp_path):
    out,marks = tmp_path/'sweep.csv',tmp_path/'marks'; marks.mkdir()
    keys = {point_key(p) for p in grid_points(hopf_point, GRID, SEEDS)}
    env = {**os.environ, **RAY_ENV, 'RAY_ADDRESS': ray_head, 'PYTHONPATH': _pythonpath()}
    dout,derr = open(tmp_path/'driver.out', 'w'),open(tmp_path/'driver.err', 'w')
    driver = subprocess.Popen([sys.executable, '-c', DRIVER, str(out), str(marks)], env=env, stdout=dout, stderr=derr, cwd=tmp_path)
    killed = rows_at_kill = None
    try:
        t0 = time.time()
        while driver.poll() is None and time.time()-t0 < 120:
            if killed is None and out.exists():
                done = {r['key'] for r in read_sweep(out)}
                running = [m for m in marks.iterdir()
                           if point_key(dict(sigma=float(m.name.split('_')[0]), seed=int(m.name.split('_')[1]))) not in done
                           and time.time()-m.stat().st_mtime < WORK/2]
                if done and running:                               # mid-sweep: some rows written, a point in progress
                    m = max(running, key=lambda m: m.stat().st_mtime)
                    pid = int(m.name.split('_')[2])
                    assert _is_ray_worker(pid) and pid not in (os.getpid(), driver.pid)
                    rows_at_kill = len(done)
                    os.kill(pid, signal.SIGKILL); killed = (m.name.rsplit('_', 1)[0], pid)
            time.sleep(0.05)
        assert driver.poll() is not None, "the sweep did not finish within 120 s"
    finally:
        if driver.poll() is None: driver.kill()
        driver.wait(); dout.close(); derr.close()
    err = (tmp_path/'driver.err').read_text()
    assert driver.returncode == 0, err[-4000:]
    assert killed is not None, "no worker was caught mid-point"
    assert 0 < rows_at_kill < len(keys)
    assert not _alive(killed[1])

    # the killed point ran again, in another worker
    attempts = [m.name for m in marks.iterdir() if m.name.rsplit('_', 1)[0]==killed[0]]
    assert len(attempts) == 2 and f'{killed[0]}_{killed[1]}' in attempts, attempts

    # every point exactly once: in the returned table, in the file, and as raw lines
    res = json.loads((tmp_path/'driver.out').read_text().strip().splitlines()[-1])
    assert sorted(r['key'] for r in res) == sorted(keys)
    rows = read_sweep(out)
    assert sorted(r['key'] for r in rows) == sorted(keys)
    lines = out.read_text().splitlines()
    assert len(lines) == 1+len(keys) and len({l.split(',')[0] for l in lines[1:]}) == len(keys)

    print(f"killed worker {killed[1]} running {killed[0]} with {rows_at_kill}/{len(keys)} rows written; attempts {attempts}")

    # the same grid in this process: the same metrics for the same seeds
    local = {r['key']:r for r in sweep(hopf_point, GRID, seeds=SEEDS, progress=False)}
    for r in rows:
        assert (r['radius'], r['radius_max']) == (local[r['key']]['radius'], local[r['key']]['radius_max']), r['key']

def test_unreachable_address_is_a_clear_error(tmp_path):
    "A wrong address fails at once, before anything is written (Ray itself would retry for many minutes)."
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]   # bound, not listening: refuses
    with pytest.raises(ConnectionError, match=f'no Ray cluster answers at 127.0.0.1:{port}'):
        sweep(hopf_point, GRID, out=tmp_path/'s.csv', backend='ray', address=f'127.0.0.1:{port}', progress=False)
    assert not (tmp_path/'s.csv').exists()
