"""The training solver vs cvxpy + Clarabel, closed forms, the trivial phase (conventions 3.5)."""

import numpy as np
import pytest

from advrf import Problem
from advrf.settings import SolverSettings
from advrf.simulation import (
    Instance,
    TrainingError,
    critical_eps,
    solve_concentrated,
    solve_exact,
    train,
)
from advrf.simulation import reference_cvx as cvx
from advrf.simulation._linalg import m_operator

pytest.importorskip("cvxpy")

REL = 1e-6  # agreement in objective required by the issue


def _setup(psi1, psi2, lam, activation="relu_shifted", d=20, seed=0, noise=0.0):
    problem = Problem(psi1=psi1, psi2=psi2, eps=0.1, lam=lam, activation=activation, noise=noise)
    inst = Instance.draw(problem, d, seed, n_test=10)
    mom = problem.moments
    return inst, m_operator(inst.theta, mom.mu1, mom.nu2, inst.n), psi1 * lam


# (psi1, psi2, lam, activation, noise, eps / eps_c): N > n and N < n, lam = 0 and > 0.
CASES = [
    (2.0, 1.0, 0.0, "relu_shifted", 0.0, 0.15),
    (2.0, 1.0, 0.0, "relu_shifted", 0.0, 0.6),
    (2.0, 1.0, 0.01, "relu_shifted", 0.0, 0.3),
    (4.0, 2.0, 0.0, "tanh", 0.5, 0.3),
    (0.5, 1.5, 0.0, "relu_shifted", 0.0, 0.3),
    (0.5, 1.5, 0.01, "relu", 0.5, 0.5),
    (1.0, 2.0, 0.0, "erf", 0.0, 0.9),
    (1.0, 1.0, 0.1, "softplus", 0.5, 0.3),
    (4.0, 1.5, 0.0, "softplus", 0.5, 0.6),  # cold Newton stalls here: continuation fallback
]


@pytest.mark.parametrize(("psi1", "psi2", "lam", "activation", "noise", "ratio"), CASES)
def test_concentrated_matches_cvxpy(psi1, psi2, lam, activation, noise, ratio):
    inst, mop, c = _setup(psi1, psi2, lam, activation, noise=noise)
    eps = ratio * critical_eps(inst)
    res = solve_concentrated(inst.phi, inst.y, mop, eps=eps, c=c)
    assert res.converged and res.residual <= 1e-10
    value, _ = cvx.concentrated(inst.phi, inst.y, inst.m_matrix, eps, c)
    assert abs(res.objective - value) <= REL * value
    # the certificate is a true lower bound: cvxpy cannot do better than the certified value
    assert value >= res.objective * (1 - 1e-9)


def test_interpolating_phase_closed_form():
    """lam = 0, N > n, small eps: all residuals vanish, a = minimum-M-norm interpolator."""
    inst, mop, _ = _setup(4.0, 2.0, 0.0, d=15)
    eps = 0.02 * critical_eps(inst)
    res = solve_concentrated(inst.phi, inst.y, mop, eps=eps, c=0.0)
    assert res.phase == "interpolating" and res.converged
    assert np.max(np.abs(inst.y - inst.phi @ res.a)) < 1e-10
    m = inst.m_matrix
    z = np.linalg.solve(inst.phi @ np.linalg.solve(m, inst.phi.T), inst.y)
    np.testing.assert_allclose(res.a, np.linalg.solve(m, inst.phi.T @ z), rtol=1e-8, atol=1e-10)
    value, _ = cvx.concentrated(inst.phi, inst.y, m, eps, 0.0)
    assert abs(res.objective - value) <= REL * value


@pytest.mark.parametrize(("psi1", "psi2"), [(2.0, 1.0), (0.5, 1.5)])
def test_eps_zero_is_ridge_and_minimum_norm(psi1, psi2):
    inst, mop, _ = _setup(psi1, psi2, 0.0)
    phi, y = inst.phi, inst.y
    res = solve_concentrated(phi, y, mop, eps=0.0, c=0.0)
    assert res.phase == "min_norm"
    np.testing.assert_allclose(res.a, np.linalg.pinv(phi) @ y, rtol=1e-8, atol=1e-10)
    c = psi1 * 0.05
    res = solve_concentrated(phi, y, mop, eps=0.0, c=c)
    normal = phi.T @ phi / len(y) + c * np.eye(phi.shape[1])
    np.testing.assert_allclose(res.a, np.linalg.solve(normal, phi.T @ y / len(y)), rtol=1e-8)
    assert res.phase == "ridge" and res.converged
    value, _ = cvx.concentrated(phi, y, inst.m_matrix, 0.0, c)
    assert abs(res.objective - value) <= REL * value


@pytest.mark.parametrize("lam", [0.0, 0.01])
def test_critical_eps_both_sides(lam):
    """a = 0 iff eps >= eps_c = ||M^{-1/2} Phi^T y|| / ||y||_1, for every lam (conventions 3.5)."""
    inst, mop, c = _setup(2.0, 1.0, lam)
    phi, y, m = inst.phi, inst.y, inst.m_matrix
    b = phi.T @ y
    eps_c = np.sqrt(b @ np.linalg.solve(m, b)) / np.abs(y).sum()
    assert critical_eps(inst) == pytest.approx(eps_c, rel=1e-12)
    null = float(np.mean(y**2))
    above = solve_concentrated(phi, y, mop, eps=eps_c * (1 + 1e-6), c=c)
    assert above.phase == "trivial" and not np.any(above.a) and above.objective == null
    value, a_cvx = cvx.concentrated(phi, y, m, eps_c * (1 + 1e-6), c)
    assert abs(value - null) <= REL * null
    below = solve_concentrated(phi, y, mop, eps=eps_c * (1 - 1e-3), c=c)
    assert below.phase == "nontrivial" and below.converged and below.objective < null
    value, _ = cvx.concentrated(phi, y, m, eps_c * (1 - 1e-3), c)
    assert abs(below.objective - value) <= REL * value


@pytest.mark.parametrize("ratio", [0.99, 0.999, 0.99999])
def test_near_critical_boundary(ratio):
    """Just below eps_c (a tiny but nonzero): where a prototype solver once lost its gap."""
    inst, mop, c = _setup(0.5, 1.5, 0.01, activation="relu", d=40)
    eps = ratio * critical_eps(inst)
    res = solve_concentrated(inst.phi, inst.y, mop, eps=eps, c=c)
    assert res.converged and res.phase == "nontrivial" and np.any(res.a)
    value, _ = cvx.concentrated(inst.phi, inst.y, inst.m_matrix, eps, c)
    assert abs(res.objective - value) <= REL * value


def test_spec8_boundary_instance_at_d800():
    """relu, psi1 = 0.5, psi2 = 1.5, eps = 1, lam = 0.01, d = 800: certified."""
    problem = Problem(psi1=0.5, psi2=1.5, eps=1.0, lam=0.01, activation="relu")
    inst = Instance.draw(problem, 800, 0, n_test=10)
    res = train(inst, "concentrated")
    assert res.converged and res.residual <= 1e-10
    assert res.phase == ("trivial" if critical_eps(inst) <= 1.0 else "nontrivial")


EXACT_CASES = [
    (2.0, 1.0, 0.0, "relu_shifted", 0.3),
    (2.0, 1.0, 0.01, "tanh", 0.6),
    (0.5, 1.5, 0.0, "relu", 0.4),
    (1.0, 2.0, 0.01, "relu_shifted", 0.9),
    (4.0, 1.0, 0.0, "tanh", 3.0),  # above the concentrated eps_c
]


@pytest.mark.parametrize(("psi1", "psi2", "lam", "activation", "ratio"), EXACT_CASES)
def test_exact_variant_matches_cvxpy(psi1, psi2, lam, activation, ratio):
    inst, mop, c = _setup(psi1, psi2, lam, activation, d=15)
    eps = ratio * critical_eps(inst)
    sprime = inst.problem.activation.derivative(inst.preactivations(inst.x))
    res = solve_exact(inst.phi, inst.y, inst.theta, sprime, mop, eps=eps, c=c)
    assert res.converged and res.residual <= 1e-10 and res.variant == "exact"
    value, _ = cvx.exact(inst.phi, inst.y, inst.theta, sprime, eps, c)
    assert abs(res.objective - value) <= REL * value


def test_train_raises_training_error_naming_parameters():
    """Solver caps come from SolverSettings: one Newton step and no continuation cannot certify."""
    inst, _, _ = _setup(2.0, 1.0, 0.0)
    capped = SolverSettings(max_newton_steps=1, continuation_min_step=2.0)
    eps = 0.5 * critical_eps(inst)
    with pytest.raises(TrainingError, match=r"variant=concentrated, eps=.*lam=0.*duality gap"):
        train(inst, "concentrated", eps=eps, solver=capped)
    res = train(inst, "concentrated", eps=eps, raise_on_failure=False, solver=capped)
    assert not res.converged and res.message
    assert train(inst, "concentrated", eps=eps).converged
