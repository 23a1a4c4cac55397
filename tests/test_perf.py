"Performance paths keep the numbers: fused (torch.compile) and plain steps give the same trajectories for the same seed; sparse saving keeps memory flat."
import math, torch, pytest
from ddm_nb.network import RNN
from ddm_nb.simulate import simulate

def small_net(N=64, d=2, seed=0, off_noise=0.05):
    g = torch.Generator().manual_seed(seed)
    return RNN(torch.randn(N, N, generator=g)/math.sqrt(N), 0.1*torch.randn(N, generator=g), torch.randn(N, d, generator=g),
               0.5*torch.randn(N, generator=g), tau=0.1, L=0.2*torch.eye(d), off_noise=off_noise)

@pytest.mark.parametrize('method', ['euler', 'heun'])
def test_fused_same_trajectories(method):
    net = small_net(); x0 = torch.zeros(8, 64)
    _,a = simulate(net, x0, 0.5, 0.01, seed=3, device='cpu', method=method, save_every=5)
    _,b = simulate(net, x0, 0.5, 0.01, seed=3, device='cpu', method=method, save_every=5, fused=True)
    torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-5)
    _,c = simulate(net, x0, 0.5, 0.01, seed=4, device='cpu', method=method, save_every=5)
    assert (c - a).abs().max() > 1e-2          # a different seed really differs

def test_fused_reports_divergence():
    net = small_net(); net.W = 50*net.W
    with pytest.raises(FloatingPointError, match='diverged'):
        simulate(net, torch.ones(4, 64), 100., 0.5, seed=0, device='cpu', fused=True, check_every=10)

def test_sparse_saving_memory_flat():
    "The saved output is the only thing that grows: 10x the steps with the same number of saves allocates the same output."
    net = small_net(off_noise=0.)
    _,a = simulate(net, torch.zeros(16, 64), 2., 0.01, seed=0, device='cpu', save_every=100)
    _,b = simulate(net, torch.zeros(16, 64), 20., 0.01, seed=0, device='cpu', save_every=1000)
    assert a.shape == b.shape == (3, 16, 64)
