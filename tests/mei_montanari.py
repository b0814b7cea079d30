"""Mei & Montanari (2019), ridge random-features regression: the published asymptotic test error.

Test-only and independent of advrf.theory (it shares nothing with it). Their setting: features
sigma(<theta_a, x> / sqrt d), ridge penalty (N lam / d) ||a||^2 = psi1 lam ||a||^2 (advrf's),
target with linear part of norm F1, no nonlinear part (F_star = 0), noise tau. With
zeta = mu1 / mu_star and lam_bar = lam / mu_star^2 (their Definition 1 and Theorem 1):

    nu1 = psi1 (-xi - nu2 - zeta^2 nu2 / (1 - zeta^2 nu1 nu2))^-1,
    nu2 = psi2 (-xi - nu1 - zeta^2 nu1 / (1 - zeta^2 nu1 nu2))^-1,
    at xi = i sqrt(psi1 psi2 lam_bar),
    chi = nu1 nu2,

    E0 = -chi^5 zeta^6 + 3 chi^4 zeta^4 + (psi1 psi2 - psi2 - psi1 + 1) chi^3 zeta^6
         - 2 chi^3 zeta^4 - 3 chi^3 zeta^2 + (psi1 + psi2 - 3 psi1 psi2 + 1) chi^2 zeta^4
         + 2 chi^2 zeta^2 + chi^2 + 3 psi1 psi2 chi zeta^2 - psi1 psi2,
    E1 = psi2 chi^3 zeta^4 - psi2 chi^2 zeta^2 + psi1 psi2 chi zeta^2 - psi1 psi2,
    E2 = chi^5 zeta^6 - 3 chi^4 zeta^4 + (psi1 - 1) chi^3 zeta^6 + 2 chi^3 zeta^4 + 3 chi^3 zeta^2
         + (-psi1 - 1) chi^2 zeta^4 - 2 chi^2 zeta^2 - chi^2,

    R = F1^2 E1/E0 + tau^2 E2/E0   (excess test error),   advrf's E_std = R + tau^2.

Ridgeless limit (their Theorem 3): the same polynomials at
chi = -[(psi zeta^2 - zeta^2 - 1) + sqrt((psi zeta^2 - zeta^2 - 1)^2 + 4 zeta^2 psi)] / (2 zeta^2),
psi = min(psi1, psi2).

With xi = i x (x > 0) the solution is nu1 = i u, nu2 = i v with u, v > 0 solving
u = psi1 / (x + v + zeta^2 v / (1 + zeta^2 u v)),  v = psi2 / (x + u + zeta^2 u / (1 + zeta^2 u v)),
so chi = -u v.
"""

from __future__ import annotations

import math

from scipy import optimize


def _polynomials(chi: float, zeta: float, psi1: float, psi2: float) -> tuple[float, float, float]:
    z2, z4, z6 = zeta**2, zeta**4, zeta**6
    p = psi1 * psi2
    e0 = (
        -(chi**5) * z6
        + 3 * chi**4 * z4
        + (p - psi2 - psi1 + 1) * chi**3 * z6
        - 2 * chi**3 * z4
        - 3 * chi**3 * z2
        + (psi1 + psi2 - 3 * p + 1) * chi**2 * z4
        + 2 * chi**2 * z2
        + chi**2
        + 3 * p * chi * z2
        - p
    )
    e1 = psi2 * chi**3 * z4 - psi2 * chi**2 * z2 + p * chi * z2 - p
    e2 = (
        chi**5 * z6
        - 3 * chi**4 * z4
        + (psi1 - 1) * chi**3 * z6
        + 2 * chi**3 * z4
        + 3 * chi**3 * z2
        + (-psi1 - 1) * chi**2 * z4
        - 2 * chi**2 * z2
        - chi**2
    )
    return e0, e1, e2


def chi_ridge(zeta: float, psi1: float, psi2: float, lam_bar: float) -> float:
    """chi = nu1 nu2 at xi = i sqrt(psi1 psi2 lam_bar) (lam_bar > 0)."""
    x = math.sqrt(psi1 * psi2 * lam_bar)
    z2 = zeta**2

    def equations(logs):
        u, v = math.exp(logs[0]), math.exp(logs[1])
        d = 1 + z2 * u * v
        return [
            math.log(u) - math.log(psi1 / (x + v + z2 * v / d)),
            math.log(v) - math.log(psi2 / (x + u + z2 * u / d)),
        ]

    start = [math.log(psi1 / (x + 1)), math.log(psi2 / (x + 1))]
    sol = optimize.root(equations, start, method="hybr", options={"xtol": 1e-14})
    if max(abs(r) for r in equations(sol.x)) > 1e-12:
        raise RuntimeError(f"Mei-Montanari fixed point not found: {sol.message}")
    return -math.exp(sol.x[0] + sol.x[1])


def chi_ridgeless(zeta: float, psi1: float, psi2: float) -> float:
    psi = min(psi1, psi2)
    z2 = zeta**2
    t = psi * z2 - z2 - 1
    return -(t + math.sqrt(t * t + 4 * z2 * psi)) / (2 * z2)


def excess_risk(mu1: float, mu_star: float, psi1: float, psi2: float, lam: float, signal: float,
                noise: float) -> float:  # fmt: skip
    """R_RF = F1^2 B + tau^2 V (F_star = 0); lam = 0 is the ridgeless limit."""
    zeta = mu1 / mu_star
    if lam > 0:
        chi = chi_ridge(zeta, psi1, psi2, lam / mu_star**2)
    else:
        chi = chi_ridgeless(zeta, psi1, psi2)
    e0, e1, e2 = _polynomials(chi, zeta, psi1, psi2)
    return signal**2 * e1 / e0 + noise**2 * e2 / e0


def standard_error(mu1: float, mu_star: float, psi1: float, psi2: float, lam: float, signal: float,
                   noise: float) -> float:  # fmt: skip
    """advrf's E_std (test noise included) = R_RF + tau^2."""
    return excess_risk(mu1, mu_star, psi1, psi2, lam, signal, noise) + noise**2
