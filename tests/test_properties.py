"""Property-based checks (hypothesis) of the public API's shapes, dtypes and invariants, over many random inputs."""
import math
import torch
from hypothesis import given, settings, strategies as st, HealthCheck
from ddm_nb.sde import OU
from ddm_nb.simulate import simulate
from ddm_nb.network import RNN
from ddm_nb.decomp import split_connectivity

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([torch.float32, torch.float64])

class Lin:
    "dz = −z dt + σ dW in d dimensions, torchsde protocol only"
    noise_type, sde_type = 'additive', 'ito'
    def __init__(self, d, s): self.d, self.s = d, s
    def f(self, t, y): return -y
    def g(self, t, y): return self.s*torch.eye(self.d, dtype=y.dtype, device=y.device).expand(len(y), self.d, self.d)

@FAST
@given(batch=st.integers(1, 6), d=st.integers(1, 4), save=st.integers(1, 4), k=st.integers(1, 5),
       dtype=DTYPES, method=st.sampled_from(['euler', 'heun']), seed=st.integers(0, 2**31), t0=st.sampled_from([0., -1., 2.5]))
def test_simulate_shapes(batch, d, save, k, dtype, method, seed, t0):
    "`(ts, ys)` has `k+1` saved states of `(batch, d)` in the requested dtype, starts at y0, is reproducible by seed"
    dt, steps = 0.01, save*k
    y0 = torch.randn(batch, d, generator=torch.Generator().manual_seed(seed))
    ts, ys = simulate(Lin(d, 0.5), y0, t0 + steps*dt, dt, t0=t0, method=method, save_every=save, seed=seed, dtype=dtype, device='cpu')
    assert ys.shape == (k + 1, batch, d) and ys.dtype == dtype and ts.shape == (k + 1,)
    assert torch.allclose(ts[[0, -1]].double(), torch.tensor([t0, t0 + steps*dt], dtype=torch.float64), atol=1e-5)
    assert torch.equal(ys[0], y0.to(dtype)) and torch.isfinite(ys).all()
    _, ys2 = simulate(Lin(d, 0.5), y0, t0 + steps*dt, dt, t0=t0, method=method, save_every=save, seed=seed, dtype=dtype, device='cpu')
    assert torch.equal(ys, ys2)
    _, ys3 = simulate(Lin(d, 0.5), y0, t0 + steps*dt, dt, t0=t0, method=method, save_every=save, seed=seed + 1, dtype=dtype, device='cpu')
    assert not torch.equal(ys[1:], ys3[1:])

@FAST
@given(d=st.integers(1, 3), steps=st.integers(1, 50), seed=st.integers(0, 1000))
def test_skeleton_is_exact_decay(d, steps, seed):
    "Without noise, Euler on dz = −z dt is the geometric decay (1 − dt)^n exactly, whatever the seed"
    dt = 0.05
    y0 = torch.randn(3, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    _, ys = simulate(Lin(d, 1.), y0, steps*dt, dt, noise=False, seed=seed, dtype=torch.float64, device='cpu')
    assert torch.allclose(ys[-1], y0*(1 - dt)**steps, rtol=1e-12, atol=1e-14)

@FAST
@given(N=st.integers(2, 40), d=st.integers(1, 4), seed=st.integers(0, 10_000), b=st.integers(1, 5))
def test_embed_readout_roundtrip(N, d, seed, b):
    "readout(embed(z)) = z for any full-rank embedding, and embed lands in the plane x = Mz + c"
    d = min(d, N)
    g = torch.Generator().manual_seed(seed)
    M, c = torch.randn(N, d, generator=g), torch.randn(N, generator=g)
    net = RNN(torch.randn(N, N, generator=g)/math.sqrt(N), torch.zeros(N), M, c)
    z = torch.randn(b, d, generator=g)
    assert torch.allclose(net.readout(net.embed(z)), z, atol=1e-4)
    assert net.f(0., net.embed(z)).shape == (b, N)

@FAST
@given(N=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_split_connectivity(N, seed):
    "W_S is symmetric, W_A antisymmetric, they sum to W and are orthogonal in the Frobenius inner product"
    W = torch.randn(N, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    S, A = split_connectivity(W)
    assert torch.equal(S, S.T) and torch.equal(A, -A.T) and torch.allclose(S + A, W)
    assert abs(float((S*A).sum())) < 1e-10*float(W.norm())**2 + 1e-12
