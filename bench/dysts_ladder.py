"""Issue 23 study: the dysts flows whose network λ_max missed in bench_dysts.py, refitted with other halo, gain and sample settings
(a candidate 'ladder' of retries inside fit). One process of one torch thread; run two at once on two cores.

    python bench/dysts_ladder.py Flow1,Flow2,... bench/results/dysts-ladder-cpu.jsonl   # appends one JSON line per (flow, setting)
    python bench/dysts_ladder.py Flow1 out.jsonl '[{"gain": 0.25, "samples": 60000}]'    # other settings (a JSON list of fit keywords)

`within`: |λ_net − λ_target| ≤ max(10% |λ_target|, 2 SE of the difference), as in bench_dysts.py; `ok`: fit's own closed-loop verdict.
"""
import torch, time, warnings, sys, json, math
from ddm_nb.dysts_flows import from_dysts
from ddm_nb.matching import fit
from ddm_nb.divergences import LoopCheck
torch.set_num_threads(1)
warnings.simplefilter('ignore')
out = open(sys.argv[2], 'a')
for name in sys.argv[1].split(','):
    tg = from_dysts(name)
    for kw in (json.loads(sys.argv[3]) if len(sys.argv) > 3 else [dict(halo=0.01), dict(halo=0.1), dict(gain=0.25), dict(gain=1.0), dict(halo=0.01, gain=0.25), dict(samples=60000)]):
        t=time.time()
        try:
            net,rep = fit(tg, 512, y0=tg.y0, device='cpu', check=LoopCheck(max_steps=20000), **kw)
            cl=rep.closed_loop
            se = math.sqrt(cl.lam_net_se**2 + cl.lam_target_se**2) if math.isfinite(cl.lam_net_se) else math.nan
            within = math.isfinite(cl.lam_net) and abs(cl.lam_net-cl.lam_target) <= max(0.1*abs(cl.lam_target), 2*se)
            r = dict(name=name, kw=kw, err=rep.drift_error, lam_net=cl.lam_net, lam_t=cl.lam_target, ok=cl.ok, within=within, s=round(time.time()-t,1), flags=cl.flags[:1])
        except Exception as e: r = dict(name=name, kw=kw, error=str(e)[:200])
        print(json.dumps(r), file=out, flush=True)
