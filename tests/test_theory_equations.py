"""The three equations: Jacobian, closed-form prox and its Gaussian expectations, identities."""

import math

import numpy as np
import pytest
from scipy import optimize

from advrf import Problem
from advrf.theory import solve
from advrf.theory.equations import (
    Coefficients,
    envelope_mean,
    loss_terms,
    residual,
    saddle_gradient,
    saddle_value,
    training_loss,
)

MC_SAMPLES = 400_000
MC_TOL = 1e-2  # relative; the Monte-Carlo standard error is ~ 2e-3 here


def prox(q, gam, c):
    """Closed form prox of (|r| + c)^2 with parameter gam (vectorised)."""
    return np.where(np.abs(q) <= 2 * gam * c, 0.0, (q - 2 * gam * c * np.sign(q)) / (1 + 2 * gam))


@pytest.mark.parametrize("q", [-3.0, -0.4, 0.05, 0.5, 2.0])
@pytest.mark.parametrize("gam,c", [(0.3, 0.5), (2.0, 0.1), (0.7, 0.0)])
def test_prox_is_the_minimiser(q, gam, c):
    def objective(r):
        return (abs(r) + c) ** 2 + (q - r) ** 2 / (2 * gam)

    best = optimize.minimize_scalar(
        objective, bounds=(-5, 5), method="bounded", options={"xatol": 1e-12}
    )
    assert float(prox(np.array(q), gam, c)) == pytest.approx(best.x, abs=1e-6)
    p = float(prox(np.array(q), gam, c))
    inside = abs(q) <= 2 * gam * c
    envelope = c * c + q * q / (2 * gam) if inside else (abs(q) + c) ** 2 / (1 + 2 * gam)
    assert objective(p) == pytest.approx(envelope, rel=1e-12)


@pytest.mark.parametrize(
    "gam,Q,s,eps", [(0.8, 1.3, 0.7, 0.4), (5.0, 0.5, 0.2, 0.1), (0.2, 2.0, 1.0, 0.0)]
)
def test_loss_terms_match_monte_carlo(gam, Q, s, eps):  # noqa: N803
    rng = np.random.default_rng(1)
    q = math.sqrt(Q) * rng.standard_normal(MC_SAMPLES)
    c = eps * s
    p = prox(q, gam, c)
    deriv = (q - p) / gam  # e'(q)
    lt = loss_terms(gam, Q, s, eps)
    # Stein: E e''(q) = E[q e'(q)] / Q
    assert lt.th1 == pytest.approx(np.mean(q * deriv) / Q, rel=MC_TOL)
    assert lt.b2 == pytest.approx(np.mean(deriv**2), rel=MC_TOL)
    if eps > 0:
        assert lt.th2 * s == pytest.approx(eps * np.mean(2 * (np.abs(p) + c)), rel=MC_TOL)
    env = (np.abs(p) + c) ** 2 + (q - p) ** 2 / (2 * gam)
    assert envelope_mean(gam, Q, s, eps) == pytest.approx(np.mean(env), rel=MC_TOL)
    assert training_loss(gam, Q, s, eps) == pytest.approx(np.mean((np.abs(p) + c) ** 2), rel=MC_TOL)
    assert lt.p_in == pytest.approx(np.mean(p == 0), abs=3e-3)


def test_loss_terms_derivatives():
    u = (math.log(0.9), math.log(1.2), math.log(0.6))
    h = 1e-6
    for eps in (0.0, 0.3, 2.0):
        lt = loss_terms(*(math.exp(v) for v in u), eps)
        for j in range(3):
            up = [*u]
            dn = [*u]
            up[j] += h
            dn[j] -= h
            a = loss_terms(*(math.exp(v) for v in up), eps)
            b = loss_terms(*(math.exp(v) for v in dn), eps)
            for name in ("th1", "th2", "b2"):
                num = (getattr(a, name) - getattr(b, name)) / (2 * h)
                assert getattr(lt, "d" + name)[j] == pytest.approx(num, rel=1e-6, abs=1e-9)


PROBLEMS = [
    Problem(2.0, 1.0, 0.3),
    Problem(0.5, 2.0, 0.1, lam=0.1, noise=0.3, activation="tanh"),
    Problem(5.0, 2.0, 0.0, lam=0.01, noise=0.5, activation="relu"),
    Problem(3.0, 1.5, 0.2, lam=0.0, noise=0.2, activation="erf"),
    Problem(3.0, 1.5, 0.2, lam=0.05, noise=0.2, activation="linear"),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
def test_jacobian_matches_differences(problem):
    co = Coefficients.from_problem(problem)
    u = np.array([0.3, -0.5, -0.8])
    ev = residual(co, tuple(u))
    h = 1e-6
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        num = (np.array(residual(co, tuple(u + e)).F) - np.array(residual(co, tuple(u - e)).F)) / (
            2 * h
        )
        assert np.array(ev.J)[:, j] == pytest.approx(num, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("problem", PROBLEMS, ids=str)
def test_solution_identities(problem):
    """Internal consistency of a solution, each identity from a different route:

    - Q = ||beta - mu1 w||^2 + mu_star^2 ||a||^2 + tau^2 from the order parameters;
    - s^2 = mu1^2 ||w||^2 + nu^2 ||a||^2;
    - the saddle function's value (the CGMT optimal value) equals the training objective computed
      from the distribution of the training residuals; its gradient vanishes.
    """
    r = solve(problem)
    m = problem.moments
    q_from_order = (
        problem.signal**2 + problem.noise**2 - 2 * m.mu1 * r.beta_w + m.mu1**2 * r.norm_w2
        + m.mu_star2 * r.norm_a2
    )  # fmt: skip
    assert q_from_order == pytest.approx(r.standard_error, rel=1e-10)
    assert m.mu1**2 * r.norm_w2 + m.nu2 * r.norm_a2 == pytest.approx(r.grad_norm2, rel=1e-10)
    co = Coefficients.from_problem(problem)
    lt = loss_terms(r.gam, r.Q, r.s, problem.eps)
    v = (r.Q, r.s, r.gam, lt.b2, lt.th1, lt.th2)
    assert saddle_value(co, v) == pytest.approx(r.train_objective, rel=1e-10)
    assert np.max(np.abs(saddle_gradient(co, v))) < 1e-10


def test_saddle_gradient_is_the_gradient_of_the_saddle_value():
    co = Coefficients.from_problem(Problem(2.0, 1.0, 0.3, lam=0.02, noise=0.4, activation="tanh"))
    v = np.array([0.9, 0.6, 1.5, 0.2, 0.5, 0.3])
    g = np.array(saddle_gradient(co, tuple(v)))
    for j in range(6):
        h = 1e-6 * v[j]
        up, dn = v.copy(), v.copy()
        up[j] += h
        dn[j] -= h
        num = (saddle_value(co, tuple(up)) - saddle_value(co, tuple(dn))) / (2 * h)
        assert g[j] == pytest.approx(num, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    "problem",
    [Problem(2.0, 1.0, 0.3), Problem(0.3, 3.0, 0.1, lam=0.1, activation="erf"),
     Problem(3.0, 2.0, 0.2, lam=0.01, noise=0.3, activation="tanh"),
     Problem(5.0, 2.0, 0.3, noise=0.2, activation="linear")],
)  # fmt: skip
def test_saddle_hessian_is_the_derivative_of_the_saddle_gradient(problem):
    """The analytic log-variable Hessian against central differences of `saddle_gradient`, at the
    solution and at a point 5-20 % away (not stationary)."""
    from advrf.theory.equations import saddle_hessian

    r = solve(problem)
    co = Coefficients.from_problem(problem)
    lt = loss_terms(r.gam, r.Q, r.s, problem.eps)
    at = np.array((r.Q, r.s, r.gam, lt.b2, lt.th1, lt.th2))
    for v in (at, at * np.array([1.1, 0.9, 1.2, 0.8, 1.05, 0.95])):
        h, step = 1e-5, np.empty((6, 6))
        for j in range(6):
            up, dn = v.copy(), v.copy()
            up[j] *= math.exp(h)
            dn[j] *= math.exp(-h)
            diff = np.array(saddle_gradient(co, tuple(up))) - np.array(
                saddle_gradient(co, tuple(dn))
            )
            step[:, j] = diff * v / (2 * h)
        expected = 0.5 * (step + step.T)
        got = np.array(saddle_hessian(co, tuple(v)))
        assert np.max(np.abs(got - expected)) < 1e-8 * np.max(np.abs(expected))
