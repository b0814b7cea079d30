"""Duality-gap certificates of the training programs (their second-order-cone forms).

A result is certified by a dual point: its value D is a lower bound of the optimum, so the
relative gap (P - D) / P of the primal value P at a bounds the suboptimality of a. Every dual
candidate is checked as built, in floating point: the equality defect e = Phi^T xi - sum B^T eta
that its construction leaves (rounding, or a singular M that no linear solve can invert) is
charged to its value, never assumed zero:

- c > 0: the Lagrangian's minimum over a is -||e||^2 / (4c) exactly (`_ray_value`);
- c = 0: the dual is finite only for e = 0. A candidate whose defect exceeds DEFECT_TOL
  ||Phi^T xi|| (more than rounding) is discarded; below it, e is charged at ||a|| ||e|| (the
  Lagrangian's minimum over the ball ||a'|| <= ||a||, which holds a* to first order at a certified
  point; the charge is then at rounding level and only separates rounding from a structural
  defect).

`certify` then accepts a gap only in [-negative_gap_tol, gap_tol]: a gap below -negative_gap_tol
means the primal value and its lower bound disagree beyond rounding, an invalid certificate.
"""

from __future__ import annotations

import numpy as np

from advrf.settings import SolverSettings

DEFECT_TOL = float(np.sqrt(np.finfo(float).eps))  # relative equality defect of a c = 0 dual point


def _ray_value(big_a: float, big_b: float, defect: np.ndarray, c: float, radius: float) -> float:
    """max_t>=0 of t A - t^2 B minus the charge of the equality defect e (module docstring):
    c > 0: B += ||e||^2 / (4c); c = 0: A -= radius ||e||."""
    if c > 0.0:
        big_b = big_b + float(defect @ defect) / (4.0 * c)
    else:
        big_a = big_a - radius * float(np.linalg.norm(defect))
    if big_a <= 0.0 or big_b <= 0.0:
        return 0.0
    return big_a**2 / (4.0 * big_b)


def _admissible(defect: np.ndarray, reference: np.ndarray, c: float) -> bool:
    """A c = 0 dual point is kept only if its defect is at rounding level (module docstring)."""
    return c > 0.0 or float(np.linalg.norm(defect)) <= DEFECT_TOL * float(np.linalg.norm(reference))


def certify(gap: float, tol: float, solver: SolverSettings, phase: str) -> tuple[bool, str]:
    """(certified, message) for a relative duality gap: certified iff -negative_gap_tol <= gap <=
    tol."""
    if not np.isfinite(gap):
        return False, f"{phase}: no finite duality gap (no dual point)"
    if gap < -solver.negative_gap_tol:
        return False, (
            f"{phase}: invalid certificate, relative duality gap {gap:.3g} < "
            f"-{solver.negative_gap_tol:g} (lower bound above the primal value)"
        )
    if gap > tol:
        return False, f"{phase}: relative duality gap {gap:.3g} above the tolerance {tol:g}"
    return True, f"{phase}: certified, relative duality gap {gap:.3g} <= {tol:g}"


def waterfill(xi_abs: np.ndarray, omega: np.ndarray, total: float) -> np.ndarray:
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


def concentrated_gap(phi, y, mop, c, eps, omega, a, u, known=None) -> tuple[float, float]:
    """Primal value at a and relative duality gap (P - D) / P from the multiplier u.

    Cone form: min (1/n) ||t||^2 + c ||a||^2
    s.t. t_i >= |y_i - phi_i^T a| + eps omega_i ||M^{1/2} a||.
    Its Lagrange dual: max over w >= |xi| (entrywise), ||eta|| <= eps omega^T w of

        xi^T y - (n/4) ||w||^2 - ||Phi^T xi - M^{1/2} eta||^2 / (4c)

    (for c = 0 the constraint Phi^T xi = M^{1/2} eta). The candidate is xi = 2u, then either
    (i) w = max(|xi|, 2 delta omega / n), M^{1/2} eta = eps (omega^T w) M a / s, or (ii) eta =
    M^{1/2} v, v = M^{-1} Phi^T xi as solved, M^+ for a singular M (||eta||^2 = v^T M v, defect
    Phi^T xi - M v), with w
    water-filled to feasibility (the only choice when c = 0); each is rescaled optimally (the dual
    is tA - t^2 B along a ray), its defect charged (module docstring), the larger value kept.
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
        best = max(best, _ray_value(big_a, 0.25 * n * (w @ w), g, c, 0.0))
    if eps > 0.0:
        if mop.is_singular(0.0):  # only a SpectralM can say so: v = M^+ Phi^T xi
            v = mop.pinv(phit_xi)
        else:
            v = mop.kinv(1.0, 0.0, phit_xi) if minv_phit_u is None else 2.0 * minv_phit_u
        defect = phit_xi - mop.apply(v)
        if _admissible(defect, phit_xi, c):
            rho = float(np.sqrt(max(v @ (phit_xi - defect), 0.0)))
            w = waterfill(np.abs(xi), omega, rho / eps)
            total = float(omega @ w)
            if 0.0 < total < rho / eps:  # feasibility as computed, not as intended
                w = w * ((rho / eps) / total)
            if total > 0.0 or rho == 0.0:
                radius = float(np.linalg.norm(a))
                best = max(best, _ray_value(big_a, 0.25 * n * (w @ w), defect, c, radius))
    if primal <= 0.0:
        return primal, 0.0
    return primal, (primal - best) / primal


def sample_norms_gap(phi, y, ops, eps, c, a, u, tau, mprime) -> tuple[float, float]:
    """Primal value and relative duality gap of the per-sample-norm program at (a, u).

    Cone form: min (1/n)||t||^2 + c||a||^2 s.t. t_i >= |y_i - phi_i^T a| + eps ||B_i a||.
    Dual: max over w >= |xi|, ||eta_i|| <= eps w_i of
    xi^T y - (n/4)||w||^2 - ||Phi^T xi - sum_i B_i^T eta_i||^2 / (4c) (equality when c = 0).
    Candidate: xi = 2u, eta_i = eps w_i B_i a / ||B_i a||, then corrected by eta_i += (tau_i / n)
    B_i h with h = M'^{-1} e, e the equality defect, M' = (1/n) sum tau_i B_i^T B_i (so that
    sum_i B_i^T eta_i = Phi^T xi when M' is invertible; the defect left is recomputed and charged,
    module docstring); w raised to feasibility; best ray value.
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
    phit_xi = phi.T @ xi
    defect = phit_xi - (ops.transpose(grads) * coef[:, None]).sum(axis=0)
    best = 0.0
    if c > 0.0:
        best = _ray_value(big_a, 0.25 * n * (w @ w), defect, c, 0.0)
    eta = coef[:, None] * grads + ops.rows(mprime.kinv(1.0, 0.0, defect)) * (tau / n)[:, None]
    left = phit_xi - ops.transpose(eta).sum(axis=0)
    if _admissible(left, phit_xi, c):
        w_feas = np.maximum(np.abs(xi), np.linalg.norm(eta, axis=1) / eps)
        radius = float(np.linalg.norm(a))
        best = max(best, _ray_value(big_a, 0.25 * n * (w_feas @ w_feas), left, c, radius))
    return primal, (primal - best) / primal
