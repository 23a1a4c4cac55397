"""Benchmark the hot paths: one SDE step of an N-neuron network, batched, against torchsde, a plain PyTorch loop and the bare matmul.

    python bench/bench_sim.py                       # CPU sizes, writes bench/results/sim-<device>.json and .png
    python bench/bench_sim.py --device cuda --sizes 256 1024 4096 --batch 1024

Per step, for the same random asymmetric network `tau dx = (-x + W tanh(x) + b) dt + tau Sigma dW` (Euler–Maruyama):
  ddm        ddm_nb.simulate.simulate (the library's loop: noise, drift, divergence tracking, sparse saving)
  ddm_fused  the same with fused=True (torch.compile; CUDA graphs on a GPU)
  ddm_bf16   the library's loop in bfloat16 (dtype=torch.bfloat16); --tf32 allows TF32 matmuls for the float32 runs on a GPU
  torchsde   torchsde.sdeint(method='euler') on the same network object
  plain      a hand-written PyTorch loop: y += drift*dt + noise, nothing else
  matmul     tanh(x) @ W.T alone: the floor of any step
Also: the closed-form fit time (ddm_nb.matching.fit, ridge), peak memory (CUDA allocator, or process RSS on a CPU), the
saved-output and peak memory of a sparse-saving simulation at 1x and 10x the steps, and the peak memory of gradient
training (fit method='adam') against the minibatch size, each size in a fresh process.
"""
import argparse, json, math, platform, resource, sys, time
from pathlib import Path
import torch

def make_net(N, device, d=3, seed=0):
    from ddm_nb.network import RNN
    from ddm_nb.simulate import to_device
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(N, d, generator=g)
    net = RNN(torch.randn(N, N, generator=g)/math.sqrt(N), torch.zeros(N), M, 0.5*torch.randn(N, generator=g), tau=0.1, L=0.1*torch.eye(d))
    return to_device(net, device)

def sync(device):
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()

def timeit(fn, steps, device, reps=3):
    "Best of `reps` wall times of `fn()` per step, in microseconds."
    fn(); sync(device)
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter(); fn(); sync(device); best = min(best, time.perf_counter()-t)
    return 1e6*best/steps

def bench_size(N, B, steps, device, skip=()):
    from ddm_nb.simulate import simulate
    net = make_net(N, device); dt = 0.01
    x0 = torch.zeros(B, N, device=device)
    out = dict(N=N, batch=B, steps=steps)
    out['ddm'] = timeit(lambda: simulate(net, x0, steps*dt, dt, save_every=steps, seed=0, device=device, progress=False), steps, device)
    if 'bf16' not in skip:
        out['ddm_bf16'] = timeit(lambda: simulate(net, x0, steps*dt, dt, save_every=steps, seed=0, device=device, progress=False, dtype=torch.bfloat16), steps, device)
    if 'fused' not in skip:
        t = time.perf_counter(); simulate(net, x0, 2*dt, dt, seed=0, device=device, fused=True); out['fused_compile_s'] = time.perf_counter()-t
        out['ddm_fused'] = timeit(lambda: simulate(net, x0, steps*dt, dt, save_every=steps, seed=0, device=device, progress=False, fused=True), steps, device)
    if 'torchsde' not in skip:
        try:
            import torchsde
            ts = torch.tensor([0., steps*dt], device=device)
            out['torchsde'] = timeit(lambda: torchsde.sdeint(net, x0, ts, dt=dt, method='euler'), steps, device, reps=2)
        except ImportError: out['torchsde'] = None
    W,b,S = net.W,net.b,net.M@net.L
    def plain():
        y = x0.clone()
        with torch.no_grad():
            for _ in range(steps):
                y = y + (torch.tanh(y)@W.T + b - y)*(dt/net.tau) + (torch.randn(B, S.shape[1], device=device)*math.sqrt(dt))@S.T
        return y
    out['plain'] = timeit(plain, steps, device)
    def mm():
        with torch.no_grad():
            for _ in range(steps): r = torch.tanh(x0)@W.T
        return r
    out['matmul'] = timeit(mm, steps, device)
    for k in ('ddm', 'ddm_fused', 'ddm_bf16', 'plain'):
        if out.get(k) and out.get('torchsde'): out[f'speedup_{k}_vs_torchsde'] = out['torchsde']/out[k]
        if out.get(k): out[f'{k}_over_matmul'] = out[k]/out['matmul']
    return out

def bench_fit(N, K, device):
    from ddm_nb.sde import Lorenz
    from ddm_nb.matching import fit
    z = torch.randn(K, 3)*torch.tensor([8., 9., 8.5]) + torch.tensor([0., 0., 23.5])
    fit(Lorenz(), N, tau=0.05, z=z[:2000], device=device)   # warm-up
    sync(device); t = time.perf_counter(); fit(Lorenz(), N, tau=0.05, z=z, device=device); sync(device)
    return dict(N=N, samples=K, seconds=time.perf_counter()-t)

def peak_memory(device):
    if torch.device(device).type == 'cuda': return torch.cuda.max_memory_allocated()/2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024

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
    "Peak memory (MiB) of `fit(method='adam')` with minibatch `B` (and 1.25 B samples), above this process's baseline."
    from ddm_nb.sde import Lorenz
    from ddm_nb.matching import fit
    z = torch.randn(int(1.25*B), 3)*torch.tensor([8., 9., 8.5]) + torch.tensor([0., 0., 23.5])
    if torch.device(device).type == 'cuda': torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()/2**20
    else: base = peak_memory(device)
    fit(Lorenz(), N, tau=0.05, method='adam', epochs=2, batch_size=B, z=z, device=device, progress=False)
    return peak_memory(device) - base

def train_memory(device, N=1024, batches=(2048, 8192, 32768)):
    "Training memory against minibatch size, one fresh process per size (a CPU's peak RSS never goes down)."
    import subprocess
    res = {}
    for B in batches:
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_sim as b, torch; torch.set_num_threads(1); print(b._train_peak({N}, {B}, {device!r}))"
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
        res[B] = dict(N=N, peak_mb=float(out.stdout.strip().splitlines()[-1]))
    return res

def plot(res, path):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    keys = [k for k in ('ddm', 'ddm_fused', 'ddm_bf16', 'torchsde', 'plain', 'matmul') if any(r.get(k) for r in res)]
    fig,ax = plt.subplots(figsize=(6, 3.5))
    for i,k in enumerate(keys):
        ax.bar([j + 0.15*i for j in range(len(res))], [r.get(k) or 0 for r in res], 0.15, label=k)
    ax.set_xticks([j + 0.3 for j in range(len(res))], [f"N={r['N']}\nB={r['batch']}" for r in res])
    ax.set_yscale('log'); ax.set_ylabel('µs per step'); ax.legend(fontsize=8); ax.set_title(f"one SDE step ({res[0]['device']})")
    fig.savefig(path, dpi=110, bbox_inches='tight')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--sizes', type=int, nargs='+', default=None, help='N values (default: 256 1024 on CPU, 256 1024 4096 on GPU)')
    ap.add_argument('--batch', type=int, nargs='+', default=None, help='batch sizes (default: 64 256 on CPU, 1024 on GPU)')
    ap.add_argument('--steps', type=int, default=None)
    ap.add_argument('--fit', type=int, nargs=2, default=None, metavar=('N', 'K'), help='closed-form fit size (default 1024 1e5 CPU, 4096 1e5 GPU)')
    ap.add_argument('--skip', nargs='*', default=[], help="skip parts: fused bf16 torchsde fit train")
    ap.add_argument('--tf32', action='store_true', help='allow TF32 matmuls on a GPU (torch.backends.cuda.matmul.allow_tf32)')
    ap.add_argument('--out', default=None)
    a = ap.parse_args(argv)
    gpu = torch.device(a.device).type == 'cuda'
    if a.tf32: torch.backends.cuda.matmul.allow_tf32 = True
    sizes = a.sizes or ([256, 1024, 4096] if gpu else [256, 1024])
    batches = a.batch or ([1024] if gpu else [64, 256])
    steps = a.steps or (500 if gpu else 100)
    res = []
    for N in sizes:
        for B in batches:
            r = bench_size(N, B, steps, a.device, a.skip); r['device'] = a.device; res.append(r)
            print(json.dumps(r), flush=True)
    rep = dict(device=a.device, tf32=a.tf32, gpu=torch.cuda.get_device_name() if gpu else None, cpu=platform.processor() or platform.machine(),
               threads=torch.get_num_threads(), torch=torch.__version__, step=res, sparse_memory=sparse_memory(a.device),
               peak_memory_mb=peak_memory(a.device))
    if 'train' not in a.skip: rep['train_memory'] = train_memory(a.device); print(json.dumps(rep['train_memory']))
    if 'fit' not in a.skip:
        N,K = a.fit or ((4096, 100_000) if gpu else (1024, 100_000))
        rep['fit'] = bench_fit(N, K, a.device); print(json.dumps(rep['fit']))
    out = Path(a.out or Path(__file__).parent/'results'/f"sim-{a.device}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix('.json.tmp'); tmp.write_text(json.dumps(rep, indent=2)); tmp.replace(out)
    plot(res, out.with_suffix('.png'))
    print(f'wrote {out}')

if __name__ == '__main__': main()
