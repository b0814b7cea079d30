"""Exact adversarial training of random-features regression (conventions 2), first-order inner max.

With the inner maximum in closed form (conventions 3.1), training solves the convex program

    min_a  (1/n) sum_i ( |y_i - phi_i^T a| + eps * s_i(a) )^2  +  c ||a||^2,    c = psi1 * lam,

in two variants:
- "concentrated" (b): s_i(a) = sqrt(a^T M a), M = mu1^2 Theta Theta^T / d + nu^2 I;
- "exact" (a): s_i(a) = ||grad_x f_a(x_i)||
  = ||Theta^T diag(sigma'(Theta x_i / sqrt d)) a|| / sqrt d.

Concentrated solver (docs/simulation.md, Training). Closed-form phases are tested first:
- eps = 0: ridge a = (Phi^T Phi / n + c I)^{-1} Phi^T y / n; with lam = 0 the minimum-Euclidean-norm
  least-squares solution pinv(Phi) y (the limit lam -> 0+; the minimiser is not unique).
- trivial: a = 0 is optimal iff eps >= eps_c = ||M^{-1/2} Phi^T y|| / sum_i |y_i| (any lam).
- interpolating (lam = 0, N >= n): with z = (Phi M^{-1} Phi^T)^{-1} y, the minimum-M-norm
  interpolator a = M^{-1} Phi^T z is optimal iff n eps ||z||_inf <= sqrt(y^T z).
Otherwise the optimality conditions, an elastic net in residual space with two scalars,

    (kappa M + c I) a = Phi^T u,   y - Phi a = soft(n u, delta),
    delta = eps sqrt(a^T M a),     kappa = eps^2 (1 + ||y - Phi a||_1 / (n delta)),

are solved by semismooth Newton in (u, log kappa, log delta) with a backtracking line search
(each step: one n x n Cholesky when N >= n, one N x N Cholesky plus a Schur complement on the
samples with zero residual when N < n, and a 2 x 2 correction). Convergence is certified by the
relative duality gap of the second-order-cone form (see `_duality_gap`), never by the Newton
residual. If Newton from the cold start stalls, a continuation in eps takes over (`_continuation`).

The exact variant is solved by an outer fixed point on per-sample shapes (see `solve_exact`), each
step a concentrated-type program, and certified by the duality gap of its own cone form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import linalg

from advrf.simulation._linalg import DenseM, NewtonSystem, SpectralM, m_operator

GAP_TOL = 1e-10  # relative duality gap that certifies an optimum
MAX_NEWTON_STEPS = 80
MAX_BACKTRACKS = 50
MAX_LOG_STEP = 5.0  # largest Newton step in log kappa and log delta
ARMIJO = 1e-4
STALL_STEPS = 6  # Newton gives up when the merit fell by less than STALL_FACTOR over these steps
STALL_FACTOR = 0.5
CONTINUATION_START = 1.0 / 16.0  # first fraction of eps on the fallback path
CONTINUATION_MIN_STEP = 1e-6
MAX_OUTER = 50  # reweightings of the exact variant
ANDERSON_MEMORY = 5  # past iterates used by the Anderson extrapolation of the exact variant
INNER_TOL = 0.1  # inner programs of the exact variant are solved to INNER_TOL * its tolerance
# Newton steps every warm-started inner program of the exact variant takes before its gap may
# certify it. The warm multiplier u solves the previous shapes' program; accepted unchanged (its
# inner gap already below INNER_TOL * tol), u froze, the outer iteration converged to a point with
# u off by 3e-8 .. 8e-7 relative, and the outer gap, first order in the error of u and 70-100
# times more sensitive to it than the inner gap, stalled at 1e-10 .. 3e-7 (lam = 0, near eps_c or
# N < n; the objective was already optimal to 1e-11). One Newton step refines u to rounding.
INNER_MIN_STEPS = 1
VARIANTS = ("exact", "concentrated")


class TrainingError(ValueError):
    """Training did not reach its certified tolerance."""


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """A trained a with its certificate.

    objective: value of the trained program at a; residual: certified relative duality gap
    (normal-equation residual for the eps = 0, lam = 0 minimum-norm solution); phase: "trivial",
    "interpolating", "ridge", "min_norm" or "nontrivial"; iterations: Newton steps (for the exact
    variant: total inner Newton steps; `outer_iterations` counts the reweightings).
    """

    a: np.ndarray
    objective: float
    iterations: int
    converged: bool
    residual: float
    phase: str
    variant: str
    outer_iterations: int = 0
    kappa: float = float("nan")
    delta: float = float("nan")
    multiplier: np.ndarray | None = None


def check_variant(variant: object) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    return str(variant)


def _soft(t: np.ndarray, thr: np.ndarray | float) -> np.ndarray:
    return np.sign(t) * np.maximum(np.abs(t) - thr, 0.0)


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
    mop = _as_operator(m)
    omega = np.ones_like(y) if omega is None else omega
    b = phi.T @ y
    denom = float(np.abs(y) @ omega)
    if denom == 0.0:
        return 0.0
    return float(np.sqrt(max(b @ mop.kinv(1.0, 0.0, b), 0.0)) / denom)


def _as_operator(m) -> SpectralM | DenseM:
    if isinstance(m, SpectralM | DenseM):
        return m
    return DenseM(np.asarray(m, dtype=float))


def _waterfill(xi_abs: np.ndarray, omega: np.ndarray, total: float) -> np.ndarray:
    """argmin ||w||^2 subject to w >= |xi| and omega^T w >= total: w = max(|xi|, lam * omega)."""
    if omega @ xi_abs >= total:
        return xi_abs
    ratio = np.divide(xi_abs, omega, out=np.full_like(xi_abs, np.inf), where=omega > 0)
    order = np.argsort(ratio)
    r_sorted, om_sorted = ratio[order], omega[order]
    # for lam in [r_k, r_{k+1}]: sum = sum_{j<=k} omega_j^2 lam + sum_{j>k} omega_j |xi_j|
    om2_cum = np.maximum(np.cumsum(om_sorted**2), np.finfo(float).tiny)
    tail = np.concatenate([np.cumsum((om_sorted * xi_abs[order])[::-1])[::-1][1:], [0.0]])
    lam_k = (total - tail) / om2_cum
    valid = np.nonzero((lam_k >= r_sorted) & (np.append(r_sorted[1:], np.inf) >= lam_k))[0]
    k = int(valid[0]) if valid.size else len(lam_k) - 1
    return np.maximum(xi_abs, lam_k[k] * omega)


def _duality_gap(phi, y, mop, c, eps, omega, a, u, known=None) -> tuple[float, float]:
    """Primal value at a and relative duality gap (P - D) / P from the multiplier u.

    Cone form: min (1/n) ||t||^2 + c ||a||^2
    s.t. t_i >= |y_i - phi_i^T a| + eps omega_i ||M^{1/2} a||.
    Its Lagrange dual: max over w >= |xi| (entrywise), ||eta|| <= eps omega^T w of

        xi^T y - (n/4) ||w||^2 - ||Phi^T xi - M^{1/2} eta||^2 / (4c)

    (for c = 0 the constraint Phi^T xi = M^{1/2} eta). The candidate is xi = 2u, then either
    (i) w = max(|xi|, 2 delta omega / n), M^{1/2} eta = eps (omega^T w) M a / s, or (ii) eta =
    M^{-1/2} Phi^T xi with w water-filled to feasibility (the only choice when c = 0); each is
    rescaled optimally (the dual is tA - t^2 B along a ray) and the larger value is kept.
    known: optional (y - Phi a, M a, Phi^T u, M^{-1} Phi^T u or None) already computed by the
    caller.
    """
    n = len(y)
    if known is None:
        r, ma, phit_u, minv_phit_u = y - phi @ a, mop.apply(a), phi.T @ u, None
    else:
        r, ma, phit_u, minv_phit_u = known
    s = float(np.sqrt(max(a @ ma, 0.0)))
    primal = float(np.mean((np.abs(r) + eps * omega * s) ** 2) + c * (a @ a))
    xi = 2.0 * u
    big_a = float(xi @ y)
    best = 0.0
    phit_xi = 2.0 * phit_u
    if c > 0.0:
        w = np.maximum(np.abs(xi), 2.0 * eps * s * omega / n)
        g = phit_xi - (eps * (omega @ w) / s) * ma if s > 0.0 else phit_xi
        big_b = 0.25 * n * (w @ w) + (g @ g) / (4.0 * c)
        best = max(best, big_a**2 / (4.0 * big_b) if big_a > 0.0 else 0.0)
    if eps > 0.0 and not mop.is_singular(0.0):
        minv_phit_xi = mop.kinv(1.0, 0.0, phit_xi) if minv_phit_u is None else 2.0 * minv_phit_u
        rho = float(np.sqrt(max(phit_xi @ minv_phit_xi, 0.0)))
        w = _waterfill(np.abs(xi), omega, rho / eps)
        big_b = 0.25 * n * (w @ w)
        best = max(best, big_a**2 / (4.0 * big_b) if big_a > 0.0 and big_b > 0.0 else 0.0)
    if primal <= 0.0:
        return primal, 0.0
    return primal, (primal - best) / primal


def _ridge(phi: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, str]:
    """eps = 0: ridge, or the minimum-norm least-squares solution when c = 0."""
    n, big_n = phi.shape
    if c > 0.0:
        if big_n >= n:
            g = phi @ phi.T
            g[np.diag_indices_from(g)] += n * c
            return phi.T @ linalg.solve(g, y, assume_a="pos"), "ridge"
        g = phi.T @ phi
        g[np.diag_indices_from(g)] += n * c
        return linalg.solve(g, phi.T @ y, assume_a="pos"), "ridge"
    return linalg.lstsq(phi, y, cond=None, lapack_driver="gelsd")[0], "min_norm"


@dataclass
class _State:
    u: np.ndarray
    lk: float
    ld: float


def solve_concentrated(
    phi: np.ndarray,
    y: np.ndarray,
    m,
    *,
    eps: float,
    c: float,
    omega: np.ndarray | None = None,
    start: _State | None = None,
    tol: float = GAP_TOL,
    min_steps: int = 0,
) -> TrainingResult:
    """Solve min_a (1/n) sum_i (|y_i - phi_i^T a| + eps omega_i sqrt(a^T M a))^2 + c ||a||^2.

    omega (default 1) scales the gradient norm per sample (the exact variant's inner program).
    min_steps: Newton steps taken from `start` before its gap may certify it (refinement of a warm
    start). Returns a `TrainingResult` (converged=False when the gap tolerance was not reached).
    """
    mop = _as_operator(m)
    n, big_n = phi.shape
    omega = np.ones(n) if omega is None else np.asarray(omega, dtype=float)
    variant = "concentrated"
    if eps == 0.0:
        a, phase = _ridge(phi, y, c)
        if phase == "min_norm":
            r = y - phi @ a
            resid = float(
                np.linalg.norm(phi.T @ r) / max(np.linalg.norm(phi) * np.linalg.norm(y), 1e-300)
            )
            return TrainingResult(
                a, float(np.mean(r**2)), 0, True, resid, phase, variant, multiplier=r / n
            )
        u = (y - phi @ a) / n
        obj, gap = _duality_gap(phi, y, mop, c, 0.0, omega, a, u)
        return TrainingResult(a, obj, 0, gap <= tol, gap, phase, variant, multiplier=u)
    if mop.is_singular(c):
        raise ValueError(
            "lam = 0 with a singular M (nu^2 = 0 and N > d, e.g. the linear activation) has no "
            "unique minimum-M-norm solution; use lam > 0"
        )
    if eps >= critical_eps(phi, y, mop, omega):
        a = np.zeros(big_n)
        obj, gap = _duality_gap(phi, y, mop, c, eps, omega, a, y / n)
        return TrainingResult(
            a,
            obj,
            0,
            gap <= tol,
            gap,
            "trivial",
            variant,
            kappa=np.inf,
            delta=0.0,
            multiplier=y / n,
        )
    system = NewtonSystem(phi, mop, c)
    w2 = float(np.mean(omega**2))
    interpolator = None
    if c == 0.0 and big_n >= n:
        z = linalg.cho_solve(linalg.cho_factor(system.gram(1.0), lower=True), y)
        a = mop.kinv(1.0, 0.0, phi.T @ z)
        s = float(np.sqrt(max(y @ z, 0.0)))
        interpolator = (z, s)
        worst = np.max(np.divide(np.abs(z), omega, out=np.full(n, np.inf), where=omega > 0))
        if start is None and n * eps * w2 * worst <= s:
            u = eps**2 * w2 * z
            obj, gap = _duality_gap(phi, y, mop, c, eps, omega, a, u)
            return TrainingResult(
                a, obj, 0, gap <= tol, gap, "interpolating", variant,
                kappa=eps**2 * w2, delta=eps * s, multiplier=u,
            )  # fmt: skip
    program = (phi, y, mop, c, omega, system, interpolator)
    if start is None:
        start = _initial_state(program, eps)
    result, _ = _newton(program, eps, start, tol, min_steps)
    if result.converged:
        return result
    return _continuation(program, eps, tol, result.iterations)


def _continuation(program, eps: float, tol: float, spent: int) -> TrainingResult:
    """Fallback: follow the solution path eps' = t eps, t -> 1, warm-starting each Newton solve.

    Used when Newton from the cold start stalls (its merit can have a valley at kappa -> inf,
    delta -> 0 leading towards the trivial phase). The step in t doubles after a success and
    halves after a failure.
    """
    t, state, iterations = CONTINUATION_START, None, spent
    result = TrainingResult(
        np.zeros(program[0].shape[1]), np.inf, 0, False, np.inf, "nontrivial", "concentrated"
    )
    while state is None and t >= CONTINUATION_MIN_STEP:
        result, final = _newton(program, t * eps, _initial_state(program, t * eps), tol)
        iterations += result.iterations
        if result.converged:
            state = final
        else:
            t *= 0.5
    h = t
    while state is not None and h >= CONTINUATION_MIN_STEP:
        t_next = min(1.0, t + h)
        result, final = _newton(program, t_next * eps, state, tol)
        iterations += result.iterations
        if result.converged:
            t, state, h = t_next, final, 2.0 * h
            if t == 1.0:
                return replace(result, iterations=iterations)
        else:
            h *= 0.5
    return replace(result, iterations=iterations, converged=False)


def _initial_state(program, eps: float) -> _State:
    """Cold start: a from min (1/n)||y - Phi a||^2 + eps^2 mean(omega^2) a^T M a + c||a||^2 (or
    the minimum-M-norm interpolator when c = 0 and N >= n), then multipliers consistent with it:
    delta = eps s, u = (r + delta omega sign r) / n, kappa = eps^2 (omega^T |r| / (n delta) + W2).
    """
    phi, y, mop, c, omega, system, interpolator = program
    n = len(y)
    w2 = float(np.mean(omega**2))
    if interpolator is not None:
        z, s = interpolator
        kappa = eps**2 * w2
        u = kappa * z  # the interpolator's multiplier (box condition violated somewhere)
        return _State(u, float(np.log(kappa)), float(np.log(eps * s)))
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
    return _State(u, float(np.log(kappa)), float(np.log(delta)))


def _newton(
    program, eps: float, state: _State, tol: float, min_steps: int = 0
) -> tuple[TrainingResult, _State]:
    """Semismooth Newton on F(u, log kappa, log delta) = 0 (module docstring), gap-certified.

    The gap certifies a point only after min_steps steps, or when no further step is possible
    (line search or linear solve failing at the floating-point floor of the merit). Stops early
    (not converged unless the last gap certifies) when the merit ||F||^2 fails to drop by
    STALL_FACTOR over STALL_STEPS consecutive steps.
    """
    phi, y, mop, c, omega, system, _ = program
    n = len(y)
    w2 = float(np.mean(omega**2))
    log_eps = float(np.log(eps))
    y_scale = float(y @ y) or 1.0

    def evaluate(st: _State):
        kappa, delta = np.exp(st.lk), np.exp(st.ld)
        phit_u = phi.T @ st.u
        a = mop.kinv(kappa, c, phit_u)
        t = n * st.u
        thr = delta * omega
        active = np.abs(t) > thr
        rhat = _soft(t, thr)
        r = y - phi @ a
        f1 = r - rhat
        ma = mop.apply(a)
        s2 = float(a @ ma)
        big_l = float(omega @ np.abs(rhat)) / n
        with np.errstate(divide="ignore"):
            f2 = st.ld - log_eps - 0.5 * np.log(s2) if s2 > 0 else np.inf
            f3 = st.lk - 2 * log_eps - np.log(big_l + delta * w2) + st.ld
        merit = float(f1 @ f1) / y_scale + f2**2 + f3**2
        return dict(
            a=a, active=active, f1=f1, f2=f2, f3=f3, ma=ma, s2=s2, big_l=big_l,
            kappa=kappa, delta=delta, merit=merit, sign=np.sign(t), r=r, phit_u=phit_u,
        )  # fmt: skip

    ev = evaluate(state)
    obj, gap = np.inf, np.inf
    history = [ev["merit"]]
    for it in range(MAX_NEWTON_STEPS + 1):
        if np.isfinite(ev["merit"]):
            # with c = 0, a = M^{-1} Phi^T u / kappa: M^{-1} Phi^T u = kappa a
            minv = ev["kappa"] * ev["a"] if c == 0.0 else None
            known = (ev["r"], ev["ma"], ev["phit_u"], minv)
            obj, gap = _duality_gap(phi, y, mop, c, eps, omega, ev["a"], state.u, known)
            if gap <= tol and it >= min_steps:
                return TrainingResult(
                    ev["a"], obj, it, True, gap, "nontrivial", "concentrated",
                    kappa=ev["kappa"], delta=ev["delta"], multiplier=state.u,
                ), state  # fmt: skip
        if it == MAX_NEWTON_STEPS or (
            len(history) > STALL_STEPS and history[-1] > STALL_FACTOR * history[-1 - STALL_STEPS]
        ):
            break
        step = _newton_step(program, ev, n, w2)
        if step is None:
            break
        du, dlk, dld = step
        scale = min(1.0, MAX_LOG_STEP / max(abs(dlk), abs(dld), 1e-300))
        t = scale
        for _ in range(MAX_BACKTRACKS):
            trial = _State(state.u + t * du, state.lk + t * dlk, state.ld + t * dld)
            ev_trial = evaluate(trial)
            if ev_trial["merit"] <= (1.0 - 2.0 * ARMIJO * t) * ev["merit"]:
                break
            t *= 0.5
        else:
            break
        state, ev = trial, ev_trial
        history.append(ev["merit"])
    return TrainingResult(
        ev["a"], obj, it, bool(gap <= tol), gap, "nontrivial", "concentrated",
        kappa=ev["kappa"], delta=ev["delta"], multiplier=state.u,
    ), state  # fmt: skip


def _newton_step(program, ev, n, w2):
    """Solve the linearised system J (du, dlk, dld) = -F by one factorisation + 2 x 2 Schur."""
    phi, _, mop, c, omega, system, _ = program
    kappa, delta, s2, big_l = ev["kappa"], ev["delta"], ev["s2"], ev["big_l"]
    active = ev["active"]
    if not s2 > 0.0:
        return None
    kma = mop.kinv(kappa, c, ev["ma"])
    v = phi @ kma
    q = float(ev["ma"] @ kma)
    sw = omega * ev["sign"] * active
    denom = big_l + delta * w2
    e33 = 1.0 - delta * (w2 - float(omega[active] @ omega[active]) / n) / denom
    solve, _ = system.factor(kappa, active)
    x = solve(np.column_stack([ev["f1"], v, sw]))
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    jac = np.array(
        [
            [kappa * (q - v @ x1) / s2, 1.0 - delta * (v @ x2) / s2],
            [1.0 - kappa * (sw @ x1) / denom, e33 - delta * (sw @ x2) / denom],
        ]
    )
    rhs = np.array([-ev["f2"] + (v @ x0) / s2, -ev["f3"] + (sw @ x0) / denom])
    try:
        dlk, dld = np.linalg.solve(jac, rhs)
    except np.linalg.LinAlgError:
        return None
    if not (np.isfinite(dlk) and np.isfinite(dld)):
        return None
    du = x0 + kappa * dlk * x1 + delta * dld * x2
    return du, float(dlk), float(dld)


def gradient_rows(theta: np.ndarray, sprime: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Row i: grad_x f_a(x_i) = Theta^T (sigma'(Theta x_i / sqrt d) * a) / sqrt(d) (n x d)."""
    return (sprime * a) @ theta / np.sqrt(theta.shape[1])


class FeatureGradients:
    """The maps B_i = Theta^T diag(sigma'(Theta x_i / sqrt d)) / sqrt(d): B_i a = grad f_a(x_i)."""

    def __init__(self, theta: np.ndarray, sprime: np.ndarray):
        self.theta, self.sprime = theta, sprime
        self.has_gradient = np.any(sprime != 0, axis=1)  # B_i = 0 when sigma'_i vanishes
        self._gram_theta = None

    def rows(self, a: np.ndarray) -> np.ndarray:
        """Row i: B_i a."""
        return gradient_rows(self.theta, self.sprime, a)

    def transpose(self, rows: np.ndarray) -> np.ndarray:
        """Row i: B_i^T g_i = sigma'_i * (Theta g_i) / sqrt(d), g_i the rows of `rows`."""
        return self.sprime * (rows @ self.theta.T) / np.sqrt(self.theta.shape[1])

    def weighted_gram(self, tau: np.ndarray) -> np.ndarray:
        """(1/n) sum_i tau_i B_i^T B_i = (Theta Theta^T / d) o (S'^T diag(tau) S') / n."""
        if self._gram_theta is None:
            self._gram_theta = self.theta @ self.theta.T / self.theta.shape[1]
        sp = self.sprime
        return self._gram_theta * ((sp * tau[:, None]).T @ sp) / len(tau)


class RankOneGradients:
    """Maps B_i = h_i^T (1 x N), rows of H: the norms ||B_i a|| = |h_i^T a|."""

    def __init__(self, h: np.ndarray):
        self.h = h
        self.has_gradient = np.any(h != 0, axis=1)

    def rows(self, a: np.ndarray) -> np.ndarray:
        return (self.h @ a)[:, None]

    def transpose(self, rows: np.ndarray) -> np.ndarray:
        return self.h * rows

    def weighted_gram(self, tau: np.ndarray) -> np.ndarray:
        return self.h.T @ (self.h * tau[:, None]) / len(tau)


def _exact_gap(phi, y, ops, eps, c, a, u, tau, mprime) -> tuple[float, float]:
    """Primal value and relative duality gap of the per-sample-norm program at (a, u).

    Cone form: min (1/n)||t||^2 + c||a||^2 s.t. t_i >= |y_i - phi_i^T a| + eps ||B_i a||.
    Dual: max over w >= |xi|, ||eta_i|| <= eps w_i of
    xi^T y - (n/4)||w||^2 - ||Phi^T xi - sum_i B_i^T eta_i||^2 / (4c) (equality when c = 0).
    Candidate: xi = 2u, eta_i = eps w_i B_i a / ||B_i a||, then (for exact feasibility) corrected
    by eta_i += (tau_i / n) B_i h with h = M'^{-1} e, e the equality defect, M' = (1/n) sum tau_i
    B_i^T B_i (so sum_i B_i^T eta_i = Phi^T xi exactly); w raised to feasibility; best ray value.
    """
    n = len(y)
    grads = ops.rows(a)
    s = np.linalg.norm(grads, axis=1)
    r = y - phi @ a
    primal = float(np.mean((np.abs(r) + eps * s) ** 2) + c * (a @ a))
    xi = 2.0 * u
    big_a = float(xi @ y)
    if primal <= 0.0:
        return primal, 0.0
    if big_a <= 0.0:
        return primal, 1.0
    w = np.maximum(np.abs(xi), 2.0 * eps * s / n)
    coef = np.divide(eps * w, s, out=np.zeros_like(s), where=s > 0)
    defect = phi.T @ xi - (ops.transpose(grads) * coef[:, None]).sum(axis=0)
    best = 0.0
    if c > 0.0:
        best = big_a**2 / (4.0 * (0.25 * n * (w @ w) + (defect @ defect) / (4.0 * c)))
    hrows = ops.rows(mprime.kinv(1.0, 0.0, defect)) * (tau / n)[:, None]
    eta_norm = np.linalg.norm(coef[:, None] * grads + hrows, axis=1)
    w_feas = np.maximum(np.abs(xi), eta_norm / eps)
    best = max(best, big_a**2 / (n * (w_feas @ w_feas)))
    return primal, (primal - best) / primal


def solve_exact(
    phi: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    sprime: np.ndarray,
    m,
    *,
    eps: float,
    c: float,
    tol: float = GAP_TOL,
) -> TrainingResult:
    """Solve the exact variant (a): s_i(a) = ||B_i a||, B_i = Theta^T diag(sigma'_i) / sqrt(d)
    (sigma'_i = sigma'(Theta x_i / sqrt d), the rows of `sprime`), warm-started from the
    concentrated program with M = m. See `solve_sample_norms`."""
    return solve_sample_norms(phi, y, FeatureGradients(theta, sprime), m, eps=eps, c=c, tol=tol)


def solve_sample_norms(phi, y, ops, m, *, eps: float, c: float, tol: float = GAP_TOL):
    """min_a (1/n) sum_i (|y_i - phi_i^T a| + eps ||B_i a||)^2 + c ||a||^2 for linear maps B_i.

    Outer fixed point on per-sample shapes, each step a concentrated-type program. At the optimum,
    with s_i = ||B_i a|| and tau_i = (|r_i| + eps s_i) / s_i, the optimality conditions

        (sum_i eps (|r_i| + eps s_i) / (n s_i) B_i^T B_i + c I) a = Phi^T u,  r = soft(n u, eps s),

    are exactly those of the concentrated program with M' = (1/n) sum_i tau_i B_i^T B_i
    (for the exact variant (Theta Theta^T / d) o (S'^T diag(tau) S') / n) and per-sample scales
    omega_i = s_i / sqrt(a^T M' a). So: start from the concentrated solution with M = m, recompute
    (tau, omega) at the current point, re-solve, with Anderson extrapolation of the points, until
    the duality gap of this program itself (`_exact_gap`) is below tol. When an inner program
    returns a = 0 the shapes come from its critical direction M'^{-1} Phi^T y (homogeneity), which
    also certifies a trivial phase.
    """
    if eps == 0.0:
        return replace(solve_concentrated(phi, y, m, eps=0.0, c=c), variant="exact")
    first = solve_concentrated(phi, y, m, eps=eps, c=c)
    if not first.converged:
        return replace(first, variant="exact", converged=False)
    a, iterations = first.a, first.iterations
    mop = _as_operator(m)
    point, history = a, []
    if not np.any(a):
        point = mop.kinv(1.0, 0.0, phi.T @ y)
    obj, gap, inner = np.inf, np.inf, first
    for outer in range(1, MAX_OUTER + 1):
        tau, omega, mprime = _shapes(phi, y, ops, eps, point, a)
        warm = None
        if inner.phase == "nontrivial" and inner.multiplier is not None:
            warm = _State(inner.multiplier, float(np.log(inner.kappa)), float(np.log(inner.delta)))
        inner = solve_concentrated(
            phi, y, mprime, eps=eps, c=c, omega=omega, start=warm, tol=tol * INNER_TOL,
            min_steps=INNER_MIN_STEPS if warm is not None else 0,
        )  # fmt: skip
        iterations += inner.iterations
        if not inner.converged:
            break
        obj, gap = _exact_gap(phi, y, ops, eps, c, inner.a, inner.multiplier, tau, mprime)
        if gap <= tol:
            phase = "trivial" if not np.any(inner.a) else inner.phase
            return TrainingResult(
                inner.a, obj, iterations, True, gap, phase, "exact", outer, inner.kappa,
                inner.delta, inner.multiplier,
            )  # fmt: skip
        if np.any(inner.a):
            history = [*history[-ANDERSON_MEMORY:], (point, inner.a)]
            point = _anderson(history)
        else:  # homogeneous near a = 0: only the direction matters
            history = []
            point = mprime.kinv(1.0, 0.0, phi.T @ y)
        a = inner.a
    return TrainingResult(
        inner.a, obj, iterations, False, gap, inner.phase, "exact", outer, inner.kappa,
        inner.delta, inner.multiplier,
    )  # fmt: skip


def _shapes(phi, y, ops, eps, point, a):
    """(tau, omega, M') of the inner program, evaluated at `point`.

    tau_i = (|r_i| + eps s_i) / s_i, omega_i = s_i / sqrt(mean tau s^2), M' = (1/n) sum_i tau_i
    B_i^T B_i, with r, s at `point`; when the current a is 0, `point` is only a direction and
    tau_i = |y_i| / s_i (the limit a -> 0 along it). Samples whose map B_i vanishes identically get
    omega_i = 0 (no gradient-norm term) and tau_i = 0.
    """
    n = len(y)
    s = np.linalg.norm(ops.rows(point), axis=1)
    s_safe = np.where(s > 0, s, 1.0)
    if np.any(a):
        tau = (np.abs(y - phi @ point) + eps * s) / s_safe
    else:
        tau = np.abs(y) / s_safe
    tau = np.where(ops.has_gradient & (s > 0), tau, 0.0)
    tau /= tau.mean()
    omega = np.where(ops.has_gradient, s, 0.0) / np.sqrt(tau @ s**2 / n)
    return tau, omega, DenseM(ops.weighted_gram(tau))


def _anderson(history) -> np.ndarray:
    """Anderson (type II) extrapolation of the fixed point x = T(x) from pairs (x_k, T(x_k))."""
    x, g = history[-1]
    if len(history) == 1:
        return g
    f = np.array([gk - xk for xk, gk in history])
    df, dg = np.diff(f, axis=0), np.diff(np.array([gk for _, gk in history]), axis=0)
    gamma = np.linalg.lstsq(df.T, f[-1], rcond=None)[0]
    return g - dg.T @ gamma


def train(
    instance,
    variant: str = "concentrated",
    *,
    eps: float | None = None,
    lam: float | None = None,
    raise_on_failure: bool = True,
) -> TrainingResult:
    """Adversarially train a on an `Instance` (eps, lam default to its problem's; c = psi1 lam).

    Raises `TrainingError` (naming the parameters and the final gap) when the solver does not
    certify its optimum, unless raise_on_failure=False (then converged=False is returned).
    """
    variant = check_variant(variant)
    problem = instance.problem
    eps = problem.eps if eps is None else float(eps)
    lam = problem.lam if lam is None else float(lam)
    mom = problem.moments
    c = problem.psi1 * lam
    mop = m_operator(instance.theta, mom.mu1, mom.nu2, instance.n)
    if variant == "concentrated":
        result = solve_concentrated(instance.phi, instance.y, mop, eps=eps, c=c)
    else:
        sprime = problem.activation.derivative(instance.preactivations(instance.x))
        result = solve_exact(instance.phi, instance.y, instance.theta, sprime, mop, eps=eps, c=c)
    if raise_on_failure and not result.converged:
        raise TrainingError(
            f"training did not converge: variant={variant}, eps={eps:g}, lam={lam:g}, "
            f"psi1={problem.psi1:g}, psi2={problem.psi2:g}, d={instance.d}, seed={instance.seed}, "
            f"activation={problem.activation.name}, phase={result.phase}, "
            f"iterations={result.iterations}, relative duality gap={result.residual:.3g} "
            f"(tolerance {GAP_TOL:g})"
        )
    return result
