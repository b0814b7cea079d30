"""The concentrated training program (variant b; docs/simulation.md) and its closed-form phases.

    min_a  (1/n) sum_i ( |y_i - phi_i^T a| + eps omega_i sqrt(a^T M a) )^2  +  c ||a||^2

(omega = 1 for the concentrated variant; per-sample scales for the exact variant's inner programs).
Closed-form phases are tested first:
- eps = 0: ridge a = (Phi^T Phi / n + c I)^{-1} Phi^T y / n; with lam = 0 the minimum-Euclidean-norm
  least-squares solution pinv(Phi) y (the limit lam -> 0+; the minimiser is not unique).
- trivial: a = 0 is optimal iff eps >= eps_c = ||M^{-1/2} Phi^T y|| / sum_i omega_i |y_i|.
- interpolating (lam = 0, N >= n): with z = (Phi M^{-1} Phi^T)^{-1} y, the minimum-M-norm
  interpolator a = M^{-1} Phi^T z is optimal iff n eps mean(omega^2) ||z / omega||_inf
  <= sqrt(y^T z).
Otherwise the optimality conditions, an elastic net in residual space with two scalars,

    (kappa M + c I) a = Phi^T u,   y - Phi a = soft(n u, delta omega),
    delta = eps sqrt(a^T M a),     kappa = eps^2 (mean(omega^2) + omega^T |y - Phi a| / (n delta)),

are solved by semismooth Newton in (u, log kappa, log delta) with a backtracking line search
(each step: one n x n Cholesky when N >= n, one N x N Cholesky plus a Schur complement on the
samples with zero residual when N < n, and a 2 x 2 correction). Convergence is certified by the
relative duality gap of the second-order-cone form (`certificate.concentrated_gap`), never by the
Newton residual. If Newton from the cold start stalls, a continuation in eps takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg

from advrf.settings import SolverSettings
from advrf.simulation._linalg import DenseM, NewtonSystem, SpectralM, m_operator
from advrf.simulation.certificate import certify, concentrated_gap
from advrf.simulation.result import NewtonState, TrainingResult


def as_operator(m) -> SpectralM | DenseM:
    """M as a `SpectralM` or `DenseM` (a plain array becomes a `DenseM`)."""
    if isinstance(m, SpectralM | DenseM):
        return m
    return DenseM(np.asarray(m, dtype=float))


def critical_eps(
    phi, y: np.ndarray | None = None, m=None, omega: np.ndarray | None = None
) -> float:
    """eps_c = ||M^{-1/2} Phi^T y|| / sum_i omega_i |y_i| (conventions 3.5; omega = 1 by default).

    a = 0 is the concentrated optimum iff eps >= eps_c, for every lam. `phi` may be an
    `Instance` (then y and M come from it) or the feature matrix with y and M (array,
    `SpectralM` or `DenseM`).
    """
    if y is None:
        instance = phi
        phi, y = instance.phi, instance.y
        mom = instance.problem.moments
        m = m_operator(instance.theta, mom.mu1, mom.nu2, instance.n)
    mop = as_operator(m)
    omega = np.ones_like(y) if omega is None else omega
    b = phi.T @ y
    denom = float(np.abs(y) @ omega)
    if denom == 0.0:
        return 0.0
    # a singular M (the linear activation with N > d): M^+, exact when Phi^T y is in its range
    minv_b = mop.pinv(b) if mop.is_singular(0.0) else mop.kinv(1.0, 0.0, b)
    return float(np.sqrt(max(b @ minv_b, 0.0)) / denom)


def _soft(t: np.ndarray, thr: np.ndarray | float) -> np.ndarray:
    return np.sign(t) * np.maximum(np.abs(t) - thr, 0.0)


def _ridge(phi: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, str]:
    """eps = 0, c > 0: ridge."""
    n, big_n = phi.shape
    if big_n >= n:
        g = phi @ phi.T
        g[np.diag_indices_from(g)] += n * c
        return phi.T @ linalg.solve(g, y, assume_a="pos"), "ridge"
    g = phi.T @ phi
    g[np.diag_indices_from(g)] += n * c
    return linalg.solve(g, phi.T @ y, assume_a="pos"), "ridge"


# Relative singular-value cutoffs of the minimum-norm least-squares solve, tried in turn: LAPACK's
# default (machine epsilon times the larger dimension) first; a numerically rank-deficient Phi
# (the linear activation with N > d) can keep rounding-level singular values above it, whose
# inverses spoil the residual, so larger cutoffs follow.
LSTSQ_CUTOFFS = (None, 1e-12, 1e-10)


def _min_norm(phi: np.ndarray, y: np.ndarray, tol: float) -> TrainingResult:
    """eps = 0, c = 0: the minimum-norm least-squares solution pinv(Phi) y, certified by the
    normal-equation residual ||Phi^T r|| / (||Phi|| ||y||) <= tol."""
    n = len(y)
    scale = max(float(np.linalg.norm(phi) * np.linalg.norm(y)), 1e-300)
    best = None
    for cutoff in LSTSQ_CUTOFFS:
        a = linalg.lstsq(phi, y, cond=cutoff, lapack_driver="gelsd")[0]
        r = y - phi @ a
        resid = float(np.linalg.norm(phi.T @ r)) / scale
        if best is None or resid < best[2]:
            best = (a, r, resid)
        if resid <= tol:
            break
    a, r, resid = best
    ok = resid <= tol
    return TrainingResult(
        a=a, objective=float(np.mean(r**2)), iterations=0, converged=ok, residual=resid,
        phase="min_norm", variant="concentrated", multiplier=r / n,
        message=f"min_norm: least squares, normal-equation residual {resid:.3g} "
        + ("<= " if ok else "above the tolerance ") + f"{tol:g}",
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class Program:
    """One concentrated-type program: data, M, ridge c, per-sample scales omega, the Newton
    linear system, and (c = 0, N >= n) the minimum-M-norm interpolator's (z, sqrt(y^T z))."""

    phi: np.ndarray
    y: np.ndarray
    mop: SpectralM | DenseM
    c: float
    omega: np.ndarray
    system: NewtonSystem
    interpolator: tuple[np.ndarray, float] | None
    solver: SolverSettings


@dataclass(frozen=True, eq=False)
class _Evaluation:
    """The residual F of the optimality conditions at a Newton state, and what the step needs."""

    a: np.ndarray
    active: np.ndarray
    f1: np.ndarray
    f2: float
    f3: float
    ma: np.ndarray
    s2: float
    big_l: float
    kappa: float
    delta: float
    merit: float
    sign: np.ndarray
    r: np.ndarray
    phit_u: np.ndarray


def solve_concentrated(
    phi: np.ndarray,
    y: np.ndarray,
    m,
    *,
    eps: float,
    c: float,
    omega: np.ndarray | None = None,
    start: NewtonState | None = None,
    solver: SolverSettings | None = None,
) -> TrainingResult:
    """Solve min_a (1/n) sum_i (|y_i - phi_i^T a| + eps omega_i sqrt(a^T M a))^2 + c ||a||^2.

    omega (default 1) scales the gradient norm per sample (the exact variant's inner program);
    start: a warm `NewtonState`. Returns a `TrainingResult` (converged=False when the gap
    tolerance solver.gap_tol was not reached).
    """
    solver = SolverSettings() if solver is None else solver
    return _solve(phi, y, m, eps, c, omega, start, solver, solver.gap_tol, 0)


def _solve(phi, y, m, eps, c, omega, start, solver, tol, min_steps) -> TrainingResult:
    """solve_concentrated to tolerance tol; min_steps: Newton steps taken from `start` before its
    gap may certify it (refinement of a warm start)."""
    mop = as_operator(m)
    n, big_n = phi.shape
    omega = np.ones(n) if omega is None else np.asarray(omega, dtype=float)
    variant = "concentrated"
    if eps == 0.0:
        if c == 0.0:
            return _min_norm(phi, y, tol)
        a, phase = _ridge(phi, y, c)
        u = (y - phi @ a) / n
        obj, gap = concentrated_gap(phi, y, mop, c, 0.0, omega, a, u)
        ok, message = certify(gap, tol, solver, phase)
        return TrainingResult(
            a=a, objective=obj, iterations=0, converged=ok, residual=gap, phase=phase,
            variant=variant, multiplier=u, message=message,
        )  # fmt: skip
    if mop.is_singular(c):
        raise ValueError(
            "lam = 0 with a singular M (nu^2 = 0 up to rounding and N > d, e.g. the linear "
            "activation) has no unique minimum-M-norm solution; use lam > 0"
        )
    if eps >= critical_eps(phi, y, mop, omega):
        a = np.zeros(big_n)
        obj, gap = concentrated_gap(phi, y, mop, c, eps, omega, a, y / n)
        ok, message = certify(gap, tol, solver, "trivial")
        return TrainingResult(
            a=a, objective=obj, iterations=0, converged=ok, residual=gap, phase="trivial",
            variant=variant, kappa=np.inf, delta=0.0, multiplier=y / n, message=message,
        )  # fmt: skip
    system = NewtonSystem(phi, mop, c)
    w2 = float(np.mean(omega**2))
    interpolator = None
    if c == 0.0 and big_n >= n:
        z = linalg.cho_solve(linalg.cho_factor(system.gram(1.0), lower=True, overwrite_a=True), y)
        a = mop.kinv(1.0, 0.0, phi.T @ z)
        s = float(np.sqrt(max(y @ z, 0.0)))
        interpolator = (z, s)
        worst = np.max(np.divide(np.abs(z), omega, out=np.full(n, np.inf), where=omega > 0))
        if start is None and n * eps * w2 * worst <= s:
            u = eps**2 * w2 * z
            obj, gap = concentrated_gap(phi, y, mop, c, eps, omega, a, u)
            ok, message = certify(gap, tol, solver, "interpolating")
            return TrainingResult(
                a=a, objective=obj, iterations=0, converged=ok, residual=gap,
                phase="interpolating", variant=variant, kappa=eps**2 * w2, delta=eps * s,
                multiplier=u, message=message,
            )  # fmt: skip
    program = Program(phi, y, mop, c, omega, system, interpolator, solver)
    if start is None:
        start = _initial_state(program, eps)
    result, _ = _newton(program, eps, start, tol, min_steps)
    if result.converged:
        return result
    return _continuation(program, eps, tol, result)


def _continuation(program: Program, eps: float, tol: float, cold: TrainingResult) -> TrainingResult:
    """Fallback: follow the solution path eps' = t eps, t -> 1, warm-starting each Newton solve.

    Used when Newton from the cold start stalls (`cold`: its result; its merit can have a valley
    at kappa -> inf, delta -> 0 leading towards the trivial phase). The step in t doubles after a
    success and halves after a failure.
    """
    solver = program.solver
    t, state, iterations, result = solver.continuation_start, None, cold.iterations, cold
    while state is None and t >= solver.continuation_min_step:
        result, final = _newton(program, t * eps, _initial_state(program, t * eps), tol)
        iterations += result.iterations
        if result.converged:
            state = final
        else:
            t *= 0.5
    h = t
    while state is not None and h >= solver.continuation_min_step:
        t_next = min(1.0, t + h)
        result, final = _newton(program, t_next * eps, state, tol)
        iterations += result.iterations
        if result.converged:
            t, state, h = t_next, final, 2.0 * h
            if t == 1.0:
                return replace(
                    result, iterations=iterations, message=result.message + " (continuation)"
                )
        else:
            h *= 0.5
    return replace(
        result,
        iterations=iterations,
        converged=False,
        message=f"{result.message}; Newton and its continuation in eps stopped at "
        f"{t:.3g} eps without a certificate",
    )


def _initial_state(program: Program, eps: float) -> NewtonState:
    """Cold start: a from min (1/n)||y - Phi a||^2 + eps^2 mean(omega^2) a^T M a + c||a||^2 (or
    the minimum-M-norm interpolator when c = 0 and N >= n), then multipliers consistent with it:
    delta = eps s, u = (r + delta omega sign r) / n, kappa = eps^2 (omega^T |r| / (n delta) + W2).
    """
    phi, y, mop, c, omega, system = (
        program.phi, program.y, program.mop, program.c, program.omega, program.system,
    )  # fmt: skip
    n = len(y)
    w2 = float(np.mean(omega**2))
    if program.interpolator is not None:
        z, s = program.interpolator
        kappa = eps**2 * w2
        u = kappa * z  # the interpolator's multiplier (box condition violated somewhere)
        return NewtonState(u, float(np.log(kappa)), float(np.log(eps * s)))
    if system.sample_space:
        solve, _ = system.factor(eps**2 * w2, np.ones(n, dtype=bool))
        a = mop.kinv(eps**2 * w2, c, phi.T @ solve(y))
    else:
        a = system.ridge_weights(eps**2 * w2, y)
    r = y - phi @ a
    s = float(np.sqrt(max(a @ mop.apply(a), np.finfo(float).tiny)))
    delta = eps * s
    kappa = eps**2 * (omega @ np.abs(r) / (n * delta) + w2)
    u = (r + delta * omega * np.sign(r)) / n
    return NewtonState(u, float(np.log(kappa)), float(np.log(delta)))


def _evaluate(program: Program, eps: float, state: NewtonState, y_scale: float) -> _Evaluation:
    """F(u, log kappa, log delta) of the module docstring and the merit ||F||^2 (scaled)."""
    phi, y, mop, c, omega = program.phi, program.y, program.mop, program.c, program.omega
    n = len(y)
    w2 = float(np.mean(omega**2))
    log_eps = float(np.log(eps))
    kappa, delta = np.exp(state.log_kappa), np.exp(state.log_delta)
    phit_u = phi.T @ state.u
    a = mop.kinv(kappa, c, phit_u)
    t = n * state.u
    thr = delta * omega
    active = np.abs(t) > thr
    rhat = _soft(t, thr)
    r = y - phi @ a
    f1 = r - rhat
    ma = mop.apply(a)
    s2 = float(a @ ma)
    big_l = float(omega @ np.abs(rhat)) / n
    with np.errstate(divide="ignore"):
        f2 = state.log_delta - log_eps - 0.5 * np.log(s2) if s2 > 0 else np.inf
        f3 = state.log_kappa - 2 * log_eps - np.log(big_l + delta * w2) + state.log_delta
    merit = float(f1 @ f1) / y_scale + f2**2 + f3**2
    return _Evaluation(
        a=a, active=active, f1=f1, f2=f2, f3=f3, ma=ma, s2=s2, big_l=big_l, kappa=kappa,
        delta=delta, merit=merit, sign=np.sign(t), r=r, phit_u=phit_u,
    )  # fmt: skip


def _newton(
    program: Program, eps: float, state: NewtonState, tol: float, min_steps: int = 0
) -> tuple[TrainingResult, NewtonState]:
    """Semismooth Newton on F(u, log kappa, log delta) = 0 (module docstring), gap-certified.

    The gap certifies a point only after min_steps steps, or when no further step is possible
    (line search or linear solve failing at the floating-point floor of the merit). Stops early
    (not converged unless the last gap certifies) when the merit ||F||^2 fails to drop by
    stall_factor over stall_steps consecutive steps.
    """
    phi, y, mop, c, omega = program.phi, program.y, program.mop, program.c, program.omega
    solver = program.solver
    n = len(y)
    w2 = float(np.mean(omega**2))
    y_scale = float(y @ y) or 1.0

    def result(ev: _Evaluation, it: int, obj: float, gap: float, why: str = ""):
        ok, message = certify(gap, tol, solver, "nontrivial")
        return TrainingResult(
            a=ev.a, objective=obj, iterations=it, converged=ok, residual=gap,
            phase="nontrivial", variant="concentrated", kappa=ev.kappa, delta=ev.delta,
            multiplier=state.u, message=message + why,
        )  # fmt: skip

    ev = _evaluate(program, eps, state, y_scale)
    obj, gap = np.inf, np.inf
    history = [ev.merit]
    why = f" after {solver.max_newton_steps} Newton steps (max_newton_steps)"
    for it in range(solver.max_newton_steps + 1):
        if np.isfinite(ev.merit):
            # with c = 0, a = M^{-1} Phi^T u / kappa: M^{-1} Phi^T u = kappa a
            minv = ev.kappa * ev.a if c == 0.0 else None
            known = (ev.r, ev.ma, ev.phit_u, minv)
            obj, gap = concentrated_gap(phi, y, mop, c, eps, omega, ev.a, state.u, known)
            if it >= min_steps and certify(gap, tol, solver, "nontrivial")[0]:
                return result(ev, it, obj, gap), state
        if it == solver.max_newton_steps:
            break
        if (
            len(history) > solver.stall_steps
            and history[-1] > solver.stall_factor * history[-1 - solver.stall_steps]
        ):
            why = f"; Newton stalled after {it} steps"
            break
        step = _newton_step(program, ev, n, w2)
        if step is None:
            why = f"; no Newton step after {it} steps (singular linearisation)"
            break
        du, dlk, dld = step
        t = min(1.0, solver.max_log_step / max(abs(dlk), abs(dld), 1e-300))
        for _ in range(solver.max_backtracks):
            trial = NewtonState(
                state.u + t * du, state.log_kappa + t * dlk, state.log_delta + t * dld
            )
            ev_trial = _evaluate(program, eps, trial, y_scale)
            if ev_trial.merit <= (1.0 - 2.0 * solver.armijo * t) * ev.merit:
                break
            t *= 0.5
        else:
            why = f"; line search failed after {it} steps"
            break
        state, ev = trial, ev_trial
        history.append(ev.merit)
    return result(ev, it, obj, gap, why), state


def _newton_step(program: Program, ev: _Evaluation, n: int, w2: float):
    """Solve the linearised system J (du, dlk, dld) = -F by one factorisation + 2 x 2 Schur."""
    phi, mop, c, omega = program.phi, program.mop, program.c, program.omega
    kappa, delta, s2, big_l = ev.kappa, ev.delta, ev.s2, ev.big_l
    active = ev.active
    if not s2 > 0.0:
        return None
    kma = mop.kinv(kappa, c, ev.ma)
    v = phi @ kma
    q = float(ev.ma @ kma)
    sw = omega * ev.sign * active
    denom = big_l + delta * w2
    e33 = 1.0 - delta * (w2 - float(omega[active] @ omega[active]) / n) / denom
    solve, _ = program.system.factor(kappa, active)
    x = solve(np.column_stack([ev.f1, v, sw]))
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    jac = np.array(
        [
            [kappa * (q - v @ x1) / s2, 1.0 - delta * (v @ x2) / s2],
            [1.0 - kappa * (sw @ x1) / denom, e33 - delta * (sw @ x2) / denom],
        ]
    )
    rhs = np.array([-ev.f2 + (v @ x0) / s2, -ev.f3 + (sw @ x0) / denom])
    try:
        dlk, dld = np.linalg.solve(jac, rhs)
    except np.linalg.LinAlgError:
        return None
    if not (np.isfinite(dlk) and np.isfinite(dld)):
        return None
    du = x0 + kappa * dlk * x1 + delta * dld * x2
    return du, float(dlk), float(dld)
