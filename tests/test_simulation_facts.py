"""Facts of conventions 3 measured on simulated instances, and the simulator's contract."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advrf import Problem
from advrf.simulation import (
    Instance,
    TrainingError,
    evaluate,
    simulate,
    simulate_seed,
    train,
)
from advrf.simulation.attack import (
    first_order_attack,
    pgd_attack,
    squared_loss,
    value_and_gradient,
)


@pytest.fixture(scope="module")
def trained():
    """relu_shifted, psi1 = 2, psi2 = 1, eps = 0.3, at d = 100 and d = 400 (4000 test points)."""
    out = {}
    for d in (100, 400):
        inst = Instance.draw(Problem(psi1=2, psi2=1, eps=0.3), d, 0, n_test=4000)
        out[d] = (inst, train(inst, "concentrated").a)
    return out


def _grad_ratio(inst, a):
    """||grad_x f_a(x)||^2 / a^T M a over the test inputs."""
    _, grad = value_and_gradient(inst.theta, inst.problem.activation, a, inst.x_test)
    return (grad**2).sum(axis=1) / (a @ inst.m_matrix @ a)


def test_gradient_norm_concentrates(trained):
    """Spec 3.2: ||grad||^2 -> a^T M a. Mean ratio within 2 % (measured within 0.4 %; Monte-Carlo
    error 0.3 %), and its spread shrinks like 1/sqrt(d): the d = 400 / d = 100 ratio of standard
    deviations lies in [0.35, 0.65] (1/2 expected; measured 0.43)."""
    ratios = {d: _grad_ratio(inst, a) for d, (inst, a) in trained.items()}
    for r in ratios.values():
        assert abs(r.mean() - 1.0) < 0.02
    assert 0.35 < ratios[400].std() / ratios[100].std() < 0.65


def test_robust_error_closed_form_matches_monte_carlo(trained):
    """Spec 3.4: E_rob = rho^2 + 2 sqrt(2/pi) eps rho s + eps^2 s^2 (r Gaussian, s^2 = a^T M a),
    against the Monte-Carlo mean of (|r| + eps ||grad||)^2, at 2 % (measured 0.1-0.4 %)."""
    for inst, a in trained.values():
        out = evaluate(inst, a)
        rho2, s2, eps = out["standard_error"], out["grad_norm2"], inst.problem.eps_test
        closed = rho2 + 2 * math.sqrt(2 / math.pi) * eps * math.sqrt(rho2 * s2) + eps**2 * s2
        assert closed == pytest.approx(out["robust_error_linearized"], rel=0.02)
        assert s2 == pytest.approx(a @ inst.m_matrix @ a, rel=1e-10)


def test_gaussian_equivalent_test_error(trained):
    """Spec 3.3-3.4: E_std = ||beta - mu1 w||^2 + mu_star^2 ||a||^2 + tau^2, within four
    Monte-Carlo standard errors of the test mean."""
    for inst, a in trained.values():
        mom = inst.problem.moments
        w = inst.w(a)
        formula = np.sum((inst.beta - mom.mu1 * w) ** 2) + mom.mu_star2 * (a @ a)
        loss = squared_loss(inst.theta, inst.problem.activation, a, inst.x_test, inst.y_test)
        assert abs(loss.mean() - formula) < 4 * loss.std() / math.sqrt(len(loss))


def test_robust_at_least_standard_and_pgd_at_least_first_order():
    rec = simulate_seed(Problem(psi1=2, psi2=1, eps=0.5, activation="tanh"), 40, 1, attack="pgd")
    assert rec.robust_error_pgd >= rec.robust_error >= rec.standard_error
    assert rec.robust_error_linearized >= rec.standard_error
    assert rec.converged


@settings(max_examples=15, deadline=None)
@given(st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_robust_error_increases_with_eps_test(e1, e2):
    inst = Instance.draw(Problem(psi1=2, psi2=1, eps=0.3), 20, 3, n_test=200)
    a = train(inst, "concentrated").a
    lo, hi = sorted((e1, e2))
    r_lo = evaluate(inst, a, eps_test=lo)["robust_error_linearized"]
    r_hi = evaluate(inst, a, eps_test=hi)["robust_error_linearized"]
    assert r_lo <= r_hi


def test_pgd_improves_on_first_order_for_a_curved_model():
    inst = Instance.draw(Problem(psi1=2, psi2=1, eps=1.0, activation="tanh"), 10, 0, n_test=200)
    a = train(inst, "concentrated").a
    x, y = inst.x_test, inst.y_test
    first, _ = first_order_attack(inst.theta, inst.problem.activation, a, x, y, 1.0)
    _, best = pgd_attack(inst.theta, inst.problem.activation, a, x, y, 1.0)
    base = squared_loss(inst.theta, inst.problem.activation, a, x + first, y)
    assert np.all(best >= base) and best.mean() > base.mean()


def test_determinism_bit_for_bit():
    p = Problem(psi1=2, psi2=1.5, eps=0.2, lam=0.01, noise=0.3)
    one = simulate_seed(p, 30, 7).to_dict()
    two = simulate_seed(p, 30, 7).to_dict()
    one.pop("seconds"), two.pop("seconds")
    assert one == two
    i1, i2 = Instance.draw(p, 30, 7), Instance.draw(p.with_(eps=1.0, noise=0.0), 30, 7)
    for name in ("theta", "beta", "x", "x_test"):
        assert np.array_equal(getattr(i1, name), getattr(i2, name))  # common random numbers
    assert not np.array_equal(Instance.draw(p, 30, 8).theta, i1.theta)


def test_instance_geometry():
    p = Problem(psi1=1.5, psi2=0.5, eps=0.1, signal=2.0)
    inst = Instance.draw(p, 40, 0, inputs="sphere")
    assert inst.theta.shape == (60, 40) and inst.x.shape == (20, 40)
    assert inst.n_test == 2000
    np.testing.assert_allclose(np.linalg.norm(inst.theta, axis=1), np.sqrt(40))
    np.testing.assert_allclose(np.linalg.norm(inst.x, axis=1), np.sqrt(40))
    assert np.linalg.norm(inst.beta) == pytest.approx(2.0)
    np.testing.assert_allclose(inst.y, inst.x @ inst.beta)  # noise = 0


def test_summary_means_and_standard_errors():
    p = Problem(psi1=2, psi2=1, eps=0.2)
    summary = simulate(p, 20, [3, 5, 9], variant="concentrated", n_test=300)
    values = np.array([r.robust_error for r in summary.records])
    assert summary.robust_error == pytest.approx(values.mean())
    assert summary.robust_error_sem == pytest.approx(values.std(ddof=1) / np.sqrt(3))
    out = summary.to_dict()
    keys = "robust_error standard_error norm_a2 norm_w2 beta_w grad_norm2 train_objective"
    for key in keys.split():
        assert key in out and f"{key}_sem" in out
    assert "seconds" in out
    assert out["seeds"] == [3, 5, 9]
    assert math.isnan(simulate(p, 20, 1, variant="concentrated", n_test=50).robust_error_sem)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(d=0), r"d \(input dimension\)"),
        (dict(d=2.5), r"d \(input dimension\)"),
        (dict(d="ten"), r"d \(input dimension\)"),
        (dict(seeds=0), "seeds"),
        (dict(seeds=[1, 1]), "seeds"),
        (dict(seeds=[-1]), "seed"),
        (dict(seeds="abc"), "seeds"),
        (dict(variant="both"), "variant must be one of exact, concentrated"),
        (dict(attack="fgsm"), "attack must be one of first-order, pgd"),
        (dict(n_test=0), "n_test"),
        (dict(inputs="cube"), "inputs must be one of gaussian, sphere"),
    ],
)
def test_bad_inputs_name_the_parameter(kwargs, fragment):
    args = dict(problem=Problem(psi1=1, psi2=1, eps=0.1), d=10, seeds=1) | kwargs
    with pytest.raises(ValueError, match=fragment):
        simulate(**args)


def test_training_error_is_a_value_error():
    assert issubclass(TrainingError, ValueError)
