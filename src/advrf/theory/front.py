"""The robustness-accuracy front: (E_std, E_rob at eps_test) (docs/theory.md, section 15).

Three fronts for one setting (activation, psi1, psi2, signal, noise) and test radius eps_test:

* "finite": the Pareto-optimal (E_std, E_rob) among the recipes (eps, lam) of adversarial
  training at the setting's psi1, psi2 (certified theory on a grid of recipes, non-dominated
  points kept; each row carries its eps and lam).
* "infinite_samples": psi2 -> inf at the same width. The trained predictor is then the generalised
  ridge path a = (K + rho M + eta I)^-1 K a*, and the Pareto-optimal part of it is eta = 0,
  0 <= rho <= rho*: with b(l) = k(l) + rho m(l),
      E_std = Q0 - 2 P int l/b + P int l k/b^2,     s^2 = P int l m/b^2
  (rho* minimises E_rob; rows carry rho). At psi1 = inf it is the population front.
* "population": psi1, psi2 -> inf: all linear predictors f = v^T x. Only v = c beta is Pareto
  optimal, with
      E_std = (1 - c)^2 F1^2 + tau^2,     s = c F1,
  c* <= c <= 1 (c* minimises E_rob; rows carry c).

Everywhere E_rob = E_std + 2 sqrt(2/pi) eps_test sqrt(E_std) s + eps_test^2 s^2 (spec 3.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from advrf.problem import Problem
from advrf.theory.equations import Coefficients, L
from advrf.theory.optimize import eps_upper
from advrf.theory.solve import TheoryError, robust_error, solve

FINITE_EPS_POINTS = 40  # log grid of eps in [1e-4 eps_hi, eps_hi], plus eps = 0
FINITE_LAM_POINTS = 40  # log grid of lam in [1e-8, 1e4], plus lam = 0
REFINED_POINTS = 25  # per parameter, on the box of the coarse front
CURVE_POINTS = 60  # rows of the infinite-sample and population fronts
RHO_MAX = 1e8  # the infinite-sample path is searched for rho* in [0, RHO_MAX]
KINDS = ("finite", "infinite_samples", "population")


@dataclass(frozen=True)
class FrontPoint:
    """One row of a front: kind, the two errors, and the parameter that reaches it."""

    kind: str
    standard_error: float
    robust_error: float
    eps: float | None = None
    lam: float | None = None
    rho: float | None = None
    c: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "standard_error": self.standard_error,
            "robust_error": self.robust_error,
        }
        names = {"finite": ("eps", "lam"), "infinite_samples": ("rho",), "population": ("c",)}
        for name in names[self.kind]:
            out[name] = getattr(self, name)
        return out


@dataclass(frozen=True)
class Front:
    """The three fronts of a setting at eps_test, each sorted by increasing E_std."""

    setting: Problem
    eps_test: float
    finite: tuple[FrontPoint, ...]
    infinite_samples: tuple[FrontPoint, ...]
    population: tuple[FrontPoint, ...]
    evaluations: int
    failures: int

    def rows(self) -> list[dict[str, Any]]:
        s = self.setting
        inputs = {
            "activation": s.activation.name,
            "psi1": s.psi1,
            "psi2": s.psi2,
            "signal": s.signal,
            "noise": s.noise,
            "eps_test": self.eps_test,
        }
        return [{**inputs, **p.to_dict()} for kind in KINDS for p in getattr(self, kind)]


def population_errors(setting: Problem, eps_test: float, c: float) -> tuple[float, float]:
    """(E_std, E_rob) of the linear predictor f = c beta^T x: (1 - c)^2 F1^2 + tau^2 and
    E_std + 2 sqrt(2/pi) eps_test sqrt(E_std) c F1 + eps_test^2 c^2 F1^2."""
    f1 = setting.signal
    q = (1.0 - c) ** 2 * f1 * f1 + setting.noise**2
    return q, robust_error(q, c * f1, eps_test)


def infinite_sample_errors(setting: Problem, eps_test: float, rho: float) -> tuple[float, float]:
    """(E_std, E_rob) of a = (K + rho M)^-1 K a* (rho = inf: a = 0), b = k + rho m:
    E_std = Q0 - 2 P int l/b + P int l k/b^2, s^2 = P int l m/b^2. At psi1 = inf: the population
    predictor c = 1/(1 + rho)."""
    if math.isinf(setting.psi1):
        return population_errors(setting, eps_test, 1.0 / (1.0 + rho))
    co = Coefficients.from_problem(setting.with_(eps=0.0, lam=0.0))
    if rho == math.inf or co.P == 0.0:
        return co.Q0, co.Q0
    a1, a0 = co.mu1sq * (1.0 + rho), co.mustar2 + rho * co.nu2
    sp = co.spectrum
    q = co.Q0 - co.P * (2.0 * sp.integrate(L, a1, a0, 1) - sp.integrate(co.lk, a1, a0, 2))
    s2 = co.P * sp.integrate(co.lm, a1, a0, 2)
    return q, robust_error(q, math.sqrt(s2), eps_test)


def _pareto(points: list[FrontPoint]) -> tuple[FrontPoint, ...]:
    """The non-dominated points (smaller E_std and E_rob are better), by increasing E_std."""
    kept: list[FrontPoint] = []
    best_rob = math.inf
    for p in sorted(points, key=lambda p: (p.standard_error, p.robust_error)):
        if p.robust_error < best_rob:
            kept.append(p)
            best_rob = p.robust_error
    return tuple(kept)


def _finite(setting: Problem, eps_test: float) -> tuple[list[FrontPoint], int, int]:
    """Certified theory on {0} U log-grid(eps) x {0} U log-grid(lam), then on a finer grid over
    the box (one coarse step wider) that holds the non-dominated points; failures skipped. The
    zero predictor (lam = inf) is the point (Q0, Q0)."""
    eps_hi = eps_upper(setting)
    q0 = setting.null_risk
    points = [FrontPoint("finite", q0, q0, eps=0.0, lam=math.inf)]
    coarse_eps = np.geomspace(1e-4 * eps_hi, eps_hi, FINITE_EPS_POINTS)
    coarse_lam = np.geomspace(1e-8, 1e4, FINITE_LAM_POINTS)
    counts = _evaluate_grid(
        setting, eps_test, np.r_[0.0, coarse_eps], np.r_[coarse_lam[::-1], 0.0], points
    )
    kept = [p for p in _pareto(points) if p.lam != math.inf]
    eps_values = _refined(
        [p.eps for p in kept],
        coarse_eps[1] / coarse_eps[0],
        eps_hi,  # type: ignore[misc]
    )
    lam_values = _refined([p.lam for p in kept], coarse_lam[1] / coarse_lam[0], math.inf)  # type: ignore[misc]
    more = _evaluate_grid(setting, eps_test, eps_values, lam_values[::-1], points)
    return points, counts[0] + more[0], counts[1] + more[1]


def _refined(values: list[float], ratio: float, upper: float) -> np.ndarray:
    """REFINED_POINTS log-spaced values over [min / ratio, max * ratio] of the positive values
    (capped at upper), plus 0 when 0 is among them."""
    positive = [v for v in values if v > 0.0]
    out = []
    if positive:
        hi = min(max(positive) * ratio, upper)
        out = list(np.geomspace(min(positive) / ratio, hi, REFINED_POINTS))
    if 0.0 in values:
        out.insert(0, 0.0)
    return np.asarray(out)


def _evaluate_grid(
    setting: Problem,
    eps_test: float,
    eps_values: np.ndarray,
    lam_values: np.ndarray,
    points: list[FrontPoint],
) -> tuple[int, int]:
    """Append the certified (E_std, E_rob) of every (eps, lam) to points (warm starts along
    lam); returns (evaluations, failures)."""
    evaluations = failures = 0
    for eps in eps_values:
        previous = None
        for lam in lam_values:
            evaluations += 1
            problem = setting.with_(eps=float(eps), lam=float(lam), eps_test=eps_test)
            try:
                previous = solve(problem, start=previous)
            except TheoryError:
                previous = None
                failures += 1
                continue
            points.append(
                FrontPoint(
                    "finite",
                    previous.standard_error,
                    previous.robust_error,
                    eps=float(eps),
                    lam=float(lam),
                )
            )
    return evaluations, failures


def _curve(kind: str, errors: Any, values: np.ndarray, name: str) -> tuple[FrontPoint, ...]:
    """The rows of a one-parameter front at the given parameter values (non-dominated kept)."""
    points = []
    for v in values:
        q, r = errors(float(v))
        points.append(FrontPoint(kind, q, r, **{name: float(v)}))
    return _pareto(points)


def front(setting: Problem, eps_test: float) -> Front:
    """The three fronts of `setting` (its eps and lam ignored) at eps_test (module docstring)."""
    eps_test = float(eps_test)
    finite, evaluations, failures = _finite(setting, eps_test)

    def pop(c: float) -> tuple[float, float]:
        return population_errors(setting, eps_test, c)

    def inf(rho: float) -> tuple[float, float]:
        return infinite_sample_errors(setting, eps_test, rho)

    found = optimize.minimize_scalar(
        lambda c: pop(c)[1], bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-12}
    )
    c_star = float(found.x) if found.fun <= pop(0.0)[1] else 0.0
    population = _curve("population", pop, np.linspace(c_star, 1.0, CURVE_POINTS), "c")
    if math.isinf(setting.psi1):  # the same front, rho = (1 - c) / c
        infinite = tuple(
            FrontPoint("infinite_samples", p.standard_error, p.robust_error, rho=(1 - p.c) / p.c)
            for p in population
            if p.c is not None and p.c > 0.0
        )
    else:
        u = np.linspace(0.0, _argmin_u(inf), CURVE_POINTS)  # rho* = u* / (1 - u*)
        infinite = _curve("infinite_samples", inf, u / (1.0 - u), "rho")
    return Front(
        setting=setting.with_(eps=0.0, lam=0.0, eps_test=eps_test),
        eps_test=eps_test,
        finite=_pareto(finite),
        infinite_samples=infinite,
        population=population,
        evaluations=evaluations,
        failures=failures,
    )


def _argmin_u(errors: Any) -> float:
    """u* = rho* / (1 + rho*), rho* minimising E_rob along the infinite-sample path (grid in
    u = rho / (1 + rho) in [0, RHO_MAX / (1 + RHO_MAX)], then bounded Brent)."""
    u_max = RHO_MAX / (1.0 + RHO_MAX)
    grid = np.linspace(0.0, u_max, 201)
    values = [errors(u / (1.0 - u))[1] for u in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(
        lambda u: errors(u / (1.0 - u))[1],
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-13},
    )
    return float(found.x) if found.fun <= values[i] else float(grid[i])
