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
   in lam from a heavily regularised problem (the solution is unique and continuous in lam).

Every Newton point is certified: residual below NEWTON_TOL, a forward error bound of the errors
below ERROR_BOUND_MAX, and a Hessian of the scalar saddle function with the inertia of a min-max
saddle (`saddle_inertia`). Anything else raises TheoryError.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, special

from advrf.problem import Problem
from advrf.theory.equations import (
    Coefficients,
    Evaluation,
    L,
    loss_terms,
    order_parameters,
    residual,
    saddle_gradient,
    training_loss,
)
from advrf.theory.spectrum import basis

DEFAULT_S = 0.3  # gradient norm of the default start
NEWTON_TOL = 1e-12  # max |F| of the log-form equations (relative error of gam, Q, s^2)
NEWTON_MAX_ITER = 60
NEWTON_MAX_STEP = 2.0  # largest change of any log-unknown in one Newton step
LINE_SEARCH_MIN = 1e-10  # smallest step fraction tried by the backtracking line search
ARMIJO = 1e-4
CONTINUATION_LAM_START = 1e4  # heavily regularised starting point of the lam continuation
CONTINUATION_LAM_FLOOR = 1e-14  # below this, the continuation jumps to lam = 0
CONTINUATION_FACTOR = 10.0  # initial ratio between successive lam of the continuation
CONTINUATION_MIN_FACTOR = 1.05  # give up when the adaptive ratio falls below this
HESSIAN_STEP = 1e-5  # relative finite-difference step of the saddle Hessian
HESSIAN_TINY = 1e-280  # a Hessian row below this (e.g. eps^2 s^2 underflowing) has decoupled
ROOT_TOL = 1e-15  # relative tolerance of the scalar roots of the interpolation limits
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_2 = math.sqrt(2.0)
# Forward error bound of the outputs: rounding of the residual (RESIDUAL_ROUNDING per equation)
# propagated through the inverse Jacobian to log Q and log E_rob; above ERROR_BOUND_MAX the point
# is refused (it happens at the interpolation peak without regularisation, where E ~ 1/eps).
RESIDUAL_ROUNDING = 1e-15
ERROR_BOUND_MAX = 1e-8
INTERPOLATOR_LOG_RANGE = 40.0  # bracket of log delta / log rho in the interpolation limits
# z above which P(|q| > 2 gam c) = erfc(z / sqrt 2) < 1e-32: every term of the equations that
# distinguishes eps > 0 from the eps -> 0+ limit is below double precision.
Z_INTERPOLATING = 12.0

Phase = Literal["trivial", "nontrivial"]


class TheoryError(ValueError):
    """The theory could not be solved at a point; the message names every parameter."""


@dataclass(frozen=True)
class TheoryResult:
    """The asymptotic errors and order parameters of one Problem.

    Internal state: gam, Q, s (the unknowns; 0 where they do not apply), regime (which case of
    the module docstring produced the point: "trivial", "adversarial", "ridge", "min_norm",
    "min_M_norm", "exact_recovery") and inertia (positive, negative eigenvalue counts of the
    saddle Hessian, or None when there is no saddle to check).
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
    regime: str = field(default="adversarial", repr=False)
    inertia: tuple[int, int] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, float | str | bool | int]:
        """The result fields (no problem, no internal state): one row of a results table."""
        return {
            "robust_error": self.robust_error,
            "standard_error": self.standard_error,
            "train_objective": self.train_objective,
            "norm_a2": self.norm_a2,
            "norm_w2": self.norm_w2,
            "beta_w": self.beta_w,
            "grad_norm2": self.grad_norm2,
            "eps_c": self.eps_c,
            "phase": self.phase,
            "converged": self.converged,
            "iterations": self.iterations,
            "residual": self.residual,
        }


@dataclass(frozen=True)
class RootResult:
    """Outcome of `newton`: the point, iterations, final max |F|, and whether it converged."""

    x: tuple[float, ...]
    iterations: int
    residual: float
    converged: bool
    message: str
    last: Any = None  # what `fun` returned at x


def newton(
    fun: Callable[[tuple[float, ...]], Any],
    x0: Sequence[float],
    *,
    tol: float = NEWTON_TOL,
    max_iter: int = NEWTON_MAX_ITER,
    max_step: float = NEWTON_MAX_STEP,
) -> RootResult:
    """Damped Newton for F(x) = 0 with the exact Jacobian.

    `fun(x)` returns an object with attributes F (residual) and J (Jacobian rows); it may raise
    ArithmeticError or ValueError outside its domain, which the line search treats as a failed
    trial. Steps are capped at `max_step` in the max norm and backtracked until the merit
    |F|^2 / 2 decreases (Armijo).
    """
    x = np.asarray(x0, dtype=float)
    try:
        ev = fun(tuple(x))
    except (ArithmeticError, ValueError) as error:
        return RootResult(tuple(x), 0, math.inf, False, f"start outside the domain: {error}")
    f = np.asarray(ev.F)
    merit = float(f @ f)
    for it in range(max_iter + 1):
        res = float(np.max(np.abs(f)))
        if not math.isfinite(res):
            return RootResult(tuple(x), it, math.inf, False, "non-finite residual", ev)
        if res < tol:
            return RootResult(tuple(x), it, res, True, "converged", ev)
        if it == max_iter:
            break
        try:
            step = -np.linalg.solve(np.asarray(ev.J), f)
        except np.linalg.LinAlgError:
            return RootResult(tuple(x), it, res, False, "singular Jacobian", ev)
        size = float(np.max(np.abs(step)))
        if not math.isfinite(size):
            return RootResult(tuple(x), it, res, False, "singular Jacobian", ev)
        if size > max_step:
            step *= max_step / size
        t = 1.0
        while True:
            try:
                trial = fun(tuple(x + t * step))
                f_trial = np.asarray(trial.F)
                merit_trial = float(f_trial @ f_trial)
                if math.isfinite(merit_trial) and merit_trial <= (1.0 - 2.0 * ARMIJO * t) * merit:
                    break
            except (ArithmeticError, ValueError):
                pass
            t *= 0.5
            if t < LINE_SEARCH_MIN:
                return RootResult(tuple(x), it, res, False, "line search failed", ev)
        x = x + t * step
        ev, f, merit = trial, f_trial, merit_trial
    return RootResult(tuple(x), max_iter, res, False, "iteration limit", ev)


def _describe(problem: Problem) -> str:
    p = problem
    return (
        f"activation={p.activation.name}, psi1={p.psi1:g}, psi2={p.psi2:g}, eps={p.eps:g}, "
        f"eps_test={p.eps_test:g}, lam={p.lam:g}, signal={p.signal:g}, noise={p.noise:g}"
    )


def _fail(problem: Problem, why: str, res: float, iterations: int) -> TheoryError:
    return TheoryError(
        f"theory did not converge for {_describe(problem)}: {why} "
        f"(final residual {res:.3g} after {iterations} iterations)"
    )


def robust_error(Q: float, s: float, eps_test: float) -> float:  # noqa: N803
    """E_rob = Q + 2 sqrt(2/pi) eps_test sqrt(Q) s + eps_test^2 s^2 (conventions 3.4)."""
    return Q + 2.0 * SQRT_2_OVER_PI * eps_test * math.sqrt(Q) * s + (eps_test * s) ** 2


def _trivial(problem: Problem, eps_c: float) -> TheoryResult:
    q0 = problem.null_risk
    return TheoryResult(
        problem=problem,
        robust_error=q0,
        standard_error=q0,
        train_objective=q0,  # (1/n) sum y_i^2 with a = 0
        norm_a2=0.0,
        norm_w2=0.0,
        beta_w=0.0,
        grad_norm2=0.0,
        eps_c=eps_c,
        phase="trivial",
        converged=True,
        iterations=0,
        residual=0.0,
        Q=q0,
        regime="trivial",
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


def _newton_system(co: Coefficients, start: Sequence[float]) -> RootResult:
    return newton(lambda u: residual(co, u), start)


def _continuation(problem: Problem) -> tuple[RootResult, int]:
    """Solve at lam = CONTINUATION_LAM_START, then follow the solution down to problem.lam."""
    target = problem.lam
    lam = max(CONTINUATION_LAM_START, target)
    co = Coefficients.from_problem(problem.with_(lam=lam))
    root = _newton_system(co, _heavy_ridge_start(co))
    total = root.iterations
    if not root.converged:
        return root, total
    factor = CONTINUATION_FACTOR
    while lam > target:
        nxt = max(lam / factor, target)
        if nxt < CONTINUATION_LAM_FLOOR:
            nxt = target
        trial = _newton_system(Coefficients.from_problem(problem.with_(lam=nxt)), root.x)
        total += trial.iterations
        if trial.converged:
            root, lam = trial, nxt
            factor = min(factor * factor, CONTINUATION_FACTOR)
        else:
            factor = math.sqrt(factor)
            if factor < CONTINUATION_MIN_FACTOR:
                return trial, total
    return root, total


def saddle_inertia(co: Coefficients, v: Sequence[float]) -> tuple[int, int, int]:
    """(#positive, #negative eigenvalues, #variables) of the Hessian of the saddle function at v.

    v = (Q, s, gam, b2, th1, th2). The Hessian is taken in the logarithms of v (a congruence,
    which keeps the inertia) by central differences of the analytic gradient `saddle_gradient`.
    A saddle of min over (Q, s, gam) and max over (b2, th1, th2) has inertia (3, 3). At eps = 0,
    s and th2 = 0 drop out (s no longer enters the loss): the expected inertia is (2, 2); the same
    when eps is so small that the (s, th2) block underflows (it then decouples to rounding).
    """
    v = np.asarray(v, dtype=float)
    free = [0, 2, 3, 4] if co.eps == 0.0 else list(range(6))
    hess = np.empty((len(free), len(free)))
    with np.errstate(all="ignore"):
        for col, j in enumerate(free):
            up, dn = v.copy(), v.copy()
            up[j] *= math.exp(HESSIAN_STEP)
            dn[j] *= math.exp(-HESSIAN_STEP)
            g_up = np.asarray(saddle_gradient(co, tuple(up)))[free] * v[free]
            g_dn = np.asarray(saddle_gradient(co, tuple(dn)))[free] * v[free]
            hess[:, col] = (g_up - g_dn) / (2.0 * HESSIAN_STEP)
        hess = 0.5 * (hess + hess.T)
        size = np.max(np.abs(hess), axis=1)
        if len(free) == 6 and not np.all((size > HESSIAN_TINY) & np.isfinite(size)):
            keep = [0, 2, 3, 4]
            hess, size = hess[np.ix_(keep, keep)], size[keep]
        # Equilibrate (a diagonal congruence, inertia unchanged) so that blocks of very
        # different scales (e.g. s and th2 when eps is small) are resolved.
        scale = 1.0 / np.sqrt(size)
        eig = np.linalg.eigvalsh(hess * np.outer(scale, scale))
    return int(np.sum(eig > 0.0)), int(np.sum(eig < 0.0)), len(eig)


def _error_bound(ev: Evaluation, eps_test: float) -> float:
    """Relative forward error of Q and E_rob caused by rounding of the residual.

    du = J^-1 dF with |dF_i| <= RESIDUAL_ROUNDING; d log Q = du_1 and
    d log E_rob = (dE_rob/d log Q du_1 + dE_rob/d log s du_2) / E_rob.
    """
    try:
        inverse = np.linalg.inv(np.asarray(ev.J))
    except np.linalg.LinAlgError:
        return math.inf
    Q, s = ev.Q, ev.s  # noqa: N806
    cross = 2.0 * SQRT_2_OVER_PI * eps_test * math.sqrt(Q) * s
    e_rob = Q + cross + (eps_test * s) ** 2
    d_log_q = (Q + 0.5 * cross) / e_rob  # d log E_rob / d log Q
    d_log_s = (cross + 2.0 * (eps_test * s) ** 2) / e_rob  # d log E_rob / d log s
    rows = np.abs(inverse[1]), np.abs(d_log_q * inverse[1] + d_log_s * inverse[2])
    return RESIDUAL_ROUNDING * float(max(np.sum(r) for r in rows))


def _result_from_root(
    problem: Problem, co: Coefficients, root: RootResult, iterations: int, eps_c: float
) -> TheoryResult:
    ev: Evaluation = root.last
    gam, Q, s, lt = ev.gam, ev.Q, ev.s, ev.loss  # noqa: N806
    bound = _error_bound(ev, problem.eps_test)
    if not bound < ERROR_BOUND_MAX:
        raise _fail(
            problem,
            f"the equations are ill-conditioned there (relative error bound {bound:.2g} on "
            "the errors; the interpolation peak without regularisation)",
            root.residual,
            iterations,
        )
    positive, negative, size = saddle_inertia(co, (Q, s, gam, lt.b2, lt.th1, lt.th2))
    inertia = (positive, negative)
    if positive != size // 2 or negative != size // 2:
        raise _fail(
            problem,
            f"stationary point is not a saddle (inertia {inertia})",
            root.residual,
            iterations,
        )
    op = order_parameters(co, lt.th1, lt.b2, ev.a1, ev.a0)
    return TheoryResult(
        problem=problem,
        robust_error=robust_error(Q, s, problem.eps_test),
        standard_error=Q,
        train_objective=training_loss(gam, Q, s, co.eps) + co.psi1 * co.lam * op.norm_a2,
        norm_a2=op.norm_a2,
        norm_w2=op.norm_w2,
        beta_w=op.beta_w,
        grad_norm2=s * s,
        eps_c=eps_c,
        phase="nontrivial",
        converged=True,
        iterations=iterations,
        residual=root.residual,
        gam=gam,
        Q=Q,
        s=s,
        regime="adversarial" if co.eps > 0.0 else "ridge",
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

    def excess(log_t: float) -> float:
        a1, a0 = shape(math.exp(log_t))
        return math.log(co.p12 * sp.integrate(co.k, a1, a0, 1))

    lo, hi = -INTERPOLATOR_LOG_RANGE, INTERPOLATOR_LOG_RANGE
    if excess(lo) <= 0.0 or excess(hi) >= 0.0:
        raise TheoryError(f"interpolation limit root not bracketed for {_describe(problem)}")
    log_t = optimize.brentq(excess, lo, hi, xtol=ROOT_TOL, rtol=4 * np.finfo(float).eps)
    a1, a0 = shape(math.exp(log_t))
    denom = 1.0 - co.p12 * sp.integrate(co.kk, a1, a0, 2)
    num = co.Q0
    if co.P > 0.0:
        num += -2.0 * co.P * sp.integrate(L, a1, a0, 1) + co.P * sp.integrate(co.lk, a1, a0, 2)
    if not denom > 0.0:
        raise TheoryError(f"interpolation limit is infinite for {_describe(problem)}")
    Q = num / denom  # noqa: N806
    return _Interpolator(
        math.exp(log_t), a1, a0, Q, order_parameters(co, 1.0, Q, a1, a0), abs(excess(log_t))
    )


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
    return TheoryResult(
        problem=problem,
        robust_error=robust_error(lim.Q, s, problem.eps_test),
        standard_error=lim.Q,
        train_objective=train_objective,
        norm_a2=lim.order.norm_a2,
        norm_w2=lim.order.norm_w2,
        beta_w=lim.order.beta_w,
        grad_norm2=lim.order.grad_norm2,
        eps_c=co.eps_c(),
        phase="nontrivial",
        converged=True,
        iterations=0,
        residual=lim.residual,
        gam=_interpolating_gam(lim.t, problem.eps) if norm == "M" else 0.0,
        Q=lim.Q,
        s=s,
        regime="min_norm" if norm == "norm" else "min_M_norm",
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
        j = t * t * base.h1 + (2.0 * c * t * base.h2 + c * c * base.h3 if c > 0.0 else 0.0)
        phase = (
            1.0
            - co.psi2 * (g2in + z * z * p_out)
            - co.psi1 * co.psi2**2 * z * z * j / (4.0 * co.eps**2)
        )
        if phase < 0.0:
            return None
    f2 = co.signal**2
    norm_a2 = f2 / co.mu1sq * co.psi1 * base.h2  # w^T (F^T F)^-1 w, ||w||^2 = F1^2 / mu1^2
    return TheoryResult(
        problem=problem,
        robust_error=robust_error(0.0, co.signal, problem.eps_test),
        standard_error=0.0,
        train_objective=(co.eps * co.signal) ** 2 + co.psi1 * co.lam * norm_a2,
        norm_a2=norm_a2,
        norm_w2=f2 / co.mu1sq,
        beta_w=f2 / co.mu1,
        grad_norm2=f2,
        eps_c=eps_c,
        phase="nontrivial",
        converged=True,
        iterations=0,
        residual=0.0,
        s=co.signal,
        regime="exact_recovery",
    )


def solve(problem: Problem, start: TheoryResult | None = None) -> TheoryResult:
    """The asymptotic robust and standard errors of `problem` (module docstring).

    `start`: a previous result (e.g. the neighbouring point of a sweep) used as a warm start.
    Raises TheoryError when no certified solution is found.
    """
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
    iterations = 0
    root = None
    if co.lam == 0.0 and _overparametrised(co):
        # eps > 0 small: the solution approaches the minimum-||a||_M interpolator, gam ~ rho /
        # (2 eps^2). Once the fraction of non-interpolated samples, P_out = erfc(z / sqrt 2),
        # underflows, the finite-eps equations coincide in double precision with the limit ones.
        lim = _interpolator(co, problem, "M")
        s = math.sqrt(lim.order.grad_norm2)
        z = lim.t * s / (co.eps * math.sqrt(lim.Q))  # 2 gam eps s / sqrt(Q) at gam = rho/(2 eps^2)
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
    if not root.converged:
        root, used = _continuation(problem)
        iterations += used
    if not root.converged:
        raise _fail(problem, root.message, root.residual, iterations)
    return _result_from_root(problem, co, root, iterations, eps_c)


def solve_curve(problems: Sequence[Problem]) -> list[TheoryResult]:
    """`solve` along a sequence, each point warm-started from the previous one."""
    results: list[TheoryResult] = []
    previous: TheoryResult | None = None
    for problem in problems:
        previous = solve(problem, start=previous)
        results.append(previous)
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
