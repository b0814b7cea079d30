"""The exact population standard error (advrf.simulation.population) and the control-variate
robust error, against closed-form kernels, a linear model, and Monte Carlo."""

import dataclasses

import numpy as np
import pytest

from advrf import Problem
from advrf.activations import gaussian_expectation, get_activation
from advrf.simulation import Instance, evaluate, population, simulate, train
from advrf.simulation.attack import squared_loss
from advrf.simulation.population import (
    MAX_DEGREE,
    hermite_coefficients,
    mehler_kernel,
    population_standard_error,
)

RHO = np.array([-0.6, -0.25, 0.0, 0.1, 0.3, 0.6])


def test_mehler_series_matches_closed_form_kernels():
    """ReLU: the arc-cosine kernel; erf: (2 / pi) arcsin(2 rho / 3) (Williams 1997)."""
    relu = hermite_coefficients(get_activation("relu"), MAX_DEGREE) ** 2
    arc_cosine = (np.sqrt(1 - RHO**2) + RHO * (np.pi - np.arccos(RHO))) / (2 * np.pi)
    assert np.abs(mehler_kernel(relu, RHO) - arc_cosine).max() < 1e-12
    erf = hermite_coefficients(get_activation("erf"), MAX_DEGREE) ** 2
    assert np.abs(mehler_kernel(erf, RHO) - 2 / np.pi * np.arcsin(2 * RHO / 3)).max() < 1e-12


def test_mehler_series_matches_two_dimensional_quadrature_for_tanh():
    nodes, weights = np.polynomial.hermite_e.hermegauss(150)
    weights = weights / weights.sum()
    g1, g2 = np.meshgrid(nodes, nodes, indexing="ij")
    w2 = np.outer(weights, weights)
    c2 = hermite_coefficients(get_activation("tanh"), MAX_DEGREE) ** 2
    for rho in RHO:
        u, v = g1, rho * g1 + np.sqrt(1 - rho**2) * g2
        direct = float((w2 * np.tanh(u) * np.tanh(v)).sum())
        assert mehler_kernel(c2, np.array([rho]))[0] == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("name", ["tanh", "erf", "sigmoid"])
def test_hermite_coefficients_satisfy_parseval_for_smooth_activations(name):
    act = get_activation(name)
    second = gaussian_expectation(lambda t: act(t) ** 2)
    assert np.sum(hermite_coefficients(act, MAX_DEGREE) ** 2) == pytest.approx(second, abs=1e-9)


def test_linear_activation_gives_the_linear_model_error():
    """sigma(t) = t: f = <w, x>, so E_std = ||beta - w||^2 + tau^2 exactly."""
    inst = Instance.draw(Problem(activation="linear", psi1=2, psi2=1, eps=0.1, noise=0.3), 50, 1)
    a = np.random.default_rng(0).standard_normal(inst.big_n) / np.sqrt(inst.big_n)
    w = inst.w(a)
    exact = population_standard_error(inst.theta, inst.beta, 0.3, inst.problem.activation, a)
    assert exact == pytest.approx(float((inst.beta - w) @ (inst.beta - w)) + 0.09, rel=1e-12)


def test_columns_of_a_share_one_kernel_computed_in_blocks(monkeypatch):
    inst = Instance.draw(Problem(activation="tanh", psi1=3, psi2=1, eps=0.1), 40, 0)
    weights = np.random.default_rng(1).standard_normal((inst.big_n, 3)) / inst.big_n
    act = inst.problem.activation
    batch = population_standard_error(inst.theta, inst.beta, 0.1, act, weights)
    one_by_one = [population_standard_error(inst.theta, inst.beta, 0.1, act, a) for a in weights.T]
    assert batch == pytest.approx(one_by_one, rel=1e-13)
    monkeypatch.setattr(population, "BLOCK_ROWS", 7)
    assert population_standard_error(inst.theta, inst.beta, 0.1, act, weights) == pytest.approx(
        batch, rel=1e-13
    )


@pytest.mark.parametrize("name", ["relu", "tanh", "erf"])
def test_exact_standard_error_matches_a_large_test_set(name):
    """|exact - test-set mean| below 4 Monte-Carlo standard errors (200000 test points)."""
    problem = Problem(activation=name, psi1=2, psi2=1, eps=0.2, lam=0.01, noise=0.5)
    inst = Instance.draw(problem, 40, 2, n_test=200_000)
    a = train(inst, "concentrated").a
    loss = squared_loss(inst.theta, problem.activation, a, inst.x_test, inst.y_test)
    exact = evaluate(inst, a, population=True)["standard_error_exact"]
    assert abs(loss.mean() - exact) < 4 * loss.std() / np.sqrt(loss.size)


def test_control_variate_robust_error_is_unbiased_and_less_noisy():
    """Over 20 independent test sets of 1000 points: the control-variate estimate of E_rob
    agrees with the plain one on average and fluctuates at most half as much."""
    problem = Problem(activation="tanh", psi1=2, psi2=1, eps=0.3, lam=0.01, noise=0.2)
    inst = Instance.draw(problem, 60, 0)
    a = train(inst, "exact").a
    rng = np.random.default_rng(5)
    plain, cv = [], []
    for _ in range(20):
        x = rng.standard_normal((1000, inst.d))
        y = x @ inst.beta + 0.2 * rng.standard_normal(1000)
        out = evaluate(dataclasses.replace(inst, x_test=x, y_test=y), a, population=True)
        plain.append(out["robust_error"])
        cv.append(out["robust_error_cv"])
    plain, cv = np.array(plain), np.array(cv)
    assert np.std(cv) < 0.5 * np.std(plain)
    assert abs(plain.mean() - cv.mean()) < 4 * np.std(plain) / np.sqrt(20)


def test_population_metrics_are_opt_in_and_need_gaussian_inputs():
    problem = Problem(activation="tanh", psi1=2, psi2=1, eps=0.2)
    summary = simulate(problem, 30, 2, population=True)
    row = summary.to_dict()
    assert {"standard_error_exact", "standard_error_exact_sem", "robust_error_cv"} <= set(row)
    assert summary.standard_error_exact == pytest.approx(
        np.mean([r.standard_error_exact for r in summary.records])
    )
    assert "standard_error_exact" not in simulate(problem, 30, 1).to_dict()
    with pytest.raises(ValueError, match="inputs='gaussian'"):
        simulate(problem, 30, 1, population=True, inputs="sphere")


def test_too_small_d_raises_instead_of_truncating():
    inst = Instance.draw(Problem(activation="relu", psi1=20, psi2=1, eps=0.1), 2, 0)
    a = np.ones(inst.big_n)
    with pytest.raises(ValueError, match="use a larger d"):
        population_standard_error(inst.theta, inst.beta, 0.0, inst.problem.activation, a)
