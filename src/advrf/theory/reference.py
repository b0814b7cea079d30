"""The published statement (Hassani & Javanmard 2024, Thm 4.2; docs/theory.md 9), transcribed as is.

Independent of `equations` / `solve` on purpose: it shares no code with them except Problem.
Setting: relu_shifted (mu0 = 0, mu1 = 1/2, mu_star^2 = 1/4 - 1/(2 pi), nu^2 = 1/4), lam = 0,
||beta|| = signal = 1, eps > 0. With S the Marchenko-Pastur transform

    S(z; psi1) = (1 - psi1 - z - sqrt((1 - psi1 - z)^2 - 4 psi1 z)) / (-2 psi1 z),   z < 0,
    sigma2 = tau^2 + 1 - psi1 (1 + (1 - 2/pi) S(2/pi - 1; psi1)),

the errors come from the saddle point, max over (b, gam, t_q) >= 0 and min over
(alpha, t_g) >= 0, of

    R = t_q/(2 alpha) (tau^2 + 1 - sigma2) - alpha t_q/2 + b t_g psi2/2
        + b (sigma2 + alpha^2) / (2 (t_g + b))
        + 1{kappa > sqrt(2/pi)} b^2 (alpha^2 + sigma2) / (2 t_g (t_g + b))
          * (erf(nu/sqrt 2) - kappa nu)
        - (alpha/t_q) sup_{0 <= l < 1} [ (l psi1/2) { t_q^2/alpha^2 + b^2
              + ((t_q^2/alpha^2)(1 - 2l/pi) + (2/pi)(1 - l) b^2) S(2l/pi - 1; psi1) }
              - l gam^2 / (2 (1 - l)) ],

kappa = gam (t_g + b) / (eps b sqrt(alpha^2 + sigma2)), nu the root of
kappa - (b/t_g) nu - nu erf(nu/sqrt 2) - sqrt(2/pi) exp(-nu^2/2) = 0 (0 when kappa <= sqrt(2/pi)).
At the saddle, c = eps_test b nu / (eps t_g):

    E_std = alpha^2 + sigma2,   E_rob = (1 + c^2 + 2 sqrt(2/pi) c) (alpha^2 + sigma2).

The saddle is found by a generic root finder on the finite-difference gradient of R (the sup over
l by bounded Brent maximisation, nu by Brent's root) and certified by second-order conditions of
max_{b, gam, t_q} min_{alpha, t_g}: the Hessian block of the min variables is positive definite
and its Schur complement in the max variables is negative definite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from advrf.problem import Problem

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SUP_XATOL = 1e-12  # absolute tolerance on the maximiser l of the inner sup
L_MAX = 1.0 - 1e-12  # the sup runs over [0, L_MAX]
GRADIENT_STEP = 1e-6  # relative step of the central differences of R
ROOT_TOL = 1e-12  # tolerance of the saddle-point root finder
# Variables of the statement: max over (b, gam, t_q), min over (alpha, t_g).


class ReferenceStatementError(ValueError):
    """The published statement could not be solved at a point."""


def mp_transform(z: float, psi1: float) -> float:
    """S(z; psi1) exactly as printed (z < 0)."""
    a = 1.0 - psi1 - z
    return (a - math.sqrt(a * a - 4.0 * psi1 * z)) / (-2.0 * psi1 * z)


def sigma2(psi1: float, noise: float) -> float:
    """sigma2 = tau^2 + 1 - psi1 (1 + (1 - 2/pi) S(2/pi - 1; psi1))."""
    return (
        noise**2
        + 1.0
        - psi1 * (1.0 + (1.0 - 2.0 / math.pi) * mp_transform(2.0 / math.pi - 1.0, psi1))
    )


def nu_root(kappa: float, ratio: float) -> float:
    """Root nu >= 0 of kappa - ratio nu - nu erf(nu/sqrt 2) - sqrt(2/pi) exp(-nu^2/2).

    ratio = b / t_g. The left side decreases in nu, from kappa - sqrt(2/pi) at nu = 0.
    """
    if kappa <= SQRT_2_OVER_PI:
        return 0.0

    def f(nu: float) -> float:
        return (
            kappa
            - ratio * nu
            - nu * math.erf(nu / math.sqrt(2.0))
            - SQRT_2_OVER_PI * math.exp(-0.5 * nu * nu)
        )

    hi = kappa + 1.0
    while f(hi) > 0.0:
        hi *= 2.0
    return optimize.brentq(f, 0.0, hi, xtol=1e-15)


@dataclass(frozen=True)
class Reference:
    """The statement's ingredients at fixed (psi1, psi2, eps, tau)."""

    psi1: float
    psi2: float
    eps: float
    noise: float

    @property
    def sigma2(self) -> float:
        return sigma2(self.psi1, self.noise)

    def sup_term(self, b: float, gam: float, t_q: float, alpha: float) -> float:
        """sup over 0 <= l < 1 of the bracket (bounded Brent on -bracket)."""
        psi1 = self.psi1
        tt = (t_q / alpha) ** 2

        def bracket(l: float) -> float:  # noqa: E741 - the statement's symbol
            s = mp_transform(2.0 * l / math.pi - 1.0, psi1)
            inner = (
                tt
                + b * b
                + (tt * (1.0 - 2.0 * l / math.pi) + (2.0 / math.pi) * (1.0 - l) * b * b) * s
            )
            return 0.5 * l * psi1 * inner - l * gam * gam / (2.0 * (1.0 - l))

        res = optimize.minimize_scalar(
            lambda ell: -bracket(ell),
            bounds=(0.0, L_MAX),
            method="bounded",
            options={"xatol": SUP_XATOL},
        )
        return max(-res.fun, bracket(0.0))

    def value(self, x: Sequence[float]) -> float:
        """R(b, gam, t_q, alpha, t_g)."""
        b, gam, t_q, alpha, t_g = x
        sig2 = self.sigma2
        q = alpha * alpha + sig2
        r = t_q / (2.0 * alpha) * (self.noise**2 + 1.0 - sig2) - alpha * t_q / 2.0
        r += b * t_g * self.psi2 / 2.0 + b * q / (2.0 * (t_g + b))
        kappa = gam * (t_g + b) / (self.eps * b * math.sqrt(q))
        if kappa > SQRT_2_OVER_PI:
            nu = nu_root(kappa, b / t_g)
            r += b * b * q / (2.0 * t_g * (t_g + b)) * (math.erf(nu / math.sqrt(2.0)) - kappa * nu)
        r -= alpha / t_q * self.sup_term(b, gam, t_q, alpha)
        return r

    def gradient(self, x: Sequence[float]) -> np.ndarray:
        """Central differences of R (relative steps; the variables are positive)."""
        x = np.asarray(x, dtype=float)
        g = np.empty(5)
        for j in range(5):
            up, dn = x.copy(), x.copy()
            up[j] *= math.exp(GRADIENT_STEP)
            dn[j] *= math.exp(-GRADIENT_STEP)
            g[j] = (self.value(up) - self.value(dn)) / (up[j] - dn[j])
        return g

    def hessian(self, x: Sequence[float], step: float = 1e-4) -> np.ndarray:
        """Hessian of R (central differences of `gradient`, relative steps)."""
        x = np.asarray(x, dtype=float)
        h = np.empty((5, 5))
        for j in range(5):
            up, dn = x.copy(), x.copy()
            up[j] *= 1.0 + step
            dn[j] *= 1.0 - step
            h[:, j] = (self.gradient(up) - self.gradient(dn)) / (up[j] - dn[j])
        return 0.5 * (h + h.T)

    def errors(self, x: Sequence[float], eps_test: float | None = None) -> dict[str, float]:
        """E_std, E_rob and the gradient norm s at a saddle point x."""
        b, gam, t_q, alpha, t_g = x
        eps_test = self.eps if eps_test is None else eps_test
        q = alpha * alpha + self.sigma2
        kappa = gam * (t_g + b) / (self.eps * b * math.sqrt(q))
        nu = nu_root(kappa, b / t_g)
        c = eps_test * b * nu / (self.eps * t_g)
        return {
            "standard_error": q,
            "robust_error": (1.0 + c * c + 2.0 * SQRT_2_OVER_PI * c) * q,
            "grad_norm": b * nu / (self.eps * t_g) * math.sqrt(q),
        }


@dataclass(frozen=True)
class ReferenceResult:
    x: tuple[float, ...]
    standard_error: float
    robust_error: float
    grad_norm: float
    residual: float
    min_block_eig: float  # smallest eigenvalue of the Hessian block of the min variables (> 0)
    reduced_max_eig: float  # largest eigenvalue of the max variables' Schur complement (< 0)


def check_problem(problem: Problem) -> None:
    if problem.activation.name != "relu_shifted" or problem.lam != 0.0 or problem.signal != 1.0:
        raise ReferenceStatementError(
            "the published statement covers relu_shifted, lam = 0, signal = 1"
        )
    if problem.eps <= 0.0:
        raise ReferenceStatementError("the published statement needs eps > 0")


def solve_reference(problem: Problem, x0: Sequence[float]) -> ReferenceResult:
    """Saddle point of R from the start x0 = (b, gam, t_q, alpha, t_g) (all > 0)."""
    check_problem(problem)
    ref = Reference(problem.psi1, problem.psi2, problem.eps, problem.noise)

    def fun(u: np.ndarray) -> np.ndarray:
        return ref.gradient(np.exp(u))

    sol = optimize.root(
        fun, np.log(np.asarray(x0, dtype=float)), method="hybr", options={"xtol": ROOT_TOL}
    )
    x = np.exp(sol.x)
    res = float(np.max(np.abs(fun(sol.x))))
    if not sol.success and res > 1e-8:
        raise ReferenceStatementError(
            f"reference saddle not found: {sol.message} (residual {res:.2g})"
        )
    h = ref.hessian(x)
    # max over (b, gam, t_q) of min over (alpha, t_g): R convex in the min block, and the
    # function left after minimising it out, Hessian h_yy - h_yx h_xx^-1 h_xy, concave.
    schur = h[:3, :3] - h[:3, 3:] @ np.linalg.solve(h[3:, 3:], h[3:, :3])
    err = ref.errors(x, problem.eps_test)
    return ReferenceResult(
        x=tuple(float(v) for v in x),
        standard_error=err["standard_error"],
        robust_error=err["robust_error"],
        grad_norm=err["grad_norm"],
        residual=res,
        min_block_eig=float(np.min(np.linalg.eigvalsh(h[3:, 3:]))),
        reduced_max_eig=float(np.max(np.linalg.eigvalsh(schur))),
    )
