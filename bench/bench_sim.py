"""Benchmark one SDE step of an N-neuron network, batched: the library's `simulate` against torchsde, a plain PyTorch loop and the bare matmul.

    python bench/bench_sim.py                       # CPU: N 256 1024 4096, batch 64, 1 and 2 threads -> bench/results/sim-cpu.json
    python bench/bench_sim.py --device cuda         # GPU: N 256 1024 4096, batch 1024 (bench/gpu.sh runs fp32, TF32 and bf16)

Per step, for the same random asymmetric network `tau dx = (-x + W tanh(x) + b) dt + tau Sigma dW` (Euler–Maruyama):
  ddm        ddm_nb.simulate.simulate as called by users (default path: the network's in-place fast step on this device)
  ddm_fused  the same with fused=True (torch.compile; CUDA graphs on a GPU); fused_compile_s is its one-off compile
  ddm_bf16   the library's loop in bfloat16 (dtype=torch.bfloat16)
  torchsde   torchsde.sdeint(method='euler') on the same network object (it uses the network's g_prod)
  plain      a hand-written PyTorch loop: y = y + drift*dt + noise, nothing else
  matmul     tanh(x) @ W.T alone: the floor of any step
Timings interleave the variants (rounds of one call each, rotating order; best wall time per variant), so that all meet the same
background load; `cpu_time` has the best process CPU times too (on one thread, a measure that other processes' load inflates less).
Each row records the machine, torch, the thread count, and the load average before and after it: `shared` is true when
other work was running on the cores (1-minute load above 0.5 before the row started), so its absolute times are inflated.
Also: sparse-saving memory (saved output and peak RSS at 1x and 10x the steps) and the peak memory of gradient training
(fit method='adam') against the minibatch size, each size in a fresh process. The closed-form fits are in bench/bench_fit.py.
"""
import argparse, json, math, os, platform, resource, sys, time
from pathlib import Path
import torch

def machine(device='cpu'):
    "The machine in words: CPU model and core count, or the GPU."
    if torch.device(device).type == 'cuda': return torch.cuda.get_device_name()
    try: model = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): model = platform.processor() or platform.machine()
    return f'{model}, {os.cpu_count()} cores'

def commit():
    "The repository's commit, with '+dirty' when the library's sources differ from it."
    import subprocess
    root = Path(__file__).resolve().parent.parent
    try:
        h = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', 'ddm_nb', 'bench/bench_sim.py', 'bench/bench_fit.py'], cwd=root, capture_output=True, text=True).stdout.strip()
        return h + ('+dirty' if dirty else '')
    except (OSError, subprocess.CalledProcessError): return None

def meta(device, threads):
    load = os.getloadavg()[0]
    return dict(machine=machine(device), device=str(device), threads=threads, torch=torch.__version__, load_before=round(load, 2), shared=load > 0.5,
                date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), commit=commit())

def make_net(N, device, d=3, seed=0, lowrank=False):
    "A random network: dense W (N × N), or with `lowrank` the closed form's shape W = M A (rank d), kept factored."
    from ddm_nb.sde import LowRank
    from ddm_nb.network import RNN
    from ddm_nb.simulate import to_device
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(N, d, generator=g)
    W = LowRank(M, torch.randn(N, d, generator=g)/math.sqrt(N)) if lowrank else torch.randn(N, N, generator=g)/math.sqrt(N)
    net = RNN(W, torch.zeros(N), M, 0.5*torch.randn(N, generator=g), tau=0.1, L=0.1*torch.eye(d))
    return to_device(net, device)

def sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()

def timeit(fns, steps, device, rounds=7):
    """Per-step microseconds of each of `fns` (name -> callable): after a warm-up, `rounds` rounds that run every function once,
    in rotating order, so that all meet the same background load; the best wall time of each, and its best process CPU time.
    `steps`: the steps each call runs, one number or a dict name -> number."""
    names = list(fns)
    steps = steps if isinstance(steps, dict) else {k: steps for k in names}
    for k in names: fns[k](); sync(device)
    wall,cpu = {k: math.inf for k in names},{k: math.inf for k in names}
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t,c = time.perf_counter(),time.process_time(); fns[k](); sync(device)
            wall[k],cpu[k] = min(wall[k], time.perf_counter()-t),min(cpu[k], time.process_time()-c)
    return {k: 1e6*v/steps[k] for k,v in wall.items()}, {k: 1e6*v/steps[k] for k,v in cpu.items()}

def bench_size(N, B, steps, device, skip=()):
    from ddm_nb.simulate import simulate
    net = make_net(N, device, lowrank=True); dt = 0.01     # the closed form's network, W = M A factored (issue 26)
    net_d = net.replace(W=net.W)                           # the same network with W dense: today's dense step
    x0 = torch.zeros(B, N, device=device)
    fast = max(steps, 200)   # the factored variants run enough steps that simulate's set-up (checks, buffers) is amortised as in real use
    out = dict(N=N, batch=B, steps=steps, steps_factored=fast, rank=net.W_U.shape[1])
    sim = lambda n=net, k=fast, **kw: simulate(n, x0, k*dt, dt, save_every=k, seed=0, device=device, progress=False, **kw)
    fns = dict(ddm=sim, dense=lambda: sim(net_d, steps))
    if 'bf16' not in skip: fns['ddm_bf16'] = lambda: sim(dtype=torch.bfloat16)
    if 'fused' not in skip:
        t = time.perf_counter(); simulate(net, x0, 2*dt, dt, seed=0, device=device, fused=True); sync(device); out['fused_compile_s'] = time.perf_counter()-t
        fns['ddm_fused'] = lambda: sim(fused=True)
    if 'torchsde' not in skip:
        try:
            import torchsde
            ts = torch.tensor([0., fast*dt], device=device)
            fns['torchsde'] = lambda: torchsde.sdeint(net, x0, ts, dt=dt, method='euler')
        except ImportError: out['torchsde'] = None
    W,b,S = net.W,net.b,net.M@net.L
    def plain():
        y = x0.clone()
        with torch.no_grad():
            for _ in range(steps):
                y = y + (torch.tanh(y)@W.T + b - y)*(dt/net.tau) + (torch.randn(B, S.shape[1], device=device)*math.sqrt(dt))@S.T
        return y
    def mm():
        with torch.no_grad():
            for _ in range(steps): r = torch.tanh(x0)@W.T
        return r
    U,V = net.W_U,net.W_V
    def floor():   # the factored floor: one φ over (B, N) and the two thin products
        with torch.no_grad():
            for _ in range(fast): r = torch.addmm(x0, torch.tanh(x0)@V, U.T)
        return r
    def phi():
        with torch.no_grad():
            for _ in range(fast): r = torch.tanh(x0)
        return r
    fns.update(plain=plain, matmul=mm, floor=floor, phi=phi)
    if torch.device(device).type == 'cpu':   # the tanh simulate uses on a CPU: numpy's, into a buffer
        import numpy as np
        xb,rb = x0.numpy(),np.empty(tuple(x0.shape), np.float32)
        def phi_np():
            for _ in range(fast): np.tanh(xb, out=rb)
            return rb
        fns['phi_np'] = phi_np
    wall,cpu = timeit(fns, {k: steps if k in ('dense', 'plain', 'matmul') else fast for k in fns}, device)
    out.update(wall); out['cpu_time'] = cpu
    for k in ('ddm', 'ddm_fused', 'ddm_bf16', 'plain'):
        if out.get(k) and out.get('torchsde'): out[f'speedup_{k}_vs_torchsde'] = out['torchsde']/out[k]
        if out.get(k): out[f'{k}_over_matmul'] = out[k]/out['matmul']
    if cpu.get('torchsde'): out['cpu_time_speedup_ddm_vs_torchsde'] = cpu['torchsde']/cpu['ddm']
    out['cpu_time_ddm_over_matmul'] = cpu['ddm']/cpu['matmul']
    for k in ('dense', 'floor', 'phi', 'phi_np', 'matmul'):
        if out.get(k): out[f'ddm_vs_{k}'] = out[k]/out['ddm']   # > 1: simulate is faster
    if out.get('ddm_fused'): out['fused_wins'] = out['ddm_fused'] < out['ddm']
    return out

def peak_rss_mb():
    "Peak resident memory of this process (MiB): VmHWM, which starts afresh at exec (ru_maxrss keeps the parent's peak across fork + exec)."
    try: return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))/1024
    except (OSError, StopIteration): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

def rss_mb():
    "This process's resident memory now (MiB): the baseline a later peak is measured from (the peak so far may be higher, from the imports)."
    try: return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))/1024
    except (OSError, StopIteration): return peak_rss_mb()

def peak_memory(device):
    if torch.device(device).type == 'cuda': return torch.cuda.max_memory_allocated()/2**20
    return peak_rss_mb()

def sparse_memory(device, N=256, B=256):
    "Simulation memory with sparse saving does not grow with steps: saved-output bytes and peak memory for 1x and 10x the steps."
    from ddm_nb.simulate import simulate
    net = make_net(N, device); x0 = torch.zeros(B, N, device=device); res = {}
    for steps in (200, 2000):
        if torch.device(device).type == 'cuda': torch.cuda.reset_peak_memory_stats()
        _,ys = simulate(net, x0, steps*0.01, 0.01, save_every=steps//2, seed=0, device=device)
        res[steps] = dict(saved_mb=ys.numel()*ys.element_size()/2**20, peak_mb=peak_memory(device))
    return res

def _train_peak(N, B, device):
    "Peak memory (MiB) of `fit(solver=Adam(...))` with minibatch `B` (and 1.25 B samples), above this process's baseline."
    from ddm_nb.sde import Lorenz
    from ddm_nb.solvers import Adam
    from ddm_nb.matching import fit
    z = torch.randn(int(1.25*B), 3)*torch.tensor([8., 9., 8.5]) + torch.tensor([0., 0., 23.5])
    if torch.device(device).type == 'cuda': torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()/2**20
    else: base = rss_mb()
    fit(Lorenz(), N, tau=0.05, solver=Adam(epochs=2, batch_size=B), z=z, device=device, progress=False)
    return peak_memory(device) - base

def train_memory(device, N=1024, batches=(2048, 8192, 32768)):
    "Gradient-training memory against minibatch size, one fresh process per size (a CPU's peak RSS never goes down)."
    import subprocess
    res = {}
    for B in batches:
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_sim as b, torch; torch.set_num_threads(1); print(b._train_peak({N}, {B}, {device!r}))"
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
        res[B] = dict(N=N, peak_mb=float(out.stdout.strip().splitlines()[-1]))
    return res

def long_run(device, N=16384, B=16, steps=10_000, save_every=100, method='euler'):
    "The issue's large run in a fresh one-thread process: a factored N = 16,384 network, 16 paths × 10⁴ steps: wall and process CPU seconds, saved MiB, peak memory."
    import subprocess
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_sim as b, torch; torch.set_num_threads(1); print(json.dumps(b._long({device!r}, {N}, {B}, {steps}, {save_every}, {method!r})))"
    return json.loads(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])

def _long(device, N, B, steps, save_every, method):
    from ddm_nb.simulate import simulate
    net = make_net(N, device, lowrank=True); x0 = torch.zeros(B, N, device=device)
    base = rss_mb() if torch.device(device).type == 'cpu' else 0.
    t,c = time.perf_counter(),time.process_time()
    _,ys = simulate(net, x0, steps*0.01, 0.01, save_every=save_every, seed=0, device=device, method=method, progress=False); sync(device)
    return dict(N=N, batch=B, steps=steps, save_every=save_every, method=method, wall_s=time.perf_counter()-t, cpu_s=time.process_time()-c,
                saved_mb=ys.numel()*ys.element_size()/2**20, peak_mb=peak_memory(device), baseline_mb=base, peak_above_baseline_mb=peak_memory(device)-base,
                net_numbers=sum(t.numel() for t in net.buffers()), threads=1)

def plot(res, path):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    keys = [k for k in ('ddm', 'ddm_fused', 'ddm_bf16', 'torchsde', 'plain', 'matmul') if any(r.get(k) for r in res)]
    fig,ax = plt.subplots(figsize=(7, 3.5))
    for i,k in enumerate(keys):
        ax.bar([j + 0.13*i for j in range(len(res))], [r.get(k) or 0 for r in res], 0.13, label=k)
    ax.set_xticks([j + 0.3 for j in range(len(res))], [f"N={r['N']}\nB={r['batch']}\n{r['threads']}t" for r in res], fontsize=7)
    ax.set_yscale('log'); ax.set_ylabel('µs per step'); ax.legend(fontsize=7); ax.set_title(f"one SDE step ({res[0]['device']})")
    fig.savefig(path, dpi=110, bbox_inches='tight')

def write_json(rep, out):
    out = Path(out); out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.json.tmp'); tmp.write_text(json.dumps(rep, indent=2)); tmp.replace(out)
    print(f'wrote {out}')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--sizes', type=int, nargs='+', default=[256, 1024, 4096, 16384], help='N values')
    ap.add_argument('--batch', type=int, nargs='+', default=None, help='batch sizes (default: 64 on CPU, 1024 on GPU)')
    ap.add_argument('--threads', type=int, nargs='+', default=None, help='CPU thread counts (default: 1 2)')
    ap.add_argument('--steps', type=int, default=None, help='steps per timing (default: scaled so each N costs about the same)')
    ap.add_argument('--skip', nargs='*', default=[], help="skip parts: fused bf16 torchsde memory train")
    ap.add_argument('--fused-sizes', type=int, nargs='*', default=None, help='N values that also time fused=True (default: all on a GPU, 256 1024 on a CPU)')
    ap.add_argument('--tf32', action='store_true', help='allow TF32 matmuls on a GPU (torch.backends.cuda.matmul.allow_tf32)')
    ap.add_argument('--long', action='store_true', help='also the N = 16,384, 16 × 1e4-step run with peak memory (one thread)')
    ap.add_argument('--memory-only', action='store_true', help='only the N = 16,384 run and the training memory, written into the existing JSON (--out)')
    ap.add_argument('--out', default=None, help='JSON path (default bench/results/sim-<device>[-tf32].json)')
    a = ap.parse_args(argv)
    gpu = torch.device(a.device).type == 'cuda'
    if a.tf32: torch.backends.cuda.matmul.allow_tf32 = True
    batches = a.batch or ([1024] if gpu else [64])
    threads = [torch.get_num_threads()] if gpu else (a.threads or [1, 2])
    fsizes = a.fused_sizes if a.fused_sizes is not None else (a.sizes if gpu else [256, 1024])
    if a.memory_only:
        out = Path(a.out or Path(__file__).parent/'results'/f"sim-{a.device}.json"); rep = json.loads(out.read_text())
        rep.update(long=long_run(a.device), train_memory=train_memory(a.device), memory_rerun=meta(a.device, 1)); print(json.dumps(rep['long']), json.dumps(rep['train_memory']))
        return write_json(rep, out)
    res = []
    for th in threads:
        torch.set_num_threads(th)
        for N in a.sizes:
            for B in batches:
                steps = a.steps or (200 if gpu else max(10, round(200*min(1., (256/N)**2*64/B))))
                skip = list(a.skip) + ([] if N in fsizes and th == threads[0] else ['fused'])
                m = meta(a.device, th)
                r = bench_size(N, B, steps, a.device, skip); r.update(m, load_after=round(os.getloadavg()[0], 2), tf32=a.tf32); res.append(r)
                print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k,v in r.items()}), flush=True)
    rep = dict(kind='sim', **meta(a.device, threads), tf32=a.tf32, step=res)
    if 'memory' not in a.skip: rep['sparse_memory'] = sparse_memory(a.device); rep['peak_memory_mb'] = peak_memory(a.device)
    if a.long:
        torch.set_num_threads(1); rep['long'] = long_run(a.device); print(json.dumps(rep['long']), flush=True)
    if 'train' not in a.skip: rep['train_memory'] = train_memory(a.device); print(json.dumps(rep['train_memory']), flush=True)
    out = Path(a.out or Path(__file__).parent/'results'/f"sim-{a.device}{'-tf32' if a.tf32 else ''}.json")
    write_json(rep, out)
    plot(res, out.with_suffix('.png'))

if __name__ == '__main__': main()
