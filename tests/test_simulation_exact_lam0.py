"""Regression: the exact variant with N < n and lam = 0 must certify its gap (no outer stall).

Before the fix, the warm-started inner programs accepted their warm start unchanged (its inner gap
was already below the inner tolerance), which froze the multiplier u of the previous shapes: the
outer relative duality gap stalled at 1.2e-9 (relu) and 1.9e-9 (erf) for all 50 reweightings.
"""

import pytest

from advrf import Problem
from advrf.simulation import Instance, train
from advrf.simulation.train import GAP_TOL

# (psi1, psi2, eps, activation), d = 250, seed 0, lam = 0: N = 125 < n = 500 and 250.
STALLED = [(0.5, 2.0, 0.5, "relu"), (0.5, 1.0, 1.0, "erf")]


@pytest.mark.parametrize(("psi1", "psi2", "eps", "activation"), STALLED)
def test_exact_variant_certifies_with_fewer_features_than_samples(psi1, psi2, eps, activation):
    problem = Problem(psi1=psi1, psi2=psi2, eps=eps, lam=0.0, activation=activation)
    inst = Instance.draw(problem, 250, 0, n_test=10)
    res = train(inst, "exact", raise_on_failure=False)
    assert res.converged and res.residual <= GAP_TOL
    assert res.phase == "nontrivial" and res.outer_iterations <= 12
