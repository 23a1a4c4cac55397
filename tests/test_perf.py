"Performance paths keep the numbers: fused (torch.compile) and plain steps give the same trajectories for the same seed; sparse saving keeps memory flat."
import math, torch, pytest
from ddm_nb.sde import LowRank
from ddm_nb.network import RNN
from ddm_nb.simulate import simulate

def small_net(N=64, d=2, seed=0, off_noise=0.05, factored=False):
    "A random network; `factored`: W = U Vᵀ of rank d kept as factors (the closed form's shape)."
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(N, N, generator=g)/math.sqrt(N)
    if factored: W = LowRank(torch.randn(N, d, generator=g), torch.randn(N, d, generator=g)/math.sqrt(N))
    return RNN(W, 0.1*torch.randn(N, generator=g), torch.randn(N, d, generator=g),
               0.5*torch.randn(N, generator=g), tau=0.1, L=0.2*torch.eye(d), off_noise=off_noise)

@pytest.mark.parametrize('method', ['euler', 'heun'])
@pytest.mark.parametrize('factored', [False, True])
def test_fused_same_trajectories(method, factored):
    net = small_net(factored=factored); x0 = torch.zeros(8, 64)
    _,a = simulate(net, x0, 0.5, 0.01, seed=3, device='cpu', method=method, save_every=5)
    _,b = simulate(net, x0, 0.5, 0.01, seed=3, device='cpu', method=method, save_every=5, fused=True)
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    _,c = simulate(net, x0, 0.5, 0.01, seed=4, device='cpu', method=method, save_every=5)
    assert (c - a).abs().max() > 1e-2          # a different seed really differs

@pytest.mark.parametrize('method', ['euler', 'heun'])
@pytest.mark.parametrize('batch', [8, 4096, 9000])   # B·N = 512, 2¹⁸, > 2¹⁹: every product on numpy's BLAS, the reduction only, none
def test_factored_same_as_dense(method, batch):
    "The factored step's three CPU regimes give the dense step's trajectories for the same seed (W dense is U Vᵀ rounded once to float32)."
    net = small_net(factored=True); x0 = 0.5*torch.randn(batch, 64, generator=torch.Generator().manual_seed(1))
    _,a = simulate(net, x0, 0.3, 0.01, seed=3, device='cpu', method=method, save_every=10)
    _,b = simulate(net.replace(W=net.W), x0, 0.3, 0.01, seed=3, device='cpu', method=method, save_every=10)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert (a[-1] - a[0]).abs().max() > 0.1   # the states moved: the comparison is not of two unchanged starts

def test_fused_reports_divergence():
    net = small_net(); net.W = 50*net.W
    with pytest.raises(FloatingPointError, match='diverged'):
        simulate(net, torch.ones(4, 64), 100., 0.5, seed=0, device='cpu', fused=True, check_every=10)

_SIM_PEAK = """
import resource, sys, torch
torch.set_num_threads(1)
from ddm_nb.network import RNN
from ddm_nb.simulate import simulate
N, B, steps = 64, 64, int(sys.argv[1])
g = torch.Generator().manual_seed(0)
net = RNN(torch.randn(N, N, generator=g)/N**0.5, torch.zeros(N), torch.randn(N, 2, generator=g), torch.zeros(N), L=0.1*torch.eye(2))
simulate(net, torch.zeros(B, N), 0.2, 0.01, seed=0, device='cpu', save_every=10)   # warm up
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
_, ys = simulate(net, torch.zeros(B, N), steps*0.01, 0.01, seed=0, device='cpu', save_every=steps//2)
assert ys.shape == (3, B, N)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""

def test_sparse_saving_memory_flat():
    "Only the saved states are kept: 2,000 and 20,000 steps with three saves each add the same memory (every state kept would be 328 MiB more)."
    import subprocess, sys
    peak = {s: int(subprocess.run([sys.executable, '-c', _SIM_PEAK, str(s)], capture_output=True, text=True, check=True).stdout.split()[-1])/1024 for s in (2000, 20000)}
    assert peak[20000] - peak[2000] < 30, f'peak RSS above baseline (MiB) by steps: {peak}'

# --- issue 18: the in-place step, streaming to disk, the chunked ridge ---
import functools, subprocess, sys, textwrap
import numpy as np
import ddm_nb.simulate as simmod
from ddm_nb.solvers import ridge_fit
from ddm_nb.matching import fit
from ddm_nb.sde import Lorenz

def _general(net):
    "The same network without its fast step: `simulate` takes the general loop."
    net.fast_step = lambda *a: None
    return net

@pytest.mark.parametrize('off_noise', [0., 0.3])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('method', ['euler', 'heun'])
def test_fast_step_matches_general(off_noise, dtype, method):
    net = small_net(off_noise=off_noise); x0 = 0.5*torch.randn(8, 64, generator=torch.Generator().manual_seed(1))
    _,a = simulate(net, x0, 1., 0.01, seed=3, device='cpu', save_every=10, dtype=dtype, method=method)
    _,b = simulate(_general(small_net(off_noise=off_noise)), x0, 1., 0.01, seed=3, device='cpu', save_every=10, dtype=dtype, method=method)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    _,c = simulate(net, x0, 1., 0.01, seed=3, device='cpu', save_every=10, dtype=dtype, noise=False, method=method)
    assert (c - a).abs().max() > 1e-2          # the noise really enters
    assert torch.equal(x0, 0.5*torch.randn(8, 64, generator=torch.Generator().manual_seed(1)))   # y0 untouched by the in-place step

def test_fast_step_divergence_names_the_same_step():
    "The fast loop reads isfinite every check_every steps and replays the last stretch: the message (step, count) is the one a per-step check gives."
    def msg(net, **kw):
        net.W = 40*net.W
        with pytest.raises(FloatingPointError, match='diverged') as e:
            simulate(net, torch.ones(6, 64), 400., 0.5, seed=0, device='cpu', **kw)
        return str(e.value)
    per_step,replayed = msg(small_net(), check_every=1),msg(small_net(), check_every=50)
    assert per_step == replayed and 'the first at step 61' in replayed, (per_step, replayed)
    assert 'the first at step 60' in msg(_general(small_net()), check_every=50)    # the general step overflows one step earlier: (φ Wᵀ + b − x)/τ·h in float32

def test_streamed_equals_memory(tmp_path, monkeypatch):
    "Streaming to .npy in chunks (here 3 saves per chunk, so 7 flushes) reads back equal to the in-memory result."
    net = small_net(); x0 = torch.zeros(16, 64)
    _,a = simulate(net, x0, 2., 0.01, seed=1, device='cpu', save_every=10)
    monkeypatch.setattr(simmod, '_store', functools.partial(simmod._store, chunk_bytes=3*16*64*4))
    _,b = simulate(net, x0, 2., 0.01, seed=1, device='cpu', save_every=10, out=tmp_path/'run.npy')
    assert torch.equal(a, b) and torch.equal(simmod.load_states(tmp_path/'run.npy'), a)
    assert np.load(tmp_path/'run.npy', mmap_mode='r').shape == (21, 16, 64)
    with pytest.raises(FileExistsError, match='never overwrites'):
        simulate(net, x0, 2., 0.01, seed=1, device='cpu', out=tmp_path/'run.npy')

def test_streamed_failure_leaves_nothing(tmp_path):
    net = small_net(); net.W = 40*net.W
    with pytest.raises(FloatingPointError):
        simulate(net, torch.ones(4, 64), 400., 0.5, seed=0, device='cpu', out=tmp_path/'bad.npy')
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match='.npy'): simulate(small_net(), torch.zeros(2, 64), 1., 0.1, out=tmp_path/'x.pt')
    with pytest.raises(ValueError, match='float32 or float64'): simulate(small_net(), torch.zeros(2, 64), 1., 0.1, out=tmp_path/'x.npy', dtype=torch.bfloat16)

def test_chunked_ridge_equals_one_shot():
    g = torch.Generator().manual_seed(0)
    P = torch.tanh(torch.randn(5000, 4, generator=g)@torch.randn(4, 60, generator=g) + torch.randn(60, generator=g)).double()
    Y = (P@torch.randn(60, 3, generator=g, dtype=torch.float64) + 0.1*torch.randn(5000, 3, generator=g, dtype=torch.float64) - 2.).float().double()  # float32 values: the float32 pair is the same data
    lam = 1e-5; Pc = P - P.mean(0)
    G = Pc.T@Pc; G.diagonal().add_(lam*5000 + 1e-12*G.diagonal().mean())
    A0 = torch.linalg.solve(G, Pc.T@(Y - Y.mean(0))).T; b0 = Y.mean(0) - A0@P.mean(0)
    for chunk in (5000, 1000, 333):
        for A,b in (ridge_fit(lambda i,j: (P[i:j], Y[i:j]), lam, K=5000, chunk=chunk), ridge_fit((P.float(), Y.float()), lam, chunk=chunk)):
            assert (A-A0).norm()/A0.norm() < 1e-6 and (b-b0).norm()/b0.norm() < 1e-6, chunk

def test_rank_from_factor():
    net,rep = fit(Lorenz(), 96, tau=0.05, samples=3000, device='cpu')
    assert rep['rank_W'] == int(torch.linalg.matrix_rank(net.W.double(), rtol=1e-5)) == 3   # from the factor, as from the full SVD

_PEAK = textwrap.dedent('''
    import resource, sys, torch
    torch.set_num_threads(1)
    from ddm_nb.sde import Lorenz
    from ddm_nb.matching import fit
    K = int(sys.argv[1])
    z = torch.randn(K, 3, generator=torch.Generator().manual_seed(0))*torch.tensor([8., 9., 8.5]) + torch.tensor([0., 0., 23.5])
    fit(Lorenz(), 64, tau=0.05, z=z[:2000], device='cpu')                   # warm-up: every code path touched once
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fit(Lorenz(), 256, tau=0.05, z=z, device='cpu')
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)''')

def test_chunked_fit_memory_flat():
    """Peak RSS of a closed-form fit at K and 10 K samples. Features held whole would add 200,000 × 256 × (4 + 8 + 8) bytes ≈ 0.95 GiB
    (float32, float64, centred); what does grow is O(K d²) (samples, the d × d noise loadings checked for constancy): 30-50 MiB here."""
    peak = {K: int(subprocess.run([sys.executable, '-c', _PEAK, str(K)], capture_output=True, text=True, check=True).stdout.split()[-1])/1024
            for K in (25_000, 250_000)}
    assert peak[250_000] - peak[25_000] < 150, peak     # MiB

def test_bench_tables_generated_from_json():
    "bench/README.md and README's performance table are what bench/report.py makes from bench/results/*.json (no hand-typed numbers)."
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, str(root/'bench'/'report.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
