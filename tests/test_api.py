"""One device rule and one seed rule for the whole public API, asserted in one place.

Every public function or method that takes `device` defaults to `None` (CUDA when present, else the CPU); every one that
takes `seed` defaults to an integer, so that a call is reproducible as written. The behaviour is checked on a
representative call of each stochastic function: the same seed gives the same result, another seed a different one,
and `device='cpu'` puts the result on the CPU."""
import importlib, inspect
import pytest, torch
from ddm_nb.sde import Hopf, OU, DoubleWell, Lorenz
from ddm_nb.simulate import simulate, lyapunov_spectrum, Lyap
from ddm_nb.checks import default_device
from ddm_nb.network import load_net, save_net
from ddm_nb.sampler import sample_target
from ddm_nb.solvers import random_embedding
from ddm_nb.matching import fit
from ddm_nb.divergences import kl_gmm, d_stsp

MODS = 'checks sde simulate network sampler solvers matching metrics decomp memory episodic plots sweep presets cli widgets'.split()

def _params():
    out = []
    for m in MODS:
        mod = importlib.import_module(f'ddm_nb.{m}')
        for n in getattr(mod, '__all__', []):
            o = getattr(mod, n)
            fs = [(n, o)] if not inspect.isclass(o) else [(f'{n}.__init__', o.__init__)] + [(f'{n}.{k}', v) for k, v in vars(o).items() if callable(v) and not k.startswith('_')]
            for name, f in fs:
                try: sig = inspect.signature(f)
                except (TypeError, ValueError): continue
                for p in ('device', 'seed'):
                    if p in sig.parameters and sig.parameters[p].default is not inspect.Parameter.empty: out.append((f'{m}.{name}', p, sig.parameters[p].default))
    return out

PARAMS = _params()

def test_found_the_api():
    names = {n for n, _, _ in PARAMS}
    assert {'simulate.simulate', 'matching.fit', 'sampler.sample_target', 'network.load_net', 'metrics.compare'} <= names, names

@pytest.mark.parametrize('name,param,default', PARAMS, ids=[f'{n}-{p}' for n, p, _ in PARAMS])
def test_defaults(name, param, default):
    if param == 'device': assert default is None, f'{name}: device defaults to {default!r}; use None (CUDA when present)'
    else: assert isinstance(default, int) and not isinstance(default, bool), f'{name}: seed defaults to {default!r}; use an integer so calls are reproducible'

H = Hopf()
def _net(): return fit(H, 32, samples=500, seed=0, device='cpu')[0]

CALLS = {  # name: f(seed) -> tensor, for the stochastic public functions
    'simulate': lambda s: simulate(H, H.y0, 0.5, 0.01, n_paths=4, seed=s, device='cpu')[1],
    'sample_target': lambda s: sample_target(H, 200, seed=s, device='cpu').z,
    'random_embedding': lambda s: random_embedding(H, 16, seed=s)[0],
    'fit': lambda s: fit(H, 32, samples=500, seed=s, device='cpu')[0].W,
    'kl_gmm': lambda s: torch.tensor(kl_gmm(torch.randn(400, 4, generator=torch.Generator().manual_seed(1)), torch.randn(400, 4, generator=torch.Generator().manual_seed(2)) + 0.3, k=2, n_mc=500, seed=s)),
}

@pytest.mark.parametrize('name', list(CALLS))
def test_seed_behaviour(name):
    a, b, c = CALLS[name](0), CALLS[name](0), CALLS[name](1)
    assert torch.equal(a, b), f'{name}: the same seed gave different results'
    assert not torch.equal(a, c), f'{name}: another seed gave the same result'

@pytest.mark.parametrize('call', [
    lambda: simulate(H, H.y0, 0.1, 0.01, device='cpu')[1],
    lambda: sample_target(H, 50, device='cpu').z,
    lambda: fit(H, 16, samples=200, device='cpu')[0].W,
    lambda: lyapunov_spectrum(Lorenz(), Lorenz().y0, Lyap(t=1., burn_in=0.1), device='cpu')[0],
], ids=['simulate', 'sample_target', 'fit', 'lyapunov_spectrum'])
def test_device_cpu(call):
    assert call().device.type == 'cpu'

def test_load_net_device(tmp_path):
    save_net(_net(), tmp_path/'n.pt')
    assert load_net(tmp_path/'n.pt', device='cpu').W.device.type == 'cpu'
    assert load_net(tmp_path/'n.pt').W.device == default_device(None)

def test_to_device_never_moves_the_callers_object():
    "Moving to another device gives a moved copy; the caller's SDE or network stays where it was ('meta' stands in for a GPU)"
    from ddm_nb.simulate import to_device
    ou = OU([[-1., 0.], [0., -1.]], 0.5)
    assert to_device(ou, 'cpu') is ou
    m = to_device(ou, 'meta')
    assert m is not ou and m.A.device.type == 'meta' and ou.A.device.type == 'cpu' and ou.G.device.type == 'cpu'
    net = _net()
    mn = to_device(net, 'meta')
    assert mn is not net and mn.W.device.type == 'meta' and net.W.device.type == 'cpu' and to_device(net, 'cpu') is net
