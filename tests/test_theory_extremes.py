"""Holes and extremes (issue 10, items 7 and 8): tiny ridge, the exact-recovery band, extreme
values. Every point gives a certified result or a TheoryError naming it, never another error."""

import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advrf import Problem
from advrf.problem import LARGEST, SMALLEST
from advrf.theory import TheoryError, TheoryResult, solve, solve_batch
from advrf.theory.equations import Coefficients, loss_terms, q_rhs, residual
from advrf.theory.solve import _exact_recovery


def test_tiny_ridge_at_eps_zero_is_the_ridgeless_limit():
    """lam = 1e-20 was a hole although lam = 0 (the minimum-norm limit) is solved."""
    limit = solve(Problem(4.0, 2.0, 0.0)).standard_error
    for lam in (1e-20, 1e-30):
        r = solve(Problem(4.0, 2.0, 0.0, lam=lam))
        assert r.regime == "ridge" and r.standard_error == pytest.approx(limit, rel=1e-12)


@pytest.mark.parametrize("psi1,psi2", [(4.0, 2.0), (1.5, 3.0)])
def test_noiseless_linear_ridge_vanishes_as_lam_squared(psi1, psi2):
    """Linear activation, noise 0, psi1, psi2 > 1, eps = 0: ridge in theta-space with penalty
    psi1 lam w^T (F^T F)^-1 w has bias (psi1 lam) Sigma^-1 G^-1 beta to first order, so by
    freeness E_std / lam^2 -> psi1^2 tau(Sigma^-2) tau(G^-2) = 1 / ((1 - 1/psi1)^3 (1 - 1/psi2)^3)
    (Marchenko-Pastur: tau(W^-2) = (1 - ratio)^-3, G = psi1 W of ratio 1/psi1)."""
    limit = 1.0 / ((1.0 - 1.0 / psi1) ** 3 * (1.0 - 1.0 / psi2) ** 3)
    for lam in (1e-12, 1e-14, 1e-20):
        r = solve(Problem(psi1, psi2, 0.0, lam=lam, activation="linear"))
        assert r.standard_error / lam**2 == pytest.approx(limit, rel=1e-9)


def test_linear_small_eps_with_ridge_is_solved_and_tends_to_eps_zero():
    """eps = 1e-8 with lam in 1e-8..1e-5 failed; the gap to eps = 0 scales as eps / lam."""
    gaps = []
    for lam in (1e-8, 1e-7, 1e-6, 1e-5):
        adv = solve(Problem(4.0, 2.0, 1e-8, lam=lam, activation="linear"))
        ridge = solve(Problem(4.0, 2.0, 0.0, lam=lam, activation="linear"))
        assert adv.regime == "adversarial" and adv.standard_error < ridge.standard_error
        gaps.append((1.0 - adv.standard_error / ridge.standard_error) * lam)
    assert gaps[3] == pytest.approx(gaps[2], rel=0.05)


def exact_recovery_boundary(problem: Problem) -> float:
    """The largest eps of the exact-recovery phase (bisection on `_exact_recovery`)."""

    def inside(eps: float) -> bool:
        p = problem.with_(eps=eps)
        return _exact_recovery(Coefficients.from_problem(p), p, 1.0) is not None

    lo, hi = 1e-6, 5.0
    assert inside(lo) and not inside(hi)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return lo


@pytest.mark.parametrize("psi1,psi2,lam", [(3.0, 2.0, 0.0), (1.5, 4.0, 0.0), (10.0, 1.2, 0.0)])
def test_band_above_the_exact_recovery_boundary_is_solved_and_smooth(psi1, psi2, lam):
    """Just above the boundary E_std ~ C (eps / eps* - 1)^2: solved, small, C constant."""
    base = Problem(psi1, psi2, 0.1, lam=lam, activation="linear")
    edge = exact_recovery_boundary(base)
    ratios = []
    for excess in (1e-6, 1e-5, 1e-4):
        r = solve(base.with_(eps=edge * (1 + excess)))
        assert r.regime == "adversarial" and r.standard_error < 1e-7
        ratios.append(r.standard_error / excess**2)
    assert ratios[0] == pytest.approx(ratios[2], rel=2e-3)


def test_linear_q_equation_is_the_general_one_without_cancellation():
    """`q_rhs` of the linear activation equals Q0 - 2 th1 P int l/A + ... where that has digits."""
    for problem in (Problem(3.0, 2.0, 0.3, lam=0.1, noise=0.5, activation="linear"),
                    Problem(0.5, 2.0, 0.0, lam=0.01, noise=0.2, activation="linear")):  # fmt: skip
        co = Coefficients.from_problem(problem)
        r = solve(problem)
        lt = loss_terms(r.gam, r.Q, r.s, problem.eps)
        ints = residual(co, (math.log(r.gam), math.log(r.Q), math.log(r.s))).integrals
        sp, P, p12 = co.spectrum, co.P, co.p12  # noqa: N806
        a1, a0 = co.precision(lt.th1, lt.th2)
        general = (
            co.Q0 - 2 * lt.th1 * P * sp.integrate((0, 1, 0), a1, a0, 1)
            + lt.th1**2 * P * sp.integrate(co.lk, a1, a0, 2)
            + lt.b2 * p12 * sp.integrate(co.kk, a1, a0, 2)
        )  # fmt: skip
        assert q_rhs(co, lt.th1, lt.th2, lt.b2, ints)[0] == pytest.approx(general, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-100, 1e-40, 1e40, 1e100])
def test_extreme_signal_and_noise_scale_as_signal_squared(scale):
    """Program (1) is homogeneous of degree 2 in (y, a): E, ||a||^2, ... scale with c^2."""
    unit = solve(Problem(4.0, 2.0, 0.2, lam=0.01, noise=0.3))
    r = solve(Problem(4.0, 2.0, 0.2, lam=0.01, signal=scale, noise=0.3 * scale))
    for name in ("robust_error", "standard_error", "train_objective", "norm_a2", "beta_w"):
        assert getattr(r, name) / scale**2 == pytest.approx(getattr(unit, name), rel=1e-10)
    assert r.eps_c == pytest.approx(unit.eps_c, rel=1e-12) and r.gam == pytest.approx(unit.gam)


@pytest.mark.parametrize(
    "name,value",
    [("signal", 1e-300), ("signal", 1e160), ("noise", 1e160), ("eps_test", 1e160),
     ("psi1", 1e160), ("lam", 1e300), ("psi2", 1e-300), ("eps", 1e101)],
)  # fmt: skip
def test_values_that_cannot_be_solved_are_refused_naming_the_parameter(name, value):
    kwargs = {"psi1": 4.0, "psi2": 2.0, "eps": 0.2, name: value}
    with pytest.raises(ValueError, match=f"^{name} .*at most 1e\\+100"):
        Problem(**kwargs)


def magnitude(low: bool):
    """Positive numbers over the accepted range, often near the usual ones."""
    exponent = st.floats(-100 if low else -3, 100, allow_nan=False)
    return st.one_of(st.floats(0.1, 10.0), exponent.map(lambda e: min(10.0**e, LARGEST)))


@settings(max_examples=40, deadline=None)
@given(
    psi1=magnitude(True), psi2=magnitude(True), eps=st.one_of(st.just(0.0), magnitude(True)),
    lam=st.one_of(st.just(0.0), magnitude(True)), signal=magnitude(True),
    noise=st.one_of(st.just(0.0), magnitude(True)),
    activation=st.sampled_from(["relu_shifted", "tanh", "linear", "erf"]),
)  # fmt: skip
def test_every_accepted_point_gives_a_result_or_a_theory_error(
    psi1, psi2, eps, lam, signal, noise, activation
):
    problem = Problem(max(psi1, SMALLEST), max(psi2, SMALLEST), eps, lam=lam,
                      signal=max(signal, SMALLEST), noise=noise, activation=activation)  # fmt: skip
    try:
        r = solve(problem)
    except TheoryError as error:
        assert f"psi1={problem.psi1:g}" in str(error)
        r = error
    else:
        values = [r.robust_error, r.standard_error, r.train_objective, r.eps_c]
        assert all(math.isfinite(v) for v in values) and r.standard_error >= 0.0
        # ||a||^2 may diverge in the limit (linear features at psi1 = 1: E[1/lambda] of the
        # Marchenko-Pastur law of ratio 1 is infinite), but it is never NaN.
        assert r.norm_a2 >= 0.0
    batch = solve_batch([problem])[0]
    assert type(batch) is type(r)
    if isinstance(r, TheoryResult):
        assert batch.standard_error == pytest.approx(r.standard_error, rel=1e-9)


def test_batch_handles_extreme_points_like_solve():
    problems = [Problem(4.0, 2.0, 0.2, signal=1e-80), Problem(4.0, 2.0, 0.0, lam=1e-20),
                Problem(3.0, 2.0, 0.0, lam=1e-12, activation="linear")]  # fmt: skip
    for p, got in zip(problems, solve_batch(problems), strict=True):
        assert got.standard_error == pytest.approx(solve(p).standard_error, rel=1e-12)
    assert np.isfinite([r.robust_error for r in solve_batch(problems)]).all()


def test_exact_recovery_at_lam_zero_has_a_finite_objective_when_the_norm_diverges():
    # Linear features with N = d: a = sqrt(d) Theta^-T w has ||a||^2 = F1^2 E[1/lambda] = inf for
    # the Marchenko-Pastur law of ratio 1, while the unpenalised training loss is (eps F1)^2.
    r = solve(Problem(1.0, 2.0, 0.0, activation="linear"))
    assert r.norm_a2 == math.inf
    assert r.train_objective == 0.0
    assert solve(Problem(1.0, 2.0, 0.3, activation="linear")).train_objective == pytest.approx(0.09)


@pytest.mark.parametrize("lam", [1e-150, 1e-200, 1e-300])
def test_ridge_at_eps_zero_is_solved_down_to_the_smallest_lam(lam):
    """lam <= ~1e-110 at eps = 0 ended in TheoryError (gam ~ 1/lam); the ridge reduces to one
    scalar root and its limit lam -> 0+ is the minimum-norm solution."""
    for problem in (Problem(4.0, 2.0, 0.0), Problem(3.0, 0.5, 0.0, noise=0.2, activation="erf")):
        limit = solve(problem)
        r = solve(problem.with_(lam=lam))
        assert r.regime == "ridge" and limit.regime == "min_norm"
        for name in ("standard_error", "robust_error", "norm_a2", "grad_norm2"):
            assert getattr(r, name) == pytest.approx(getattr(limit, name), rel=1e-11)
        assert r.train_objective < 1e-100 and r.residual < 1e-12
        assert solve_batch([problem.with_(lam=lam)])[0].standard_error == r.standard_error


def test_noiseless_linear_ridge_at_the_smallest_lam():
    """E_std = C lam^2 (C of the freeness limit) down to lam = 1e-150; below, it underflows and
    the other outputs are those of exact recovery (s = F1)."""
    psi1, psi2 = 4.0, 2.0
    limit = 1.0 / ((1.0 - 1.0 / psi1) ** 3 * (1.0 - 1.0 / psi2) ** 3)
    r = solve(Problem(psi1, psi2, 0.0, lam=1e-150, activation="linear"))
    assert r.standard_error / 1e-300 == pytest.approx(limit, rel=1e-9)
    r = solve(Problem(psi1, psi2, 0.0, eps_test=0.3, lam=1e-200, activation="linear"))
    recovery = solve(Problem(psi1, psi2, 0.0, eps_test=0.3, activation="linear"))
    assert recovery.regime == "exact_recovery" and r.standard_error < 1e-300
    assert r.robust_error == pytest.approx(recovery.robust_error, rel=1e-12)


@pytest.mark.parametrize(
    "problem",
    [Problem(4.0, 2.0, 0.0, lam=1e-20), Problem(0.5, 3.0, 0.0, lam=1e-5, noise=0.4,
     activation="tanh"), Problem(4.0, 2.0, 0.0, lam=0.1, activation="linear"),
     Problem(3.0, 0.5, 0.0, lam=10.0, noise=0.1, activation="erf"),
     Problem(0.5, 2.0, 0.0, lam=1e-5, noise=0.2, activation="linear")],
)  # fmt: skip
def test_ridge_reduction_equals_newton(problem):
    """Where Newton on the three equations converges, the scalar ridge reduction gives the
    same point (an independent computation of eps = 0)."""
    solve_module = importlib.import_module("advrf.theory.solve")
    newton = solve(problem.with_(eps_test=0.2))
    co = Coefficients.from_problem(problem)
    failed = solve_module.RootResult((0.0, 0.0, 0.0), 0, 1.0, False, "not tried")
    reduced = solve_module._ridge_reduction(newton.problem, co, newton.eps_c, failed, 0)
    assert newton.regime == reduced.regime == "ridge"
    for name in ("standard_error", "robust_error", "train_objective", "norm_a2", "norm_w2",
                 "beta_w", "grad_norm2", "gam"):  # fmt: skip
        assert getattr(reduced, name) == pytest.approx(getattr(newton, name), rel=1e-12)


@pytest.mark.parametrize(
    "psi1,psi2,lam,upper",
    [(3.0, 2.0, 0.0, True), (3.0, 2.0, 1e-3, True), (3.0, 2.0, 1e-3, False), (1.0, 2.0, 0.0, True)],
)
def test_next_to_the_exact_recovery_boundary_the_message_says_why(psi1, psi2, lam, upper):
    """Within ~3e-7 relative of the boundary E_std ~ (eps - eps*)^2 < 1e-14 cannot be certified
    to 1e-8 in double precision: the message says so and names the boundary."""
    base = Problem(psi1, psi2, 0.1, lam=lam, activation="linear")
    edge = recovery_edges(base)[0 if upper else 1]  # with a ridge the phase is an interval
    sign = 1.0 if upper else -1.0
    with pytest.raises(TheoryError, match=r"cannot certify.*exact-recovery boundary eps\* = "):
        solve(base.with_(eps=edge * (1.0 + sign * 1e-8)))
    r = solve(base.with_(eps=edge * (1.0 + sign * 1e-5)))
    assert r.regime == "adversarial" and 0.0 < r.standard_error < 1e-9


def recovery_edges(problem: Problem) -> list[float]:
    solve_module = importlib.import_module("advrf.theory.solve")
    return solve_module._recovery_edges(Coefficients.from_problem(problem))


def test_recovery_edges_are_where_the_phase_ends():
    """The closed-form edges against the phase test of `_exact_recovery` (and bisection)."""
    first = Problem(3.0, 2.0, 0.1, activation="linear")
    assert recovery_edges(first) == [pytest.approx(exact_recovery_boundary(first), rel=1e-14)]
    for problem in (first, Problem(10.0, 1.2, 0.1, lam=1e-3, activation="linear")):
        edges = recovery_edges(problem)
        for k, e in enumerate(edges):
            for step, inside in ((-1e-9, True), (1e-9, False)):
                p = problem.with_(eps=e * (1.0 + (step if k == 0 else -step)))
                assert (_exact_recovery(Coefficients.from_problem(p), p, 1.0) is not None) is inside


@pytest.mark.parametrize("noise", [1e-14, 1e-20, 1e-50, 1e-100])
def test_small_noise_inside_the_exact_recovery_phase(noise):
    """Linear, psi1 >= 1, psi2 > 1: E_std = C tau^2 as tau -> 0 (tau <= 1e-14 ended in
    TheoryError); C from tau = 1e-10, which the default start reaches (corrections O(tau))."""
    base = Problem(2.0, 1.5, 0.1, eps_test=0.2, activation="linear")
    reference = solve(base.with_(noise=1e-10))
    r = solve(base.with_(noise=noise))
    assert r.regime == "adversarial" and r.inertia == (3, 3)
    assert r.standard_error / noise**2 == pytest.approx(reference.standard_error / 1e-20, rel=1e-8)
    assert r.robust_error == pytest.approx(0.04, rel=1e-6)  # E_rob -> (eps_test F1)^2


@pytest.mark.parametrize("noise", [1e-20, 1e-50, 1e-100])
def test_small_noise_least_squares_is_ordinary_least_squares(noise):
    """eps = lam = 0, linear, psi1 >= 1: least squares in R^d, E_std = tau^2 psi2 / (psi2 - 1)."""
    r = solve(Problem(2.0, 1.5, 0.0, noise=noise, activation="linear"))
    assert r.standard_error == pytest.approx(3.0 * noise**2, rel=1e-12)


def test_linear_features_at_psi1_one_have_finite_order_parameters():
    """N = d linear features without ridge: ||a||^2 diverges, ||w||^2 and the objective do not
    (they were NaN), and the eps -> 0+ start no longer stops the solve ("infinite" limit)."""
    r = solve(Problem(1.0, 1.5, 0.1, noise=0.3, activation="linear"))
    assert r.norm_a2 == math.inf
    assert math.isfinite(r.norm_w2) and math.isfinite(r.train_objective)
    # Q = ||beta - mu1 w||^2 + tau^2 (mu_star = 0) checks ||w||^2 and <beta, w>
    mu1 = Problem(1.0, 1.5, 0.1, activation="linear").moments.mu1
    identity = 1.0 - 2.0 * mu1 * r.beta_w + mu1**2 * r.norm_w2 + 0.09
    assert identity == pytest.approx(r.standard_error, rel=1e-10)
    over = solve(Problem(1.0, 0.5, 0.1, noise=0.3, activation="linear"))
    assert math.isfinite(over.standard_error) and math.isfinite(over.norm_w2)


@pytest.mark.parametrize(
    "problem",
    [Problem(0.275, 1.85e-15, 2.8e-9, lam=9.57e19, signal=0.526),
     Problem(3.32, 7.28e-20, 8.06e-12, lam=4.93e15, signal=0.0226, noise=4.99e10,
             activation="erf")],
)  # fmt: skip
def test_an_eps_below_rounding_is_solved_at_the_eps_zero_point(problem):
    """Newton from the default start failed; the eps = 0 solution satisfies the eps > 0
    equations to NEWTON_TOL and is certified like any Newton point (inertia (3, 3))."""
    r = solve(problem)
    ridge = solve(problem.with_(eps=0.0, eps_test=problem.eps_test))
    assert r.regime == "adversarial" and r.inertia == (3, 3) and r.residual < 1e-12
    assert r.standard_error == pytest.approx(ridge.standard_error, rel=1e-12)
    assert r.standard_error <= problem.null_risk * (1.0 + 1e-12)  # a heavy ridge: a ~ 0


@pytest.mark.parametrize("lam", [1e-20, 1e-100, 1e-300])
def test_wide_ridge_at_eps_zero_down_to_the_smallest_lam(lam):
    """psi1 = inf, eps = 0: lam <= ~1e-20 ended in TheoryError; the closed form tends to the
    minimum-norm limit, and the noiseless linear ridge to E_std = lam^2 / (1 - 1/psi2)^3."""
    for problem in (Problem(math.inf, 2.0, 0.0), Problem(math.inf, 0.5, 0.0, noise=0.3,
                                                        activation="tanh")):  # fmt: skip
        limit = solve(problem)
        r = solve(problem.with_(lam=lam))
        assert limit.regime == "wide_min_norm" and r.regime == "wide_ridge"
        assert r.standard_error == pytest.approx(limit.standard_error, rel=1e-12)
        assert r.robust_error == pytest.approx(limit.robust_error, rel=1e-12)
    if lam >= 1e-100:
        linear = solve(Problem(math.inf, 2.0, 0.0, lam=lam, activation="linear"))
        assert linear.standard_error / lam**2 == pytest.approx(8.0, rel=1e-12)


@pytest.mark.parametrize(
    "psi2,noise,activation", [(0.5, 0.0, "relu_shifted"), (2.0, 0.3, "tanh"), (2.0, 0.0, "linear")]
)
def test_wide_ridge_closed_form_equals_newton(psi2, noise, activation):
    wide = importlib.import_module("advrf.theory.wide")
    for lam in (1e-8, 1e-3, 0.1, 10.0):
        p = Problem(math.inf, psi2, 0.0, eps_test=0.2, lam=lam, noise=noise, activation=activation)
        newton = solve(p)
        closed = wide._ridge(p, Coefficients.from_problem(p), 0)
        assert newton.regime == closed.regime == "wide_ridge"
        for name in ("standard_error", "robust_error", "train_objective", "norm_w2", "beta_w",
                     "gam"):  # fmt: skip
            assert getattr(closed, name) == pytest.approx(getattr(newton, name), rel=1e-11)


def test_wide_adversarial_with_a_tiny_ridge():
    """psi1 = inf, eps > 0: lam <= ~1e-20 (eps = 1e-8) or ~1e-80 (eps = 0.1) ended in
    TheoryError. As lam -> 0, gam ~ 1 / lam and s ~ lam / eps^2 (z = 2 gam eps s / sqrt(Q) fixed),
    E_std -> Q0 (the lam = 0 limit, `wide_null`)."""
    scaled = []
    for lam in (1e-40, 1e-70, 1e-100):
        for eps in (1e-8, 0.1):
            r = solve(Problem(math.inf, 2.0, eps, eps_test=0.2, lam=lam))
            assert r.regime == "wide_adversarial" and r.inertia == (3, 3)
            assert r.standard_error == pytest.approx(1.0, rel=1e-12)
            scaled.append(r.s * eps**2 / lam)
    assert max(scaled) == pytest.approx(min(scaled), rel=1e-9)


def test_a_subnormal_eps_is_the_small_eps_limit():
    """eps = 5e-324 (found by hypothesis): eps * sqrt(Q) underflowed to 0 in the interpolation
    test (ZeroDivisionError); it now gives the errors of eps = 1e-300."""
    base = dict(psi1=8.0, psi2=5.0, eps_test=0.0, lam=0.0, activation="relu_shifted")
    tiny = solve(Problem(eps=5e-324, **base))
    small = solve(Problem(eps=1e-300, **base))
    assert tiny.standard_error == pytest.approx(small.standard_error, rel=1e-12)
    assert tiny.robust_error == pytest.approx(small.robust_error, rel=1e-12)
