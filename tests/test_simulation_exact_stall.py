"""Regression: the exact variant with lam = 0 must certify its duality gap (no outer stall).

Before the fix, a warm-started inner program accepted its warm start unchanged whenever its inner
gap was already below the inner tolerance; the multiplier u froze at the previous shapes' value
and the outer relative duality gap stalled for all 50 reweightings at 1.2e-9 (relu, N < n),
1.9e-9 (erf, N < n) and 1.1e-9 (tanh, N > n, eps near the concentrated eps_c).
"""

import pytest

from advrf import Problem
from advrf.settings import SolverSettings
from advrf.simulation import Instance, train

# (psi1, psi2, eps, activation, d), seed 0, lam = 0.
STALLED = [
    (0.5, 2.0, 0.5, "relu", 250),  # N = 125 < n = 500
    (0.5, 1.0, 1.0, "erf", 250),  # N = 125 < n = 250
    (2.0, 1.0, 1.62, "tanh", 200),  # N = 400 > n = 200, eps = 0.99 eps_c
]


@pytest.mark.parametrize(("psi1", "psi2", "eps", "activation", "d"), STALLED)
def test_exact_variant_certifies_with_lam_zero(psi1, psi2, eps, activation, d):
    problem = Problem(psi1=psi1, psi2=psi2, eps=eps, lam=0.0, activation=activation)
    inst = Instance.draw(problem, d, 0, n_test=10)
    res = train(inst, "exact", raise_on_failure=False)
    assert res.converged and res.residual <= SolverSettings().gap_tol
    assert res.phase == "nontrivial" and res.outer_iterations <= 12
