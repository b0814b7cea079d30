"""The estimator wrapper, PGD extremes, and true adversarial training of the nonlinear model."""

import numpy as np
import pytest

from advrf import Problem
from advrf.simulation import AdversarialRandomFeatures, Instance, train
from advrf.simulation.attack import (
    extreme_perturbations,
    pgd_adversarial_training,
    value_and_gradient,
)


def test_estimator_is_a_thin_wrapper_over_train():
    inst = Instance.draw(Problem(psi1=2, psi2=1, eps=0.3, lam=0.01), 20, 0, n_test=50)
    for variant in ("concentrated", "exact"):
        est = AdversarialRandomFeatures(
            40, eps=0.3, lam=0.01, variant=variant, theta=inst.theta
        ).fit(inst.x, inst.y)
        res = train(inst, variant)
        np.testing.assert_array_equal(est.coef_, res.a)
        assert est.result_.converged and est.n_features_in_ == 20
        np.testing.assert_allclose(est.predict(inst.x_test), inst.features(inst.x_test) @ res.a)


def test_estimator_draws_theta_and_validates():
    x = np.random.default_rng(0).standard_normal((30, 10))
    est = AdversarialRandomFeatures(20, eps=0.1).fit(x, x[:, 0])
    np.testing.assert_allclose(np.linalg.norm(est.theta_, axis=1), np.sqrt(10))
    with pytest.raises(ValueError, match="n_features"):
        AdversarialRandomFeatures(0)
    with pytest.raises(ValueError, match="eps"):
        AdversarialRandomFeatures(5, eps=-1)
    with pytest.raises(ValueError, match="variant"):
        AdversarialRandomFeatures(5, variant="x")


def test_extreme_perturbations_beat_the_first_order_points():
    inst = Instance.draw(Problem(psi1=2, psi2=1, eps=1.0, activation="tanh"), 15, 0, n_test=100)
    a = train(inst, "concentrated").a
    act, x, eps = inst.problem.activation, inst.x_test, 1.0
    (d_max, f_max), (d_min, f_min) = extreme_perturbations(inst.theta, act, a, x, eps)
    _, grad = value_and_gradient(inst.theta, act, a, x)
    unit = grad / np.linalg.norm(grad, axis=1, keepdims=True)
    f_plus, _ = value_and_gradient(inst.theta, act, a, x + eps * unit)
    f_minus, _ = value_and_gradient(inst.theta, act, a, x - eps * unit)
    assert np.all(f_max >= f_plus) and np.all(f_min <= f_minus)
    assert np.all(np.linalg.norm(d_max, axis=1) <= eps * (1 + 1e-12))
    np.testing.assert_allclose(value_and_gradient(inst.theta, act, a, x + d_max)[0], f_max)


def test_true_adversarial_training_brackets_its_optimum():
    problem = Problem(psi1=1, psi2=2, eps=0.5, activation="tanh")
    inst = Instance.draw(problem, 20, 0, n_test=10)
    first_order = train(inst, "exact")
    res = pgd_adversarial_training(
        inst.theta, problem.activation, inst.x, inst.y, 0.5, 0.0, first_order.a
    )
    assert res.converged and res.residual <= 1e-5
    assert res.lower_bound <= res.objective <= res.objective_start
    with pytest.raises(ValueError, match="N <= n"):
        wide = Instance.draw(problem.with_(psi1=4), 10, 0, n_test=10)
        pgd_adversarial_training(wide.theta, problem.activation, wide.x, wide.y, 0.5, 0.0,
                                 np.zeros(40))  # fmt: skip
