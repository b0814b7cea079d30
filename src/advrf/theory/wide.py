"""The infinite-width limit psi1 = inf, solved directly (docs/theory.md, section 13).

As psi1 -> inf the Marchenko-Pastur law of Theta Theta^T / d is an atom 1 - 1/psi1 at l = 0 (the
N - d directions of the nonlinear features, K-eigenvalue mu_star^2, M-eigenvalue nu^2) and a bulk
of mass 1/psi1 concentrated at l = psi1 (relative spread psi1^-1/2). With P = psi1 F1^2 mu1^2 and
p12 = psi1 / psi2, every integral of the equations keeps only its leading term. For lam > 0, with
D = 2 lam + mu1^2 (th1 + th2) and th1, th2, b2 the loss terms of `advrf.theory.equations`:

    gam = (mu_star^2 / (2 lam) + mu1^2 / D) / psi2
    s^2 = (th1^2 F1^2 + b2 / psi2) mu1^4 / D^2
    Q   = Q0 - 2 th1 F1^2 mu1^2 / D + s^2

(the predictor is linear in x, f = mu1 w^T x, and ||a||^2 -> 0 while psi1 lam ||a||^2 stays
finite). The same equations hold at lam = 0 for the linear activation (mu_star = 0). For lam = 0,
eps > 0 and a nonlinear activation, gam ~ psi1 and the interpolating solution puts its weight on the
nonlinear features, whose gradient cost vanishes: E_std = E_rob = Q0 exactly (`wide_rate` gives
the approach). eps = 0, lam = 0 is the minimum-norm limit: a closed form (`_min_norm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from advrf.problem import Problem
from advrf.theory.equations import (
    Coefficients,
    LossTerms,
    envelope_mean,
    loss_terms,
    training_loss,
)
from advrf.theory.solve import (
    RootResult,
    TheoryError,
    TheoryResult,
    _far_scales,
    log_extrapolated_path,
    newton,
)

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_2 = math.sqrt(2.0)
CONTINUATION_LAM_START = 1e4  # heavily regularised start of the continuation in lam
CONTINUATION_LAM_FLOOR = 1e-14  # below this the continuation jumps to the target
CONTINUATION_MIN_FACTOR = 1.05
EXTRAPOLATION_LAM_START = 1e-2  # `_extrapolated_continuation`: first lam and largest ratio
EXTRAPOLATION_FACTOR = 1e4
HESSIAN_STEP = 1e-5
RESIDUAL_ROUNDING = 1e-15
ERROR_BOUND_MAX = 1e-8


@dataclass(frozen=True)
class WideEvaluation:
    """Residual F(u), its Jacobian and the quantities the outputs need, at u = log(gam, Q, s)."""

    F: tuple[float, float, float]
    J: tuple[tuple[float, float, float], ...]
    gam: float
    Q: float
    s: float
    loss: LossTerms
    D: float


@dataclass(frozen=True)
class WideRate:
    """Approach of the psi1 = inf values at lam = 0, eps > 0 (nonlinear activation):

    E_std(psi1) = Q0 + std_1 / psi1 + O(psi1^-2),
    s(psi1) = s_half psi1^-1/2 (1 + O(1/psi1)),
    E_rob(psi1) = Q0 + rob_half psi1^-1/2 + rob_1 / psi1 + O(psi1^-3/2).
    """

    std_1: float
    s_half: float
    rob_half: float
    rob_1: float


def _check(problem: Problem) -> Coefficients:
    if not math.isinf(problem.psi1):
        raise ValueError(f"the wide limit needs psi1 = inf; got psi1 = {problem.psi1!r}")
    return Coefficients.from_problem(problem)


def linear_threshold(co: Coefficients) -> float:
    """eps_w = sqrt(pi / (2 Q0) (F1^2 + Q0 / psi2)): at psi1 = inf and eps >= eps_w the linear part
    of the predictor vanishes (w = 0, s = 0, E_std = E_rob = Q0), whatever lam and the activation
    (docs/theory.md, section 13). For the linear activation it is eps_c (a = 0)."""
    return math.sqrt(math.pi / (2.0 * co.Q0) * (co.signal**2 + co.Q0 / co.psi2))


def wide_eps_c(co: Coefficients) -> float:
    """eps_c at psi1 = inf: inf when mu_star > 0 (p12 int k/m diverges: a = 0 is never optimal),
    else the linear threshold (the finite-psi1 value for psi1 >= 1)."""
    return math.inf if co.mustar2 > 0.0 else linear_threshold(co)


def residual(co: Coefficients, u: tuple[float, float, float]) -> WideEvaluation:
    """F = (log gam - log G, log Q - log Q_rhs, 2 log s - log S_rhs) of the module docstring,
    with its exact Jacobian in u = (log gam, log Q, log s)."""
    gam, Q, s = math.exp(u[0]), math.exp(u[1]), math.exp(u[2])  # noqa: N806
    lt = loss_terms(gam, Q, s, co.eps)
    th1, b2, m1, f2, psi2 = lt.th1, lt.b2, co.mu1sq, co.signal**2, co.psi2
    den = 2.0 * co.lam + m1 * (th1 + lt.th2)  # D
    atom = co.mustar2 / (2.0 * co.lam) if co.mustar2 > 0.0 else 0.0
    g_rhs = (atom + m1 / den) / psi2
    weight = th1 * th1 * f2 + b2 / psi2
    s_rhs = weight * m1 * m1 / (den * den)
    q_rhs = co.Q0 - 2.0 * th1 * f2 * m1 / den + s_rhs
    if not (q_rhs > 0.0 and s_rhs > 0.0):
        raise FloatingPointError("wide-limit equations left their domain")
    r_g, r_q, r_s = [], [], []
    for j in range(3):
        d_den = m1 * (lt.dth1[j] + lt.dth2[j])
        d_g = -m1 * d_den / (psi2 * den * den)
        d_weight = 2.0 * th1 * f2 * lt.dth1[j] + lt.db2[j] / psi2
        d_s = m1 * m1 * (d_weight / (den * den) - 2.0 * weight * d_den / den**3)
        d_q = -2.0 * f2 * m1 * (lt.dth1[j] / den - th1 * d_den / (den * den)) + d_s
        r_g.append((1.0 if j == 0 else 0.0) - d_g / g_rhs)
        r_q.append((1.0 if j == 1 else 0.0) - d_q / q_rhs)
        r_s.append((2.0 if j == 2 else 0.0) - d_s / s_rhs)
    F = (math.log(gam / g_rhs), math.log(Q / q_rhs), 2.0 * math.log(s) - math.log(s_rhs))  # noqa: N806
    return WideEvaluation(F, (tuple(r_g), tuple(r_q), tuple(r_s)), gam, Q, s, lt, den)


def saddle_gradient(co: Coefficients, v: tuple[float, ...]) -> tuple[float, ...]:
    """Gradient in (Q, s, gam, b2, th1, th2) of the psi1 = inf saddle function

        psi = E e(q; gam, eps s) + gam b2/2 - th1 (Q - Q0)/2 - th2 s^2/2
              - th1^2 F1^2 mu1^2 / (2 D) - b2 (mu_star^2 / (2 lam) + mu1^2 / D) / (2 psi2),

    the limit of `equations.saddle_value` (its zeros are those of `residual`)."""
    Q, s, gam, b2, th1, th2 = v  # noqa: N806
    lt = loss_terms(gam, Q, s, co.eps)
    m1, f2, psi2 = co.mu1sq, co.signal**2, co.psi2
    D = 2.0 * co.lam + m1 * (th1 + th2)  # noqa: N806
    atom = co.mustar2 / (2.0 * co.lam) if co.mustar2 > 0.0 else 0.0
    S = (th1 * th1 * f2 + b2 / psi2) * m1 * m1 / (D * D)  # noqa: N806
    q_rhs = co.Q0 - 2.0 * th1 * f2 * m1 / D + S
    return (
        0.5 * (lt.th1 - th1),
        s * (lt.th2 - th2),
        0.5 * (b2 - lt.b2),
        0.5 * (gam - (atom + m1 / D) / psi2),
        0.5 * (q_rhs - Q),
        0.5 * (S - s * s),
    )


def saddle_value(co: Coefficients, v: tuple[float, ...]) -> float:
    """The psi1 = inf saddle function of `saddle_gradient` (equals the training objective)."""
    Q, s, gam, b2, th1, th2 = v  # noqa: N806
    m1, f2 = co.mu1sq, co.signal**2
    D = 2.0 * co.lam + m1 * (th1 + th2)  # noqa: N806
    atom = co.mustar2 / (2.0 * co.lam) if co.mustar2 > 0.0 else 0.0
    return (
        envelope_mean(gam, Q, s, co.eps)
        + 0.5 * gam * b2
        - 0.5 * th1 * (Q - co.Q0)
        - 0.5 * th2 * s * s
        - 0.5 * th1 * th1 * f2 * m1 / D
        - 0.5 * b2 * (atom + m1 / D) / co.psi2
    )


def saddle_inertia(co: Coefficients, v: tuple[float, ...]) -> tuple[int, int, int]:
    """(#positive, #negative, #variables) of the Hessian of the psi1 = inf saddle function in
    log variables (central differences of `saddle_gradient`, equilibrated); a min over
    (Q, s, gam), max over (b2, th1, th2) saddle has (3, 3), or (2, 2) at eps = 0."""
    x = np.asarray(v, dtype=float)
    free = [0, 2, 3, 4] if co.eps == 0.0 else list(range(6))
    hess = np.empty((len(free), len(free)))
    for col, j in enumerate(free):
        up, dn = x.copy(), x.copy()
        up[j] *= math.exp(HESSIAN_STEP)
        dn[j] *= math.exp(-HESSIAN_STEP)
        g_up = np.asarray(saddle_gradient(co, tuple(up)))[free] * x[free]
        g_dn = np.asarray(saddle_gradient(co, tuple(dn)))[free] * x[free]
        hess[:, col] = (g_up - g_dn) / (2.0 * HESSIAN_STEP)
    hess = 0.5 * (hess + hess.T)
    scale = 1.0 / np.sqrt(np.max(np.abs(hess), axis=1))
    eig = np.linalg.eigvalsh(hess * np.outer(scale, scale))
    return int(np.sum(eig > 0.0)), int(np.sum(eig < 0.0)), len(eig)


def _error_bound(ev: WideEvaluation, eps_test: float) -> float:
    """Relative error of Q and E_rob from rounding of the residual, through J^-1."""
    try:
        inverse = np.linalg.inv(np.asarray(ev.J))
    except np.linalg.LinAlgError:
        return math.inf
    cross = 2.0 * SQRT_2_OVER_PI * eps_test * math.sqrt(ev.Q) * ev.s
    e_rob = ev.Q + cross + (eps_test * ev.s) ** 2
    d_q, d_s = (ev.Q + 0.5 * cross) / e_rob, (cross + 2.0 * (eps_test * ev.s) ** 2) / e_rob
    rows = np.abs(inverse[1]), np.abs(d_q * inverse[1] + d_s * inverse[2])
    return RESIDUAL_ROUNDING * float(max(np.sum(r) for r in rows))


def _start(co: Coefficients, lam: float) -> tuple[float, float, float]:
    """Start for the ridge lam: D ~ 2 lam + 2 mu1^2, th1 ~ 2, b2 ~ 4 Q0 (large-lam values)."""
    d = 2.0 * lam + 2.0 * co.mu1sq
    atom = co.mustar2 / (2.0 * lam) if co.mustar2 > 0.0 else 0.0
    gam = (atom + co.mu1sq / d) / co.psi2
    s = 2.0 * math.sqrt(co.signal**2 + co.Q0 / co.psi2) * co.mu1sq / d
    return (math.log(gam), math.log(co.Q0), math.log(s))


def _solve_equations(problem: Problem, co: Coefficients) -> tuple[RootResult, int]:
    """Newton from the default start, else continuation in lam from CONTINUATION_LAM_START."""
    solve_at = lambda c, x0: newton(lambda u: residual(c, u), x0)  # noqa: E731
    root = solve_at(co, _start(co, max(co.lam, 1e-3)))
    total = root.iterations
    if root.converged:
        return root, total
    lam = max(CONTINUATION_LAM_START, co.lam)
    c = Coefficients.from_problem(problem.with_(lam=lam))
    root = solve_at(c, _start(c, lam))
    total += root.iterations
    factor = 10.0
    while root.converged and lam > co.lam:
        nxt = max(lam / factor, co.lam)
        if nxt < CONTINUATION_LAM_FLOOR:
            nxt = co.lam
        trial = solve_at(Coefficients.from_problem(problem.with_(lam=nxt)), root.x)
        total += trial.iterations
        if trial.converged:
            root, lam, factor = trial, nxt, min(factor * factor, 10.0)
        else:
            factor = math.sqrt(factor)
            if factor < CONTINUATION_MIN_FACTOR:
                return _extrapolated_continuation(problem, co, trial, total)
    return root, total


def _extrapolated_continuation(
    problem: Problem, co: Coefficients, failed: RootResult, total: int
) -> tuple[RootResult, int]:
    """Continuation in lam from EXTRAPOLATION_LAM_START down to a small lam, each start
    extrapolated linearly in log lam from the two previous solutions: as lam -> 0 at eps > 0
    gam ~ 1 / lam, s ~ lam and Q -> Q0 (nonlinear activation) or the lam = 0 values, power laws
    that the plain continuation, which starts each step at the previous solution, cannot follow
    (`failed`: its failure, returned when this one fails too)."""
    target = co.lam
    lam = EXTRAPOLATION_LAM_START
    if not target < lam:
        return failed, total
    solve_at = lambda c, x0: newton(lambda u: residual(c, u), x0)  # noqa: E731
    c = Coefficients.from_problem(problem.with_(lam=lam))
    root = solve_at(c, _start(c, lam))
    total += root.iterations
    if not root.converged:
        return failed, total
    path, used, reached = log_extrapolated_path(
        root,
        lam,
        target,
        lambda value, x0: solve_at(Coefficients.from_problem(problem.with_(lam=value)), x0),
        EXTRAPOLATION_FACTOR,
    )
    return (path if reached else failed), total + used


def _describe(problem: Problem) -> str:
    p = problem
    return (
        f"activation={p.activation.name}, psi1=inf, psi2={p.psi2:g}, eps={p.eps:g}, "
        f"eps_test={p.eps_test:g}, lam={p.lam:g}, signal={p.signal:g}, noise={p.noise:g}"
    )


def _build(
    problem: Problem,
    co: Coefficients,
    regime: str,
    *,
    Q: float,
    s: float,
    **values: Any,  # noqa: N803
) -> TheoryResult:
    """`TheoryResult.build` with what every psi1 = inf result shares: norm_a2 = 0 (its limit),
    grad_norm2 = s^2, eps_c = `wide_eps_c`. The wide regimes ("wide_null", "wide_min_norm",
    "wide_ridge", "wide_adversarial") are not members of `solve.Regime`, whose REGIMES lists the
    finite-width cases."""
    return TheoryResult.build(
        problem,
        regime=regime,  # type: ignore[arg-type]
        Q=Q,
        s=s,
        norm_a2=0.0,
        grad_norm2=s * s,
        eps_c=wide_eps_c(co),
        **values,
    )


def _null(problem: Problem, co: Coefficients) -> TheoryResult:
    """w = 0 (lam = 0 or eps >= eps_w, nonlinear activation): E_std = E_rob = Q0, s = 0. The
    nonlinear features, 0 on test inputs in the limit, fit the training data as a ridge of
    Moreau parameter gam = mu_star^2 / (2 lam psi2): training objective Q0 / (1 + 2 gam) (0 at
    lam = 0, where they interpolate)."""
    q0 = co.Q0
    train = q0 / (1.0 + co.mustar2 / (co.lam * co.psi2)) if co.lam > 0.0 else 0.0
    return _build(problem, co, "wide_null", Q=q0, s=0.0, train_objective=train, norm_w2=0.0,
                  beta_w=0.0)  # fmt: skip


def _min_norm(problem: Problem, co: Coefficients) -> TheoryResult:
    """eps = 0, lam -> 0+ at psi1 = inf: A / th1 -> k + psi1 delta, delta > 0 the root of
    (mu_star^2 / delta + mu1^2 / (delta + mu1^2)) / psi2 = 1, i.e. of
    psi2 delta^2 + (psi2 mu1^2 - mu_star^2 - mu1^2) delta - mu_star^2 mu1^2 = 0.
    With kappa = mu1^2 / (delta + mu1^2): Q = Q0 - F1^2 kappa (2 - kappa) + Q kappa^2 / psi2,
    s^2 = (F1^2 + Q / psi2) kappa^2."""
    m1, ms, psi2, f2 = co.mu1sq, co.mustar2, co.psi2, co.signal**2
    b = psi2 * m1 - ms - m1
    root = math.sqrt(b * b + 4.0 * psi2 * ms * m1)
    delta = 2.0 * ms * m1 / (b + root) if b > 0.0 else (root - b) / (2.0 * psi2)
    if not delta > 0.0:
        # linear activation, psi2 >= 1: least squares in x (no interpolation)
        return _newton_result(problem, co)
    kappa = m1 / (delta + m1)
    denom = 1.0 - kappa * kappa / psi2
    Q = (co.Q0 - f2 * kappa * (2.0 - kappa)) / denom  # noqa: N806
    s2 = (f2 + Q / psi2) * kappa * kappa
    return _build(problem, co, "wide_min_norm", Q=Q, s=math.sqrt(s2), train_objective=0.0,
                  norm_w2=s2 / m1, beta_w=f2 * kappa / co.mu1)  # fmt: skip


def _ridge(problem: Problem, co: Coefficients, iterations: int) -> TheoryResult | None:
    """eps = 0, lam > 0 at psi1 = inf in closed form, for the ridges Newton cannot reach (lam
    below ~1e-20: gam ~ mu_star^2 / (2 lam psi2) leaves the range of the loss terms).

    At eps = 0, th1 = 2 / (1 + 2 gam), b2 = th1^2 Q, th2 = 0. With r = 2 lam / th1 =
    lam (1 + 2 gam) and kappa = th1 mu1^2 / D = mu1^2 / (r + mu1^2), (W1) is
    psi2 (r - lam) = mu_star^2 + kappa r, i.e.
    psi2 r^2 + (psi2 mu1^2 - mu_star^2 - mu1^2 - psi2 lam) r - (mu_star^2 + psi2 lam) mu1^2 = 0
    (`_min_norm` at lam = 0), and (W2), (W3) give
    Q = (F1^2 (1 - kappa)^2 + tau^2) / (1 - kappa^2 / psi2), s^2 = (F1^2 + Q / psi2) kappa^2;
    lim psi1 lam ||a||^2 = lam [(F1^2 + Q / psi2) mu1^2 / (r + mu1^2)^2 + Q mu_star^2 / (psi2 r^2)].
    None when the root is not positive or Q not finite.
    """
    m1, ms, psi2, f2, lam = co.mu1sq, co.mustar2, co.psi2, co.signal**2, co.lam
    c = ms + psi2 * lam
    b = psi2 * m1 - ms - m1 - psi2 * lam
    root = math.sqrt(b * b + 4.0 * psi2 * c * m1)
    r = 2.0 * c * m1 / (b + root) if b > 0.0 else (root - b) / (2.0 * psi2)
    kappa = m1 / (r + m1)
    denom = 1.0 - kappa * kappa / psi2
    Q = (f2 * (r / (r + m1)) ** 2 + co.noise**2) / denom  # noqa: N806
    if not (r > 0.0 and denom > 0.0 and 0.0 <= Q < math.inf):  # 0: E_std ~ lam^2 underflows
        return None
    s2 = (f2 + Q / psi2) * kappa * kappa
    shrink = lam / r  # 1 / (1 + 2 gam)
    ridge = lam * ((f2 + Q / psi2) * m1 / (r + m1) ** 2 + (Q * ms / (psi2 * r * r) if ms else 0.0))
    return _build(problem, co, "wide_ridge", Q=Q, s=math.sqrt(s2),
                  train_objective=Q * shrink * shrink + ridge, norm_w2=s2 / m1,
                  beta_w=f2 * kappa / co.mu1, iterations=iterations,
                  gam=0.5 * (r / lam - 1.0))  # fmt: skip


def _newton_result(problem: Problem, co: Coefficients) -> TheoryResult:
    root, iterations = _solve_equations(problem, co)
    if not root.converged and co.eps == 0.0 and co.lam > 0.0:
        closed = _ridge(problem, co, iterations)
        if closed is not None:
            return closed
    if not root.converged:
        raise TheoryError(
            f"wide-limit theory did not converge for {_describe(problem)}: {root.message} "
            f"(final residual {root.residual:.3g} after {iterations} iterations)"
            f"{_far_scales(problem)}"
        )
    ev: WideEvaluation = root.last
    bound = _error_bound(ev, problem.eps_test)
    if not bound < ERROR_BOUND_MAX:
        raise TheoryError(
            f"wide-limit equations ill-conditioned for {_describe(problem)} "
            f"(relative error bound {bound:.2g})"
        )
    lt = ev.loss
    v = (ev.Q, ev.s, ev.gam, lt.b2, lt.th1, lt.th2)
    positive, negative, size = saddle_inertia(co, v)
    if positive != size // 2 or negative != size // 2:
        raise TheoryError(
            f"wide-limit stationary point is not a saddle (inertia {(positive, negative)}) "
            f"for {_describe(problem)}"
        )
    m1, f2, D = co.mu1sq, co.signal**2, ev.D  # noqa: N806
    weight = lt.th1 * lt.th1 * f2 + lt.b2 / co.psi2
    # lim psi1 lam ||a||^2
    #   = lam [th1^2 F1^2 mu1^2 / D^2 + (b2 / psi2)(mu_star^2 / (4 lam^2) + mu1^2 / D^2)]
    ridge = co.lam * weight * m1 / (D * D)
    if co.mustar2 > 0.0:
        ridge += lt.b2 / co.psi2 * co.mustar2 / (4.0 * co.lam)
    return _build(
        problem,
        co,
        "wide_adversarial" if co.eps > 0.0 else "wide_ridge",
        Q=ev.Q,
        s=ev.s,
        train_objective=training_loss(ev.gam, ev.Q, ev.s, co.eps) + ridge,
        norm_w2=weight * m1 / (D * D),
        beta_w=lt.th1 * co.mu1 * f2 / D,
        iterations=iterations,
        residual=root.residual,
        gam=ev.gam,
        inertia=(positive, negative),
    )


def _exact_recovery(problem: Problem, co: Coefficients) -> TheoryResult | None:
    """Noiseless linear activation, psi2 > 1, psi1 = inf: the phase w = beta / mu1 (E_std = 0).

    The finite-psi1 condition (`advrf.theory.solve._exact_recovery`, docs/theory.md section 8)
    has psi1 J -> (2 lam / mu1^2 + 2 eps^2)^2 (the bulk at l = psi1, mass 1/psi1), so with
    z* = sqrt(2) erfinv(1/psi2) the phase is

        1 - psi2 (E[Z^2; |Z| <= z*] + z*^2 P(|Z| > z*)) - psi2^2 z*^2 (2 lam/mu1^2 + 2 eps^2)^2
            / (4 eps^2) >= 0,

    and eps = lam = 0 (least squares) recovers beta. Outside: None. There s = F1 and the
    training objective is eps^2 F1^2 + lim psi1 lam ||a||^2 = eps^2 F1^2 + lam F1^2 / mu1^2.
    """
    f2, m1 = co.signal**2, co.mu1sq
    if co.eps == 0.0:
        if co.lam > 0.0:
            return None
    else:
        z = SQRT_2 * float(special.erfinv(1.0 / co.psi2))
        p_out = float(special.erfc(z / SQRT_2))
        g2in = float(special.gammainc(1.5, 0.5 * z * z))
        j = (2.0 * co.lam / m1 + 2.0 * co.eps**2) ** 2
        phase = 1.0 - co.psi2 * (g2in + z * z * p_out) - co.psi2**2 * z * z * j / (4 * co.eps**2)
        if phase < 0.0:
            return None
    return _build(problem, co, "exact_recovery", Q=0.0, s=co.signal,
                  train_objective=(co.eps * co.signal) ** 2 + co.lam * f2 / m1, norm_w2=f2 / m1,
                  beta_w=f2 / co.mu1)  # fmt: skip


def solve_wide(problem: Problem) -> TheoryResult:
    """The asymptotic errors at psi1 = inf (module docstring; docs/theory.md, section 13).

    norm_a2 is its limit 0 (||a||^2 = O(1/psi1)); train_objective includes lim psi1 lam ||a||^2.
    Regimes: "wide_null" (nonlinear activation with lam = 0 < eps or eps >= eps_w: the errors
    are Q0; `linear_threshold`), "wide_min_norm" (eps = lam = 0), "wide_ridge" /
    "wide_adversarial" (Newton on the three equations), "trivial" (linear activation,
    eps >= eps_c), "exact_recovery" (noiseless linear activation, psi2 > 1, `_exact_recovery`).
    Not solved (TheoryError): an activation with mu1 = 0.
    """
    co = _check(problem)
    if co.mu1sq == 0.0:
        raise TheoryError(f"an activation with mu1 = 0 is not solved at psi1 = inf: "
                          f"{_describe(problem)}")  # fmt: skip
    if co.linear and co.noise == 0.0 and co.psi2 > 1.0:
        recovery = _exact_recovery(problem, co)
        if recovery is not None:
            return recovery
    if co.eps > 0.0 and co.eps >= linear_threshold(co):
        if co.linear:  # a = 0
            return _build(problem, co, "trivial", Q=co.Q0, s=0.0, train_objective=co.Q0,
                          norm_w2=0.0, beta_w=0.0)  # fmt: skip
        return _null(problem, co)
    if co.lam == 0.0 and co.eps > 0.0 and co.mustar2 > 0.0:
        return _null(problem, co)
    if co.lam == 0.0 and co.eps == 0.0:
        return _min_norm(problem, co)
    return _newton_result(problem, co)


def wide_rate(problem: Problem) -> WideRate:
    """Leading terms of the approach to psi1 = inf at lam = 0, eps > 0 (nonlinear activation;
    docs/theory.md, section 13): with g = mu_star^2 / (2 eps^2 nu^2 psi2) the limit of gam / psi1,

        std_1 = psi2 (Q0 - 2 F1^2 nu^2 / mu_star^2),    s_half = sqrt(Q0 psi2 nu^2 / mu_star^2),
        rob_half = 2 sqrt(2/pi) eps_test sqrt(Q0) s_half,   rob_1 = std_1 + eps_test^2 s_half^2.

    Independent of the training eps (the solution is the minimum-||a||_M interpolator)."""
    co = Coefficients.from_problem(problem.with_(psi1=1.0))
    if not (co.lam == 0.0 and co.eps > 0.0 and co.mustar2 > 0.0 and co.nu2 > 0.0):
        raise ValueError("wide_rate needs lam = 0, eps > 0 and a nonlinear activation")
    std_1 = co.psi2 * (co.Q0 - 2.0 * co.signal**2 * co.nu2 / co.mustar2)
    s_half = math.sqrt(co.Q0 * co.psi2 * co.nu2 / co.mustar2)
    t = problem.eps_test
    return WideRate(
        std_1=std_1,
        s_half=s_half,
        rob_half=2.0 * SQRT_2_OVER_PI * t * math.sqrt(co.Q0) * s_half,
        rob_1=std_1 + (t * s_half) ** 2,
    )
