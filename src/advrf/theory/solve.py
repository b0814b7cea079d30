"""Solve the asymptotic theory for one Problem or along a sequence of them.

Cases, checked in this order (docs/theory.md, sections 7, 8 and 11):

1. eps > 0 and eps >= eps_c: the trivial phase, a = 0, E_rob = E_std = F1^2 + tau^2.
2. eps = 0, lam = 0, overparametrised (p12 mu(k > 0) > 1): the minimum-norm (ridgeless) limit,
   closed form after one monotone scalar root (`interpolator_limit(problem, "norm")`); at the
   threshold p12 mu(k > 0) = 1 the error is infinite (TheoryError).
3. linear activation, noise 0, psi1 >= 1, psi2 > 1: the exact-recovery phase theta = beta when its
   condition holds (`_exact_recovery`).
4. lam = 0, eps > 0, overparametrised: the minimum-||a||_M interpolator (eps -> 0+ limit) when
   the non-interpolated fraction erfc(z / sqrt 2) underflows (then it is the solution to double
   precision), else it is the start of Newton.
5. otherwise the three equations of `advrf.theory.equations` by Newton's method in
   u = (log gam, log Q, log s), from the warm start, else the default start, else by continuation
   in lam from a heavily regularised problem (the solution is unique and continuous in lam);
   where that fails too (docs/theory.md, section 11, "Holes, boundaries and extremes"): the
   linear activation with noise << signal by continuation in the noise, eps = 0 by the scalar
   ridge reduction, eps > 0 below rounding at the eps = 0 point. The linear activation with
   0 < noise < NOISE_FLOOR signal is scaled from two certified solutions (`_below_noise_floor`).

Every Newton point is certified: residual below NEWTON_TOL, a forward error bound of the errors
below ERROR_BOUND_MAX, and the analytic Hessian of the scalar saddle function with the inertia
of a min-max saddle (`saddle_inertia`). Anything else raises TheoryError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy import linalg, special

from advrf.problem import SMALLEST, Problem
from advrf.theory.equations import (
    Coefficients,
    Evaluation,
    Integrals,
    L,
    LossTerms,
    loss_terms,
    nonzero_inverse_square,
    order_parameters,
    residual,
    saddle_hessian,
    training_loss,
)
from advrf.theory.spectrum import basis

DEFAULT_S = 0.3  # gradient norm of the default start
NEWTON_TOL = 1e-12  # max |F| of the log-form equations (relative error of gam, Q, s^2)
NEWTON_MAX_ITER = 60
NEWTON_MAX_STEP = 2.0  # largest change of any log-unknown in one Newton step
LINE_SEARCH_MIN = 1e-10  # smallest step fraction tried by the backtracking line search
# After convergence, one more full Newton step (not counted as an iteration) when it would still
# move u by more than this: it leaves u at the root to rounding, not anywhere within NEWTON_TOL.
POLISH_STEP = 1e-13
ARMIJO = 1e-4
CONTINUATION_LAM_START = 1e4  # heavily regularised starting point of the lam continuation
CONTINUATION_LAM_FLOOR = 1e-14  # below this, the continuation to lam = 0 jumps to 0
CONTINUATION_FACTOR = 10.0  # initial ratio between successive lam of the continuation
CONTINUATION_MIN_FACTOR = 1.05  # give up when the adaptive ratio falls below this
# noise continuation (linear activation, noise << signal): start at this noise / signal, ratio
NOISE_CONTINUATION_START = 1e-3
NOISE_CONTINUATION_FACTOR = 1e4
NOISE_FLOOR = 1e-22  # linear activation: below this noise / signal, scaled (`_below_noise_floor`)
# Failure messages: the scales the solver is checked on (validation/theory_extremes.py), and the
# residual below which a Newton failure is a stall at the rounding level.
CHECKED_SCALES = (1e-6, 1e6)
STALL_RESIDUAL = 1e-8
HESSIAN_TINY = 1e-280  # a Hessian row below this (e.g. eps^2 s^2 underflowing) has decoupled
_SYEV = linalg.get_lapack_funcs("syev", (np.zeros((2, 2)),))
FREE_ALL = [0, 1, 2, 3, 4, 5]  # (Q, s, gam, b2, th1, th2)
FREE_EPS0 = [0, 2, 3, 4]  # eps = 0: s and th2 drop out
ROOT_TOL = 1e-15  # relative tolerance of the scalar roots of the interpolation limits
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_2 = math.sqrt(2.0)
# Forward error bound of the outputs: rounding of the residual (RESIDUAL_ROUNDING per equation)
# propagated through the inverse Jacobian to log Q and log E_rob; above ERROR_BOUND_MAX the point
# is refused (it happens at the interpolation peak without regularisation, where E ~ 1/eps).
RESIDUAL_ROUNDING = 1e-15
ERROR_BOUND_MAX = 1e-8
INTERPOLATOR_LOG_RANGE = 40.0  # bracket of log delta / log rho in the interpolation limits
UNIT_RANGE = (1e-30, 1e30)  # sqrt(F1^2 + tau^2) solved as given; outside, scaled to 1 (_solve)
PREDICTOR_ALIGNMENT = 0.999  # cosine of consecutive parameter steps for `_predicted_start`
PREDICTOR_POINTS = 4  # solved points the warm start of `solve_curve` extrapolates from
ROOT_LOG_LIMIT = 700.0  # widest bracket of log delta / log rho (exp overflows past ~709)
ROOT_MAX_ITER = 200  # Newton-bisection steps of the interpolation limits (bisection alone: ~60)
EPS = float(np.finfo(float).eps)
# z above which P(|q| > 2 gam c) = erfc(z / sqrt 2) < 1e-32: every term of the equations that
# distinguishes eps > 0 from the eps -> 0+ limit is below double precision.
Z_INTERPOLATING = 12.0

Phase = Literal["trivial", "nontrivial"]
# Which case of the module docstring produced a result: 1 "trivial", 2 "min_norm",
# 3 "exact_recovery", 4 "min_M_norm", 5 "adversarial" (eps > 0) or "ridge" (eps = 0).
Regime = Literal["trivial", "min_norm", "exact_recovery", "min_M_norm", "adversarial", "ridge"]
REGIMES: tuple[str, ...] = Regime.__args__  # type: ignore[attr-defined]


# The keys of TheoryResult.to_dict(), in order.
RESULT_COLUMNS = (
    "robust_error", "standard_error", "train_objective", "norm_a2", "norm_w2", "beta_w",
    "grad_norm2", "eps_c", "phase", "converged", "iterations", "residual", "regime",
)  # fmt: skip


class TheoryError(ValueError):
    """The theory could not be solved at a point; the message names every parameter."""


@dataclass(frozen=True)
class TheoryResult:
    """The asymptotic errors and order parameters of one Problem.

    `regime` (also in `to_dict`): which case of the module docstring produced the point
    ("trivial", "min_norm", "exact_recovery", "min_M_norm", "adversarial", "ridge").
    Internal state: gam, Q, s (the unknowns; 0 where they do not apply) and inertia (positive,
    negative eigenvalue counts of the saddle Hessian, or None when there is no saddle to check).
    """

    problem: Problem
    robust_error: float
    standard_error: float
    train_objective: float
    norm_a2: float
    norm_w2: float
    beta_w: float
    grad_norm2: float
    eps_c: float
    phase: Phase
    converged: bool
    iterations: int
    residual: float
    gam: float = field(default=0.0, repr=False)
    Q: float = field(default=0.0, repr=False)
    s: float = field(default=0.0, repr=False)
    regime: Regime = field(default="adversarial", repr=False)
    inertia: tuple[int, int] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, float | str | bool | int]:
        """The result fields (no problem, no internal state): one row of a results table."""
        return {key: getattr(self, key) for key in RESULT_COLUMNS}

    @classmethod
    def build(
        cls,
        problem: Problem,
        *,
        regime: Regime,
        Q: float,  # noqa: N803
        s: float,
        train_objective: float,
        norm_a2: float,
        norm_w2: float,
        beta_w: float,
        grad_norm2: float,
        eps_c: float,
        iterations: int = 0,
        residual: float = 0.0,
        gam: float = 0.0,
        inertia: tuple[int, int] | None = None,
    ) -> TheoryResult:
        """The one constructor: standard_error = Q, robust_error from (Q, s, eps_test),
        phase "trivial" exactly for the trivial regime. Every result is converged.
        The fields are set in one update of the instance dictionary: the generated __init__ of a
        frozen dataclass sets them one by one (1.5 us a result, 10^4 in a grid)."""
        out = object.__new__(cls)
        out.__dict__.update(
            problem=problem,
            robust_error=robust_error(Q, s, problem.eps_test),
            standard_error=Q,
            train_objective=train_objective,
            norm_a2=norm_a2,
            norm_w2=norm_w2,
            beta_w=beta_w,
            grad_norm2=grad_norm2,
            eps_c=eps_c,
            phase="trivial" if regime == "trivial" else "nontrivial",
            converged=True,
            iterations=iterations,
            residual=residual,
            gam=gam,
            Q=Q,
            s=s,
            regime=regime,
            inertia=inertia,
        )
        return out


@dataclass(frozen=True)
class RootResult:
    """Outcome of `newton`: the point, iterations, final max |F|, and whether it converged."""

    x: tuple[float, ...]
    iterations: int
    residual: float
    converged: bool
    message: str
    last: Any = None  # what `fun` returned at x


def _pivot(p: float) -> float:
    if not (p != 0.0 and -math.inf < p < math.inf):
        raise ArithmeticError("singular matrix")
    return p


def linear_solve(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """x with a x = b, Gaussian elimination with partial pivoting (the first row of largest
    |pivot|; pure Python: the systems here are 3 x 3, where numpy's call overhead dominates, and
    unrolled for that size). Raises ArithmeticError when a is singular (a zero pivot) or not
    finite."""
    n = len(b)
    if n == 3:
        return _linear_solve3(a, b)
    rows = [[*a[i], b[i]] for i in range(n)]
    for col in range(n):
        pivot = col
        for r in range(col + 1, n):
            if abs(rows[r][col]) > abs(rows[pivot][col]):
                pivot = r
        head = rows[pivot]
        p = _pivot(head[col])
        rows[col], rows[pivot] = head, rows[col]
        for r in range(col + 1, n):
            row = rows[r]
            factor = row[col] / p
            if factor != 0.0:
                for k in range(col + 1, n + 1):
                    row[k] -= factor * head[k]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        row = rows[i]
        acc = row[n]
        for k in range(i + 1, n):
            acc -= row[k] * x[k]
        x[i] = acc / row[i]
    return x


def _pivot(p: float) -> float:
    if not (p != 0.0 and -math.inf < p < math.inf):
        raise ArithmeticError("singular matrix")
    return p


def _linear_solve3(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """`linear_solve` for n = 3, the same operations in the same order."""
    r0, r1, r2 = [*a[0], b[0]], [*a[1], b[1]], [*a[2], b[2]]
    if abs(r1[0]) > abs(r0[0]):
        if abs(r2[0]) > abs(r1[0]):
            r0, r2 = r2, r0
        else:
            r0, r1 = r1, r0
    elif abs(r2[0]) > abs(r0[0]):
        r0, r2 = r2, r0
    p = _pivot(r0[0])
    for row in (r1, r2):
        factor = row[0] / p
        if factor != 0.0:
            row[1] -= factor * r0[1]
            row[2] -= factor * r0[2]
            row[3] -= factor * r0[3]
    if abs(r2[1]) > abs(r1[1]):
        r1, r2 = r2, r1
    p = _pivot(r1[1])
    factor = r2[1] / p
    if factor != 0.0:
        r2[2] -= factor * r1[2]
        r2[3] -= factor * r1[3]
    x2 = r2[3] / _pivot(r2[2])
    x1 = (r1[3] - r1[2] * x2) / r1[1]
    return [(r0[3] - r0[1] * x1 - r0[2] * x2) / r0[0], x1, x2]


def newton(
    fun: Callable[[tuple[float, ...]], Any],
    x0: Sequence[float],
    *,
    tol: float = NEWTON_TOL,
    max_iter: int = NEWTON_MAX_ITER,
    max_step: float = NEWTON_MAX_STEP,
    polish: bool = True,
) -> RootResult:
    """Damped Newton for F(x) = 0 with the exact Jacobian.

    `fun(x)` returns an object with attributes F (residual) and J (Jacobian rows); it may raise
    ArithmeticError or ValueError outside its domain, which the line search treats as a failed
    trial. Steps are capped at `max_step` in the max norm and backtracked until the merit
    |F|^2 / 2 decreases (Armijo). A converged x is polished (`_polish`) unless `polish` is False.
    """
    x = tuple(float(v) for v in x0)
    try:
        ev = fun(x)
    except (ArithmeticError, ValueError) as error:
        return RootResult(x, 0, math.inf, False, f"start outside the domain: {error}")
    f = ev.F
    merit = sum(v * v for v in f)
    res = math.inf
    for it in range(max_iter + 1):
        res = max(abs(v) for v in f)
        if not math.isfinite(res):
            return RootResult(x, it, math.inf, False, "non-finite residual", ev)
        if res < tol:
            if not polish:
                return RootResult(x, it, res, True, "converged", ev)
            return _polish(fun, x, ev, res, it)
        if it == max_iter:
            break
        try:
            step = [-v for v in linear_solve(ev.J, f)]
        except ArithmeticError:
            return RootResult(x, it, res, False, "singular Jacobian", ev)
        size = max(abs(v) for v in step)
        if not math.isfinite(size):
            return RootResult(x, it, res, False, "singular Jacobian", ev)
        if size > max_step:
            step = [v * (max_step / size) for v in step]
        t = 1.0
        while True:
            candidate = tuple(xi + t * si for xi, si in zip(x, step, strict=True))
            try:
                trial = fun(candidate)
                f_trial = trial.F
                merit_trial = sum(v * v for v in f_trial)
                if math.isfinite(merit_trial) and merit_trial <= (1.0 - 2.0 * ARMIJO * t) * merit:
                    break
            except (ArithmeticError, ValueError):
                pass
            t *= 0.5
            if t < LINE_SEARCH_MIN:
                return RootResult(x, it, res, False, "line search failed", ev)
        x = candidate
        ev, f, merit = trial, f_trial, merit_trial
    return RootResult(x, max_iter, res, False, "iteration limit", ev)


def _polish(
    fun: Callable[[tuple[float, ...]], Any], x: tuple[float, ...], ev: Any, res: float, it: int
) -> RootResult:
    """The converged x, or x - J^-1 F when that step exceeds POLISH_STEP and its residual is not
    larger (two evaluations of the same equations that stop Newton at different iterates below
    the tolerance then agree at the root, to rounding)."""
    try:
        step = linear_solve(ev.J, ev.F)
    except ArithmeticError:
        step = [0.0]
    if max(abs(v) for v in step) > POLISH_STEP:
        candidate = tuple(xi - si for xi, si in zip(x, step, strict=True))
        try:
            trial = fun(candidate)
            res_trial = max(abs(v) for v in trial.F)
            if res_trial <= res:
                return RootResult(candidate, it, res_trial, True, "converged", trial)
        except (ArithmeticError, ValueError):
            pass
    return RootResult(x, it, res, True, "converged", ev)


def _describe(problem: Problem) -> str:
    p = problem
    return (
        f"activation={p.activation.name}, psi1={p.psi1:g}, psi2={p.psi2:g}, eps={p.eps:g}, "
        f"eps_test={p.eps_test:g}, lam={p.lam:g}, signal={p.signal:g}, noise={p.noise:g}"
    )


def _fail(problem: Problem, why: str, res: float, iterations: int) -> TheoryError:
    stall = (
        f"; Newton stalled above its tolerance {NEWTON_TOL:g}: rounding of the equations"
        if res < STALL_RESIDUAL
        else ""
    )
    return TheoryError(
        f"theory did not converge for {_describe(problem)}: {why} "
        f"(final residual {res:.3g} after {iterations} iterations){stall}{_far_scales(problem)}"
    )


def _far_scales(problem: Problem) -> str:
    """The scales of `problem` outside CHECKED_SCALES, said in a failure message ('' if none).

    Scales: psi1, psi2, psi1 / psi2, lam and psi1 lam (the ridge against the data term),
    eps / eps_c and noise / signal, each when positive (eps_test only enters the outputs). Far
    outside, the terms of the equations differ by many orders of magnitude (docs/theory.md,
    section 11).
    """
    p = problem
    scales = [("psi1", p.psi1), ("psi2", p.psi2), ("psi1 / psi2", p.psi1 / p.psi2),
              ("lam", p.lam), ("psi1 lam", p.psi1 * p.lam),
              ("noise / signal", p.noise / p.signal)]  # fmt: skip
    if p.eps > 0.0 and math.isfinite(p.psi1):
        try:
            scales.append(("eps / eps_c", p.eps / Coefficients.from_problem(p).eps_c()))
        except (ArithmeticError, ValueError):
            pass
    low, high = CHECKED_SCALES
    far = [
        f"{name} = {v:.3g}"
        for name, v in scales
        if 0.0 < v < math.inf and not low <= v <= high  # psi1 = inf: its own limit, not a scale
    ]
    if not far:
        return ""
    return (
        f"; {', '.join(far)} outside {low:g}..{high:g}, the scales where the solver is checked: "
        "beyond, the terms of the equations differ by many orders of magnitude and double "
        "precision may not resolve them"
    )


def robust_error(Q: float, s: float, eps_test: float) -> float:  # noqa: N803
    """E_rob = Q + 2 sqrt(2/pi) eps_test sqrt(Q) s + eps_test^2 s^2 (conventions 3.4)."""
    return Q + 2.0 * SQRT_2_OVER_PI * eps_test * math.sqrt(Q) * s + (eps_test * s) ** 2


def _trivial(problem: Problem, eps_c: float) -> TheoryResult:
    q0 = problem.null_risk
    return TheoryResult.build(
        problem,
        regime="trivial",
        Q=q0,
        s=0.0,
        train_objective=q0,  # (1/n) sum y_i^2 with a = 0
        norm_a2=0.0,
        norm_w2=0.0,
        beta_w=0.0,
        grad_norm2=0.0,
        eps_c=eps_c,
    )


def default_start(co: Coefficients) -> tuple[float, float, float]:
    """(log gam, log Q, log s) at gam = p12, Q = F1^2 + tau^2, s = DEFAULT_S (theory.md, 11)."""
    return (math.log(co.p12), math.log(co.Q0), math.log(DEFAULT_S))


def _heavy_ridge_start(co: Coefficients) -> tuple[float, float, float]:
    """Start for a large lam: A ~ 2 psi1 lam, gam ~ p12 E k / A, Q ~ Q0, s ~ th1 sqrt(P E lm)/A."""
    a = 2.0 * co.psi1 * co.lam
    gam = co.p12 * (co.mu1sq + co.mustar2) / a
    s = 2.0 * math.sqrt(co.P * (co.mu1sq * (1.0 + co.psi1) + co.nu2) + co.Q0 * co.p12) / a
    return (math.log(gam), math.log(co.Q0), math.log(s))


def _newton_system(co: Coefficients, start: Sequence[float], polish: bool = True) -> RootResult:
    return newton(lambda u: residual(co, u), start, polish=polish)


def _continuation(problem: Problem) -> tuple[RootResult, int]:
    """Solve at lam = CONTINUATION_LAM_START, then follow the solution down to problem.lam."""
    target = problem.lam
    lam = max(CONTINUATION_LAM_START, target)
    co = Coefficients.from_problem(problem.with_(lam=lam))
    # (only the last solve of the continuation is polished: the others are starts)
    root = _newton_system(co, _heavy_ridge_start(co), polish=lam == target)
    total = root.iterations
    if not root.converged:
        return root, total
    factor = CONTINUATION_FACTOR
    while lam > target:
        nxt = max(lam / factor, target)
        if target == 0.0 and nxt < CONTINUATION_LAM_FLOOR:
            nxt = target  # a positive target is approached geometrically all the way
        co = Coefficients.from_problem(problem.with_(lam=nxt))
        trial = _newton_system(co, root.x, polish=nxt == target)
        total += trial.iterations
        if trial.converged:
            root, lam = trial, nxt
            factor = min(factor * factor, CONTINUATION_FACTOR)
        else:
            factor = math.sqrt(factor)
            if factor < CONTINUATION_MIN_FACTOR:
                return trial, total
    return root, total


def _below_noise_floor(problem: Problem, eps_c: float) -> TheoryResult:
    """Linear activation, 0 < tau < NOISE_FLOOR F1: the solution at tau from those at
    tau_1 = 100 NOISE_FLOOR F1 and tau_2 = NOISE_FLOOR F1 (both solved and certified).

    The noise enters the equations through sigma2 = tau^2 (psi1 >= 1) and Q; as tau -> 0 each
    output tends to a power law X = X_1 (tau / tau_1)^p: Q -> Q(0) > 0 (p = 0) or, inside the
    exact-recovery phase and for least squares without noise, Q ~ tau^2, gam ~ tau or constant,
    with relative corrections O(tau / F1) (the 1 of 1 + 2 gam, the ridge against th1 ~ 1 / gam),
    below 1e-19 here. The exponents are measured, p = log(X_2 / X_1) / log(tau_2 / tau_1), and
    must be within 1e-10 of 0, 1 or 2 for Q, gam, s, the training objective, ||a||^2, ||w||^2
    and <beta, w>; else TheoryError.
    """
    tau2 = NOISE_FLOOR * problem.signal  # exactly the floor: not below it again
    tau1 = 100.0 * tau2
    first = _solve_unit(problem.with_(noise=tau1), None)
    second = _solve_unit(problem.with_(noise=tau2), None)
    ratio = problem.noise / tau1
    names = ("Q", "gam", "s", "train_objective", "norm_a2", "norm_w2", "beta_w")
    values = {}
    for name in names:
        x1, x2 = getattr(first, name), getattr(second, name)
        positive = 0.0 < x1 < math.inf and 0.0 < x2 < math.inf
        power = math.log(x2 / x1) / math.log(0.01) if positive else 0.0  # x1 == x2: 0 or inf
        if not (positive or x1 == x2) or abs(power - round(power)) > 1e-10:
            raise TheoryError(
                f"theory cannot certify {_describe(problem)}: below noise / signal = "
                f"{NOISE_FLOOR:g} the solution is scaled from noise {tau1:g} and "
                f"{tau2:g}, but {name} ({x1:.6g}, {x2:.6g}) does not follow a power "
                f"0, 1 or 2 of the noise there"
            )
        values[name] = x1 * ratio ** round(power) if positive else x1
    return TheoryResult.build(
        problem, regime=first.regime, Q=values["Q"], s=values["s"],
        train_objective=values["train_objective"], norm_a2=values["norm_a2"],
        norm_w2=values["norm_w2"], beta_w=values["beta_w"], grad_norm2=values["s"] ** 2,
        eps_c=eps_c, iterations=first.iterations + second.iterations,
        residual=max(first.residual, second.residual), gam=values["gam"],
        inertia=first.inertia,
    )  # fmt: skip


def _noise_continuation(problem: Problem) -> tuple[RootResult, int]:
    """Solve at noise = NOISE_CONTINUATION_START signal, then follow the solution down to
    problem.noise (linear activation: with psi1 >= 1, sigma2 = tau^2 and E_std ~ tau^2 inside
    the exact-recovery phase, out of reach of the default start for tau << F1). Each start
    extrapolates (log gam, log Q, log s) linearly in log tau from the two previous solutions
    (exact when E_std ~ tau^2, gam ~ tau); the ratio between steps adapts as in `_continuation`.
    """
    target = problem.noise
    tau = NOISE_CONTINUATION_START * problem.signal
    co = Coefficients.from_problem(problem.with_(noise=tau))
    root = _newton_system(co, default_start(co))
    total = root.iterations
    if not root.converged:
        root, used = _continuation(problem.with_(noise=tau))
        total += used
    if not root.converged:
        return root, total
    path, used, _ = log_extrapolated_path(
        root,
        tau,
        target,
        lambda value, x0: _newton_system(Coefficients.from_problem(problem.with_(noise=value)), x0),
        NOISE_CONTINUATION_FACTOR,
    )
    return path, total + used


def log_extrapolated_path(
    root: RootResult,
    value: float,
    target: float,
    solve_with: Callable[[float, tuple], RootResult],
    max_factor: float,
) -> tuple[RootResult, int, bool]:
    """Follow the converged `root` at a parameter `value` down to `target` in geometric steps,
    each start extrapolated linearly in log(value) from the two previous solutions (exact for
    power laws); the ratio between steps starts at max_factor, is squared (up to max_factor)
    after a success and square-rooted after a failure, and the path is abandoned below
    CONTINUATION_MIN_FACTOR. solve_with(value, start) solves at one value. Returns (the root at
    target, or the failed trial; Newton iterations; whether target was reached)."""
    total = 0
    solved = [(math.log(value), root.x)]
    factor = max_factor
    while value > target:
        nxt = max(value / factor, target)
        start = root.x
        if len(solved) == 2:
            (t0, u0), (t1, u1) = solved
            w = (math.log(nxt) - t1) / (t1 - t0)
            start = tuple(b + w * (b - a) for a, b in zip(u0, u1, strict=True))
        trial = solve_with(nxt, start)
        total += trial.iterations
        if trial.converged:
            root, value = trial, nxt
            solved = [solved[-1], (math.log(value), root.x)]
            factor = min(factor * factor, max_factor)
        else:
            factor = math.sqrt(factor)
            if factor < CONTINUATION_MIN_FACTOR:
                return trial, total, False
    return root, total, True


def saddle_inertia(
    co: Coefficients,
    v: Sequence[float],
    lt: LossTerms | None = None,
    ints: Integrals | None = None,
) -> tuple[int, int, int]:
    """(#positive, #negative eigenvalues, #variables) of the Hessian of the saddle function at v.

    v = (Q, s, gam, b2, th1, th2). The Hessian is the analytic one in the logarithms of v
    (`equations.saddle_hessian`; a congruence, which keeps the inertia). A saddle of min over
    (Q, s, gam) and max over (b2, th1, th2) has inertia (3, 3). At eps = 0, s and th2 drop out
    (s no longer enters the loss): the expected inertia is (2, 2); the same when eps is so small
    that the (s, th2) block underflows (it then decouples to rounding).
    """
    full = saddle_hessian(co, tuple(float(x) for x in v), lt, ints)
    hess = full if co.eps > 0.0 else [[full[i][j] for j in FREE_EPS0] for i in FREE_EPS0]
    size = [max(map(abs, row)) for row in hess]
    if len(size) == 6 and not all(HESSIAN_TINY < x < math.inf for x in size):
        hess = [[full[i][j] for j in FREE_EPS0] for i in FREE_EPS0]
        size = [size[i] for i in FREE_EPS0]
    if not all(0.0 < x < math.inf for x in size):
        return 0, 0, len(size)  # a zero or non-finite row: not a certified saddle
    # Equilibrate (a diagonal congruence, inertia unchanged) so that blocks of very
    # different scales (e.g. s and th2 when eps is small) are resolved.
    scale = 1.0 / np.sqrt(np.array(size))
    matrix = np.array(hess)
    matrix *= scale[:, None]
    matrix *= scale
    eig, _, info = _SYEV(matrix, compute_v=0)  # LAPACK dsyev: numpy's eigvalsh without overhead
    if info != 0:
        return 0, 0, len(size)
    eig = eig.tolist()
    return sum(x > 0.0 for x in eig), sum(x < 0.0 for x in eig), len(eig)


def _error_bound(ev: Evaluation, eps_test: float) -> float:
    """Relative forward error of Q and E_rob caused by rounding of the residual.

    du = J^-1 dF with |dF_i| <= RESIDUAL_ROUNDING; d log Q = du_1 and
    d log E_rob = (dE_rob/d log Q du_1 + dE_rob/d log s du_2) / E_rob.
    """
    inverse = _inverse3(ev.J)
    if inverse is None:
        return math.inf
    Q, s = ev.Q, ev.s  # noqa: N806
    cross = 2.0 * SQRT_2_OVER_PI * eps_test * math.sqrt(Q) * s
    e_rob = Q + cross + (eps_test * s) ** 2
    d_log_q = (Q + 0.5 * cross) / e_rob  # d log E_rob / d log Q
    d_log_s = (cross + 2.0 * (eps_test * s) ** 2) / e_rob  # d log E_rob / d log s
    row_q = sum(abs(x) for x in inverse[1])
    row_e = sum(abs(d_log_q * x + d_log_s * y) for x, y in zip(inverse[1], inverse[2], strict=True))
    return RESIDUAL_ROUNDING * max(row_q, row_e)


def _inverse3(j: Sequence[Sequence[float]]) -> list[list[float]] | None:
    """The inverse of a 3 x 3 matrix by cofactors (None when singular or not finite)."""
    (a, b, c), (d, e, f), (g, h, i) = j
    co = [
        [e * i - f * h, c * h - b * i, b * f - c * e],
        [f * g - d * i, a * i - c * g, c * d - a * f],
        [d * h - e * g, b * g - a * h, a * e - b * d],
    ]
    det = a * co[0][0] + b * co[1][0] + c * co[2][0]
    if not (det != 0.0 and math.isfinite(det)):
        return None
    return [[x / det for x in row] for row in co]


def _result_from_root(
    problem: Problem, co: Coefficients, root: RootResult, iterations: int, eps_c: float
) -> TheoryResult:
    ev: Evaluation = root.last
    gam, Q, s, lt = ev.gam, ev.Q, ev.s, ev.loss  # noqa: N806
    bound = _error_bound(ev, problem.eps_test)
    if not bound < ERROR_BOUND_MAX and _recovery_edges(co):
        raise _near_recovery_edge(problem, co, Q, bound)
    if not bound < ERROR_BOUND_MAX:
        raise _fail(
            problem,
            f"the equations are ill-conditioned there (relative error bound {bound:.2g} on "
            "the errors: the interpolation peak without regularisation, or E_std many orders "
            "below the null risk)",
            root.residual,
            iterations,
        )
    positive, negative, size = saddle_inertia(
        co, (Q, s, gam, lt.b2, lt.th1, lt.th2), lt, ev.integrals
    )
    inertia = (positive, negative)
    if positive != size // 2 or negative != size // 2:
        raise _fail(
            problem,
            f"stationary point is not a saddle (inertia {inertia})",
            root.residual,
            iterations,
        )
    op = order_parameters(co, lt.th1, lt.b2, ev.a1, ev.a0, ev.basis)
    return TheoryResult.build(
        problem,
        regime="adversarial" if co.eps > 0.0 else "ridge",
        Q=Q,
        s=s,
        # ||a||^2 = inf at lam = 0 (linear features at psi1 = 1) is not penalised
        train_objective=training_loss(gam, Q, s, co.eps)
        + (co.psi1 * co.lam * op.norm_a2 if co.lam else 0.0),
        norm_a2=op.norm_a2,
        norm_w2=op.norm_w2,
        beta_w=op.beta_w,
        grad_norm2=s * s,
        eps_c=eps_c,
        iterations=iterations,
        residual=root.residual,
        gam=gam,
        inertia=inertia,
    )


def _overparametrised(co: Coefficients) -> bool:
    """p12 mu(k > 0) > 1: more features (spanning directions) than samples."""
    mass = 1.0 if co.mustar2 > 0.0 else co.spectrum.nonzero_mass
    return co.p12 * mass > 1.0


@dataclass(frozen=True)
class _Interpolator:
    t: float  # delta (norm) or rho (M)
    a1: float
    a0: float
    Q: float
    order: Any
    residual: float


def _interpolator(co: Coefficients, problem: Problem, norm: str) -> _Interpolator:
    if not _overparametrised(co):
        raise TheoryError(
            f"no interpolation limit for {_describe(problem)}: p12 = {co.p12:g} is not "
            "above the interpolation threshold"
        )

    def shape(t: float) -> tuple[float, float]:
        if norm == "norm":
            return co.mu1sq, co.mustar2 + t
        return co.mu1sq * (1.0 + t), co.mustar2 + t * co.nu2

    sp = co.spectrum
    # d(a1, a0)/dt
    slope = (0.0, 1.0) if norm == "norm" else (co.mu1sq, co.nu2)

    def excess(log_t: float) -> tuple[float, float]:
        """log(p12 int k/A) and its derivative in log t."""
        t = math.exp(log_t)
        a1, a0 = shape(t)
        value, d1, d0 = sp.integrate_with_derivatives(co.k, a1, a0, 1)
        return math.log(co.p12 * value), t * (slope[0] * d1 + slope[1] * d0) / value

    log_t = _decreasing_root(excess)
    if log_t is None:
        raise TheoryError(f"interpolation limit root not bracketed for {_describe(problem)}")
    a1, a0 = shape(math.exp(log_t))
    denom = 1.0 - co.p12 * sp.integrate(co.kk, a1, a0, 2)
    num = co.Q0
    if co.P > 0.0:
        num += -2.0 * co.P * sp.integrate(L, a1, a0, 1) + co.P * sp.integrate(co.lk, a1, a0, 2)
    if not denom > 0.0:
        raise TheoryError(f"interpolation limit is infinite for {_describe(problem)}")
    Q = num / denom  # noqa: N806
    return _Interpolator(
        math.exp(log_t), a1, a0, Q, order_parameters(co, 1.0, Q, a1, a0), abs(excess(log_t)[0])
    )


def _decreasing_root(fun: Callable[[float], tuple[float, float]]) -> float | None:
    """The root of a decreasing function f(y) (fun returns f and f'), or None if none is found.

    Bracket [-INTERPOLATOR_LOG_RANGE, INTERPOLATOR_LOG_RANGE], widened by doubling up to
    ROOT_LOG_LIMIT (|log t| beyond ~700 leaves double precision); then Newton steps kept inside
    the bracket (bisection otherwise), stopped after a step below ROOT_TOL + 4 eps |y|.
    """
    lo, hi = -INTERPOLATOR_LOG_RANGE, INTERPOLATOR_LOG_RANGE
    try:
        while fun(lo)[0] <= 0.0:
            if lo < -ROOT_LOG_LIMIT:
                return None
            lo *= 2.0
        while fun(hi)[0] >= 0.0:
            if hi > ROOT_LOG_LIMIT:
                return None
            hi *= 2.0
    except (ArithmeticError, ValueError):
        return None
    y = 0.0 if lo < 0.0 < hi else 0.5 * (lo + hi)
    for _ in range(ROOT_MAX_ITER):
        f, df = fun(y)
        if f == 0.0:
            return y
        if f > 0.0:
            lo = y
        else:
            hi = y
        nxt = y - f / df if df < 0.0 else math.nan
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi)
        if abs(nxt - y) <= ROOT_TOL + 4.0 * EPS * abs(y):
            return nxt
        y = nxt
    return None


def _interpolating_gam(rho: float, eps: float) -> float:
    """gam = rho / (2 eps^2) of the eps -> 0+ limit (inf when eps^2 underflows, 0 at eps = 0)."""
    if eps == 0.0:
        return 0.0
    return 0.5 * rho / eps**2 if eps**2 > 0.0 else math.inf


def interpolator_limit(problem: Problem, norm: Literal["norm", "M"] = "norm") -> TheoryResult:
    """lam = 0, overparametrised: the limit eps -> 0 of the interpolating estimators.

    norm="norm": eps = 0, lam -> 0+: the minimum-||a|| interpolator (ridgeless). A = th1 (k + delta)
    with delta > 0 the root of p12 int k/(k + delta) = 1.
    norm="M": eps -> 0+ at lam = 0: the minimum-||a||_M interpolator (gam ~ rho / (2 eps^2)).
    A = th1 (k + rho m) with rho > 0 the root of p12 int k/(k + rho m) = 1.
    In both, b2 = Q th1^2 and Q = [Q0 - 2 P int l/A' + P int l k/A'^2] / [1 - p12 int k^2/A'^2]
    with A' = A / th1. The training loss is 0 (the errors use problem.eps_test).
    """
    co = Coefficients.from_problem(problem)
    lim = _interpolator(co, problem, norm)
    return _interpolator_result(problem, co, lim, norm, train_objective=0.0)


def _interpolator_result(
    problem: Problem, co: Coefficients, lim: _Interpolator, norm: str, train_objective: float
) -> TheoryResult:
    s = math.sqrt(lim.order.grad_norm2)
    return TheoryResult.build(
        problem,
        regime="min_norm" if norm == "norm" else "min_M_norm",
        Q=lim.Q,
        s=s,
        train_objective=train_objective,
        norm_a2=lim.order.norm_a2,
        norm_w2=lim.order.norm_w2,
        beta_w=lim.order.beta_w,
        grad_norm2=lim.order.grad_norm2,
        eps_c=co.eps_c(),
        residual=lim.residual,
        gam=_interpolating_gam(lim.t, problem.eps) if norm == "M" else 0.0,
    )


def _exact_recovery(co: Coefficients, problem: Problem, eps_c: float) -> TheoryResult | None:
    """Noiseless linear activation with psi1 >= 1 and psi2 > 1: the phase theta = beta (Q = 0).

    There sigma2 = 0 and the training residuals can all vanish at a = a* (w = beta / mu1). The
    three equations in the limit Q -> 0 (gam ~ sqrt Q, z fixed; docs/theory.md, section 8) give
    P(|Z| <= z*) = 1/psi2 and the phase condition

        D = 1 - psi2 (E[Z^2; |Z| <= z*] + z*^2 P(|Z| > z*)) - psi1 psi2^2 z*^2 J / (4 eps^2) >= 0,
        J = int_{l > 0} (2 psi1 lam / (mu1^2 l) + 2 eps^2)^2 dmu(l).

    eps = 0: least squares (lam = 0) recovers beta exactly. Returns None outside the phase.
    a is reported as the minimum-norm a with Theta^T a / sqrt d = beta / mu1 (lam -> 0+).
    """
    if not (co.linear and problem.noise == 0.0 and co.psi1 >= 1.0 and co.psi2 > 1.0):
        return None
    base = basis(co.psi1, 0.0, with_atom=False)  # int_{l>0} l^-j dmu: h1 (j=0), h2, h3
    if co.eps == 0.0:
        if co.lam > 0.0:
            return None
    else:
        if co.lam > 0.0 and co.psi1 == 1.0:
            return None  # int l^-2 dmu diverges: the ridge cannot be absorbed
        z = SQRT_2 * special.erfinv(1.0 / co.psi2)
        p_out = special.erfc(z / SQRT_2)
        g2in = special.gammainc(1.5, 0.5 * z * z)
        c, t = 2.0 * co.psi1 * co.lam / co.mu1sq, 2.0 * co.eps**2
        with np.errstate(all="ignore"):  # numpy scalars: an overflow is -inf, outside the phase
            j = t * t * base.h1 + (2.0 * c * t * base.h2 + c * c * base.h3 if c > 0.0 else 0.0)
            phase = (
                1.0
                - co.psi2 * (g2in + z * z * p_out)
                - co.psi1 * co.psi2**2 * z * z * j / (4.0 * co.eps**2)
            )
        if not phase >= 0.0:
            return None
    f2 = co.signal**2
    norm_a2 = f2 / co.mu1sq * co.psi1 * base.h2  # w^T (F^T F)^-1 w, ||w||^2 = F1^2 / mu1^2
    return TheoryResult.build(
        problem,
        regime="exact_recovery",
        Q=0.0,
        s=co.signal,
        train_objective=(co.eps * co.signal) ** 2 + (co.psi1 * co.lam * norm_a2 if co.lam else 0.0),
        norm_a2=norm_a2,
        norm_w2=f2 / co.mu1sq,
        beta_w=f2 / co.mu1,
        grad_norm2=f2,
        eps_c=eps_c,
    )


def _recovery_edges(co: Coefficients) -> list[float]:
    """The eps > 0 where the exact-recovery condition D of `_exact_recovery` is 0 ([] outside
    the noiseless linear model with psi1 >= 1, psi2 > 1, or with lam > 0 at psi1 = 1).

    With A0 = 1 - psi2 (E[Z^2; |Z| <= z*] + z*^2 P(|Z| > z*)), B = psi1 psi2^2 z*^2,
    c = 2 psi1 lam / mu1^2 and e = eps^2: D e = -(B h1 e^2 - (A0 - B c h2) e + B c^2 h3 / 4),
    a quadratic in e (one root at lam = 0); the phase is between its roots.
    """
    if not (co.linear and co.noise == 0.0 and co.psi1 >= 1.0 and co.psi2 > 1.0):
        return []
    if co.lam > 0.0 and co.psi1 == 1.0:
        return []
    base = basis(co.psi1, 0.0, with_atom=False)
    z = SQRT_2 * float(special.erfinv(1.0 / co.psi2))
    a0 = 1.0 - co.psi2 * (float(special.gammainc(1.5, 0.5 * z * z)) + z * z * math.erfc(z / SQRT_2))
    b = co.psi1 * co.psi2**2 * z * z
    c = 2.0 * co.psi1 * co.lam / co.mu1sq
    qa, qb = b * base.h1, a0 - (b * c * base.h2 if c else 0.0)
    qc = b * c * c * base.h3 / 4.0 if c else 0.0
    disc = qb * qb - 4.0 * qa * qc
    if not (qb > 0.0 and disc >= 0.0 and qa > 0.0):
        return []
    top = (qb + math.sqrt(disc)) / (2.0 * qa)
    roots = [top, qc / (qa * top)] if qc > 0.0 else [top]
    return [math.sqrt(e) for e in roots]


def _near_recovery_edge(problem: Problem, co: Coefficients, Q: float, bound: float) -> TheoryError:  # noqa: N803
    """The TheoryError of a point next to the exact-recovery boundary (noiseless linear model),
    where the error bound of the solution exceeds ERROR_BOUND_MAX: E_std ~ (eps - eps*)^2 is
    fixed by a difference that double precision resolves only to ~1e-16 of eps."""
    edge = min(_recovery_edges(co), key=lambda e: abs(co.eps - e))
    return TheoryError(
        f"theory cannot certify the errors for {_describe(problem)}: eps is within a relative "
        f"{abs(co.eps / edge - 1.0):.2g} of the exact-recovery boundary eps* = {edge!r} of the "
        f"noiseless linear model, where E_std ({Q:.2g}, {Q / co.Q0:.2g} of the null risk) "
        f"grows as (eps - eps*)^2; double precision resolves eps - eps* only to about 1e-16 "
        f"of eps, so the relative error bound on E_std is {bound:.2g}, above "
        f"{ERROR_BOUND_MAX:g} (at eps* itself E_std = 0: exact recovery)"
    )


def solve(problem: Problem, start: TheoryResult | WarmStart | None = None) -> TheoryResult:
    """The asymptotic robust and standard errors of `problem` (module docstring).

    `start`: a previous result (e.g. the neighbouring point of a sweep), or a `WarmStart`,
    used as a warm start.
    The warm-then-cold policy of advrf: when the warm-started solve fails (no convergence or no
    certificate), the point is solved again cold, so a point's answer never depends on its
    neighbour. Raises TheoryError (the cold failure) when no certified solution is found.
    """
    if math.isinf(problem.psi1):
        from advrf.theory.wide import solve_wide  # wide imports this module

        try:
            return solve_wide(problem)
        except TheoryError:
            raise
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
            raise TheoryError(
                f"wide-limit theory failed for {_describe(problem)}: "
                f"{type(error).__name__}: {error}"
            ) from None
    if start is None:
        return _solve(problem, None)
    try:
        return _solve(problem, start)
    except TheoryError:
        return _solve(problem, None)


def _solve(problem: Problem, start: TheoryResult | WarmStart | None) -> TheoryResult:
    """`_solve_unit` in units where F1^2 + tau^2 is of order 1; any arithmetic failure becomes a
    TheoryError naming the point.

    The theory is homogeneous in (signal, noise): scaling both by c scales a, and so s, by c and
    Q, E_rob, E_std, the training objective, ||a||^2, ||w||^2, <beta, w> and s^2 by c^2 (every
    term of program (1) has degree 2 in (y, a)), while eps_c, gam and the iterations do not
    change. A point with c = sqrt(F1^2 + tau^2) outside UNIT_RANGE is solved at c = 1 and scaled
    back, so no intermediate quantity over- or underflows.
    """
    try:
        c = math.hypot(problem.signal, problem.noise)
        if UNIT_RANGE[0] <= c <= UNIT_RANGE[1]:
            return _solve_unit(problem, start)
        # a signal below SMALLEST of the noise is below rounding in every output: kept at SMALLEST
        unit = problem.with_(signal=max(problem.signal / c, SMALLEST), noise=problem.noise / c)
        if start is not None:
            start = replace(start, Q=start.Q / c / c, s=start.s / c)
        try:
            r = _solve_unit(unit, start)
        except TheoryError as error:
            raise TheoryError(
                str(error).replace(_describe(unit), f"{_describe(problem)} (solved at unit scale)")
            ) from None
        c2 = c * c
        out = TheoryResult.build(
            problem, regime=r.regime, Q=r.Q * c2, s=r.s * c, train_objective=r.train_objective * c2,
            norm_a2=r.norm_a2 * c2, norm_w2=r.norm_w2 * c2, beta_w=r.beta_w * c2,
            grad_norm2=r.grad_norm2 * c2, eps_c=r.eps_c, iterations=r.iterations,
            residual=r.residual, gam=r.gam, inertia=r.inertia,
        )  # fmt: skip
        if not all(math.isfinite(x) for x in (out.robust_error, out.standard_error, out.Q)):
            raise OverflowError("the errors are outside the range of double precision")
        return out
    except TheoryError:
        raise
    except (ArithmeticError, ValueError, np.linalg.LinAlgError) as error:
        raise TheoryError(
            f"theory failed for {_describe(problem)}: {type(error).__name__}: {error}"
        ) from None


def _solve_unit(problem: Problem, start: TheoryResult | WarmStart | None) -> TheoryResult:
    co = Coefficients.from_problem(problem)
    eps_c = co.eps_c()
    if co.eps > 0.0 and co.eps >= eps_c:
        return _trivial(problem, eps_c)
    if co.eps == 0.0 and co.lam == 0.0:
        if _overparametrised(co):
            return interpolator_limit(problem, "norm")
        mass = 1.0 if co.mustar2 > 0.0 else co.spectrum.nonzero_mass
        if co.p12 * mass == 1.0:
            raise TheoryError(
                f"the minimum-norm least-squares error is infinite at the interpolation "
                f"threshold for {_describe(problem)}"
            )
    recovery = _exact_recovery(co, problem, eps_c)
    if recovery is not None:
        return recovery
    if co.linear and 0.0 < co.noise < NOISE_FLOOR * co.signal:
        return _below_noise_floor(problem, eps_c)
    iterations = 0
    root = None
    if co.lam == 0.0 and _overparametrised(co):
        # eps > 0 small: the solution approaches the minimum-||a||_M interpolator, gam ~ rho /
        # (2 eps^2). Once the fraction of non-interpolated samples, P_out = erfc(z / sqrt 2),
        # underflows, the finite-eps equations coincide in double precision with the limit ones.
        lim = _interpolator(co, problem, "M")
        s = math.sqrt(lim.order.grad_norm2)
        # 2 gam eps s / sqrt(Q) at gam = rho / (2 eps^2), divided by eps last (a subnormal eps)
        z = lim.t * s / math.sqrt(lim.Q) / co.eps
        if z >= Z_INTERPOLATING:
            return _interpolator_result(problem, co, lim, "M", train_objective=(co.eps * s) ** 2)
        guess = (math.log(0.5 * lim.t) - 2.0 * math.log(co.eps), math.log(lim.Q), math.log(s))
        root = _newton_system(co, guess)
        iterations += root.iterations
        if root.converged:
            return _result_from_root(problem, co, root, iterations, eps_c)
    if (
        start is not None
        and start.phase == "nontrivial"
        and 0.0 < start.gam < math.inf
        and 0.0 < start.s < math.inf
    ):
        root = _newton_system(co, (math.log(start.gam), math.log(start.Q), math.log(start.s)))
        iterations += root.iterations
    if root is None or not root.converged:
        root = _newton_system(co, default_start(co))
        iterations += root.iterations
    return finish(problem, co, eps_c, root, iterations)


def finish(
    problem: Problem, co: Coefficients, eps_c: float, root: RootResult, iterations: int
) -> TheoryResult:
    """The end of case 5 after Newton from the default start gave `root` (after `iterations`
    iterations in all): the lam-continuation when it did not converge, then the certificate."""
    if not root.converged:
        root, used = _continuation(problem)
        iterations += used
    if not root.converged and co.linear and 0.0 < co.noise < NOISE_CONTINUATION_START * co.signal:
        root, used = _noise_continuation(problem)
        iterations += used
    if not root.converged and co.eps == 0.0 and co.lam > 0.0:
        return _ridge_reduction(problem, co, eps_c, root, iterations)
    if not root.converged and co.eps > 0.0:
        root = _from_eps_zero(problem, co, root)
    if not root.converged:
        raise _fail(problem, root.message, root.residual, iterations)
    return _result_from_root(problem, co, root, iterations, eps_c)


def _from_eps_zero(problem: Problem, co: Coefficients, root: RootResult) -> RootResult:
    """The eps = 0 solution as a Newton point of the eps > 0 equations, when the residual of
    these at it is below NEWTON_TOL (eps so small that every term it adds is below rounding);
    else `root`, the failure. The point is then certified like any Newton point."""
    try:
        ridge = _solve_unit(problem.with_(eps=0.0, eps_test=problem.eps_test), None)
        u = (math.log(ridge.gam), math.log(ridge.Q), math.log(ridge.s))
        ev = residual(co, u)
    except (TheoryError, ArithmeticError, ValueError):
        return root
    res = max(abs(v) for v in ev.F)
    if not res < NEWTON_TOL:
        return root
    return RootResult(u, root.iterations, res, True, "converged at the eps = 0 solution", ev)


def _ridge_reduction(
    problem: Problem, co: Coefficients, eps_c: float, root: RootResult, iterations: int
) -> TheoryResult:
    """eps = 0, lam > 0 as one scalar root, for the ridges Newton cannot reach (docs/theory.md,
    section 11: lam so small that gam ~ 1 / lam or E_std ~ lam^2 leave double precision).

    At eps = 0, th1 = 2 / (1 + 2 gam) and b2 = th1^2 Q exactly, so A = th1 (k + delta) with
    delta = 2 psi1 lam / th1 = psi1 lam (1 + 2 gam), and (E1) becomes
    p12 int k/(k + delta) + psi1 lam / delta = 1 (decreasing in delta: one root), solved in
    y = log(delta / (psi1 lam)) = log(1 + 2 gam); then (E2) is linear in Q:
    Q = [Q0 - 2 P int l/(k + delta) + P int l k/(k + delta)^2] / [1 - p12 int k^2/(k + delta)^2],
    its numerator sigma2 + psi1 F1^2 delta^2 int_{l>0} dmu / (k + delta)^2 for the linear
    activation (no cancellation when E_std << F1^2). The root is found in y = log delta when
    overparametrised (delta tends to the ridgeless one, of order 1), else in
    y = log(delta / (psi1 lam)) (delta ~ psi1 lam / (1 - p12 mu(k > 0))). Certified by the
    root's residual and a forward error bound of Q below ERROR_BOUND_MAX; else the Newton
    failure is raised.
    """
    sp, r = co.spectrum, co.psi1 * co.lam
    log_r = math.log(r)
    offset = 0.0 if _overparametrised(co) else log_r  # log delta = offset + y

    def excess(y: float) -> tuple[float, float]:
        """log(p12 int k/(k + delta) + psi1 lam / delta) and its derivative in y."""
        delta = math.exp(offset + y)
        value, _, d0 = sp.integrate_with_derivatives(co.k, co.mu1sq, co.mustar2 + delta, 1)
        ridge = math.exp(log_r - offset - y)  # psi1 lam / delta
        g = co.p12 * value + ridge
        return math.log(g), (co.p12 * delta * d0 - ridge) / g

    def error(y: float) -> float:
        delta = math.exp(offset + y)
        a0 = co.mustar2 + delta
        if co.linear:
            x = delta / co.mu1sq
            sigma2 = co.noise**2 + (co.signal**2 * (1.0 - co.psi1) if co.psi1 < 1.0 else 0.0)
            num = sigma2 + co.psi1 * co.signal**2 * x * x * nonzero_inverse_square(co.psi1, x)[0]
        else:
            num = co.Q0 - 2.0 * co.P * sp.integrate(L, co.mu1sq, a0, 1)
            num += co.P * sp.integrate(co.lk, co.mu1sq, a0, 2)
        denom = 1.0 - co.p12 * sp.integrate(co.kk, co.mu1sq, a0, 2)
        if not (denom > 0.0 and num >= 0.0):
            raise FloatingPointError("no finite ridge solution")
        return num / denom

    y = _decreasing_root(excess)
    why = root.message
    if y is not None:
        try:
            Q = error(y)  # noqa: N806
            f, slope = excess(y)
            h = 1e-6 * max(1.0, abs(y))
            if Q > 0.0:  # d log Q / dy by central differences, times the error of y
                dq = (math.log(error(y + h)) - math.log(error(y - h))) / (2.0 * h)
            else:
                dq = 0.0  # Q underflows to 0: it is 0 to double precision
            bound = abs(dq) * (RESIDUAL_ROUNDING + abs(f)) / abs(slope)
        except (ArithmeticError, ValueError) as err:
            why, bound = f"scalar ridge reduction: {err}", math.inf
        else:
            why = f"scalar ridge reduction: relative error bound {bound:.2g} on E_std"
        if bound < ERROR_BOUND_MAX and abs(f) < NEWTON_TOL:
            log_u = offset + y - log_r  # log(1 + 2 gam) = log(delta / (psi1 lam))
            op = order_parameters(co, 1.0, Q, co.mu1sq, co.mustar2 + math.exp(offset + y))
            shrink = math.exp(-log_u)  # 1 / (1 + 2 gam): the training residuals are q shrunk
            return TheoryResult.build(
                problem,
                regime="ridge",
                Q=Q,
                s=math.sqrt(op.grad_norm2),
                train_objective=Q * shrink * shrink + co.psi1 * co.lam * op.norm_a2,
                norm_a2=op.norm_a2,
                norm_w2=op.norm_w2,
                beta_w=op.beta_w,
                grad_norm2=op.grad_norm2,
                eps_c=eps_c,
                iterations=iterations,
                residual=abs(f),
                gam=0.5 * math.expm1(log_u) if log_u < 700.0 else math.inf,
            )
    raise _fail(problem, f"{root.message}; {why}", root.residual, iterations)


@dataclass(frozen=True)
class WarmStart:
    """A start for `solve` that is not a result: the unknowns (gam, Q, s) of a nontrivial point."""

    gam: float
    Q: float
    s: float
    phase: Phase = "nontrivial"


# The parameters of a curve as a point of R^7 (logarithms of the ratios and scales), in which
# `solve_curve` extrapolates its warm starts.
def _coordinates(p: Problem) -> tuple[float, ...]:
    return (math.log(p.psi1), math.log(p.psi2), p.eps, p.eps_test, p.lam, math.log(p.signal),
            p.noise)  # fmt: skip


def _step(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[list[float], float]:
    """The step from coordinates a to b and its length."""
    d = [y - x for x, y in zip(a, b, strict=True)]
    return d, math.sqrt(sum(v * v for v in d))


def _predicted_start(
    steps: Sequence[tuple[list[float], float]], solved: Sequence[TheoryResult]
) -> Any:
    """The start of a point from the solutions of the points just before it (`solved`, two to
    PREDICTOR_POINTS, oldest first; `steps`: the `_step` from each of them to the next, the last
    one to the point): polynomial extrapolation (linear from two, cubic from four) of
    (log gam, log Q, log s) in the arc length of parameter space, when the points lie on one
    line of it with steps of comparable length (a psi1 curve), else the last solution itself."""
    last = solved[-1]
    if not all(r.regime in ("adversarial", "ridge") for r in solved):
        return last
    m = len(solved)
    d = [di for di, _ in steps]
    n = [ni for _, ni in steps]
    for i in range(m - 1):
        ok = n[i] > 0.0 and 0.5 * n[i] <= n[i + 1] <= 2.0 * n[i]
        if not ok or sum(a * b for a, b in zip(d[i], d[i + 1], strict=True)) < (
            PREDICTOR_ALIGNMENT * n[i] * n[i + 1]
        ):
            return last if i == m - 2 else _predicted_start(steps[i + 1 :], solved[i + 1 :])
    at = [0.0]
    for ni in n:
        at.append(at[-1] + ni)
    weights = [
        math.prod((at[m] - at[i]) / (at[j] - at[i]) for i in range(m) if i != j) for j in range(m)
    ]
    u = [
        sum(w * math.log(v) for w, v in zip(weights, values, strict=True))
        for values in zip(*((r.gam, r.Q, r.s) for r in solved), strict=True)
    ]
    return WarmStart(*(math.exp(v) for v in u))


def solve_curve(
    problems: Sequence[Problem], *, errors: Literal["raise", "return"] = "raise"
) -> list[TheoryResult] | list[TheoryResult | TheoryError]:
    """`solve` along a sequence, each point warm-started from the previous solved ones.

    The start is the previous solution, or, on a straight line of parameter space (a psi1 curve),
    its extrapolation from the two to four previous ones (`_predicted_start`); a start that fails
    is retried cold (`solve`). errors="raise": the first TheoryError propagates.
    errors="return": a failed point is returned as its TheoryError in place of its result and
    the curve goes on (the next point starts from the last solved one).
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return'; got {errors!r}")
    results: list[Any] = []
    previous: TheoryResult | None = None  # the last solved point
    solved: list[TheoryResult] = []  # the last PREDICTOR_POINTS consecutive solved points
    steps: list[tuple[list[float], float]] = []  # `_step` into each of the last points
    x: tuple[float, ...] = ()
    for problem in problems:
        x, before = _coordinates(problem), x
        if before:
            steps = [*steps[1 - PREDICTOR_POINTS :], _step(before, x)]
        start: TheoryResult | WarmStart | None = solved[-1] if solved else previous
        if len(solved) >= 2:
            start = _predicted_start(steps[-len(solved) :], solved)
        try:
            result = solve(problem, start=start)
        except TheoryError as error:
            if errors == "raise":
                raise
            results.append(error)
            solved = []
            continue
        previous = result
        solved = [*solved[1 - PREDICTOR_POINTS :], result]
        results.append(result)
    return results


__all__ = [
    "TheoryError",
    "TheoryResult",
    "interpolator_limit",
    "loss_terms",
    "newton",
    "solve",
    "solve_curve",
]
