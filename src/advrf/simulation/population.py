"""The exact population standard error of a trained a (Gaussian inputs): no test set.

For x ~ N(0, I_d) and ||theta_j|| = sqrt(d), the preactivations u_j = theta_j . x / sqrt(d) are
standard Gaussians with correlations rho_jk = theta_j . theta_k / d, so Mehler's formula gives

    K_jk = E sigma(u_j) sigma(u_k) = sum_{l >= 0} c_l^2 rho_jk^l   (j != k),   K_jj = E sigma(G)^2,
    c_l  = E[sigma(G) He_l(G)] / sqrt(l!)                          (normalised Hermite coefficients)

and Stein's lemma gives E[<beta, x> sigma(u_j)] = mu1 <beta, theta_j> / sqrt(d). With
y = <beta, x> + tau g and w = Theta^T a / sqrt(d):

    E_std(a) = ||beta||^2 + tau^2 - 2 mu1 <beta, w> + a^T K a.

The series is summed to the degree L at which its remainder, bounded by
max|rho|^(L+1) * sum_{l > L} c_l^2 per entry, moves E_std by less than `tol` (||beta||^2 + tau^2);
off-diagonal correlations are O(d^(-1/2)), so L is about 15 at d = 1000. Memory is bounded by
computing K in blocks of rows.
"""

from __future__ import annotations

import numpy as np

from advrf.activations import Activation, gaussian_expectation

MAX_DEGREE = 60
BLOCK_ROWS = 1024
SERIES_TOL = 1e-12


def hermite_coefficients(activation: Activation, degree: int) -> np.ndarray:
    """c_l = E[sigma(G) He_l(G)] / sqrt(l!) for l = 0..degree, by the activation's quadrature."""

    def normalised_hermite(t: np.ndarray, order: int) -> np.ndarray:
        # h_0 = 1, h_1 = t, h_{k+1} = (t h_k - sqrt(k) h_{k-1}) / sqrt(k + 1)
        previous, current = np.zeros_like(t), np.ones_like(t)
        for k in range(order):
            previous, current = current, (t * current - np.sqrt(k) * previous) / np.sqrt(k + 1)
        return current

    return np.array(
        [
            gaussian_expectation(
                lambda t, order=order: activation(t) * normalised_hermite(t, order),
                activation.kinks,
            )
            for order in range(degree + 1)
        ]
    )


def mehler_kernel(coefficients2: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """sum_l coefficients2[l] rho^l elementwise (Horner)."""
    out = np.full_like(rho, coefficients2[-1])
    for c2 in coefficients2[-2::-1]:
        out *= rho
        out += c2
    return out


def population_standard_error(
    theta: np.ndarray,
    beta: np.ndarray,
    noise: float,
    activation: Activation,
    a: np.ndarray,
    *,
    tol: float = SERIES_TOL,
) -> float | np.ndarray:
    """E_std(a) = ||beta||^2 + tau^2 - 2 mu1 <beta, w> + a^T K a (module docstring), exactly.

    a of shape (N,) gives a float; a of shape (N, k) gives the k errors, sharing one kernel.
    Raises ValueError when the rows of Theta are not of norm sqrt(d), or when no degree up to
    MAX_DEGREE brings the series remainder under tol (d too small for the correlations).
    """
    big_n, d = theta.shape
    norms2 = np.einsum("ij,ij->i", theta, theta) / d
    if not np.allclose(norms2, 1.0, rtol=0.0, atol=1e-10):
        raise ValueError("population errors need rows of Theta of norm sqrt(d)")
    coefficients = hermite_coefficients(activation, MAX_DEGREE)
    coefficients2 = coefficients**2
    second = gaussian_expectation(lambda t: activation(t) ** 2, activation.kinks)
    # tails[L] >= sum_{l > L} c_l^2, with room for the quadrature's round-off
    tails = np.maximum(second - np.cumsum(coefficients2), 0.0) + 1e-14 * second
    single = a.ndim == 1
    a = a.reshape(big_n, -1)
    scale = float(beta @ beta) + noise**2
    l1 = float(np.abs(a).sum(axis=0).max())
    budget = tol * scale / max(l1 * l1, np.finfo(float).tiny)
    quadratic = second * np.einsum("jk,jk->k", a, a)
    # a^T K a over the pairs j != k: each block of rows against itself and, twice, against the
    # rows after it (K is symmetric), so only half of the N x N correlations are computed
    for start in range(0, big_n, BLOCK_ROWS):
        rows = slice(start, min(start + BLOCK_ROWS, big_n))
        rho = theta[rows] @ theta[start:].T / d
        diagonal = (np.arange(rho.shape[0]), np.arange(rho.shape[0]))
        rho[diagonal] = 0.0
        rho_max = float(np.abs(rho).max()) if big_n > 1 else 0.0
        bounds = rho_max ** np.arange(1, MAX_DEGREE + 2) * tails
        within = np.nonzero(bounds <= budget)[0]
        if within.size == 0:
            raise ValueError(
                f"population errors: the Hermite series of the kernel does not reach {tol:g} "
                f"by degree {MAX_DEGREE} at d = {d} (max |theta_j . theta_k| / d = "
                f"{rho_max:.3g}); use a larger d"
            )
        kernel = mehler_kernel(coefficients2[: within[0] + 1], rho)
        kernel[diagonal] = 0.0
        kernel[:, rho.shape[0] :] *= 2.0
        quadratic += np.einsum("jk,jk->k", a[rows], kernel @ a[start:])
    w = theta.T @ a / np.sqrt(d)
    errors = scale - 2.0 * coefficients[1] * (beta @ w) + quadratic
    return float(errors[0]) if single else errors
