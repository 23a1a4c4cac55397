"""Hostile input: every public entry point refuses bad arguments and bad files with a clear error naming the argument,
never runs code from a file, and never changes a file it did not create.

Every test runs in its own temporary working directory; the autouse fixture `untouched` asserts that no file of the
repository changed. Command-line runs use a small preset override so they stay quick on a 2-core machine."""
import builtins, json, math, os, pickle, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from hypothesis import HealthCheck, given, settings, strategies as st
from conftest import ROOT, BIN, run_ddm
from ddm_nb.sde import *
from ddm_nb.simulate import simulate, lyapunov_spectrum, Lyap
from ddm_nb.checks import default_device
from ddm_nb.network import RNN, save_net, load_net
from ddm_nb.solvers import random_embedding, Ridge, Adam, Refine
from ddm_nb.matching import fit, fit_data
from ddm_nb.presets import get_preset, list_presets, presets_path, PRESET_KEYS, settings_header, _installed_presets
from ddm_nb.outdir import OutDir, MANIFEST
from ddm_nb.cli import main
from ddm_nb.presets import check_preset_grid

FAST = ['--device', 'cpu', '--set', 'n=32', 't1=2', 'samples=2000']   # a demo in a few seconds
SKIP = {'.venv', '.git', '__pycache__', '.pytest_cache', '.hypothesis', '.ipynb_checkpoints'}
HYP = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

def snapshot(root=ROOT):
    "Size and mtime of every file under `root` (build and cache folders aside)."
    out = {}
    for d,ds,fs in os.walk(root):
        ds[:] = [x for x in ds if x not in SKIP]
        for f in fs:
            p = os.path.join(d, f)
            try: s = os.lstat(p); out[p] = (s.st_size, s.st_mtime_ns)
            except FileNotFoundError: pass
    return out

@pytest.fixture(autouse=True)
def untouched(tmp_path, monkeypatch):
    "Run in a fresh temporary working directory; afterwards, no file of the repository may have changed."
    monkeypatch.chdir(tmp_path); monkeypatch.delenv('DDM_PRESETS', raising=False)
    before = snapshot()
    yield
    after = snapshot()
    changed = sorted(set(before) ^ set(after) | {p for p in before.keys() & after.keys() if before[p]!=after[p]})
    assert not changed, f"files outside the temporary folder changed: {changed[:5]}"

def small_net(N=16, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return RNN(torch.randn(N, N, generator=g)/4, torch.zeros(N), torch.randn(N, d, generator=g), torch.zeros(N), L=0.1*torch.eye(d))

H = Hopf()

class Drift:
    "A user-written target: `f` as given (`case`), diagonal noise."
    noise_type,sde_type,d = 'diagonal','ito',2
    y0 = torch.tensor([0.5, 0.5])
    def __init__(self, case): self.case = case
    def f(self, t, y): return {'up': y, 'shape': y[:, :1], 'nan': y*math.nan}[self.case]
    def g(self, t, y): return 0.1*torch.ones_like(y)

# (id, call, exception type, words the message must contain: the argument's name first)
CASES = [
    # the zoo
    ('hopf-mu-nan', lambda: Hopf(mu=math.nan), ValueError, ['mu', 'NaN']),
    ('hopf-mu-negative', lambda: Hopf(mu=-1.), ValueError, ['mu', 'positive']),
    ('hopf-omega-inf', lambda: Hopf(omega=math.inf), ValueError, ['omega', 'finite']),
    ('hopf-sigma-negative', lambda: Hopf(sigma=-0.1), ValueError, ['sigma', 'non-negative']),
    ('hopf-mu-string', lambda: Hopf(mu='1'), TypeError, ['mu', 'real number']),
    ('multiplicative-theta-negative', lambda: Multiplicative(theta=-1), ValueError, ['theta', 'positive']),
    ('multiplicative-a-zero', lambda: Multiplicative(a=0.), ValueError, ['a must be positive']),
    ('multiplicative-b-nan', lambda: Multiplicative(b=math.nan), ValueError, ['b is NaN']),
    ('multiwell-K-2.5', lambda: MultiWell(K=2.5), TypeError, ['K', 'integer', '2.5']),
    ('multiwell-K-1', lambda: MultiWell(K=1), ValueError, ['K', '>= 2']),
    ('multiwell-eps-negative', lambda: MultiWell(eps=-0.1), ValueError, ['eps', 'positive']),
    ('multiwell-omega-nan', lambda: MultiWell(omega=math.nan), ValueError, ['omega', 'NaN']),
    ('multiwell-radius-zero', lambda: MultiWell(radius=0.), ValueError, ['radius', 'positive']),
    ('doublewell-eps-nan', lambda: DoubleWell(math.nan), ValueError, ['eps', 'NaN']),
    ('doublewell2d-eps-zero', lambda: DoubleWell2D(0.), ValueError, ['eps', 'positive']),
    ('lorenz-noise-negative', lambda: Lorenz(noise=-1.), ValueError, ['noise', 'non-negative']),
    ('lorenz-rho-nan', lambda: Lorenz(rho=math.nan), ValueError, ['rho', 'NaN']),
    ('vdp-sigma-negative', lambda: VanDerPol(sigma=-1.), ValueError, ['sigma', 'non-negative']),
    ('ou-D-not-positive-definite', lambda: OU(-torch.eye(2), -torch.eye(2)), ValueError, ['D', 'positive definite']),
    ('ou-A-unstable', lambda: OU(torch.eye(2), torch.eye(2)), ValueError, ['A must be stable']),
    ('get-system-parameter-typo', lambda: get_system('hopf', omgea=1.), TypeError, ['omgea', "did you mean 'omega'"]),
    ('get-system-name-typo', lambda: get_system('lorenzz'), KeyError, ['lorenzz', "did you mean 'lorenz'"]),
    # simulate and devices
    ('simulate-t1-inf', lambda: simulate(H, H.y0, math.inf, 0.01), ValueError, ['t1', 'finite']),
    ('simulate-t1-nan', lambda: simulate(H, H.y0, math.nan, 0.01), ValueError, ['t1', 'NaN']),
    ('simulate-dt-nan', lambda: simulate(H, H.y0, 1., math.nan), ValueError, ['dt', 'NaN']),
    ('simulate-n-negative', lambda: simulate(H, H.y0, 1., 0.01, n_paths=-3), ValueError, ['n_paths must be a positive integer']),
    ('simulate-n-zero', lambda: simulate(H, H.y0, 1., 0.01, n_paths=0), ValueError, ['n_paths must be a positive integer']),
    ('simulate-n-float', lambda: simulate(H, H.y0, 1., 0.01, n_paths=2.5), TypeError, ['n_paths must be an integer']),
    ('simulate-save-every-zero', lambda: simulate(H, H.y0, 1., 0.01, save_every=0), ValueError, ['save_every']),
    ('simulate-dtype-int32', lambda: simulate(H, H.y0, 1., 0.01, dtype=torch.int32), TypeError, ['dtype', 'floating']),
    ('simulate-not-an-sde', lambda: simulate(object(), H.y0, 1., 0.01), TypeError, ['sde must be an SDE', 'object']),
    ('simulate-dict-not-an-sde', lambda: simulate({'f': 1}, H.y0, 1., 0.01), TypeError, ['sde must be an SDE', 'dict']),
    ('simulate-device-tpu', lambda: simulate(H, H.y0, 1., 0.01, device='tpu'), ValueError, ['device', 'tpu']),
    ('default-device-tpu', lambda: default_device('tpu'), ValueError, ['device', 'tpu', "'cpu'"]),
    ('default-device-cuda-99', lambda: default_device('cuda:99'), ValueError, ['device', 'cuda:99']),
    # fit
    ('fit-N-2.7', lambda: fit(H, 2.7), TypeError, ['net_or_size', 'N', '2.7']),
    ('fit-N-bool', lambda: fit(H, True), TypeError, ['net_or_size', 'bool']),
    ('fit-samples-zero', lambda: fit(H, 64, samples=0), ValueError, ['samples', '0']),
    ('fit-samples-negative', lambda: fit(H, 64, samples=-100), ValueError, ['samples', '-100']),
    ('fit-ridge-negative', lambda: fit(H, 64, solver=Ridge(-1.)), ValueError, ['ridge', 'non-negative']),
    ('fit-ridge-nan', lambda: fit(H, 64, solver=Ridge(math.nan)), ValueError, ['ridge', 'NaN']),
    ('fit-solver-string', lambda: fit(H, 64, solver='adam'), TypeError, ['solver', 'Ridge(...)', 'Adam(...)']),
    ('fit-moved-ridge', lambda: fit(H, 64, ridge=1e-6), TypeError, ['ridge', 'solver=Ridge(ridge=...)']),
    ('fit-moved-method', lambda: fit(H, 64, method='adam'), TypeError, ['method', 'solver=Adam(...)']),
    ('fit-unknown-kwarg', lambda: fit(H, 64, samplez=10), TypeError, ['samplez']),
    ('adam-lr-zero', lambda: Adam(lr=0.), ValueError, ['lr', 'positive']),
    ('adam-epochs-float', lambda: Adam(epochs=2.5), TypeError, ['epochs', '2.5']),
    ('adam-batch-zero', lambda: Adam(batch_size=0), ValueError, ['batch_size', '0']),
    ('fit-phi-relu', lambda: fit(H, 64, phi='relu'), ValueError, ['phi', 'relu', "'tanh'", "'softplus'"]),
    ('fit-device-tpu', lambda: fit(H, 64, device='tpu'), ValueError, ['device', 'tpu']),
    ('fit-device-cuda-99', lambda: fit(H, 64, device='cuda:99'), ValueError, ['device', 'cuda:99']),
    ('fit-target-not-an-sde', lambda: fit('hopf', 64), TypeError, ['target', 'str']),
    ('fit-tau-zero', lambda: fit(H, 64, tau=0.), ValueError, ['tau must be positive']),
    ('fit-unstable-target', lambda: fit(Drift('up'), 64, samples=2000, device='cpu'), ValueError, ['no invariant measure', 'f = +y']),
    ('fit-drift-wrong-shape', lambda: fit(Drift('shape'), 64, samples=2000, device='cpu'), ValueError, ['drift f returned shape (1, 1)', '(batch, d)']),
    ('fit-drift-nan', lambda: fit(Drift('nan'), 64, samples=2000, device='cpu'), ValueError, ['not finite']),
    ('fit-N-too-large', lambda: fit(H, 10**6, device='cpu'), MemoryError, ['fit: N = 1,000,000 neurons', 'needs about', 'is available', 'fewer neurons']),
    ('fit-data-constant', lambda: fit_data(torch.ones(50, 4, 2), 0.01, 16), ValueError, ['ys is constant']),
    ('fit-data-N-too-large', lambda: fit_data(torch.randn(50, 4, 2), 0.01, 10**6), MemoryError, ['fit_data', 'needs about', 'is available']),
    ('simulate-too-large', lambda: simulate(H, H.y0, 1e9, 0.01, n_paths=10**6), MemoryError, ['simulate', 'needs about', 'is available', "out='states.npy'"]),
    ('lyapunov-wrong-dimension', lambda: lyapunov_spectrum(H, torch.ones(1, 3), device='cpu'), ValueError, ['y0', 'd=2', '(1, 3)']),
    ('readout-wrong-dimension', lambda: small_net().readout(torch.zeros(5, 3)), ValueError, ['readout', 'N=16', '(5, 3)']),
    ('preset-n-and-N', lambda: get_preset('hopf', n=64, N=128), ValueError, ["'n' and 'N' both set n", 'give it once']),
    # the network
    ('rnn-phi-relu', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), phi='relu'), ValueError, ['phi', 'relu']),
    ('rnn-tau-nan', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), tau=math.nan), ValueError, ['tau', 'NaN']),
    ('rnn-off-noise-negative', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), off_noise=-1.), ValueError, ['off_noise']),
    ('rnn-L-nan', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), L=torch.full((2, 2), math.nan)), ValueError, ['L', 'non-finite']),
    ('rnn-L-string', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), L='abc'), TypeError, ['L', 'str']),
    ('rnn-V-without-s', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), V=torch.zeros(4, 4), m=2), ValueError, ['V', 'offset s']),
    ('rnn-L-and-V', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4), L=torch.eye(2), V=torch.zeros(4, 4), s=torch.zeros(4)), ValueError, ['L', '(V, s)', 'not both']),
    ('lyapunov-t-zero', lambda: lyapunov_spectrum(H, torch.ones(1, 2), Lyap(t=0.), device='cpu'), ValueError, ['t must be positive']),
    ('lyapunov-burn-in-negative', lambda: lyapunov_spectrum(H, torch.ones(1, 2), Lyap(burn_in=-1.), device='cpu'), ValueError, ['burn_in', 'non-negative']),
    ('lyapunov-moved-t', lambda: lyapunov_spectrum(H, torch.ones(1, 2), t=5., device='cpu'), TypeError, ['lyap=Lyap(t=...)']),
    ('fit-moved-refine', lambda: fit(H, 64, refine=dict(steps=5)), TypeError, ['refine', 'solver=Refine(...)']),
    ('refine-steps-zero', lambda: Refine(steps=0), ValueError, ['steps', 'positive']),
    ('fit-data-phi-relu', lambda: fit_data(torch.randn(50, 4, 2), 0.01, 16, phi='relu'), ValueError, ['phi', 'relu']),
    ('preset-t1-inf', lambda: get_preset('hopf', t1=math.inf), ValueError, ['t1', 'finite']),
    ('preset-n-bool', lambda: get_preset('hopf', n=True), TypeError, ['n', 'True']),
    ('rnn-M-one-dimensional', lambda: RNN(torch.zeros(4, 4), torch.zeros(4), torch.ones(4), torch.zeros(4)), ValueError, ['M must be an (N, d) matrix']),
    ('rnn-W-string', lambda: RNN('W', torch.zeros(4), torch.eye(4)[:, :2], torch.zeros(4)), TypeError, ['W must be a tensor']),
    ('save-net-not-a-net', lambda: save_net('net', 'x.pt'), TypeError, ['net must be an RNN']),
    # presets
    ('preset-override-trajectorie', lambda: get_preset('hopf', trajectorie=3), ValueError, ['trajectorie', "did you mean 'n_paths' (called 'trajectories' before)"]),
    ('preset-override-nn', lambda: get_preset('hopf', nn=8), ValueError, ['nn', "did you mean 'n'"]),
    ('preset-system-parameter-typo', lambda: get_preset('hopf', **{'system.omgea': 1.}), ValueError, ['system.omgea', "did you mean 'system.omega'"]),
    ('preset-method', lambda: get_preset('hopf', method='rk4'), ValueError, ['method', 'rk4', 'heun']),
    ('preset-ridge-nan', lambda: get_preset('hopf', ridge=math.nan), ValueError, ['ridge', 'NaN']),
    ('preset-name-typo', lambda: get_preset('hopff'), KeyError, ['hopff', "did you mean 'hopf'"]),
    ('sweep-grid-omega-nan', lambda: check_preset_grid('hopf', {'system.omega': [0., math.nan]}), ValueError, ['system.omega', 'NaN']),
]

@pytest.mark.parametrize('call,exc,words', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_clearly(call, exc, words):
    with pytest.raises(exc) as e: call()
    msg = e.value.args[0] if isinstance(e.value, KeyError) else str(e.value)
    for w in words: assert w in msg, (w, msg)
    assert os.listdir('.') == [], os.listdir('.')   # nothing written, not even a temporary file

def test_at_least_forty_cases(): assert len(CASES) >= 40

# Hopf at omega = 0 is a non-rotating Hopf, not a ZeroDivisionError, in the zoo, in presets and in sweeps
def test_hopf_omega_zero_is_valid():
    s = Hopf(omega=0.)
    assert s.t_scale == 0.5 and 'period' not in s.refs and s.refs['radius'] == 1.
    ts,ys = simulate(s, s.y0, 1., 0.01, n_paths=4, seed=0, device='cpu')
    assert torch.isfinite(ys).all() and abs(float(ys[-1].norm(dim=-1).mean()) - 1) < 0.1   # stays on the ring
    assert get_preset('hopf', **{'system.omega': 0}).sde.omega == 0.
    assert check_preset_grid('hopf', {'system.omega': [0., 1., 2.]})['system.omega'] == [0., 1., 2.]

FLOATS = st.one_of(st.floats(-1e30, 1e30, allow_subnormal=False), st.sampled_from([math.nan, math.inf, -math.inf]))   # within float32's range, or not a number

@HYP
@given(mu=FLOATS, omega=FLOATS, sigma=FLOATS)
def test_hopf_any_float(mu, omega, sigma):
    "Any floats: a working system with a finite time scale, or a ValueError naming the bad parameter."
    try: s = Hopf(mu=mu, omega=omega, sigma=sigma)
    except ValueError as e:
        bad = [k for k,v in dict(mu=mu, omega=omega, sigma=sigma).items() if not math.isfinite(v) or (k=='mu' and v <= 0) or (k=='sigma' and v < 0)]
        assert bad and str(e).startswith(bad[0]), (e, bad)
        return
    assert mu > 0 and sigma >= 0 and math.isfinite(omega) and 0 < s.t_scale < math.inf

@HYP
@given(n=st.one_of(st.integers(-5, 6), st.floats(-3, 6)))
def test_simulate_any_n(n):
    "n_paths: a positive whole number runs that many trajectories; anything else is an error naming n_paths."
    try: _,ys = simulate(H, H.y0, 0.1, 0.05, n_paths=n, seed=0, device='cpu')
    except (ValueError, TypeError) as e:
        assert str(e).startswith('n_paths must') and not (n >= 1 and n == int(n)), e
        return
    assert n >= 1 and ys.shape[1] == int(n)

@HYP
@given(key=st.text('abcdefghijklmnopqrstuvwxyz_.', min_size=1, max_size=12))
def test_unknown_override_keys(key):
    "Every override key outside the preset vocabulary is an error naming it, never a silent default."
    known = key in PRESET_KEYS or key in ('system.mu', 'system.omega', 'system.sigma')
    if known or key=='system': return
    with pytest.raises(ValueError) as e: get_preset('hopf', **{key: 1})
    assert repr(key) in str(e.value)

# network files
@pytest.fixture
def saved(tmp_path):
    net = small_net(); net.meta['note'] = 'hostile'
    return net, save_net(net, tmp_path/'net.pt')

def test_save_load_roundtrip(saved):
    net,p = saved
    net2 = load_net(p)
    assert torch.equal(net2.W, net.W) and net2.meta['note'] == 'hostile' and os.listdir(p.parent) == ['net.pt']

def payload(sentinel):
    class Evil:
        def __reduce__(self): return (builtins.exec, (f"open({str(sentinel)!r}, 'w').close()",))
    return Evil()

@pytest.mark.parametrize('kind', ['torch-zip', 'raw-pickle', 'in-meta'])
def test_crafted_pickle_never_runs(tmp_path, kind):
    bad,sentinel,control = tmp_path/'network.pt',tmp_path/'PWNED',tmp_path/'PWNED-control'
    if kind=='torch-zip': torch.save(payload(sentinel), bad); torch.save(payload(control), tmp_path/'c.pt')
    elif kind=='raw-pickle': bad.write_bytes(pickle.dumps(payload(sentinel))); (tmp_path/'c.pt').write_bytes(pickle.dumps(payload(control)))
    else:
        net = small_net(); d = {k: getattr(net, k) for k in ('W','b','M','c','L','V','s','B')}
        d.update(tau=0.1, phi='tanh', m=1, off_noise=0., format='ddm_nb.RNN/2', sha256='0'*64)
        torch.save({**d, 'meta': payload(sentinel)}, bad); torch.save({**d, 'meta': payload(control)}, tmp_path/'c.pt')
    with pytest.raises(ValueError) as e: load_net(bad)
    assert str(bad) in str(e.value) and not sentinel.exists()
    # the control: unpickling the same payload does run it, so the test above can fail
    if kind=='raw-pickle': pickle.loads((tmp_path/'c.pt').read_bytes())
    else: torch.load(tmp_path/'c.pt', weights_only=False)
    assert control.exists()

def test_flipped_byte_is_detected(saved):
    net,p = saved
    raw = bytearray(p.read_bytes()); i = raw.find(net.W.numpy().tobytes()); assert i > 0
    raw[i+7] ^= 0x10; p.write_bytes(bytes(raw))
    assert not torch.equal(torch.load(p, weights_only=True)['W'], net.W)   # torch alone loads the changed weights silently
    with pytest.raises(ValueError, match='checksum mismatch'): load_net(p)

@HYP
@given(pos=st.integers(0, 16*16*4-1), mask=st.integers(1, 255))
def test_any_flipped_byte_in_W(saved, pos, mask):
    net,p = saved
    raw = bytearray(p.read_bytes()); i = raw.find(net.W.numpy().tobytes())
    raw[i+pos] ^= mask
    q = p.with_name('flipped.pt'); q.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as e: load_net(q)
    assert str(q) in str(e.value)

def _rewrite(p, **change):
    d = torch.load(p, weights_only=True)
    for k,v in change.items():
        if v is None: del d[k]
        else: d[k] = v
    torch.save(d, p)

@pytest.mark.parametrize('make,words', [
    (lambda p: p.write_bytes(b''), ['is empty']),
    (lambda p: p.write_bytes(p.read_bytes()[:len(p.read_bytes())//2]), ['not a network saved by save_net']),
    (lambda p: p.write_text('[ddm]\nthis is a text file\n'), ['not a torch zip archive']),
    (lambda p: torch.save([1, 2, 3], p), ["no format entry 'ddm_nb.RNN/<version>'"]),
    (lambda p: torch.save({'W': torch.zeros(2, 2)}, p), ['no format entry']),
    (lambda p: _rewrite(p, M=None), ['lacks M', 'incomplete']),
    (lambda p: _rewrite(p, format='ddm_nb.RNN/4'), ['format version 4', 'versions 1 to 3', 'upgrade']),
    (lambda p: _rewrite(p, format='ddm_nb.RNN/x'), ['unreadable format']),
    (lambda p: _rewrite(p, W=[[1., 2.]]), ['field W', 'not a tensor']),
    (lambda p: _rewrite(p, tau=0.2), ['checksum mismatch']),
], ids=['empty', 'truncated', 'text', 'list', 'foreign-dict', 'missing-M', 'newer-format', 'bad-format', 'W-not-tensor', 'tau-edited'])
def test_bad_network_files(saved, make, words):
    _,p = saved
    make(p)
    with pytest.raises(ValueError) as e: load_net(p)
    for w in words + [str(p)]: assert w in str(e.value), (w, str(e.value))

def test_load_net_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such network file'): load_net(tmp_path/'nope.pt')
    with pytest.raises(IsADirectoryError, match='is a folder'): load_net(tmp_path)
    with pytest.raises(ValueError, match='device'): load_net(tmp_path/'nope.pt', device='tpu')

def test_save_net_leaves_nothing_on_error(tmp_path, monkeypatch):
    net = small_net()
    (tmp_path/'dir').mkdir()
    with pytest.raises(IsADirectoryError, match='is a folder'): save_net(net, tmp_path/'dir')
    (tmp_path/'mine.pt').write_text('my data')
    with pytest.raises(FileExistsError, match='does not overwrite'): save_net(net, tmp_path/'mine.pt')
    assert (tmp_path/'mine.pt').read_text() == 'my data'
    net.meta['bad'] = object()
    with pytest.raises(TypeError, match=r"net.meta\['bad'\] is a object"): save_net(net, tmp_path/'a.pt')
    del net.meta['bad']
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(torch, 'save', boom)
    with pytest.raises(KeyboardInterrupt): save_net(net, tmp_path/'b.pt')
    assert sorted(os.listdir(tmp_path)) == ['dir', 'mine.pt'] and os.listdir(tmp_path/'dir') == []

def test_save_net_replaces_its_own_file(tmp_path):
    p = save_net(small_net(seed=0), tmp_path/'n.pt'); save_net(small_net(seed=1), p)
    assert torch.equal(load_net(p).W, small_net(seed=1).W) and os.listdir(tmp_path) == ['n.pt']

# presets files
def test_presets_shipped_as_package_data():
    pkg = ROOT/'ddm_nb'/'settings.ini'
    assert pkg.read_text() == (ROOT/'settings.ini').read_text(), "ddm_nb/settings.ini is out of date: cp settings.ini ddm_nb/settings.ini"
    assert presets_path() == pkg   # found from a working directory without settings.ini (the autouse fixture's)
    assert 'hopf' in list_presets()
    cands = list(_installed_presets())
    assert cands[0] == pkg and any('.local' in str(c) or 'user' in str(c).lower() for c in cands[1:]) or os.name!='posix'

def test_presets_header_is_generated():
    "The comment atop settings.ini is `settings_header()`, generated from the keys of `Preset` (make sync rewrites it)."
    text = (ROOT/'settings.ini').read_text()
    assert text.startswith(settings_header()) and not text[len(settings_header()):].startswith('#'), "settings.ini's header is stale: run make sync"

@pytest.mark.parametrize('text,name,words', [
    ('n = 3\n[a]\nsystem = hopf\n', 'a', ['line 1', 'before any [section] header']),
    ('[a]\nsystem = hopf\nn = 8\nn = 9\n', 'a', ['line 4', "sets 'n' twice"]),
    ('[a]\nsystem = hopf\n[a]\nsystem = ou\n', 'a', ['line 3', 'appears twice']),
    ('[a]\nsystem = hopf\ntrajectoriess = 2\n', 'a', ['line 3', "'trajectoriess'", "did you mean 'n_paths' (called 'trajectories' before)"]),
    ('[DEFAULT]\nnn = 3\n[a]\nsystem = hopf\n', 'a', ['line 2', "'nn'"]),
    ('[a]\nsystem = hopf\nsystem.omgea = 1\n', 'a', ['line 3', "did you mean 'system.omega'"]),
    ('[a]\nsystem = hopf\nthis line has no equals sign\n', 'a', ['line 3', 'cannot parse']),
    ('[a]\nn = 8\n', 'a', ['sets no system']),
    ('[a]\nsystem = hopf\n[b\nsystem = ou\n', 'a', ['line 3', "section header '[b' has no closing ']'", 'write [b]']),
], ids=['no-header', 'duplicate-key', 'duplicate-section', 'unknown-key', 'unknown-default', 'system-param-typo', 'garbage-line', 'no-system', 'missing-bracket'])
def test_bad_presets_file(tmp_path, text, name, words):
    f = tmp_path/'settings.ini'; f.write_text(text)
    with pytest.raises(ValueError) as e: get_preset(name, f)
    for w in words + [str(f)]: assert w in str(e.value), (w, str(e.value))

def test_one_bad_preset_spares_the_others(tmp_path):
    f = tmp_path/'p.ini'; f.write_text('[ddm]\ndefault = good\n[bad]\nsystem = hopf\nn = 8\nn = 9\n[good]\nsystem = hopf\nn = 16\n')
    assert list_presets(f) == ['bad', 'good'] and get_preset('good', f).n == 16
    with pytest.raises(ValueError, match='line 6'): get_preset('bad', f)

# output folders
def test_outdir_rule(tmp_path):
    (tmp_path/'user.txt').write_text('mine')
    with pytest.raises(FileExistsError, match=r'holds files ddm-nb did not write \(user.txt\)'): OutDir(tmp_path)
    with pytest.raises(NotADirectoryError, match='not a folder'): OutDir(tmp_path/'user.txt')
    o = tmp_path/'run'
    with OutDir(o) as t: (t/'sub').mkdir(); (t/'sub'/'a.png').write_text('1'); (t/'x.json').write_text('1')
    assert json.loads((o/MANIFEST).read_text())['files'] == ['sub/a.png', 'x.json']
    with OutDir(o) as t: (t/'y.json').write_text('2')        # replaces only what the manifest lists
    assert sorted(os.listdir(o)) == [MANIFEST, 'y.json']
    (o/'sub').mkdir(); (o/'sub'/'mine.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='sub/'): OutDir(o)
    (o/'sub'/'mine.txt').unlink(); (o/'sub').rmdir(); (o/'link').symlink_to(tmp_path/'user.txt')
    with pytest.raises(FileExistsError, match='link'): OutDir(o)
    (o/'link').unlink()
    with pytest.raises(ZeroDivisionError):                       # a failed run: `out` as it was, no temporary folder left
        with OutDir(o) as t: (t/'z.json').write_text('3'); 1/0
    with pytest.raises(FileExistsError, match=r'now holds files ddm-nb did not write \(late.txt\)'):   # a user's file arrived during the run
        with OutDir(o) as t: (t/'w.json').write_text('4'); (o/'late.txt').write_text('mine')
    assert sorted(os.listdir(o)) == [MANIFEST, 'late.txt', 'y.json'] and (o/'late.txt').read_text() == 'mine'
    assert (tmp_path/'user.txt').read_text() == 'mine'
    e = tmp_path/'empty'; e.mkdir()
    with OutDir(e) as t: (t/'z').write_text('3')
    assert sorted(os.listdir(e)) == [MANIFEST, 'z'] and sorted(os.listdir(tmp_path)) == ['empty', 'run', 'user.txt']

def test_outdir_from_before_manifests(tmp_path):
    "A demo folder written by ddm-nb 0.1 (six fixed names, no manifest) is recognised and replaced; one more file and it is not."
    o = tmp_path/'demo'; o.mkdir()
    for f in ('attractor.png', 'compare.png', 'network.pt', 'trajectories.png', 'vector_field.png'): (o/f).write_bytes(b'x')
    (o/'metrics.json').write_text(json.dumps(dict(preset='hopf', fit={}, metrics={})))
    (o/'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='did not write'): OutDir(o)
    (o/'notes.txt').unlink()
    with OutDir(o) as t: (t/'metrics.json').write_text('{}')
    assert sorted(os.listdir(o)) == [MANIFEST, 'metrics.json']
    p = tmp_path/'other'; p.mkdir(); (p/'metrics.json').write_text('{"mine": 1}')   # same name, not our report
    with pytest.raises(FileExistsError, match='metrics.json'): OutDir(p)

# the command line
def one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert 'Traceback' not in r.stderr and r.stderr.startswith('ddm: error: ') and r.stderr.count('\n') == 1, r.stderr
    for w in words: assert w in r.stderr, (w, r.stderr)

def test_cli_out_dot_keeps_user_files(tmp_path):
    (tmp_path/'thesis.tex').write_text('years of work')
    r = run_ddm('demo', 'hopf', '--out', '.', *FAST, cwd=tmp_path)
    one_line_error(r, '--out', 'thesis.tex')
    assert os.listdir(tmp_path) == ['thesis.tex'] and (tmp_path/'thesis.tex').read_text() == 'years of work'

def test_cli_out_folder_with_user_file(tmp_path):
    d = tmp_path/'results'; d.mkdir(); (d/'notes.txt').write_text('mine')
    r = run_ddm('demo', 'hopf', '--out', str(d), *FAST, cwd=tmp_path)
    one_line_error(r, '--out', 'notes.txt')
    assert os.listdir(d) == ['notes.txt'] and (d/'notes.txt').read_text() == 'mine' and os.listdir(tmp_path) == ['results']

def test_cli_out_dot_in_empty_folder_and_rerun(tmp_path):
    r = run_ddm('demo', 'hopf', '--out', '.', *FAST, 'system.omega=0', cwd=tmp_path)   # --set system.omega=0: a non-rotating Hopf
    assert r.returncode == 0, r.stderr[-3000:]
    files = sorted(os.listdir(tmp_path))
    assert MANIFEST in files and 'metrics.json' in files and not [f for f in files if 'tmp' in f]
    assert json.loads((tmp_path/'metrics.json').read_text())['system_params']['omega'] == 0
    mode = tmp_path.stat().st_mode
    r = run_ddm('demo', 'hopf', '--out', '.', *FAST, cwd=tmp_path)   # a folder ddm-nb made: replaced in place
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(os.listdir(tmp_path)) == files and tmp_path.stat().st_mode == mode

@pytest.mark.parametrize('args,words', [
    (['--set', 'trajectorie=3', 'nn=8'], ["'trajectorie'", "did you mean 'n_paths' (called 'trajectories' before)"]),
    (['--set', 'n'], ['--set expects KEY=VALUE']),
    (['--set', 'out=elsewhere'], ["'out'", 'Known keys']),
    (['--set', 'progress=1'], ["'progress'", 'Known keys']),
    (['--set', 'n=8', 'n=9'], ['--set gives n twice']),
    (['--set', 'n=64', 'N=128'], ["'n' and 'N' both set n", 'give it once']),
    (['--set', 'system.omega=nan'], ['omega must be a real number', "'nan'"]),
    (['--set', 'system.mu=-1'], ['mu must be positive']),
    (['--device', 'tpu'], ['device', 'tpu']),
    (['--device', 'cuda:99'], ['device', 'cuda:99']),
], ids=['set-typos', 'set-no-value', 'set-out', 'set-progress', 'set-twice', 'set-n-and-N', 'omega-nan', 'mu-negative', 'device-tpu', 'device-cuda-99'])
def test_cli_bad_arguments(tmp_path, args, words):
    r = run_ddm('demo', 'hopf', '--out', 'o', *args, cwd=tmp_path)
    one_line_error(r, *words)
    assert os.listdir(tmp_path) == []

@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is present here')
def test_cli_cuda_on_cpu_torch(tmp_path):
    one_line_error(run_ddm('demo', 'hopf', '--out', 'o', '--device', 'cuda', cwd=tmp_path), "device='cuda'", 'no CUDA')
    assert os.listdir(tmp_path) == []

@pytest.mark.skipif(torch.cuda.is_available(), reason='CUDA is present here')
def test_cuda_on_cpu_torch_library():
    for call in (lambda: default_device('cuda'), lambda: fit(H, 64, device='cuda'), lambda: simulate(H, H.y0, 1., 0.01, device='cuda')):
        with pytest.raises(ValueError, match="device='cuda' but this torch .* sees no CUDA GPU; use device='cpu'"): call()

def test_cli_broken_presets_file(tmp_path):
    f = tmp_path/'p.ini'; f.write_text('[ddm]\ndefault = good\n[bad]\nsystem = hopf\nn = 8\nn = 9\n[good]\nsystem = hopf\n')
    r = run_ddm('presets', '--presets', str(f), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = {l.split()[0].rstrip(':'): l for l in r.stdout.splitlines()[1:] if l.strip() and not l.startswith('(')}
    assert set(rows) == {'bad', 'good'} and 'BROKEN' in rows['bad'] and "'n' twice" in rows['bad'], r.stdout
    assert rows['good'].split()[1:3] == ['hopf', '256'], r.stdout   # a preset that sets only its system takes the defaults
    one_line_error(run_ddm('demo', 'bad', '--presets', str(f), '--out', 'o', cwd=tmp_path), str(f), 'line 6', "'n' twice")
    f.write_text('system = hopf\n')
    one_line_error(run_ddm('presets', '--presets', str(f), cwd=tmp_path), str(f), 'line 1')

@pytest.mark.slow
def test_presets_found_wherever_pip_installs(tmp_path):
    "A wheel installed into an arbitrary folder (as `pip install --user` or `--target` do) finds its presets as package data."
    import shutil
    src,whl,site = tmp_path/'src',tmp_path/'whl',tmp_path/'site'
    shutil.copytree(ROOT/'ddm_nb', src/'ddm_nb', ignore=shutil.ignore_patterns('__pycache__'))   # build a copy: the build leaves folders behind
    for f in ('pyproject.toml', 'README.md', 'README.pypi.md', 'settings.ini'): shutil.copy(ROOT/f, src/f)
    pip = [sys.executable, '-m', 'pip', '-q', '--disable-pip-version-check']
    subprocess.run([*pip, 'wheel', '--no-deps', '--no-build-isolation', '-w', whl, src], check=True, capture_output=True, cwd=tmp_path)
    subprocess.run([*pip, 'install', '--no-deps', '--target', site, next(whl.glob('ddm_nb-*.whl'))], check=True, capture_output=True, cwd=tmp_path)
    code = 'import sys; sys.path.insert(0, sys.argv[1]); from ddm_nb.presets import presets_path, list_presets; print(presets_path()); print(*list_presets())'
    r = subprocess.run([sys.executable, '-c', code, str(site)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    where,names = r.stdout.splitlines()
    assert Path(where) == site/'ddm_nb'/'settings.ini' and 'hopf' in names.split()

def test_cli_presets_from_package_data(tmp_path):
    r = run_ddm('presets', cwd=tmp_path)   # no settings.ini here or above: the installed copy
    assert r.returncode == 0 and 'hopf' in r.stdout.split(), r.stderr

def test_cli_unexpected_error_is_one_line(monkeypatch, capsys):
    import ddm_nb.cli as cli
    def boom(*a, **k): raise RuntimeError('something\ninside torch')
    monkeypatch.setattr(cli, 'demo', boom)
    assert main(['demo', 'hopf']) == 2
    err = capsys.readouterr().err
    assert err == 'ddm: error: RuntimeError: something inside torch\n'

@pytest.mark.parametrize('sig,code', [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=['SIGTERM', 'SIGINT'])
def test_cli_signal_mid_demo_leaves_no_temporary_folder(tmp_path, sig, code):
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}
    p = subprocess.Popen([str(BIN/'ddm'), 'demo', 'hopf', '--out', 'o', '--device', 'cpu', '--set', 'n=32', 't1=200', 'samples=2000'],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while not [f for f in os.listdir(tmp_path) if f.startswith('.o.tmp')]:
        assert p.poll() is None and time.time()-t0 < 120, (p.poll(), p.stderr.read() if p.poll() is not None else '')
        time.sleep(0.05)
    time.sleep(1.)   # the run is now fitting or simulating
    assert p.poll() is None
    p.send_signal(sig)
    _,err = p.communicate(timeout=120)
    assert p.returncode == code and 'Traceback' not in err, (p.returncode, err[-2000:])
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)

# issue 24: sizes checked before anything is allocated, and the hostile leftovers
MEASURE = """import resource, subprocess, sys, time
t0 = time.perf_counter(); r = subprocess.run(sys.argv[1:], capture_output=True, text=True); t = time.perf_counter() - t0
print(r.returncode, round(t, 3), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, sep='\\t'); print(r.stderr, end='')"""

def measured(*args, cwd):
    "Run `ddm args` from a fresh wrapper process: `(return code, wall seconds, peak RSS in bytes, stderr)` of that one command."
    env = {**os.environ, 'MPLBACKEND': 'Agg'}
    r = subprocess.run([sys.executable, '-c', MEASURE, str(BIN/'ddm'), *args], capture_output=True, text=True, cwd=cwd, env=env)
    head,_,err = r.stdout.partition('\n')
    rc,t,kb = head.split('\t')
    return int(rc), float(t), int(kb)*1024, err

@pytest.mark.parametrize('value,words', [('n=1000000', ['N = 1,000,000 neurons', 'fit stage the largest', 'use fewer neurons n']),
                                         ('n_paths=1000000000', ['1,000,000,000 paths', 'fewer neurons n or paths n_paths'])], ids=['n', 'n_paths'])
def test_cli_too_large_refused_before_any_work(tmp_path, value, words):
    "Sizes that cannot fit are refused from the sizes alone: in about the time of the import, allocating nothing, with the estimate and the memory available."
    rc0,t0,_,_ = measured('--version', cwd=tmp_path)
    rc,t,peak,err = measured('demo', '--out', 'o', '--device', 'cpu', '--set', value, cwd=tmp_path)
    assert rc == 2 and err.startswith('ddm: error: demo of preset ') and err.count('\n') == 1, err
    for w in words + ['needs about', 'of memory but', 'is available']: assert w in err, (w, err)
    assert peak < 1.5e9, f"peak memory {peak/1e9:.2f} GB"
    assert t < 1.5*t0 + 2, f"refused after {t:.1f} s; `ddm --version` takes {t0:.1f} s"   # no sampling, no fitting: only the import
    assert os.listdir(tmp_path) == []

def test_presets_file_not_utf8_names_the_line(tmp_path):
    "A settings.ini in the working folder with a byte that is not UTF-8 is read, not skipped: the error names the file and the line."
    (tmp_path/'settings.ini').write_bytes(b'[ddm]\ndefault = mine\n[mine]\nsystem = hopf\n# caf\xe9\n')
    assert presets_path() == tmp_path/'settings.ini'
    with pytest.raises(ValueError) as e: get_preset('mine')
    assert str(tmp_path/'settings.ini') in str(e.value) and 'line 5' in str(e.value) and 'byte 0xe9 is not UTF-8' in str(e.value), str(e.value)
    one_line_error(run_ddm('demo', 'mine', '--out', 'o', cwd=tmp_path), 'settings.ini, line 5', 'save the file as UTF-8')

def test_cli_broken_pipe_is_quiet(tmp_path):
    "`ddm presets | head -1`: the reader has gone before the table is written; the command stops quietly."
    r,w = os.pipe(); os.close(r)
    p = subprocess.run([str(BIN/'ddm'), 'presets'], stdout=w, stderr=subprocess.PIPE, text=True, cwd=tmp_path); os.close(w)
    assert p.returncode == 0 and p.stderr == '', (p.returncode, p.stderr)

def test_stale_temporary_folders_are_cleaned(tmp_path):
    "A run killed with SIGKILL leaves its temporary folder; the next run into the same place removes it once its process is gone."
    gone = subprocess.Popen([sys.executable, '-c', 'pass']); gone.wait()   # a pid that no longer runs
    dead,alive = tmp_path/f'.o.tmp{gone.pid}-abcd1234',tmp_path/f'.o.tmp{os.getppid()}-abcd1234'
    for d in (dead, alive): d.mkdir(); (d/'half.png').write_bytes(b'x')
    with OutDir(tmp_path/'o') as t: (t/'a.txt').write_text('1')
    assert not dead.exists() and alive.exists()   # a folder whose process still runs is left alone
    inside = tmp_path/'o'/f'.ddm-nb-tmp{gone.pid}-abcd1234'; inside.mkdir()
    with OutDir(tmp_path/'o') as t: (t/'b.txt').write_text('2')
    assert not inside.exists() and sorted(os.listdir(tmp_path/'o')) == [MANIFEST, 'b.txt']

def test_failed_runs_leave_no_empty_folder_and_no_empty_csv(tmp_path):
    from ddm_nb.sweep import sweep
    with pytest.raises(FloatingPointError):
        with OutDir(tmp_path/'out'/'demo') as t: (t/'a.txt').write_text('1'); raise FloatingPointError('diverged')
    assert os.listdir(tmp_path) == []
    def boom(x, seed): raise FloatingPointError('diverged')
    with pytest.raises(FloatingPointError): sweep(boom, dict(x=[1, 2]), out=tmp_path/'out'/'s.csv', progress=False)
    assert os.listdir(tmp_path) == []

def test_second_concurrent_writer_is_refused(tmp_path):
    "Two demos into one existing folder at once: the second is refused at once; the first runs on."
    (tmp_path/'o').mkdir()
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}
    first = subprocess.Popen([str(BIN/'ddm'), 'demo', 'hopf', '--out', 'o', '--device', 'cpu', '--set', 'n=32', 't1=400', 'samples=2000'],
                             cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().startswith('[1/'), first.poll()   # the first run has started: it holds the folder
        one_line_error(run_ddm('demo', 'hopf', '--out', 'o', *FAST, cwd=tmp_path), 'is being written by another ddm-nb run')
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM); first.communicate(timeout=120)
    assert os.listdir(tmp_path/'o') == []

def test_advice_names_only_keys_that_exist():
    "The Kramers–Moyal note a demo's summary prints advises keys that `--set` accepts."
    from ddm_nb.metrics import km_note
    notes = [km_note(3.), km_note(float('inf'))]
    assert not any('km_bins' in n for n in notes) and all(k in PRESET_KEYS for k in ('t1', 'n_paths')) and '(t1)' in notes[0] and '(n_paths)' in notes[0]
