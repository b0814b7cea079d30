"""The theory's trivial-phase boundary eps_c against the simulator's exact finite-size eps_c.

Seed means at d = 500 (8 seeds) lie within max(2 %, 3 standard errors) of the theory for centred
activations; the spread across seeds shrinks from d = 100 to d = 500. (Non-centred activations
such as relu carry an extra intercept-mode term at finite size: docs/validation.md.)
"""

import numpy as np
import pytest

from advrf import Problem
from advrf.simulation import Instance, critical_eps
from advrf.theory import solve

SEEDS = range(8)


def finite_size(problem: Problem, d: int) -> np.ndarray:
    return np.array([critical_eps(Instance.draw(problem, d, s, n_test=1)) for s in SEEDS])


@pytest.mark.parametrize("activation", ["relu_shifted", "tanh"])
@pytest.mark.parametrize(("psi1", "psi2", "noise"), [(2.0, 1.0, 0.0), (5.0, 2.0, 0.5)])
def test_eps_c_theory_matches_finite_size(activation, psi1, psi2, noise):
    problem = Problem(psi1=psi1, psi2=psi2, eps=0.0, noise=noise, activation=activation)
    theory = solve(problem).eps_c
    large = finite_size(problem, 500)
    sem = large.std(ddof=1) / np.sqrt(large.size)
    assert abs(large.mean() - theory) <= max(0.02 * theory, 3 * sem)
    assert large.std() < finite_size(problem, 100).std()
