"Our `simulate` and `torchsde.sdeint` agree in distribution on a non-normal OU process (torchsde is a test dependency only)."
import math
import numpy as np, torch, pytest
from scipy import stats
from ddm_nb.sde import OU
from ddm_nb.simulate import simulate

torchsde = pytest.importorskip('torchsde')

def test_agree_with_torchsde_on_ou():
    A = torch.tensor([[-1., 3.], [0., -2.]]); ou = OU(A, 0.5)
    y0, T, dt, n = torch.tensor([1., -1.]), 2., 0.01, 4000
    _, ours = simulate(ou, y0, T, dt, n_paths=n, seed=0, device='cpu', method='heun')
    torch.manual_seed(1)
    theirs = torchsde.sdeint(ou, y0[None].repeat(n, 1), torch.tensor([0., T]), dt=dt, method='euler')
    a, b = ours[-1].double(), theirs[-1].double()
    # exact transient law: mean e^{AT} y0, covariance C - e^{AT} C e^{A^T T}
    E = torch.linalg.matrix_exp(A.double()*T); C = ou.refs['cov']
    mean, cov = E@y0.double(), C - E@C@E.T
    se = (cov.diagonal()/n).sqrt()
    for s in (a, b):
        assert ((s.mean(0)-mean).abs() < 4*se).all()                     # 4 standard errors
        assert torch.linalg.norm(torch.cov(s.T)-cov)/torch.linalg.norm(cov) < 0.08  # SE of a covariance ~ sqrt(2/n)=2.2%
    for k in range(2): assert stats.ks_2samp(a[:, k].numpy(), b[:, k].numpy()).pvalue > 1e-3
