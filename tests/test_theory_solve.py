"""The solver: phases, limits, warm starts, certification and errors."""

import importlib
import math

import numpy as np
import pytest

from advrf import Problem
from advrf.theory import TheoryError, TheoryResult, interpolator_limit, solve, solve_curve
from advrf.theory.equations import Coefficients
from advrf.theory.solve import newton

RESULT_FIELDS = [
    "robust_error", "standard_error", "train_objective", "norm_a2", "norm_w2", "beta_w",
    "grad_norm2", "eps_c", "phase", "converged", "iterations", "residual", "regime",
]  # fmt: skip


def test_result_is_frozen_and_to_dict_has_the_contract_fields():
    r = solve(Problem(2.0, 1.0, 0.2))
    assert list(r.to_dict()) == RESULT_FIELDS
    assert r.converged and r.phase == "nontrivial" and r.residual < 1e-10
    with pytest.raises(AttributeError):
        r.robust_error = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("activation", ["relu_shifted", "relu", "tanh", "erf", "linear"])
@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_trivial_phase_exactly_above_eps_c(activation, lam):
    base = Problem(1.5, 2.0, 0.1, lam=lam, noise=0.5, signal=1.3, activation=activation)
    eps_c = solve(base).eps_c
    above = solve(base.with_(eps=eps_c * (1 + 1e-9)))
    assert above.phase == "trivial"
    assert above.robust_error == above.standard_error == pytest.approx(1.3**2 + 0.5**2)
    assert above.norm_a2 == 0.0 and above.eps_c == pytest.approx(eps_c)
    below = solve(base.with_(eps=eps_c * (1 - 1e-3)))
    assert below.phase == "nontrivial"
    # continuity at the boundary: a -> 0 and the errors -> the null risk
    assert below.norm_a2 < 1e-3 * base.null_risk
    assert below.robust_error == pytest.approx(base.null_risk, rel=1e-2)
    assert below.standard_error < base.null_risk


def test_eps_c_does_not_depend_on_lam():
    a = solve(Problem(1.5, 2.0, 0.1, lam=0.0)).eps_c
    b = solve(Problem(1.5, 2.0, 0.1, lam=3.0)).eps_c
    assert a == b


@pytest.mark.parametrize("activation", ["relu_shifted", "tanh"])
def test_robust_error_above_standard_and_increasing_in_eps_test(activation):
    base = Problem(3.0, 2.0, 0.2, lam=0.01, noise=0.3, activation=activation)
    errors = [solve(base.with_(eps_test=t)).robust_error for t in (0.0, 0.1, 0.3, 1.0)]
    assert errors[0] == pytest.approx(solve(base).standard_error, rel=1e-12)
    assert all(b > a for a, b in zip(errors, errors[1:], strict=False))


def test_warm_start_gives_the_same_point_in_fewer_iterations():
    problems = [Problem(p, 2.0, 0.2, noise=0.5) for p in np.geomspace(0.2, 20, 25)]
    curve = solve_curve(problems)
    for p, r in zip(problems, curve, strict=True):
        cold = solve(p)
        assert r.robust_error == pytest.approx(cold.robust_error, rel=1e-10)
    assert sum(r.iterations for r in curve) < sum(solve(p).iterations for p in problems)


def test_ridgeless_limit_is_the_limit_of_ridge():
    p = Problem(4.0, 2.0, 0.0, noise=0.5, activation="tanh")
    limit = solve(p)
    assert limit.train_objective == 0.0
    assert solve(p.with_(lam=1e-9)).standard_error == pytest.approx(limit.standard_error, rel=1e-6)
    # underparametrised: lam = 0, eps = 0 is ordinary least squares, solved directly
    under = Problem(0.5, 2.0, 0.0, noise=0.5, activation="tanh")
    assert solve(under).standard_error == pytest.approx(
        solve(under.with_(lam=1e-10)).standard_error, rel=1e-6
    )


def test_small_eps_without_ridge_tends_to_the_min_M_norm_interpolator():
    """eps -> 0+ at lam = 0, psi1 > psi2: not the minimum-norm solution (conventions 4)."""
    p = Problem(1.3, 1.0, 0.0, noise=0.5)
    min_norm = interpolator_limit(p, "norm")
    min_m = interpolator_limit(p, "M")
    small = [solve(p.with_(eps=e)) for e in (0.2, 0.1, 0.05)]
    gaps = [abs(r.standard_error / min_m.standard_error - 1) for r in small]
    assert gaps[2] < 1e-4 * gaps[0] and gaps[1] < gaps[0]
    # The non-interpolated fraction erfc(z / sqrt 2), z ~ 1/eps, vanishes faster than any power:
    # the Newton solution (eps = 0.02) and the closed-form limit (eps = 0.01) agree to rounding.
    assert solve(p.with_(eps=0.02)).regime == "adversarial"
    assert solve(p.with_(eps=0.02)).standard_error == pytest.approx(min_m.standard_error, rel=1e-12)
    assert solve(p.with_(eps=0.01)).regime == "min_M_norm"
    assert abs(min_m.standard_error / min_norm.standard_error - 1) > 1e-2
    assert min_m.norm_a2 > min_norm.norm_a2  # min-norm has the smallest ||a||


def test_interpolation_threshold_without_regularisation_is_an_error():
    with pytest.raises(TheoryError, match="infinite"):
        solve(Problem(1.0, 1.0, 0.0))
    # eps > 0 tiny at N = n: E ~ 1/eps, solved while accurate, refused when ill-conditioned
    assert solve(Problem(1.0, 1.0, 1e-6)).standard_error > 1e5
    with pytest.raises(TheoryError, match="ill-conditioned"):
        solve(Problem(1.0, 1.0, 1e-12))
    with pytest.raises(TheoryError, match="interpolation threshold"):
        interpolator_limit(Problem(0.5, 1.0, 0.0))


def test_every_returned_point_is_a_certified_saddle():
    for p in [Problem(2.0, 1.0, 0.3), Problem(0.3, 3.0, 0.0, lam=0.1, activation="erf")]:
        r = solve(p)
        assert r.inertia == ((3, 3) if p.eps > 0 else (2, 2))
    co = Coefficients.from_problem(Problem(2.0, 1.0, 0.3))
    good = solve(Problem(2.0, 1.0, 0.3))
    from advrf.theory.equations import loss_terms
    from advrf.theory.solve import saddle_inertia

    lt = loss_terms(good.gam, good.Q, good.s, 0.3)
    assert saddle_inertia(co, (good.Q, good.s, good.gam, lt.b2, lt.th1, lt.th2)) == (3, 3, 6)


def test_failure_raises_with_every_parameter_and_the_residual():
    def impossible(x):
        class Ev:
            F = (1.0 + x[0] ** 2,)
            J = ((2.0 * x[0],),)

        return Ev()

    root = newton(impossible, [0.5])
    assert not root.converged and root.residual >= 1.0
    from advrf.theory.solve import _fail

    error = _fail(Problem(2.0, 1.0, 0.3, lam=0.1, noise=0.2), root.message, root.residual, 7)
    assert isinstance(error, ValueError)
    for text in ("psi1=2", "psi2=1", "eps=0.3", "eps_test=0.3", "lam=0.1", "signal=1", "noise=0.2",
                 "activation=relu_shifted", "residual", "7 iterations"):  # fmt: skip
        assert text in str(error)


def test_result_type():
    assert isinstance(solve(Problem(2.0, 1.0, 0.3)), TheoryResult)
    co = Coefficients.from_problem(Problem(2.0, 1.0, 0.3))
    assert math.isclose(co.p12, 2.0)


@pytest.mark.parametrize("p12", [0.5, 2.0, 4.0])
def test_even_activation_is_least_squares_on_pure_noise_features(p12):
    """mu1 = 0 (|t|): the features carry no signal and are isotropic, so least squares (p12 < 1)
    and the minimum-norm interpolator (p12 > 1) have the classical risks Q0 / (1 - p12) and
    Q0 p12 / (p12 - 1) (constant precision A: the a1 = 0 branch of the MP integrals)."""
    import numpy as np

    from advrf import custom

    absolute = custom("abs", np.abs, np.sign, kinks=(0.0,))
    problem = Problem(p12, 1.0, 0.0, noise=0.5, activation=absolute)
    q0 = problem.null_risk
    expected = q0 / (1 - p12) if p12 < 1 else q0 * p12 / (p12 - 1)
    assert solve(problem).standard_error == pytest.approx(expected, rel=1e-10)
    assert solve(problem.with_(eps=0.3)).phase == "nontrivial"


def test_linear_least_squares_closed_forms():
    """Linear activation, psi1 >= 1, eps = lam = 0: least squares in R^d (psi2 > 1) has risk
    tau^2 psi2 / (psi2 - 1); without noise it recovers beta exactly (E_std = 0)."""
    noisy = solve(Problem(3.0, 4.0, 0.0, noise=0.5, activation="linear"))
    assert noisy.standard_error == pytest.approx(0.25 * 4.0 / 3.0, rel=1e-10)
    exact = solve(Problem(3.0, 4.0, 0.0, activation="linear"))
    assert exact.standard_error == 0.0 and exact.regime == "exact_recovery"
    assert exact.robust_error == 0.0 and exact.grad_norm2 == pytest.approx(1.0)


def test_regime_is_in_to_dict_and_names_the_branch():
    cases = {
        "trivial": Problem(2.0, 1.0, 5.0),
        "min_norm": Problem(4.0, 2.0, 0.0, noise=0.5),
        "exact_recovery": Problem(3.0, 4.0, 0.0, activation="linear"),
        "min_M_norm": Problem(1.3, 1.0, 0.01, noise=0.5),
        "adversarial": Problem(2.0, 1.0, 0.2),
        "ridge": Problem(2.0, 1.0, 0.0, lam=0.1),
    }
    for regime, problem in cases.items():
        r = solve(problem)
        assert r.regime == regime and r.to_dict()["regime"] == regime
        assert r.phase == ("trivial" if regime == "trivial" else "nontrivial")


def test_warm_start_that_fails_is_retried_cold(monkeypatch):
    module = importlib.import_module("advrf.theory.solve")
    problem = Problem(2.0, 1.0, 0.2)
    cold = solve(problem)
    inner = module._solve

    def warm_fails(p, start):
        if start is not None:
            raise TheoryError("warm start failed")
        return inner(p, start)

    monkeypatch.setattr(module, "_solve", warm_fails)
    assert solve(problem, start=cold).robust_error == cold.robust_error


def test_solve_curve_returns_failed_points_in_place():
    problems = [Problem(2.0, 1.0, 0.2), Problem(1.0, 1.0, 0.0), Problem(2.5, 1.0, 0.2)]
    with pytest.raises(TheoryError, match="infinite"):
        solve_curve(problems)
    curve = solve_curve(problems, errors="return")
    assert isinstance(curve[1], TheoryError) and "psi1=1" in str(curve[1])
    assert curve[0].robust_error == solve(problems[0]).robust_error
    assert curve[2].robust_error == pytest.approx(solve(problems[2]).robust_error, rel=1e-10)
    with pytest.raises(ValueError, match="errors"):
        solve_curve(problems, errors="ignore")  # type: ignore[arg-type]
