"""dysts' 3-D chaotic flows fitted as a new user would: `fit(from_dysts(name), 512, y0=target.y0, device='cpu')`, defaults otherwise.

    python bench/bench_dysts.py                          # every flow of chaotic_flows() -> bench/results/dysts-cpu.json
    python bench/bench_dysts.py --names Lorenz,Chen      # some flows (added to the JSON: it is resumable)
    python bench/bench_dysts.py --subset --jobs 2        # the 16 flows of the issue-23 study, two processes of one torch thread each
    python bench/bench_dysts.py --redo                   # rerun flows already in the JSON (default: skip them and keep their rows; timeouts are retried)
    python bench/report.py                               # then the table in bench/README.md

Per flow, one row (see `ROW` below): the held-out (open-loop) drift error, the closed-loop check of fit's report (λ_max of target and
network with standard errors, D_stsp with its floor, occupancy, stuck and diverged starts, flags, verdict), the warnings, and seconds.
A fit whose report has no closed-loop result (a ddm_nb before the check existed) gets `closed_loop: null` and a note; then, unless
`--lyap off`, the bench measures λ_max of both flows itself (`bench_lyap`: 16 starts on the target's attractor, the same RK4 settings
for both) so that the table still has numbers, marked as the bench's own. A flow that fails (fit error, NaN, timeout) is a row with
its error, never a crash. The JSON is rewritten after every flow, so an interrupted run resumes where it stopped.
dysts is needed (`pip install 'ddm-nb[dysts]'`, or `pip install scipy && pip install --no-deps dysts`).
"""
import argparse, json, math, os, sys, time, traceback, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from bench_sim import machine, commit

OUT = Path(__file__).parent/'results'/'dysts-cpu.json'
SUBSET = ['Lorenz', 'Chen', 'Arneodo', 'ZhouChen', 'YuWang', 'Laser', 'PanXuZhou', 'WindmiReduced', 'Bouali2', 'Rossler',
          'SprottB', 'Halvorsen', 'Thomas', 'AtmosphericRegime', 'BelousovZhabotinsky', 'CellularNeuralNetwork']  # FINDINGS r23 §0
FIT = dict(N=512, device='cpu')   # the new user's call: fit(target, 512, y0=target.y0, device='cpu'), defaults otherwise
REL = 0.1                         # the criterion: |λ_net − λ_target| ≤ max(REL·|λ_target|, 2 SE)
# the closed-loop result's fields, as fit's report names them; the bench reads the first spelling present
CL_FIELDS = dict(lam_target=('lam_target', 'lambda_target', 'lyap_target'), lam_target_se=('lam_target_se', 'lambda_target_se', 'lyap_target_se'),
                 lam_net=('lam_net', 'lambda_net', 'lyap_net'), lam_net_se=('lam_net_se', 'lambda_net_se', 'lyap_net_se'),
                 d_stsp=('d_stsp',), d_stsp_floor=('d_stsp_floor', 'floor'), occupancy=('occupancy', 'on_attractor'),
                 stuck=('stuck', 'net_stuck'), diverged=('diverged', 'net_diverged'), flags=('flags',), ok=('ok',), seconds=('seconds', 'seconds_check'))
ROW = dict(name='flow name', status="'ok' | 'fit failed' | 'timeout'", error='one line, or None', drift_error='held-out open-loop relative drift error',
           lam_target='λ_max of the target', lam_target_se='its SE over starts', lam_net='λ_max of the network', lam_net_se='its SE',
           lam_source="'report' (fit's closed-loop check) | 'bench' (bench_lyap: no check in the report) | None", within='λ_net within max(10%, 2 SE)',
           d_stsp='D_stsp target→network (report)', d_stsp_floor='its floor (report)', occupancy='fraction of network states on the attractor (report)',
           stuck='network starts stuck at a point (report)', diverged='network starts that diverged (report)', flags="the closed-loop check's flags (report)",
           closed_loop_ok="the check's verdict (report) | None", flagged='the report warns: closed-loop not ok, or any FitWarning', warnings='FitWarning messages',
           closed_loop='the report\'s closed-loop result as it is | None', retries="fit's closed-loop retries: settings, drift error, verdict, flag per fit (None: none)", note='why a field is missing', lam_ref_dysts="dysts' own recorded λ_max",
           seconds=dict(fit="fit's wall seconds (incl. its check)", check="the check's seconds when the report gives them", bench_lyap="bench's own λ (when measured)", total='all of it'))

def pick(d, names):
    "The first of `names` present in mapping `d` (None when none is)."
    for k in names:
        v = d.get(k) if hasattr(d, 'get') else getattr(d, k, None)
        if v is not None: return v
    return None

def plain(v):
    "JSON-safe: tensors and arrays as lists, NaN and ±inf as None."
    if torch.is_tensor(v): v = v.tolist()
    if hasattr(v, 'tolist') and not isinstance(v, (list, dict, str)): v = v.tolist()
    if isinstance(v, float): return v if math.isfinite(v) else None
    if isinstance(v, dict): return {str(k): plain(x) for k,x in v.items()}
    if isinstance(v, (list, tuple)): return [plain(x) for x in v]
    return v

def as_dict(cl):
    "The closed-loop result as a dict (a `ClosedLoop` dataclass with its `ok`, or a mapping), without the per-start λ lists."
    import dataclasses
    d = dict(dataclasses.asdict(cl), ok=cl.ok) if dataclasses.is_dataclass(cl) else dict(cl) if hasattr(cl, 'keys') else dict(vars(cl))
    return {k: v for k,v in d.items() if not k.endswith('_all')}

def fit_kwargs(check_steps):
    "`check=LoopCheck(max_steps=check_steps)` where fit has the closed-loop check (notebook 04's `LoopCheck`), else nothing; and a note."
    if not check_steps: return {}, "fit's default check"
    try: from ddm_nb.divergences import LoopCheck
    except ImportError: return {}, 'this ddm_nb has no LoopCheck: fit runs without a closed-loop check'
    return dict(check=LoopCheck(max_steps=check_steps)), f'check=LoopCheck(max_steps={check_steps})'

def within(lt, lts, ln, lns, rel=REL):
    "The issue's criterion: `ln` within max(rel·|lt|, 2·√(SE_t² + SE_n²)) of `lt`; None when a number is missing."
    if lt is None or ln is None or not (math.isfinite(lt) and math.isfinite(ln)): return None if lt is None or ln is None else False
    return abs(ln - lt) <= max(rel*abs(lt), 2*math.hypot(lts or 0., lns or 0.))

def rk4(f, y, dt, steps, keep=0):
    "`steps` RK4 steps of `dy = f(y) dt` from `y` `(B, d)`; returns the last state and every state of the last `keep` steps (strided to ≤ 200)."
    saved, stride = [], max(1, keep//200)
    for i in range(steps):
        k1 = f(0., y); k2 = f(0., y + dt/2*k1); k3 = f(0., y + dt/2*k2); k4 = f(0., y + dt*k3)
        y = y + dt/6*(k1 + 2*k2 + 2*k3 + k4)
        if i >= steps - keep and (steps - 1 - i) % stride == 0: saved.append(y)
    return y, (torch.stack(saved) if saved else y[None])

def attractor_starts(target, t_fast, t_relax, B=16, seed=0, burn=200.):
    "`B` states on the attractor through `target.y0` (y0 + 1e-4 perturbations, noise-free RK4 for `burn` t_relax) and the time scales `(t_fast, t_relax)` re-estimated there."
    from ddm_nb.sampler import drift_rates
    g = torch.Generator().manual_seed(seed)
    y0 = torch.as_tensor(target.y0, dtype=torch.float64)
    y = y0 + 1e-4*(y0.abs() + 1)*torch.randn(B, len(y0), generator=g, dtype=torch.float64)
    for _ in range(4):   # the fit's time scales come from its samples: re-estimate them on the attractor until the step stops shrinking
        steps = max(10, round(burn*t_relax/(0.25*t_fast)))
        y,ys = rk4(target.f, y, 0.25*t_fast, steps, keep=steps//2)
        ok = torch.isfinite(y).all(1); y = y[ok]
        r = drift_rates(target, ys[:, ok].reshape(-1, y.shape[-1]).float()).double()
        r = r[torch.isfinite(r)]
        new = 1/float(r.max()), 1/float(r.median())
        done = new[0] >= 0.8*t_fast
        t_fast,t_relax = new
        if done: break
    return y, t_fast, t_relax

def bench_lyap(target, net, est, t=300., burn=30.):
    "λ_max of target and network (its latent flow) from the same attractor starts and RK4 settings: `(λ_t, SE_t, λ_n, SE_n)`."
    from ddm_nb.simulate import lyapunov_spectrum, Lyap
    from ddm_nb.network import LatentSDE
    y,tf,tr = attractor_starts(target, est['t_fast'], est['t_relax'])
    dt = 0.25*tf; block = 10*dt   # renormalised every 10 steps
    lyap = Lyap(t=max(1, round(t*tr/block))*block, dt=dt, burn_in=max(1, round(burn*tr/block))*block)
    out = []
    for flow in (target, LatentSDE(net)):
        _,per = lyapunov_spectrum(flow, y, lyap=lyap, k=1, renorm=block, device='cpu')
        per = per[:, 0].double(); per = per[torch.isfinite(per)]
        out += [float(per.mean()) if len(per) else math.nan, float(per.std()/math.sqrt(len(per))) if len(per) > 1 else math.nan]
    return tuple(out)

_WARM = []
def warm_up(target):
    "One small untimed fit per process (without the closed-loop check where fit has one), so that the first flow's seconds do not carry the process's first-call costs."
    from ddm_nb.matching import fit
    if _WARM: return
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        try: fit(target, 32, y0=target.y0, samples=256, independent=False, device='cpu', **({'check': False} if fit_kwargs(1)[0] else {}))
        except Exception: pass
    _WARM.append(True)

class Timeout(BaseException):
    "Over the per-flow limit: a BaseException, so that no `except Exception` inside the library or the bench swallows it."

def one(name, lyap_mode='auto', limit=900, check_steps=20_000):
    "One flow's row (never raises)."
    import signal
    def alarm(*a): raise Timeout(f'over {limit:g} s (--limit)')
    signal.signal(signal.SIGALRM, alarm); signal.alarm(int(limit))
    torch.set_num_threads(1)
    row, t0 = dict(name=name, status='ok', error=None, seconds={}), time.time()
    try:
        from ddm_nb.dysts_flows import from_dysts
        from ddm_nb.matching import fit
        from ddm_nb.sampler import FitWarning
        target = from_dysts(name)
        row['lam_ref_dysts'] = target.refs.get('lyap_max')
        warm_up(target)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always')
            kw,_ = fit_kwargs(check_steps)
            t1 = time.time(); net,rep = fit(target, FIT['N'], y0=target.y0, device=FIT['device'], **kw); row['seconds']['fit'] = time.time() - t1
        row['warnings'] = sorted({str(x.message) for x in w if issubclass(x.category, FitWarning)})
        row['drift_error'] = rep.get('drift_error')
        row['retries'] = plain(rep.get('retries'))   # fit's closed-loop retries (None: its first fit passed, or a ddm_nb without them)
        cl = rep.get('closed_loop')
        row['closed_loop'] = None if cl is None else plain(as_dict(cl))
        if cl is not None:
            c = {k: pick(row['closed_loop'], v) for k,v in CL_FIELDS.items()}
            row.update({k: plain(c[k]) for k in ('lam_target', 'lam_target_se', 'lam_net', 'lam_net_se', 'd_stsp', 'd_stsp_floor', 'occupancy', 'stuck', 'diverged', 'flags')})
            row['closed_loop_ok'] = None if c['ok'] is None else bool(c['ok'])
            row['lam_source'] = 'report'
            if c['seconds'] is not None: row['seconds']['check'] = c['seconds']
            missing = [k for k,v in c.items() if v is None]
            if missing: row['note'] = f"fit's closed-loop result has no {', '.join(missing)} (spellings tried: bench_dysts.CL_FIELDS)"
        else:
            row.update(closed_loop_ok=None, lam_source=None, note="fit's report has no closed-loop result (ddm_nb before the closed-loop check): flags, D_stsp, occupancy not available")
        if row.get('lam_net') is None and lyap_mode != 'off' and (lyap_mode == 'on' or cl is None):
            t2 = time.time()
            lt,lts,ln,lns = bench_lyap(target, net, rep['estimates'])
            row['seconds']['bench_lyap'] = time.time() - t2
            row.update(lam_target=plain(lt), lam_target_se=plain(lts), lam_net=plain(ln), lam_net_se=plain(lns), lam_source='bench')
            row['note'] = (row.get('note', '') + '; λ measured by the bench itself (bench_lyap), not by fit').lstrip('; ')
    except Timeout as e: row.update(status='timeout', error=str(e))
    except Exception as e:
        row.update(status='fit failed' if 'fit' not in row['seconds'] else 'check failed', error=f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}",
                   traceback=traceback.format_exc()[-800:])
    finally: signal.alarm(0)
    row['within'] = within(row.get('lam_target'), row.get('lam_target_se'), row.get('lam_net'), row.get('lam_net_se'))
    row['flagged'] = bool(row.get('closed_loop_ok') is False or row.get('warnings') or row['status'] != 'ok')
    row['seconds']['total'] = time.time() - t0
    return plain(row)

def _one(args): return one(*args)

def line(r):
    "One line per flow for the log."
    f = lambda v: '–' if v is None else f'{v:.3g}'
    return (f"{r['name']:24s} {r['status']:10s} drift {f(r.get('drift_error'))} λ {f(r.get('lam_target'))}±{f(r.get('lam_target_se'))} → {f(r.get('lam_net'))}±{f(r.get('lam_net_se'))} "
            f"({r.get('lam_source')}) within {r.get('within')} flagged {r.get('flagged')} {r['seconds'].get('total', 0):.0f} s {r.get('error') or ''}")

def save(out, res, head):
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.json.tmp')
    tmp.write_text(json.dumps(dict(head, results=dict(sorted(res.items()))), indent=1, ensure_ascii=False)); tmp.replace(out)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--names', default=None, help='comma-separated flows (default: all of chaotic_flows())')
    ap.add_argument('--subset', action='store_true', help='the 16 flows of the issue-23 study')
    ap.add_argument('--jobs', type=int, default=1, help='processes, each on one torch thread')
    ap.add_argument('--redo', action='store_true', help='rerun flows already in the JSON')
    ap.add_argument('--lyap', choices=('auto', 'on', 'off'), default='auto', help="the bench's own λ_max: auto = only when fit's report has none")
    ap.add_argument('--limit', type=float, default=900, help='seconds per flow before it is recorded as a timeout')
    ap.add_argument('--check-steps', type=int, default=20_000, help="the closed-loop check's LoopCheck(max_steps=...) (0: fit's default)")
    ap.add_argument('--out', default=str(OUT))
    a = ap.parse_args(argv)
    from ddm_nb.dysts_flows import chaotic_flows, import_dysts
    import ddm_nb
    flows = import_dysts(); allf = chaotic_flows()
    names = a.names.split(',') if a.names else SUBSET if a.subset else allf
    out = Path(a.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    res = old.get('results', {})
    todo = [n for n in names if a.redo or n not in res or res[n].get('status') == 'timeout']
    import importlib.metadata as md
    load,keep = round(os.getloadavg()[0], 2),bool(set(res) - set(todo))   # keep: earlier rows stay in the file, so its load and jobs are the worst of the runs
    head = dict(command='python bench/bench_dysts.py ' + ' '.join(sys.argv[1:] if argv is None else argv), date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                machine=machine('cpu'), torch=torch.__version__, ddm_nb=ddm_nb.__version__, commit=commit(), dysts=md.version('dysts'),
                load_before=max(load, old.get('load_before', 0)) if keep else load, jobs=max(a.jobs, old.get('jobs', 0)) if keep else a.jobs,
                fit=dict(FIT, call="fit(target, 512, y0=target.y0, device='cpu')", check=fit_kwargs(a.check_steps)[1]), criterion_rel=REL,
                flows=len(allf), row_schema=ROW, runs=old.get('runs', []) + [dict(command=' '.join(sys.argv), date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), names=todo, load_before=load, jobs=a.jobs)])
    print(f'{len(todo)} flows to run ({len(names) - len(todo)} already in {out}), {a.jobs} process(es)', flush=True)
    jobs = [(n, a.lyap, a.limit, a.check_steps) for n in todo]
    if a.jobs > 1:
        import multiprocessing as mp
        with mp.get_context('spawn').Pool(a.jobs, maxtasksperchild=4) as pool:
            for r in pool.imap_unordered(_one, jobs): res[r['name']] = r; print(line(r), flush=True); save(out, res, head)
    else:
        for j in jobs: r = one(*j); res[r['name']] = r; print(line(r), flush=True); save(out, res, head)
    save(out, res, dict(head, load_after=round(os.getloadavg()[0], 2)))
    print(f'wrote {out}')

if __name__ == '__main__': main()
