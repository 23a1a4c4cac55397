"A preset changed to another system does not carry the old system's parameters; noise-free demo runs start apart."
import torch
from ddm_nb.presets import get_preset, override, preset_params
from ddm_nb.pipeline import run_starts

def test_other_system_drops_old_parameters():
    p = get_preset('lorenz')
    assert p.system_params.get('noise') == 1.0              # the preset sets Lorenz's noise …
    q = override(p, system='vdp')
    assert q.system_params == {} and q.sde.params == {'mu': 1.0, 'sigma': 0.1}   # VdP's own defaults
    assert 'noise' not in q.system_params                   # … which does not leak into another system
    r = override(p, **{'system': 'vdp', 'system.mu': 2.0})
    assert r.system_params == {'mu': 2.0}
    assert preset_params('lorenz')['system'] == 'lorenz'     # the system is a value a sweep can set

def test_noise_free_runs_start_apart():
    p = get_preset('lorenz')
    s = run_starts(p)
    assert s.shape == (2*p.n_paths, 3) and (s == p.sde.y0).all()     # noisy: every path from y0, its noise makes them differ
    q = override(p, **{'system.noise': 0.})
    s = run_starts(q)
    dev = (s - q.sde.y0)/q.sde.scale
    assert len(torch.unique(s, dim=0)) == len(s)                       # noise-free: distinct starts, or every path would be the same
    assert 0.003 < float(dev.std()) < 0.03                             # spread 1% of the scale (std of 96 normals: within 30%)
