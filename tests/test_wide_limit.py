"""The infinite-width limit psi1 = inf, solved directly (advrf.theory.wide, docs/theory.md 13)."""

import json
import math

import numpy as np
import pytest

from advrf import Problem
from advrf.cli import main
from advrf.theory import solve
from advrf.theory.equations import Coefficients, loss_terms
from advrf.theory.wide import (
    linear_threshold,
    residual,
    saddle_gradient,
    saddle_inertia,
    saddle_value,
    wide_rate,
)

INF = math.inf
WIDTHS = (1e3, 1e4, 1e5, 1e6)


def test_problem_accepts_only_plus_infinite_psi1():
    assert Problem(INF, 2.0, 0.1).psi1 == INF
    for bad in (-INF, math.nan):
        with pytest.raises(ValueError, match="psi1"):
            Problem(bad, 2.0, 0.1)
    with pytest.raises(ValueError, match="psi2"):
        Problem(1.0, INF, 0.1)


def test_numbers_of_the_issue():
    """relu_shifted, psi2 = 2, noise 0, eps = 0.1: finite widths (issue 9) and the limit."""
    base = Problem(1e3, 2.0, 0.1)
    for psi1, rob, std in ((1e3, 1.0029, 0.9911), (1e5, 1.0011, 0.9999)):
        r = solve(base.with_(psi1=psi1))
        assert (round(r.robust_error, 4), round(r.standard_error, 4)) == (rob, std)
    for psi1, rob, std in ((1e4, 0.1391, 0.0962), (1e5, 0.1390, 0.0961)):
        r = solve(base.with_(psi1=psi1, lam=0.013))
        assert (round(r.robust_error, 4), round(r.standard_error, 4)) == (rob, std)
    wide = solve(base.with_(psi1=INF, lam=0.013))
    assert (round(wide.robust_error, 4), round(wide.standard_error, 4)) == (0.1390, 0.0961)


@pytest.mark.parametrize(
    "setting",
    [
        dict(psi2=2.0, eps=0.1, lam=0.013),
        dict(psi2=1.5, eps=0.3, lam=0.05, noise=0.3, activation="tanh"),
        dict(psi2=0.7, eps=0.5, lam=2.0, noise=0.5, activation="erf", eps_test=0.2),
        dict(psi2=2.0, eps=0.0, lam=0.1, noise=0.5, activation="tanh"),
        dict(psi2=2.0, eps=0.0, lam=0.0, noise=0.5),  # minimum norm: the kernel ridgeless limit
        dict(psi2=0.5, eps=0.0, lam=0.0, noise=0.3, activation="linear"),
    ],
)
def test_finite_width_converges_at_rate_one_over_psi1(setting):
    """lam > 0 (or eps = lam = 0): E(psi1) = E(inf) + c / psi1 + O(psi1^-2)."""
    wide = solve(Problem(INF, **setting))
    for name in ("robust_error", "standard_error", "train_objective"):
        limit = getattr(wide, name)
        scaled = [
            psi1 * (getattr(solve(Problem(psi1, **setting)), name) - limit) for psi1 in WIDTHS[1:]
        ]
        # the coefficient c settles: its change is O(1/psi1) relative
        assert abs(scaled[2] - scaled[1]) <= 2e-4 * abs(scaled[1]) + 1e-9
        assert abs(scaled[1] - scaled[0]) <= 2e-3 * abs(scaled[0]) + 1e-9
        assert abs(scaled[2] / 1e6) <= 1e-4 * abs(limit) + 1e-12  # 1e-4 relative at psi1 = 1e6


@pytest.mark.parametrize(
    "setting",
    [
        dict(psi2=2.0, eps=0.1),
        dict(psi2=1.5, eps=0.4, noise=0.5, signal=1.3, activation="tanh", eps_test=0.2),
    ],
)
def test_without_ridge_the_errors_tend_to_the_null_risk_at_the_documented_rate(setting):
    """lam = 0, eps > 0: the limit is Q0 exactly; E_std - Q0 ~ std_1 / psi1 and
    E_rob - Q0 ~ rob_half psi1^-1/2 + rob_1 / psi1 (`wide_rate`), independent of eps."""
    wide = solve(Problem(INF, **setting))
    q0 = wide.problem.null_risk
    assert wide.robust_error == wide.standard_error == q0
    assert wide.train_objective == 0.0 and wide.grad_norm2 == 0.0
    rate = wide_rate(wide.problem)
    assert rate == wide_rate(
        wide.problem.with_(eps=2 * setting["eps"], eps_test=wide.problem.eps_test)
    )
    for psi1 in WIDTHS:
        r = solve(Problem(psi1, **setting))
        std_rest = r.standard_error - q0 - rate.std_1 / psi1
        rob_rest = r.robust_error - q0 - rate.rob_half / psi1**0.5 - rate.rob_1 / psi1
        s_rest = r.grad_norm2**0.5 / (rate.s_half / psi1**0.5) - 1.0
        assert abs(std_rest) * psi1**2 < 200.0  # O(psi1^-2)
        assert abs(rob_rest) * psi1**1.5 < 20.0  # O(psi1^-3/2)
        assert abs(s_rest) * psi1 < 20.0  # O(1/psi1)
    # E_rob approaches only as psi1^-1/2: at psi1 = 1e6 it is still 1e-4 * Q0 away or more
    assert solve(Problem(1e6, **setting)).robust_error - q0 > 1e-4 * q0


def test_linear_part_vanishes_above_eps_w_continuously():
    base = Problem(INF, 1.5, 0.5, lam=0.05, noise=0.3)
    eps_w = linear_threshold(Coefficients.from_problem(base))
    assert eps_w == pytest.approx(math.sqrt(math.pi / (2 * 1.09) * (1 + 1.09 / 1.5)))
    above = solve(base.with_(eps=eps_w * 1.01))
    assert above.robust_error == above.standard_error == 1.09 and above.regime == "wide_null"
    assert above.phase == "nontrivial" and above.eps_c == INF  # a = 0 is never optimal
    below = solve(base.with_(eps=eps_w * (1 - 1e-6)))
    assert below.regime == "wide_adversarial"
    assert below.robust_error == pytest.approx(1.09, rel=1e-5)
    assert below.train_objective == pytest.approx(above.train_objective, rel=1e-5)
    # finite widths: the limit is approached (slowly) above eps_w too
    errors = [solve(base.with_(psi1=p, eps=2.0)).robust_error - 1.09 for p in (1e2, 1e4, 1e6)]
    assert errors[0] > errors[1] > errors[2] > 0.0 and errors[2] < 0.1 * errors[0]


def test_linear_activation_has_a_trivial_phase_at_its_eps_c():
    base = Problem(INF, 1.5, 0.3, lam=0.05, noise=0.3, activation="linear")
    finite = solve(base.with_(psi1=1e3))
    eps_c = linear_threshold(Coefficients.from_problem(base))
    assert eps_c == pytest.approx(finite.eps_c, rel=1e-12)
    trivial = solve(base.with_(eps=1.01 * eps_c))
    assert trivial.phase == "trivial" and trivial.train_objective == trivial.standard_error == 1.09
    # lam = 0: width plays no role once the features span the inputs (psi1 >= 1)
    for psi1 in (2.0, 1e3):
        r = solve(base.with_(psi1=psi1, lam=0.0))
        assert r.robust_error == pytest.approx(solve(base.with_(lam=0.0)).robust_error, rel=1e-10)


@pytest.mark.parametrize(
    "setting",
    [
        dict(psi2=1.5, eps=0.3, lam=0.05, noise=0.3, activation="tanh"),
        dict(psi2=0.6, eps=0.2, lam=1.0, activation="relu"),
        dict(psi2=2.0, eps=0.0, lam=0.1, noise=0.5),
    ],
)
def test_solution_is_a_certified_saddle_with_the_identities(setting):
    r = solve(Problem(INF, **setting))
    co = Coefficients.from_problem(r.problem)
    lt = loss_terms(r.gam, r.Q, r.s, co.eps)
    v = (r.Q, r.s, r.gam, lt.b2, lt.th1, lt.th2)
    assert max(abs(g) for g in saddle_gradient(co, v)) < 1e-10
    assert saddle_value(co, v) == pytest.approx(r.train_objective, rel=1e-10)
    positive, negative, size = saddle_inertia(co, v)
    assert positive == negative == size // 2 and r.inertia == (positive, negative)
    mu1 = r.problem.moments.mu1
    f2, tau2 = r.problem.signal**2, r.problem.noise**2
    assert r.standard_error == pytest.approx(f2 - 2 * mu1 * r.beta_w + mu1**2 * r.norm_w2 + tau2)
    assert r.grad_norm2 == pytest.approx(mu1**2 * r.norm_w2, rel=1e-12)
    # the Jacobian of `residual` is exact
    u = np.log([r.gam * 1.3, r.Q * 0.9, r.s * 1.1])
    ev = residual(co, tuple(u))
    for j in range(3):
        h = np.zeros(3)
        h[j] = 1e-6
        up, dn = residual(co, tuple(u + h)), residual(co, tuple(u - h))
        column = (np.array(up.F) - np.array(dn.F)) / 2e-6
        assert np.allclose(column, np.array(ev.J)[:, j], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("psi2", [1.5, 3.0])
def test_noiseless_linear_exact_recovery_phase_matches_finite_width(psi2):
    """In the phase (E_std = 0) and outside it, psi1 = inf agrees with psi1 = 1e6."""
    regimes = set()
    for eps in (0.0, 0.2, 0.5, 1.0):
        for lam in (0.0, 0.01, 0.3):
            p = Problem(INF, psi2, eps, lam=lam, activation="linear")
            wide, finite = solve(p), solve(p.with_(psi1=1e6))
            assert (wide.regime == "exact_recovery") == (finite.regime == "exact_recovery")
            regimes.add(wide.regime)
            for name in ("standard_error", "robust_error", "train_objective"):
                assert getattr(wide, name) == pytest.approx(
                    getattr(finite, name), rel=1e-5, abs=1e-12
                )
    assert {"exact_recovery", "wide_adversarial", "wide_ridge"} <= regimes


def test_cli_theory_accepts_inf(capsys):
    assert main(["theory", "--psi1", "10,inf", "--psi2", "2", "--eps", "0.1", "--lam", "0.013",
                 "--json"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[1]["psi1"] == INF and rows[1]["robust_error"] == pytest.approx(0.139027, rel=1e-5)


def test_sweep_stores_infinite_width_theory_rows_and_refuses_its_simulation(tmp_path, capsys):
    out = tmp_path / "store"
    argv = ["sweep", "--psi1", "10,inf", "--psi2", "2", "--eps", "0.1", "--lam", "0.013"]
    assert main([*argv, "--theory", "--out", str(out), "--workers", "1", "--quiet", "--csv"]) == 0
    text = (out / "results.csv").read_text()
    assert ",inf," in text and "0.13902665" in text
    capsys.readouterr()
    simulate = [*argv, "--simulate", "--d", "20", "--seeds", "1", "--out", str(out), "--quiet"]
    assert main([*simulate, "--workers", "1"]) == 2
    assert "psi1 = inf" in capsys.readouterr().err


def test_batch_solver_gives_the_same_wide_results():
    from advrf.theory.batch import solve_batch

    problems = [
        Problem(INF, 2.0, eps, lam=lam, noise=0.3, activation=activation)
        for activation in ("relu_shifted", "tanh", "linear")
        for eps in (0.0, 0.1, 3.0)
        for lam in (0.0, 0.013)
    ]
    for problem, batch in zip(problems, solve_batch(problems), strict=True):
        assert batch.to_dict() == solve(problem).to_dict()
