"""The explorer (`ddm_nb.widgets`) driven in a real Jupyter kernel, as a user's clicks would drive it: set control values,
then check the data behind the figures, the figures themselves, and that bad values end as a visible message, never a traceback."""
import json, os, sys, time
import pytest
from conftest import ROOT

jupyter_client = pytest.importorskip('jupyter_client')
pytest.importorskip('ipykernel')

class Kernel:
    "A real ipykernel (this interpreter's, via the `python3` kernelspec) with a helper that runs code and collects its output."
    def __init__(self):
        from jupyter_client.manager import KernelManager
        self.km = KernelManager(kernel_name='python3')
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg', 'PYTHONUNBUFFERED': '1'}
        env.pop('DDM_PRESETS', None)
        self.km.start_kernel(cwd=str(ROOT), env=env)
        self.kc = self.km.client(); self.kc.start_channels(); self.kc.wait_for_ready(timeout=60)

    def run(self, code, timeout=120):
        "Execute `code`; return `(stdout, outputs)`, where outputs are all iopub messages (type, content) of the execution."
        mid = self.kc.execute(code)
        outs, end = [], time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(1, end - time.time()))
            if msg['parent_header'].get('msg_id') != mid: continue
            t, c = msg['msg_type'], msg['content']
            if t == 'status' and c['execution_state'] == 'idle': break
            outs.append((t, c))
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply['parent_header'].get('msg_id') != mid: reply = self.kc.get_shell_msg(timeout=timeout)
        stdout = ''.join(c['text'] for t, c in outs if t == 'stream' and c['name'] == 'stdout')
        errors = [c for t, c in outs if t == 'error'] + ([reply['content']] if reply['content']['status'] != 'ok' else [])
        shown = json.dumps([c for t, c in outs if t not in ("status", "execute_input")])
        assert not errors and 'Traceback' not in shown, f"the kernel showed an error:\n{errors or shown[:2000]}"
        return stdout, outs

    def get(self, expr):
        "Value of the JSON-able expression `expr` in the kernel (asserting no error or traceback was shown)."
        out, _ = self.run(f'print(json.dumps({expr}))')
        return json.loads(out.strip().splitlines()[-1])

    def close(self):
        self.kc.stop_channels(); self.km.shutdown_kernel(now=True)

@pytest.fixture(scope='module')
def k():
    k = Kernel()
    k.run('import hashlib, json, torch\nfrom ddm_nb.widgets import explore\n'
          'spread = lambda z: float((z - z[:, :1]).abs().max())\n'
          'png = lambda o: o.outputs[0]["data"]["image/png"] if o.outputs else ""\n'
          'def panels(ex): return [png(o)[:11] + ":" + hashlib.sha1(png(o).encode()).hexdigest() for o in ex.panels.children]\n'
          'ex = explore("hopf", N=64, t1=10.)')
    yield k
    k.close()

def test_builds_and_draws(k):
    assert k.get('ex.state["ok"]') and 'drift error' in k.get('ex.message.value')
    assert k.get('sorted(ex.controls)') == sorted(['system', 'N', 'noise', 'tau', 'omega', 'cue', 'symmetric', 'source', 'seed', 'dt'])
    pngs = k.get('panels(ex)')
    assert len(pngs) == 4 and pngs[0].startswith('iVBORw0KGgo')   # the panel on screen is drawn...
    assert all(p.startswith(':') for p in pngs[1:])   # ...the others only when selected
    k.run('for i in (1, 2, 3): ex.panels.selected_index = i')
    assert all(p.startswith('iVBORw0KGgo') for p in k.get('panels(ex)'))
    k.run('ex.panels.selected_index = 0')
    assert k.get('list(ex.panels.titles)') == ['trajectories', 'attractor', 'vector field', 'decomposition']
    assert k.get('ex.controls["omega"].value') == 2.0 and not k.get('ex.controls["omega"].disabled')   # Hopf's own ω
    assert k.get('ex.controls["cue"].disabled') and k.get('ex.state["params"]["cue"]') is None   # no wells to cue

def test_noise_off_is_deterministic(k):
    assert k.get('spread(ex.state["zt"])') > 0.1 and k.get('spread(ex.state["zn"])') > 0.1
    k.run('ex.controls["noise"].value = 0.\nzn0 = ex.state["zn"].clone()')
    assert k.get('spread(ex.state["zt"])') == 0 and k.get('spread(ex.state["zn"])') == 0
    old = k.get('panels(ex)')
    k.run('ex.controls["seed"].value = 7')
    assert k.get('bool((ex.state["zn"] == zn0).all())') and k.get('ex.state["params"]["seed"]') == 7
    k.run('ex.controls["noise"].value = 1.')
    assert k.get('spread(ex.state["zn"])') > 0.1 and k.get('panels(ex)') != old

def test_more_neurons_smaller_error(k):
    k.run('ex.controls["N"].value = 16')
    e16 = k.get('ex.state["drift_error"]')
    k.run('ex.controls["N"].value = 128')
    e128 = k.get('ex.state["drift_error"]')
    assert k.get('ex.state["report"]["N"]') == 128 and e128 < e16/10, (e16, e128)

def test_omega_turns_the_field(k):
    k.run('ex.set(system="multiwell", N=64, source="box")')
    assert k.get('ex.controls["omega"].value') == 0.0   # the system's own ω
    c0 = k.get('ex.state["circulation"]')
    k.run('ex.controls["omega"].value = 1.')
    c1 = k.get('ex.state["circulation"]')
    k.run('ex.controls["omega"].value = -1.')
    cm = k.get('ex.state["circulation"]')
    assert abs(c0['target']) < 1e-3 and abs(c0['network']) < 0.05
    assert c1['target'] > 0.3 and c1['network'] > 0.3 and cm['target'] < -0.3 and cm['network'] < -0.3
    k.run('ex.controls["system"].value = "lorenz"')   # no ω: the slider is disabled and ignored
    assert k.get('ex.controls["omega"].disabled') and k.get('ex.state["params"]["omega"]') is None and k.get('ex.state["ok"]')

def test_cue_switches_the_memory(k):
    k.run('ex.set(system="multiwell", N=64, source="box", noise=0.)')
    assert not k.get('ex.controls["cue"].disabled') and k.get('ex.controls["cue"].label') == 'none'
    assert k.get('[l for l, v in ex.controls["cue"].options]') == ['none', 'well 0', 'well 1', 'well 2']
    assert k.get('{w: v.tolist() for w, v in ex.state["final_well"].items()}') == dict(target=[0]*4, network=[0]*4)   # holds its memory
    k.run('ex.controls["cue"].value = 2')
    assert k.get('ex.state["params"]["cue"]') == 2
    assert k.get('{w: v.tolist() for w, v in ex.state["final_well"].items()}') == dict(target=[2]*4, network=[2]*4)   # switched
    k.run('ex.controls["system"].value = "hopf"')
    assert k.get('ex.controls["cue"].disabled') and k.get('ex.controls["cue"].value') == -1 and k.get('ex.state["ok"]')
    k.run('ex.set(noise=1.)')

def test_symmetric_raises_error_and_removes_f_A(k):
    k.run('ex.set(system="hopf", N=64, source="invariant")')
    e, parts = k.get('ex.state["drift_error"]'), k.get('ex.state["drift_norms"]')
    assert parts['A'] > 0.5*parts['total'] and k.get('ex.state["circulation"]["A"]') > 0.3   # f_A carries the rotation
    k.run('ex.panels.selected_index = 3')
    old = k.get('panels(ex)')
    k.run('ex.controls["symmetric"].value = True')
    es, parts_s = k.get('ex.state["drift_error"]'), k.get('ex.state["drift_norms"]')
    assert es > 0.1 and es > 100*e, (e, es)
    assert parts_s['A'] == 0 and parts_s['S'] > 0   # no antisymmetric part left
    assert k.get('panels(ex)')[3] != old[3]   # the decomposition panel, on screen, was redrawn
    k.run('ex.controls["symmetric"].value = False\nex.panels.selected_index = 0')

@pytest.mark.parametrize('name,value,text', [('N', 2, 'N ≥ 3'), ('noise', -1., 'noise=-1 must be ≥ 0'), ('tau', 0., 'τ=0 must be positive'),
                                             ('dt', 1., 'simulation diverged'), ('N', 100000, 'too large')])
def test_bad_value_shows_message(k, name, value, text):
    k.run('ex.set(system="hopf", N=64, noise=1., tau=0.1, source="invariant")')
    assert k.get('ex.state["ok"]')
    good = k.get('panels(ex)')
    k.run(f'ex.controls[{name!r}].value = {value!r}')   # run() asserts no error and no traceback in the kernel's output
    assert not k.get('ex.state["ok"]')
    msg = k.get('ex.message.value')
    assert text in msg and 'Cannot show' in msg, msg
    assert k.get('panels(ex)') == good   # the last valid figures stay
