"""Benchmark the closed-form fit (ddm_nb.matching.fit, ridge) over an (N, K) grid: seconds, held-out drift error and peak memory.

    python bench/bench_fit.py                       # CPU grid N 256 1024 x K 1e4 1e5, 2 threads -> bench/results/fit-cpu.json
    python bench/bench_fit.py --big                 # N = 4096 from K = 1e6 samples, CG then the float64 Gram on the same samples, RSS cap -> bench/results/fit-big-cpu.json
    python bench/bench_fit.py --device cuda --grid 4096:100000 16384:1000000 --out bench/results/fit-cuda.json

Each (N, K) point runs in a fresh process (a CPU's peak RSS never goes down) on Lorenz-63 samples: K Gaussian points over the
attractor's extent for the fit plus K/4 held out, so that the time is the fit's alone (`sample_s` times drawing K samples from the
invariant measure with `sample_target`, when asked). `--big` fits the same samples twice, each in its own process: `ridge_fit`'s
sketch-preconditioned CG (`Ridge(method='cg')`) and the float64 Gram (`Ridge(method='gram')`), and records the speed-up and the ratio of their
held-out drift errors (the issue's target: ≥ 3× faster, ≤ 460 s on 2 cores, drift error within 1.2× of the Gram's). Peak memory is the process's peak RSS above its baseline after the warm-up
(CPU) or the CUDA allocator's peak (GPU). `--precision` compares, at one size, the float64 accumulation the library uses with
float32 features (Gram in float32, accumulated in float64, the ridge raised until the Cholesky factor exists, then refined):
the held-out drift error and the time of each.
"""
import argparse, json, os, subprocess, sys, threading, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from bench_sim import meta, peak_rss_mb, sync, write_json

def lorenz_z(K, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(K, 3, generator=g)*torch.tensor([8., 9., 8.5]) + torch.tensor([0., 0., 23.5])

def one_fit(N, K, device, threads, sample=False, method='auto'):
    "Fit N neurons from K samples (+K/4 held out) with `Ridge(method=method)`; wall and CPU time of the fit and of its solve, errors, peak memory."
    from ddm_nb.sde import Lorenz
    from ddm_nb.sampler import sample_target
    from ddm_nb.matching import fit
    import ddm_nb.solvers as S
    torch.set_num_threads(threads)
    lor,z = Lorenz(),lorenz_z(int(K*1.25))
    fit(lor, 64, tau=0.05, z=z[:2000], device=device, solver=S.Ridge(method=method))        # warm-up: every code path touched once
    rf,solve,seen = S.ridge_fit,S.Ridge.solve,{}
    def timed(self, p):
        t,c = time.perf_counter(),time.process_time(); r = solve(self, p)
        seen.update(solve_s=time.perf_counter() - t, solve_cpu_s=time.process_time() - c); return r
    S.ridge_fit,S.Ridge.solve = (lambda *a, **k: rf(*a, info=seen, **k)),timed   # record the method taken, CG's iterations and the solve's time
    gpu = torch.device(device).type == 'cuda'
    if gpu: torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()/2**20
    else: base = peak_rss_mb()
    sync(device); t,c = time.perf_counter(),time.process_time()
    net,rep = fit(lor, N, tau=0.05, z=z, device=device, solver=S.Ridge(method=method))
    sync(device); sec,cpu = time.perf_counter() - t,time.process_time() - c
    peak = (torch.cuda.max_memory_allocated()/2**20 if gpu else peak_rss_mb()) - base
    r = dict(N=N, K=K, method=seen.get('method', method), iterations=seen.get('iterations'), seconds=sec, cpu_s=cpu, solve_s=seen.get('solve_s'), solve_cpu_s=seen.get('solve_cpu_s'),
             check_s=(rep.get('closed_loop') or {}).get('seconds'), drift_error=rep['drift_error'], latent_drift_error=rep['latent_drift_error'], rank_W=rep['rank_W'],
             peak_mb=peak, peak_rss_mb=peak_rss_mb())
    if sample:
        t = time.perf_counter(); sample_target(lor, int(K*1.25), device=device); sync(device); r['sample_s'] = time.perf_counter() - t
    return r

def precision(N, K, device, threads, chunk=8192, jitter=1e-5, refine=3):
    "Held-out drift error of the ridge with float64 (the library) against float32 features, same samples and embedding."
    from ddm_nb.sde import Lorenz
    from ddm_nb.solvers import ridge_fit, random_embedding, drift_errors
    from ddm_nb.network import RNN
    torch.set_num_threads(threads)
    from ddm_nb.simulate import to_device
    lor,tau = to_device(Lorenz(), device),0.05
    z = lorenz_z(int(K*1.25)).to(device); ztr,zte = z[:K],z[K:]
    M,c = random_embedding(lor, N); M,c = M.to(device),c.to(device)
    def data(i, j, dt):
        zc = ztr[i:j]; return torch.tanh(zc@M.T + c).to(dt), (tau*lor.f(0., zc) + zc).to(dt)
    def err(A, beta): return drift_errors(RNN(M@A.float(), M@beta.float() + c, M, c, tau=tau), lor, zte)[0]
    res = {}
    sync(device); t = time.perf_counter(); A,beta = ridge_fit(lambda i,j: data(i, j, torch.float32), 1e-8, K=K, chunk=chunk); sync(device)
    res['float64'] = dict(seconds=time.perf_counter()-t, drift_error=err(A, beta))
    sync(device); t = time.perf_counter()
    G = H = None
    for i in range(0, K, chunk):                      # float32 products, float64 accumulation, shifted sums as in ridge_fit
        P,Y = data(i, min(i+chunk, K), torch.float32)
        if G is None:
            s,sy = P.mean(0),Y.mean(0)
            G = torch.zeros(N, N, dtype=torch.float64, device=device); H = torch.zeros(N, 3, dtype=torch.float64, device=device)
            sp = torch.zeros(N, dtype=torch.float64, device=device); sq = torch.zeros(3, dtype=torch.float64, device=device)
        P,Y = P-s,Y-sy
        G += (P.T@P).double(); H += (P.T@Y).double(); sp += P.sum(0, dtype=torch.float64); sq += Y.sum(0, dtype=torch.float64)
    dp,dy = sp/K,sq/K; mu,Ym = s.double()+dp,sy.double()+dy
    G -= K*torch.outer(dp, dp); H -= K*torch.outer(dp, dy)
    reg = 1e-8*K + 1e-12*G.diagonal().mean()
    out = {}
    for jit in (0., jitter):
        Gj = G.clone(); Gj.diagonal().add_(reg + jit*G.diagonal().mean())
        L,info = torch.linalg.cholesky_ex(Gj)
        if int(info): out[f'jitter_{jit:g}'] = 'not positive definite'; continue
        A = torch.cholesky_solve(H, L)
        errs = [err(A.T, Ym - A.T@mu)]
        for _ in range(refine):                       # iterative refinement: normal-equation residual in float64, same factor
            R = -reg*A
            for i in range(0, K, chunk):
                P,Y = data(i, min(i+chunk, K), torch.float64); P = P - mu
                R += P.T@((Y - Ym) - P@A)
            A = A + torch.cholesky_solve(R, L); errs.append(err(A.T, Ym - A.T@mu))
        out[f'jitter_{jit:g}'] = dict(drift_error_by_refinement=errs)
    sync(device); res['float32'] = dict(seconds=time.perf_counter()-t, **out)
    return dict(N=N, K=K, **res)

def in_subprocess(fn, *args, cap_gb=None):
    "Run `fn(*args)` in a fresh Python; kill it if its RSS passes `cap_gb`; return its result."
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_fit as b; print('RESULT', json.dumps(b.{fn}(*{args!r})))"
    p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    peak,killed = [0.],[False]
    def watch():
        while p.poll() is None:
            try: rss = int(next(l for l in open(f'/proc/{p.pid}/status') if l.startswith('VmRSS')).split()[1])/2**20
            except (OSError, StopIteration): break
            peak[0] = max(peak[0], rss)
            if cap_gb and rss > cap_gb: killed[0] = True; p.kill()
            time.sleep(0.5)
    w = threading.Thread(target=watch, daemon=True); w.start()
    out,_ = p.communicate(); w.join()
    if killed[0]: raise MemoryError(f'{fn}{args} passed the {cap_gb} GB RSS cap (peak seen {peak[0]:.1f} GB)')
    if p.returncode: raise RuntimeError(f'{fn}{args} failed with exit code {p.returncode}')
    r = json.loads(next(l for l in out.splitlines() if l.startswith('RESULT'))[7:])
    if isinstance(r, dict): r['watched_peak_rss_gb'] = peak[0]
    return r

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--grid', nargs='+', default=None, help='N:K points (default 256:10000 256:100000 1024:10000 1024:100000)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--big', action='store_true', help='only N = 4096 from K = 1e6 samples, by CG and by the float64 Gram, capped at --cap-gb of RSS')
    ap.add_argument('--cap-gb', type=float, default=20.)
    ap.add_argument('--precision', default='1024:100000', help="N:K of the float32-vs-float64 comparison ('' to skip)")
    ap.add_argument('--sample', action='store_true', help='also time sample_target for the largest K')
    ap.add_argument('--out', default=None)
    a = ap.parse_args(argv)
    gpu = torch.device(a.device).type == 'cuda'
    th = torch.get_num_threads() if gpu else a.threads
    grid = ['4096:1000000'] if a.big else (a.grid or ['256:10000', '256:100000', '1024:10000', '1024:100000'])
    pts = [tuple(int(float(v)) for v in g.split(':')) for g in grid]
    rep = dict(kind='fit-big' if a.big else 'fit', **meta(a.device, th), cap_gb=a.cap_gb if a.big else None, fit=[])
    Kmax = max(K for _,K in pts)
    for N,K in pts:
        for method in (('cg', 'gram') if a.big else ('auto',)):
            m = meta(a.device, th)
            r = in_subprocess('one_fit', N, K, a.device, th, bool(a.sample) and K == Kmax and method != 'gram', method, cap_gb=a.cap_gb)
            r.update(m, load_after=round(os.getloadavg()[0], 2)); rep['fit'].append(r); print(json.dumps(r), flush=True)
    if a.big:
        cg,gram = rep['fit'][0],rep['fit'][1]
        rep['cg_vs_gram'] = dict(speedup=gram['seconds']/cg['seconds'], speedup_cpu=gram['cpu_s']/cg['cpu_s'], solve_speedup=gram['solve_s']/cg['solve_s'],
                                 drift_error_ratio=cg['drift_error']/gram['drift_error'])
        print(json.dumps(rep['cg_vs_gram']), flush=True)
    if a.precision and not a.big:
        N,K = (int(float(v)) for v in a.precision.split(':'))
        rep['precision'] = in_subprocess('precision', N, K, a.device, th, cap_gb=a.cap_gb); rep['precision'].update(meta(a.device, th))
        print(json.dumps(rep['precision']), flush=True)
    write_json(rep, a.out or Path(__file__).parent/'results'/f"{'fit-big' if a.big else 'fit'}-{a.device}.json")

if __name__ == '__main__': main()
