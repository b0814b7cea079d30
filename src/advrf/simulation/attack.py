"""Attacks on the trained nonlinear model f_a(x) = <a, sigma(Theta x / sqrt d)> (spec 2 and 3.1).

- First-order attack (closed form, per-sample exact gradient):
      delta = -eps sign(r) grad / ||grad||,  r = y - f_a(x),
      grad = Theta^T (sigma'(Theta x / sqrt d) * a) / sqrt d,
  the maximiser of the linearised loss (|r| + eps ||grad||)^2.
- PGD: projected gradient ascent of (y - f_a(x + delta))^2 on the l2 ball of radius eps, normalised
  steps of size PGD_STEP_FACTOR * eps / steps, from the first-order attack and from random points
  on the sphere of radius eps, keeping the best point met per sample.

All computations are numpy with the analytic gradient, in chunks of CHUNK samples.
"""

from __future__ import annotations

import numpy as np

PGD_STEPS = 20
PGD_RESTARTS = 3  # random starts in addition to the first-order attack
PGD_STEP_FACTOR = 2.5
CHUNK = 1024
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
