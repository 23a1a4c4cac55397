"""Time each stage of `ddm demo` (fit, simulate, each metric, Lyapunov spectra, figures), quiet and beside CPU-bound load.

    python bench/bench_demo.py                      # default Lorenz demo: a quiet run, then one beside 2 busy processes
    python bench/bench_demo.py --modes quiet --quick
    python bench/bench_demo.py --baseline bench/results/demo-baseline-main.json   # also compare the metrics with another run's

Each mode runs --repeat times (default 3) and reports the run with the median wall time (all wall times are kept): the
shared machines this runs on vary by 10-15% from minute to minute. Each run is the real command, `ddm demo PRESET --quiet --out TMP`, in a fresh process: the stage times come from the
`seconds` / `cpu_seconds` fields of its metrics.json (set-up, i.e. Python start and imports, excluded), and the command's
own wall time (set-up included) is measured here. Under load, `--load` extra processes (`python -c 'while 1: pass'`)
are started by this script and killed at the end. The JSON (default bench/results/demo-<device>.json) also holds the
calibration of the cost model behind `ddm presets` (`ddm_nb.cost.calibrate`; copy it into `COST` in nbs/17_cost.ipynb,
which tests/test_demo_cli.py checks) and the metrics of each run.
"""
import argparse, json, math, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# tolerances for "the same metrics" (see bench/README.md): unchanged computations must agree to rounding; the Lyapunov
# estimates are finite-time averages, so they are held to the tolerances 08_metrics asserts against the Lorenz reference
TOL = dict(rel=1e-6, lyap1=0.05*0.9056, lyap2=0.05, lyap3=0.05*14.572, kaplan_yorke=0.01)

def machine():
    "What the run was on."
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('model name')), platform.processor()) if Path('/proc/cpuinfo').exists() else platform.processor()
    import torch
    return dict(cpu=cpu, cores=os.cpu_count(), python=platform.python_version(), torch=torch.__version__, platform=platform.platform(),
                omp_num_threads=os.environ.get('OMP_NUM_THREADS'), torch_threads=torch.get_num_threads())

def run_demo(preset, extra, env):
    "One `ddm demo` in a fresh process; its report and the command's wall time."
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)/'demo'
        t0 = time.perf_counter()
        r = subprocess.run([str(BIN/'ddm'), 'demo', *([preset] if preset else []), '--quiet', '--out', str(out), '--device', 'cpu', *extra],
                           cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter()-t0
        if r.returncode: raise SystemExit(f"ddm demo failed ({r.returncode}):\n{r.stderr[-3000:]}")
        rep = json.loads((out/'metrics.json').read_text())
    return rep, round(wall, 2), r.stdout

def compare_metrics(new, old):
    "Per metric: both values, the difference and whether it is within its tolerance."
    res = {}
    for k,v in new.items():
        if k not in old or old[k] is None or v is None or isinstance(v, str): continue
        if k.startswith('lyapunov_') and isinstance(v, list):
            tol = [TOL['lyap1'], TOL['lyap2'], TOL['lyap3']][:len(v)]
            diff = [abs(a-b) for a,b in zip(v, old[k])]
            res[k] = dict(new=v, old=old[k], diff=diff, tol=tol, ok=all(d <= t for d,t in zip(diff, tol)))
        elif isinstance(v, (int, float)):
            tol = TOL['kaplan_yorke'] if k.startswith('kaplan_yorke') else TOL['rel']*max(abs(old[k]), 1e-12)
            res[k] = dict(new=v, old=old[k], diff=abs(v-old[k]), tol=tol, ok=abs(v-old[k]) <= tol)
    return res

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--preset', default=None, help='preset (default: the default one, lorenz)')
    ap.add_argument('--modes', default='quiet,load', help='comma-separated: quiet (nothing else started) and/or load (beside --load busy processes)')
    ap.add_argument('--load', type=int, default=2, help='number of CPU-bound processes started beside the demo in mode "load" (default 2)')
    ap.add_argument('--quick', action='store_true', help='time `ddm demo --quick` instead')
    ap.add_argument('--threads', default=None, help='OMP_NUM_THREADS for the demo (default: inherited, as `make demo` runs it)')
    ap.add_argument('--repeat', type=int, default=3, help='runs per mode; the one with the median wall time is reported, all wall times are kept (default 3)')
    ap.add_argument('--baseline', default=None, help="another run's metrics.json: compare the metrics with it, within the tolerances TOL")
    ap.add_argument('--out', default=None, help='JSON to write (default bench/results/demo[-quick]-cpu.json)')
    a = ap.parse_args(argv)
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1'}
    if a.threads: env['OMP_NUM_THREADS'] = str(a.threads)
    extra = ['--quick'] if a.quick else []
    res = dict(command=' '.join(['python bench/bench_demo.py', *(argv if argv is not None else sys.argv[1:])]), date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
               machine=machine(), demo=f"ddm demo {a.preset or ''} --quiet{' --quick' if a.quick else ''} --device cpu".replace('  ', ' '), runs={})
    for mode in a.modes.split(','):
        busy = []
        try:
            if mode=='load':
                busy = [subprocess.Popen([sys.executable, '-c', 'while 1: pass']) for _ in range(a.load)]
                time.sleep(1)
            elif mode!='quiet': raise SystemExit(f"unknown mode {mode!r}: use quiet and/or load")
            tries = []
            for _ in range(max(1, a.repeat)):
                load0 = os.getloadavg()
                tries.append((load0, *run_demo(a.preset, extra, env)))
        finally:
            for p in busy: p.kill()
            for p in busy: p.wait()
        load0,rep,wall,summary = sorted(tries, key=lambda t: t[2])[len(tries)//2]   # the median run by wall time
        stages = {k:v for k,v in rep['seconds'].items() if k not in ('total', 'metrics_detail')}
        run = dict(extra_processes=len(busy), repeats=len(tries), command_wall_all_s=[t[2] for t in tries], loadavg_1_5_15_before=[round(x, 2) for x in load0], stages_s=stages, metrics_detail_s=rep['seconds']['metrics_detail'],
                   stages_total_s=rep['seconds']['total'], cpu_s=rep['cpu_seconds'], command_wall_s=wall, metrics=rep['metrics'], fit=rep['fit'], summary=summary)
        if a.baseline:
            base = json.loads(Path(a.baseline).read_text())
            cmpm = compare_metrics({**rep['metrics'], 'drift_error': rep['fit']['drift_error']}, {**base['metrics'], 'drift_error': base['fit']['drift_error']})
            run['vs_baseline'] = dict(file=a.baseline, all_within_tolerance=all(v['ok'] for v in cmpm.values()), metrics=cmpm)
        ref = rep['references'].get('lyapunov')
        if ref:  # the tolerances 08_metrics asserts against the Lorenz reference
            run['vs_reference'] = {k: dict(value=rep['metrics'][k], reference=ref, tol=[TOL['lyap1'], TOL['lyap2'], TOL['lyap3']],
                                           ok=all(abs(a-b) <= t for a,b,t in zip(rep['metrics'][k], ref, [TOL['lyap1'], TOL['lyap2'], TOL['lyap3']])))
                                   for k in ('lyapunov_target', 'lyapunov_net') if k in rep['metrics']}
        res['runs'][mode] = run
        print(f"{mode:6} stages {rep['seconds']['total']:6.1f} s  (command {wall:.1f} s, cpu {rep['cpu_seconds']['total']:.1f} s)  " +
              '  '.join(f'{k} {v:.2f}' for k,v in stages.items()), flush=True)
        if a.baseline: print(f"       metrics within tolerance of {a.baseline}: {run['vs_baseline']['all_within_tolerance']}")
    if 'quiet' in res['runs']:
        from ddm_nb.cost import COST, calibrate, estimate_seconds
        from ddm_nb.presets import get_preset
        res['calibration'] = calibrate(a.preset or 'lorenz', res['runs']['quiet']['cpu_s'], a.quick)
        res['cost_model_now'] = {k:v for k,v in COST.items()}
        if {k: COST.get(k) for k in res['calibration']} != res['calibration']:
            print(f"the cost model moved: set COST in nbs/17_cost.ipynb to {dict(machine=COST['machine'], **res['calibration'])} (tests/test_demo_cli.py checks it)")
        res['estimate_with_cost_model_now_s'] = round(estimate_seconds(get_preset(a.preset), a.quick), 1)
    out = Path(a.out or ROOT/'bench'/'results'/f"demo{'-quick' if a.quick else ''}-cpu.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print(f'wrote {out}')

if __name__ == '__main__': main()
