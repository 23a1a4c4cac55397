"""dysts flows as targets (`ddm_nb.sde.from_dysts`): dysts is an optional extra, so the tests that need it skip where it is absent.

Without dysts: the numpy→torch shim on a hand-written numpy flow, and the install hint. With dysts: every selected flow against
dysts' own numpy right-hand side (values, complex-step and autograd derivatives), and the preset parser's `dysts:` systems."""
import importlib.util, sys
import numpy as np, pytest, torch
from ddm_nb.dysts_flows import TORCH_NP, torchify, from_dysts, chaotic_flows, DYSTS_HINT

needs_dysts = pytest.mark.skipif(importlib.util.find_spec('dysts') is None, reason="dysts not installed (pip install 'ddm-nb[dysts]')")

def _flow(x, y, z, t, a=10.):
    "A numpy flow with every non-smooth function the shim carries."
    return a*(y - x) + np.maximum(x, 0.), x*(28 - z) - y + np.sign(x)*np.heaviside(y, 0.5), np.abs(x)*y - 8/3*z + max(z, 1.) + np.tanh(np.sqrt(np.abs(x) + 1))

def test_shim_matches_numpy_and_differentiates():
    X = np.random.default_rng(0).normal(size=(32, 3))*4
    y,v = torch.tensor(X),torch.tensor(np.random.default_rng(1).normal(size=(32, 3)))
    f = lambda u: torch.stack(torchify(_flow)(*u.T, 0.), -1)
    ref = np.stack([np.array(_flow(*x, 0.)) for x in X])   # one state at a time: the builtin max is numpy's scalar max here
    assert np.abs(f(y).numpy() - ref).max() <= 1e-12*np.abs(ref).max()
    cs = f(torch.complex(y, 1e-20*v)).imag/1e-20
    ad = torch.func.jvp(f, (y,), (v,))[1]
    assert torch.allclose(cs, ad, rtol=1e-12, atol=1e-12)
    with pytest.raises(NotImplementedError, match='no torch version'): TORCH_NP.fft

def test_missing_dysts_names_the_install(monkeypatch):
    for k in ('dysts', 'dysts.flows'): monkeypatch.setitem(sys.modules, k, None)
    with pytest.raises(ImportError) as e: from_dysts('Chen')
    assert str(e.value) == DYSTS_HINT and "pip install --no-deps dysts" in DYSTS_HINT

@needs_dysts
def test_every_flow_matches_dysts():
    names = chaotic_flows()
    assert len(names) >= 80 and {'Lorenz', 'Chen', 'Rossler', 'Arneodo'} <= set(names) and 'Torus' not in names
    bad = []
    for n in names:
        s = from_dysts(n); rng = np.random.default_rng(0)
        X = s.sys.ic[None] + 0.01*np.abs(s.sys.ic[None] + 1e-3)*rng.standard_normal((8, s.d))
        ref = np.stack([np.asarray(s.sys.rhs(x, 0.), dtype=float) for x in X])
        y,v = torch.tensor(X),torch.tensor(rng.standard_normal(X.shape))
        e = 1e-6*(1 + float(y.abs().max())); fd = (s.f(0., y + e*v) - s.f(0., y - e*v))/(2*e)
        cs = s.f(0., torch.complex(y, 1e-20*v)).imag/1e-20
        ad = torch.func.jvp(lambda u: s.f(0., u), (y,), (v,))[1]
        errs = (np.abs(s.f(0., y).numpy() - ref).max()/np.abs(ref).max(), float((cs - fd).norm()/fd.norm()), float((ad - fd).norm()/fd.norm()))
        if not (errs[0] < 1e-12 and errs[1] < 1e-5 and errs[2] < 1e-5 and s.f(0., y.float()).dtype == torch.float32): bad.append((n, errs))
    assert not bad, bad

@needs_dysts
def test_from_dysts_is_a_plain_target():
    s = from_dysts('Chen')
    assert (s.d, s.m, s.noise_type, repr(s)) == (3, 3, 'additive', "from_dysts('Chen')")
    assert s.t_scale is None and s.center is None and s.scale is None and s.refs['lyap_max'] > 1
    h = from_dysts('Chen', noise=0.5, hints=True)
    assert h.t_scale > 0 and h.center.shape == (3,) and torch.equal(h.G, 0.5*torch.eye(3))
    with pytest.raises(ValueError, match="did you mean 'Chen'"): from_dysts('Chenn')
    with pytest.raises(ValueError, match='depends on time'): from_dysts('Torus')

def test_bench_report_counts():
    "bench/report.py's dysts summary from hand-made rows: within, misses, flagged misses, median fit seconds (no dysts needed)."
    import importlib.util as u
    from pathlib import Path
    spec = u.spec_from_file_location('bench_report', Path(__file__).resolve().parent.parent/'bench'/'report.py'); rp = u.module_from_spec(spec); spec.loader.exec_module(rp)
    row = lambda n, st, w, fl, s: dict(name=n, status=st, within=w, flagged=fl, seconds=dict(fit=s) if s else {}, lam_source='report')
    rep = dict(flows=5, load_before=0.1, jobs=1, results={'A': row('A', 'ok', True, False, 4.), 'B': row('B', 'ok', False, True, 10.),
               'C': row('C', 'ok', False, False, 6.), 'D': row('D', 'fit failed', None, True, None)})
    c = rp.dysts_summary(rep)
    assert (c['attempted'], c['fitted'], c['within'], c['misses'], c['flagged'], c['median_s']) == (4, 3, 1, 3, 2, 6.)
    block = rp.dysts_block(rep)
    assert block[0] == rp.YSTART and block[-1] == rp.YEND and sum(l.startswith('| ') for l in block) == 5

def test_preset_dysts_system(monkeypatch):
    "`system = dysts:<flow>` in a preset: the flow with dysts' hints; without dysts the install hint, unchanged."
    from ddm_nb.presets import Preset
    if importlib.util.find_spec('dysts') is not None:
        p = Preset(system='dysts:Chen', system_params=dict(noise=0.5))
        assert repr(p.sde) == "from_dysts('Chen')" and p.sde.t_scale > 0 and torch.equal(p.sde.G, 0.5*torch.eye(3))
        with pytest.raises(ValueError, match="did you mean 'Chen'"): Preset(system='dysts:Chenn')
    for k in ('dysts', 'dysts.flows'): monkeypatch.setitem(sys.modules, k, None)
    with pytest.raises(ImportError, match="pip install --no-deps dysts"): Preset(system='dysts:Chen')
