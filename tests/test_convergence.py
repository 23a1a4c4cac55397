"""Order of weak convergence of `simulate`'s schemes, measured, on an SDE with a known answer.

dx = −x dt + dW from x(0) = 0 has E[x(T)²] = (1 − e^{−2T})/2. For this linear SDE with additive noise, Euler–Maruyama
has weak order 1 and the drift-trapezoid Heun scheme weak order 2: halving dt halves (quarters) the bias of E[x(T)²].
The bias is measured from 4·10⁶ paths in float64; the standard error of E[x²] is 0.43·√(2/n) ≈ 3·10⁻⁴, and the
tolerances on the fitted order follow from it (3 standard errors propagated to the slope)."""
import math
import pytest, torch
from ddm_nb.simulate import simulate

class Linear:
    "dx = −x dt + dW, torchsde protocol only"
    noise_type, sde_type = 'additive', 'ito'
    def f(self, t, y): return -y
    def g(self, t, y): return torch.ones(len(y), 1, 1, dtype=y.dtype, device=y.device)

T, PATHS = 1., 4_000_000
EXACT = (1 - math.exp(-2*T))/2
SE = EXACT*math.sqrt(2/PATHS)

def bias(method, dt, seed):
    steps = round(T/dt)
    _, ys = simulate(Linear(), torch.zeros(1), T, dt, method=method, n_paths=PATHS, save_every=steps, seed=seed,
                     dtype=torch.float64, device='cpu')
    return float((ys[-1, :, 0]**2).mean()) - EXACT

@pytest.mark.parametrize('method,dts,order', [('euler', (0.2, 0.1, 0.05), 1), ('heun', (0.5, 0.25, 0.125), 2)])
def test_weak_order(method, dts, order):
    errs = [bias(method, dt, seed=i) for i, dt in enumerate(dts)]
    # the bias has one sign and falls with dt
    assert all(abs(e) > 3*SE for e in errs), (errs, SE)
    assert abs(errs[0]) > abs(errs[1]) > abs(errs[2]), errs
    slope = math.log(abs(errs[0]/errs[-1]))/math.log(dts[0]/dts[-1])
    tol = 3*SE*(1/abs(errs[0]) + 1/abs(errs[-1]))/math.log(dts[0]/dts[-1]) + 0.15  # + the pre-asymptotic curvature
    assert abs(slope - order) < tol, f'{method}: measured weak order {slope:.2f}, expected {order} ± {tol:.2f}; biases {errs}'
