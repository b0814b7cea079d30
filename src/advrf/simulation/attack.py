"""Attacks on the trained nonlinear model f_a(x) = <a, sigma(Theta x / sqrt d)> (conventions 3.1).

- First-order attack (closed form, per-sample exact gradient):
      delta = -eps sign(r) grad / ||grad||,  r = y - f_a(x),
      grad = Theta^T (sigma'(Theta x / sqrt d) * a) / sqrt d,
  the maximiser of the linearised loss (|r| + eps ||grad||)^2.
- PGD: projected gradient ascent of (y - f_a(x + delta))^2 on the l2 ball of radius eps, normalised
  steps of size PGD_STEP_FACTOR * eps / steps, from the first-order attack and from random points
  on the sphere of radius eps, keeping the best point met per sample.

All computations are numpy with the analytic gradient, in chunks of CHUNK samples.

`pgd_adversarial_training` trains the nonlinear model against PGD (true adversarial training), to
measure how far the first-order program is from it at finite d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from advrf.settings import ATTACKS as ATTACKS  # re-exported: the name's old home
from advrf.simulation._linalg import DenseM
from advrf.simulation.train_exact import RankOneGradients, solve_sample_norms

PGD_STEPS = 20
PGD_RESTARTS = 3  # random starts in addition to the first-order attack
PGD_STEP_FACTOR = 2.5
CHUNK = 1024
TRUE_AT_STEPS = 50  # model steps of true (PGD) adversarial training
TRUE_AT_TOL = 1e-5  # relative gap between R and the model's lower bound that stops it
TRUE_AT_ARMIJO = 1e-4
TRUE_AT_BACKTRACKS = 30
TRUE_AT_REFRESHES = 10  # re-evaluations of R at the current point after a failed line search


def value_and_gradient(theta, activation, a, x) -> tuple[np.ndarray, np.ndarray]:
    """f_a(x) and grad_x f_a(x) = Theta^T (sigma'(Theta x / sqrt d) * a) / sqrt d, row-wise."""
    d = theta.shape[1]
    pre = x @ theta.T / np.sqrt(d)
    return activation(pre) @ a, (activation.derivative(pre) * a) @ theta / np.sqrt(d)


def first_order_attack(theta, activation, a, x, y, eps) -> tuple[np.ndarray, np.ndarray]:
    """(delta, linearised loss (|r| + eps ||grad||)^2) per sample; sign(0) is taken as +1."""
    deltas, linear = [], []
    for lo in range(0, len(y), CHUNK):
        f, grad = value_and_gradient(theta, activation, a, x[lo : lo + CHUNK])
        r = y[lo : lo + CHUNK] - f
        norm = np.linalg.norm(grad, axis=1)
        direction = np.divide(grad, norm[:, None], out=np.zeros_like(grad), where=norm[:, None] > 0)
        deltas.append(-eps * np.where(r >= 0, 1.0, -1.0)[:, None] * direction)
        linear.append((np.abs(r) + eps * norm) ** 2)
    return np.concatenate(deltas), np.concatenate(linear)


def squared_loss(theta, activation, a, x, y) -> np.ndarray:
    """(y - f_a(x))^2 per sample."""
    out = np.empty(len(y))
    for lo in range(0, len(y), CHUNK):
        pre = x[lo : lo + CHUNK] @ theta.T / np.sqrt(theta.shape[1])
        out[lo : lo + CHUNK] = (y[lo : lo + CHUNK] - activation(pre) @ a) ** 2
    return out


def _project(delta: np.ndarray, eps: float) -> np.ndarray:
    norm = np.linalg.norm(delta, axis=1, keepdims=True)
    return delta * np.minimum(1.0, eps / np.maximum(norm, np.finfo(float).tiny))


def pgd_attack(
    theta,
    activation,
    a,
    x,
    y,
    eps: float,
    *,
    steps: int = PGD_STEPS,
    restarts: int = PGD_RESTARTS,
    seed: int = 0,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(best delta, its loss (y - f_a(x + delta))^2) per sample over 1 + restarts PGD runs.

    The first run starts from `start` (default: the first-order attack); the others from uniform
    points on the sphere of radius eps, drawn from `np.random.default_rng(seed)`.
    """
    rng = np.random.default_rng(seed)
    if start is None:
        start = first_order_attack(theta, activation, a, x, y, eps)[0]
    best = start.copy()
    best_loss = squared_loss(theta, activation, a, x + best, y)
    if eps == 0.0:
        return best, best_loss
    alpha = PGD_STEP_FACTOR * eps / steps
    for run in range(restarts + 1):
        if run == 0:
            delta = start.copy()
        else:
            g = rng.standard_normal(x.shape)
            delta = eps * g / np.linalg.norm(g, axis=1, keepdims=True)
        for _ in range(steps):
            for lo in range(0, len(y), CHUNK):
                sl = slice(lo, lo + CHUNK)
                f, grad = value_and_gradient(theta, activation, a, x[sl] + delta[sl])
                ascent = -(y[sl] - f)[:, None] * grad  # proportional to the loss gradient
                norm = np.linalg.norm(ascent, axis=1, keepdims=True)
                step = np.divide(ascent, norm, out=np.zeros_like(ascent), where=norm > 0)
                delta[sl] = _project(delta[sl] + alpha * step, eps)
            loss = squared_loss(theta, activation, a, x + delta, y)
            better = loss > best_loss
            best[better], best_loss[better] = delta[better], loss[better]
    return best, best_loss


def extreme_perturbations(
    theta,
    activation,
    a,
    x,
    eps: float,
    *,
    steps: int = PGD_STEPS,
    restarts: int = 1,
    seed: int = 0,
    starts: tuple[tuple[np.ndarray, np.ndarray], ...] = (),
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """PGD for argmax and argmin of f_a(x + delta) over ||delta|| <= eps, per sample.

    max_delta (y - f_a(x + delta))^2 is attained at one of the two (whatever y is). Starts: the
    first-order points +-eps grad / ||grad||, the pairs (delta_max, delta_min) in `starts`, and
    `restarts` random points on the sphere. Returns ((delta_max, f_max), (delta_min, f_min)).
    """
    rng = np.random.default_rng(seed)
    _, grad = value_and_gradient(theta, activation, a, x)
    norm = np.linalg.norm(grad, axis=1, keepdims=True)
    unit = np.divide(grad, norm, out=np.zeros_like(grad), where=norm > 0)
    alpha = PGD_STEP_FACTOR * eps / steps
    out = []
    for k, sign in enumerate((1.0, -1.0)):
        candidates = [sign * eps * unit, *(pair[k] for pair in starts)]
        for _ in range(restarts):
            g = rng.standard_normal(x.shape)
            candidates.append(eps * g / np.linalg.norm(g, axis=1, keepdims=True))
        best, best_f = None, None
        for delta in candidates:
            delta = delta.copy()
            for _ in range(steps + 1):
                f, g = value_and_gradient(theta, activation, a, x + delta)
                if best is None:
                    best, best_f = delta.copy(), f.copy()
                better = sign * (f - best_f) > 0
                best[better], best_f[better] = delta[better], f[better]
                gn = np.linalg.norm(g, axis=1, keepdims=True)
                step = np.divide(g, gn, out=np.zeros_like(g), where=gn > 0)
                delta = _project(delta + sign * alpha * step, eps)
        out.append((best, best_f))
    return out[0], out[1]


@dataclass(frozen=True, eq=False)
class PgdTrainingResult:
    """True adversarial training of the nonlinear model (PGD inner maximum).

    objective: R(a) at the returned a (inner maximum by PGD); objective_start: R at the start;
    lower_bound: the minimum of the last cutting-plane model, a lower bound of min R (any
    perturbations give one); residual: (objective - lower_bound) / objective; converged:
    residual <= the requested tolerance.
    """

    a: np.ndarray
    objective: float
    objective_start: float
    lower_bound: float
    iterations: int
    converged: bool
    residual: float


def pgd_adversarial_training(
    theta,
    activation,
    x,
    y,
    eps: float,
    c: float,
    a0: np.ndarray,
    *,
    steps: int = TRUE_AT_STEPS,
    tol: float = TRUE_AT_TOL,
    pgd_steps: int = PGD_STEPS,
    restarts: int = 1,
    seed: int = 0,
) -> PgdTrainingResult:
    """min_a R(a), R(a) = (1/n) sum_i max_{||delta|| <= eps} (y_i - f_a(x_i + delta))^2 + c||a||^2.

    R is convex in a. At a_k, PGD finds delta_i^+ and delta_i^- maximising and minimising
    f_{a_k}(x_i + delta); with m_i, h_i the half sum and half difference of the features at
    x_i + delta_i^+-, the maximum over these two cuts of (y_i - a^T phi)^2 is
    (|y_i - m_i^T a| + |h_i^T a|)^2: a model of R that is below R everywhere and exact at a_k. Its
    minimiser a_hat (`solve_sample_norms` with rank-one maps, certified by its duality gap) gives
    a descent direction a_hat - a_k and the lower bound model(a_hat) <= min R; a backtracking
    line search on R (Armijo on the predicted decrease) gives a_{k+1}; when it fails because PGD
    found better maxima at the trial points than at a_k, R(a_k) and its cuts are refreshed from
    them (at most TRUE_AT_REFRESHES times). Stops when
    (R(a_k) - model(a_hat)) / R(a_k) <= tol. Needs N <= n when c = 0 (the model's
    M' = H^T diag(tau) H / n must be positive definite). R is evaluated by PGD, a lower estimate.
    """
    n, big_n = len(y), len(a0)
    if c == 0.0 and big_n > n:
        raise ValueError(
            f"true adversarial training with lam = 0 needs N <= n (got N={big_n}, n={n})"
        )
    d = theta.shape[1]
    pgd = dict(steps=pgd_steps, restarts=restarts, seed=seed)

    def cuts(a, starts):
        (dp, fp), (dm, fm) = extreme_perturbations(
            theta, activation, a, x, eps, starts=starts, **pgd
        )
        value = float(np.mean(np.maximum((y - fp) ** 2, (y - fm) ** 2)) + c * (a @ a))
        return value, (dp, dm)

    a = np.asarray(a0, dtype=float).copy()
    value, starts = cuts(a, [])
    start_value, residual, bound, refreshes = value, np.inf, -np.inf, 0
    for it in range(1, steps + 1):
        plus = activation((x + starts[0]) @ theta.T / np.sqrt(d))
        minus = activation((x + starts[1]) @ theta.T / np.sqrt(d))
        h = 0.5 * (plus - minus)
        model = solve_sample_norms(
            0.5 * (plus + minus), y, RankOneGradients(h), DenseM(h.T @ h / n), eps=1.0, c=c
        )
        if not model.converged:
            return PgdTrainingResult(a, value, start_value, bound, it, False, residual)
        bound = max(bound, model.objective)
        residual = (value - bound) / value
        if residual <= tol:
            return PgdTrainingResult(a, value, start_value, bound, it, True, residual)
        t = 1.0
        for _ in range(TRUE_AT_BACKTRACKS):
            trial_value, trial_starts = cuts(a + t * (model.a - a), [starts])
            if trial_value <= value - TRUE_AT_ARMIJO * t * (value - model.objective):
                break
            t *= 0.5
        else:
            # PGD found better maxima near a than at a itself: refresh R(a) and its cuts.
            refreshed, refreshed_starts = cuts(a, [starts, trial_starts])
            if refreshes == TRUE_AT_REFRESHES or refreshed <= value:
                return PgdTrainingResult(a, value, start_value, bound, it, False, residual)
            refreshes += 1
            value, starts = refreshed, refreshed_starts
            continue
        a, value, starts = a + t * (model.a - a), trial_value, trial_starts
    return PgdTrainingResult(a, value, start_value, bound, steps, False, (value - bound) / value)
