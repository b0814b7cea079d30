"""Adversarially trained linear regression with isotropic Gaussian features: a direct CGMT scalar
problem, derived and solved independently of advrf.theory (test-only).

Model: x ~ N(0, I_d), y = <beta, x> + tau g, ||beta|| = F1, n = psi2 d, and
theta_hat = argmin (1/n) sum_i (|y_i - <theta, x_i>| + eps ||theta||)^2 (no ridge).

Write theta = beta + w with w = p e_beta + r v, v a unit vector orthogonal to beta, r >= 0. The
residuals are tau g_i - <x_i, w>. Gordon's auxiliary problem (CGMT), after optimising the
directions, is the scalar

    min_{p, r >= 0}  max_{b >= 0}  min_{gam > 0}  E e(q; gam, c) + gam b^2 / 2 - b r / sqrt(psi2),

q ~ N(0, tau^2 + p^2 + r^2), c = eps sqrt((F1 + p)^2 + r^2), e the Moreau envelope (parameter
gam) of r -> (|r| + c)^2 evaluated by adaptive quadrature of the prox (closed form), not by
advrf's erf formulas. The stationary point is found by MINPACK's hybrid method on central
differences of this function. Outputs: E_std = tau^2 + p^2 + r^2, s = ||theta||.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize

QUAD_TOL = 1e-13
FD_STEP = 1e-6


def envelope_mean(Q: float, gam: float, c: float) -> float:  # noqa: N803
    """E min_r [(|r| + c)^2 + (q - r)^2 / (2 gam)], q ~ N(0, Q), by quadrature."""
    sq = math.sqrt(Q)
    kink = 2.0 * gam * c / sq  # |q| = 2 gam c in units of sqrt(Q)

    def integrand(t: float) -> float:
        q = sq * t
        if abs(q) <= 2.0 * gam * c:
            r = 0.0
        else:
            r = (q - 2.0 * gam * c * math.copysign(1.0, q)) / (1.0 + 2.0 * gam)
        return ((abs(r) + c) ** 2 + (q - r) ** 2 / (2.0 * gam)) * math.exp(-0.5 * t * t)

    inner, _ = integrate.quad(integrand, 0.0, kink, epsabs=QUAD_TOL, epsrel=QUAD_TOL)
    outer, _ = integrate.quad(integrand, kink, np.inf, epsabs=QUAD_TOL, epsrel=QUAD_TOL)
    return 2.0 * (inner + outer) / math.sqrt(2.0 * math.pi)  # the integrand is even


def scalar_objective(x, psi2: float, eps: float, signal: float, noise: float) -> float:
    p, r, b, gam = x
    Q = noise**2 + p * p + r * r  # noqa: N806
    c = eps * math.sqrt((signal + p) ** 2 + r * r)
    return envelope_mean(Q, gam, c) + 0.5 * gam * b * b - b * r / math.sqrt(psi2)


def solve_linear(psi2: float, eps: float, signal: float, noise: float, start) -> dict[str, float]:
    """Stationary point of `scalar_objective` from start = (p, r, b, gam)."""

    def gradient(x):
        g = np.empty(4)
        for j in range(4):
            h = FD_STEP * max(abs(x[j]), 1e-3)
            up, dn = np.array(x, float), np.array(x, float)
            up[j] += h
            dn[j] -= h
            g[j] = (
                scalar_objective(up, psi2, eps, signal, noise)
                - scalar_objective(dn, psi2, eps, signal, noise)
            ) / (2 * h)
        return g

    sol = optimize.root(gradient, np.asarray(start, float), method="hybr", options={"xtol": 1e-13})
    res = float(np.max(np.abs(gradient(sol.x))))
    if res > 1e-8:
        raise RuntimeError(f"linear CGMT stationary point not found: {sol.message} ({res:.2g})")
    p, r, _, _ = sol.x
    return {
        "standard_error": noise**2 + p * p + r * r,
        "grad_norm": math.sqrt((signal + p) ** 2 + r * r),
        "p": float(p),
        "r": float(abs(r)),
    }
