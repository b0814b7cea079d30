"""The exact training program (variant a): per-sample gradient norms ||B_i a||.

    min_a (1/n) sum_i (|y_i - phi_i^T a| + eps ||B_i a||)^2 + c ||a||^2,
    B_i = Theta^T diag(sigma'(Theta x_i / sqrt d)) / sqrt d   (B_i a = grad_x f_a(x_i)),

solved by an outer fixed point on per-sample shapes, each step a concentrated-type program
(`solve_sample_norms`), and certified by the duality gap of its own cone form
(`certificate.sample_norms_gap`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from advrf.settings import SolverSettings
from advrf.simulation._linalg import DenseM
from advrf.simulation.certificate import certify, sample_norms_gap
from advrf.simulation.result import TrainingResult
from advrf.simulation.train_concentrated import _solve, as_operator, solve_concentrated


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


def solve_exact(
    phi: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    sprime: np.ndarray,
    m,
    *,
    eps: float,
    c: float,
    solver: SolverSettings | None = None,
) -> TrainingResult:
    """Solve the exact variant (a): s_i(a) = ||B_i a||, B_i = Theta^T diag(sigma'_i) / sqrt(d)
    (sigma'_i = sigma'(Theta x_i / sqrt d), the rows of `sprime`), warm-started from the
    concentrated program with M = m. See `solve_sample_norms`."""
    return solve_sample_norms(
        phi, y, FeatureGradients(theta, sprime), m, eps=eps, c=c, solver=solver
    )


def solve_sample_norms(
    phi, y, ops, m, *, eps: float, c: float, solver: SolverSettings | None = None
) -> TrainingResult:
    """min_a (1/n) sum_i (|y_i - phi_i^T a| + eps ||B_i a||)^2 + c ||a||^2 for linear maps B_i.

    Outer fixed point on per-sample shapes, each step a concentrated-type program. At the optimum,
    with s_i = ||B_i a|| and tau_i = (|r_i| + eps s_i) / s_i, the optimality conditions

        (sum_i eps (|r_i| + eps s_i) / (n s_i) B_i^T B_i + c I) a = Phi^T u,  r = soft(n u, eps s),

    are exactly those of the concentrated program with M' = (1/n) sum_i tau_i B_i^T B_i
    (for the exact variant (Theta Theta^T / d) o (S'^T diag(tau) S') / n) and per-sample scales
    omega_i = s_i / sqrt(a^T M' a). So: start from the concentrated solution with M = m, recompute
    (tau, omega) at the current point, re-solve, with Anderson extrapolation of the points, until
    the duality gap of this program itself (`sample_norms_gap`) is below solver.gap_tol. When an
    inner program returns a = 0 the shapes come from its critical direction M'^{-1} Phi^T y
    (homogeneity), which also certifies a trivial phase.
    """
    solver = SolverSettings() if solver is None else solver
    tol = solver.gap_tol
    if eps == 0.0:
        return replace(solve_concentrated(phi, y, m, eps=0.0, c=c, solver=solver), variant="exact")
    first = solve_concentrated(phi, y, m, eps=eps, c=c, solver=solver)
    if not first.converged:
        return replace(first, variant="exact", message=f"concentrated warm start: {first.message}")
    a, iterations = first.a, first.iterations
    mop = as_operator(m)
    point, history = a, []
    if not np.any(a):
        point = mop.kinv(1.0, 0.0, phi.T @ y)
    obj, gap, inner = np.inf, np.inf, first
    why = f"; after {solver.max_outer} reweightings (max_outer)"
    for outer in range(1, solver.max_outer + 1):
        tau, omega, mprime = _shapes(phi, y, ops, eps, point, a)
        warm = inner.state
        inner = _solve(
            phi, y, mprime, eps, c, omega, warm, solver, tol * solver.inner_tol,
            solver.inner_min_steps if warm is not None else 0,
        )  # fmt: skip
        iterations += inner.iterations
        if not inner.converged:
            why = f"; inner program {outer} not certified: {inner.message}"
            break
        obj, gap = sample_norms_gap(phi, y, ops, eps, c, inner.a, inner.multiplier, tau, mprime)
        phase = "trivial" if not np.any(inner.a) else inner.phase
        ok, message = certify(gap, tol, solver, phase)
        if ok:
            return TrainingResult(
                a=inner.a, objective=obj, iterations=iterations, converged=True, residual=gap,
                phase=phase, variant="exact", outer_iterations=outer, kappa=inner.kappa,
                delta=inner.delta, multiplier=inner.multiplier,
                message=f"{message} after {outer} reweightings",
            )  # fmt: skip
        if np.any(inner.a):
            history = [*history[-solver.anderson_memory :], (point, inner.a)]
            point = _anderson(history)
        else:  # homogeneous near a = 0: only the direction matters
            history = []
            point = mprime.kinv(1.0, 0.0, phi.T @ y)
        a = inner.a
    return TrainingResult(
        a=inner.a, objective=obj, iterations=iterations, converged=False, residual=gap,
        phase=inner.phase, variant="exact", outer_iterations=outer, kappa=inner.kappa,
        delta=inner.delta, multiplier=inner.multiplier,
        message=f"exact variant not certified: relative duality gap {gap:.3g}{why}",
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
