"""cvxpy + Clarabel formulations of the two training programs (the reference solver in tests)."""

import numpy as np
import pytest

cp = pytest.importorskip("cvxpy")

# Clarabel's default gap tolerances (1e-8); tighter ones make it stop "optimal_inaccurate" on
# these problems (measured at 1e-9 to 1e-11).
CLARABEL_TOLERANCES = dict(max_iter=400)


def _solve(phi, y, a, bound, c):
    """Epigraph form, objective multiplied by n (better scaled for Clarabel); returns /n."""
    n = len(y)
    t = cp.Variable(n)
    objective = cp.sum_squares(t) + (n * c * cp.sum_squares(a) if c > 0 else 0)
    problem = cp.Problem(cp.Minimize(objective), [t >= cp.abs(y - phi @ a) + bound])
    problem.solve(solver=cp.CLARABEL, **CLARABEL_TOLERANCES)
    # "optimal_inaccurate" (Clarabel's reduced-accuracy stop) is accepted: the objective values
    # are then compared at the tested tolerance all the same.
    assert problem.status in ("optimal", "optimal_inaccurate"), f"reference: {problem.status}"
    return float(problem.value) / n, np.asarray(a.value)


def concentrated(phi, y, m, eps, c):
    """min (1/n) sum (|y_i - phi_i^T a| + eps ||L^T a||)^2 + c||a||^2, M = L L^T."""
    a = cp.Variable(phi.shape[1])
    return _solve(phi, y, a, eps * cp.norm(np.linalg.cholesky(m).T @ a), c)


def exact(phi, y, theta, sprime, eps, c):
    """min (1/n) sum (|y_i - phi_i^T a| + eps ||Theta^T (sigma'_i * a)|| / sqrt d)^2 + c||a||^2."""
    n, big_n = phi.shape
    a = cp.Variable(big_n)
    rows = cp.multiply(sprime, np.ones((n, 1)) @ cp.reshape(a, (1, big_n), order="C")) @ theta
    return _solve(phi, y, a, eps * cp.norm(rows / np.sqrt(theta.shape[1]), 2, axis=1), c)
