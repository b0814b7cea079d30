"""Attacks on the trained nonlinear model f_a(x) = <a, sigma(Theta x / sqrt d)> (spec 2 and 3.1).

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

PGD_STEPS = 20
PGD_RESTARTS = 3  # random starts in addition to the first-order attack
PGD_STEP_FACTOR = 2.5
CHUNK = 1024
TRUE_AT_STEPS = 30  # outer steps of true (PGD) adversarial training
TRUE_AT_TOL = 1e-6  # relative decrease of R that stops it
TRUE_AT_DAMPING = 1e-3  # proximal damping of its Gauss-Newton steps, relative to mean eigenvalue
TRUE_AT_BACKTRACKS = 20
ATTACKS = ("first-order", "pgd")


def check_attack(attack: object) -> str:
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {', '.join(ATTACKS)}; got {attack!r}")
    return str(attack)


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


@dataclass(frozen=True, eq=False)
class PgdTrainingResult:
    """True adversarial training of the nonlinear model (PGD inner maximum).

    objective: the robust training objective R(a) of the returned a, objective_start: R at the
    starting point (both with the inner maximum estimated by PGD, warm-started); residual: relative
    decrease of R over the last accepted step; converged: residual <= the requested tolerance.
    """

    a: np.ndarray
    objective: float
    objective_start: float
    iterations: int
    converged: bool
    residual: float


def _robust_training_loss(theta, activation, a, x, y, eps, c, deltas, pgd):
    """R(a) = mean max_delta (y - f_a(x + delta))^2 + c ||a||^2 by PGD from `deltas` and from the
    first-order attack at a (the better of the two runs per sample)."""
    first, _ = first_order_attack(theta, activation, a, x, y, eps)
    d1, l1 = pgd_attack(theta, activation, a, x, y, eps, start=first, **pgd)
    if deltas is not None:
        d2, l2 = pgd_attack(theta, activation, a, x, y, eps, start=deltas, **pgd)
        better = l2 > l1
        d1[better], l1[better] = d2[better], l2[better]
    return float(l1.mean() + c * (a @ a)), d1


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

    R is convex in a (a maximum of convex quadratics); its gradient at a is that of the quadratic
    at the maximising perturbations (Danskin). Each step: PGD inner maximum (warm-started), then
    the Gauss-Newton direction p = -(Phi_d^T Phi_d / n + (c + rho) I)^{-1} grad / 2 with Phi_d
    the features at the perturbed inputs and rho = TRUE_AT_DAMPING * trace(Phi_d^T Phi_d / n) / N,
    then a backtracking line search on R. Meant to start from the first-order solution a0.
    """
    pgd = dict(steps=pgd_steps, restarts=restarts, seed=seed)
    n = len(y)
    d = theta.shape[1]
    a = np.asarray(a0, dtype=float).copy()
    value, deltas = _robust_training_loss(theta, activation, a, x, y, eps, c, None, pgd)
    start_value, residual = value, np.inf
    for it in range(1, steps + 1):
        feats = activation((x + deltas) @ theta.T / np.sqrt(d))
        r = y - feats @ a
        grad_half = -feats.T @ r / n + c * a
        gram = feats.T @ feats / n
        rho = TRUE_AT_DAMPING * np.trace(gram) / len(a)
        gram[np.diag_indices_from(gram)] += c + rho
        direction = -np.linalg.solve(gram, grad_half)
        t = 1.0
        for _ in range(TRUE_AT_BACKTRACKS):
            trial = a + t * direction
            trial_value, trial_deltas = _robust_training_loss(
                theta, activation, trial, x, y, eps, c, deltas, pgd
            )
            if trial_value < value:
                break
            t *= 0.5
        else:
            return PgdTrainingResult(a, value, start_value, it, residual <= tol, residual)
        residual = (value - trial_value) / value
        a, value, deltas = trial, trial_value, trial_deltas
        if residual <= tol:
            return PgdTrainingResult(a, value, start_value, it, True, residual)
    return PgdTrainingResult(a, value, start_value, steps, False, residual)
