"""The most robust training recipe for a test radius (docs/theory.md, section 14).

For a setting (activation, psi1, psi2, signal, noise) and a test radius eps_test, the recipe is a
training radius eps in [0, inf) and a ridge lam in {0} U (0, inf) U {inf}; lam = inf is the zero
predictor, whose errors are the null risk Q0 = F1^2 + tau^2 (so is every eps >= eps_c, the trivial
phase). The objective is the certified theory's

    E_rob(eps, lam) = Q + 2 sqrt(2/pi) eps_test sqrt(Q) s + eps_test^2 s^2      (at eps_test).

Every value the search uses comes from `advrf.theory.solve` (certified); a point where the theory
fails counts as +inf and is never returned. The search: a log grid in eps below eps_c and in lam,
plus the edges eps = 0 (standard training; at lam = 0 the minimum-norm interpolator, which is not
the eps -> 0+ limit) and lam = 0, then a bounded local refinement (Brent on the edges, Nelder-Mead
inside) from each grid local minimum. The flat regime (lam = 0, N > n: every small eps > 0 gives the
minimum-||a||_M interpolator) is reported by `Recipe.flat`; the kink at eps_c and the boundary
optima are handled by the edges and the zero predictor being explicit candidates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from advrf.problem import Problem
from advrf.theory.equations import Coefficients
from advrf.theory.solve import TheoryError, TheoryResult, solve
from advrf.theory.wide import linear_threshold

EDGE_POINTS = 30  # log grid of the one-dimensional searches (eps = 0, lam = 0, fixed eps / lam)
EPS_POINTS = 16  # log grid of eps in [EPS_LOW_RATIO eps_hi, eps_hi] inside the square
LAM_POINTS = 14  # log grid of lam in [LAM_LOW, LAM_HIGH] inside the square
EPS_LOW_RATIO = 1e-4
LAM_LOW, LAM_HIGH = 1e-8, 1e4
LOCAL_MINIMA = 3  # grid local minima refined per one-dimensional search
LOCAL_MINIMA_2D = 2  # and per two-dimensional search
X_TOL = 1e-9  # tolerance of the refinements in log(eps), log(lam)
F_TOL = 1e-14  # relative tolerance of Nelder-Mead in E_rob
MAX_NELDER_MEAD = 600
# A recipe within this relative E_rob of a simpler one (the zero predictor, then standard
# training) is reported as the simpler one: at psi1 = inf, for instance, interpolating
# adversarial training with a small ridge reaches exactly the E_rob of standard ridge training.
TIE_RTOL = 1e-12
# regimes in which the errors do not depend on eps near the returned point
FLAT_REGIMES = frozenset({"min_M_norm", "wide_null", "trivial"})


@dataclass(frozen=True)
class Recipe:
    """One training recipe and its certified errors at eps_test.

    eps, lam: the recipe (both None for the zero predictor, lam = inf); result: the certified
    theory at it (None for the zero predictor); flat: the errors do not depend on eps near it
    (lam = 0 interpolation plateau, psi1 = inf without ridge, or the trivial phase).
    """

    eps: float | None
    lam: float | None
    robust_error: float
    standard_error: float
    result: TheoryResult | None = field(repr=False)

    @property
    def zero_predictor(self) -> bool:
        return self.lam is None

    @property
    def flat(self) -> bool:
        return self.result is not None and self.result.regime in FLAT_REGIMES


@dataclass(frozen=True)
class BestRecipe:
    """The best recipe for a setting and eps_test, beside the baselines (module docstring).

    fixed: "" (both searched), "eps" (best lam at the given eps), "lam" (best eps at the given
    lam) or "both" (the given recipe evaluated). standard_training: eps = 0, lam tuned;
    adversarial_training: eps = eps_test, lam = 0 (None where the theory fails there).
    evaluations: theory calls; converged / message: whether every local refinement met its
    tolerance (the returned point is certified either way).
    """

    setting: Problem
    eps_test: float
    best: Recipe
    standard_training: Recipe
    adversarial_training: Recipe | None
    fixed: str
    evaluations: int
    converged: bool
    message: str

    @property
    def null_risk(self) -> float:
        return self.setting.null_risk

    def to_dict(self) -> dict[str, Any]:
        s, b = self.setting, self.best
        adv = self.adversarial_training
        return {
            "activation": s.activation.name,
            "psi1": s.psi1,
            "psi2": s.psi2,
            "signal": s.signal,
            "noise": s.noise,
            "eps_test": self.eps_test,
            "fixed": self.fixed or None,
            "eps": b.eps,
            "lam": b.lam,
            "robust_error": b.robust_error,
            "standard_error": b.standard_error,
            "zero_predictor": b.zero_predictor,
            "flat_in_eps": b.flat,
            "regime": b.result.regime if b.result is not None else "zero_predictor",
            "standard_training_robust_error": self.standard_training.robust_error,
            "standard_training_lam": self.standard_training.lam,
            "adversarial_training_robust_error": adv.robust_error if adv else None,
            "null_risk": self.null_risk,
            "evaluations": self.evaluations,
            "converged": self.converged,
            "message": self.message,
        }


def eps_upper(setting: Problem) -> float:
    """The eps above which the errors are Q0: eps_c (finite psi1), or eps_w at psi1 = inf
    (`advrf.theory.wide.linear_threshold`; the linear part of the predictor vanishes)."""
    co = Coefficients.from_problem(setting.with_(eps=0.0, lam=0.0))
    return linear_threshold(co) if math.isinf(setting.psi1) else co.eps_c()


class _Search:
    """Certified evaluations of E_rob(eps, lam) at eps_test, cached; the best one kept."""

    def __init__(self, setting: Problem, eps_test: float) -> None:
        self.base = setting.with_(eps=0.0, lam=0.0, eps_test=eps_test)
        self.eps_test = eps_test
        q0 = setting.null_risk
        self.zero = Recipe(None, None, q0, q0, None)
        self.cache: dict[tuple[float, float], Recipe | None] = {}
        self.evaluations = 0
        self.failures: list[str] = []

    def recipe(self, eps: float, lam: float, start: TheoryResult | None = None) -> Recipe | None:
        if lam == math.inf:
            return self.zero
        key = (float(eps), float(lam))
        if key not in self.cache:
            self.evaluations += 1
            problem = self.base.with_(eps=eps, lam=lam, eps_test=self.eps_test)
            try:
                result = solve(problem, start=start)
            except TheoryError as error:
                self.failures.append(str(error))
                self.cache[key] = None
            else:
                self.cache[key] = Recipe(
                    eps, lam, result.robust_error, result.standard_error, result
                )
        return self.cache[key]

    def value(self, eps: float, lam: float) -> float:
        r = self.recipe(eps, lam)
        return r.robust_error if r is not None else math.inf

    def best(self, keep: Callable[[tuple[float, float]], bool] = lambda _: True) -> Recipe:
        """The best certified point seen (among those `keep` accepts), or the zero predictor;
        ties go to the zero predictor."""
        found = self.zero
        for key, r in self.cache.items():
            if r is not None and keep(key) and r.robust_error < found.robust_error:
                found = r
        return found


def _local_minima(values: np.ndarray) -> list[int]:
    """Indices of the LOCAL_MINIMA lowest grid local minima (ties on plateaus kept once)."""
    n = len(values)
    candidates = [
        i
        for i in range(n)
        if math.isfinite(values[i])
        and (i == 0 or values[i] <= values[i - 1])
        and (i == n - 1 or values[i] <= values[i + 1])
    ]
    candidates.sort(key=lambda i: values[i])
    return candidates[:LOCAL_MINIMA]


def _refine_1d(fun: Callable[[float], float], grid: np.ndarray, values: np.ndarray) -> bool:
    """Brent (bounded) on log x between the neighbours of each grid local minimum."""
    ok = True
    for i in _local_minima(values):
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        if lo == hi:
            continue
        found = optimize.minimize_scalar(
            fun, bounds=(lo, hi), method="bounded", options={"xatol": X_TOL, "maxiter": 500}
        )
        ok = ok and bool(found.success)
    return ok


def _search_lam(search: _Search, eps: float) -> bool:
    """lam over {0} U [LAM_LOW, LAM_HIGH] U {inf} at fixed eps (log grid, then Brent)."""
    grid = np.linspace(math.log(LAM_LOW), math.log(LAM_HIGH), EDGE_POINTS)
    previous = None
    values = np.empty(len(grid))
    for i in range(len(grid) - 1, -1, -1):  # from heavy ridge down: warm starts
        r = search.recipe(eps, float(math.exp(grid[i])), start=previous)
        values[i] = r.robust_error if r is not None else math.inf
        previous = r.result if r is not None else None
    search.recipe(eps, 0.0)
    return _refine_1d(lambda t: search.value(eps, math.exp(t)), grid, values)


def _search_eps(search: _Search, lam: float, eps_hi: float) -> bool:
    """eps over {0} U [EPS_LOW_RATIO eps_hi, eps_hi] at fixed lam (above eps_hi: Q0)."""
    grid = np.linspace(math.log(EPS_LOW_RATIO * eps_hi), math.log(eps_hi), EDGE_POINTS)
    values = np.array([search.value(float(math.exp(t)), lam) for t in grid])
    search.recipe(0.0, lam)
    return _refine_1d(lambda t: search.value(math.exp(t), lam), grid, values)


def _search_both(search: _Search, eps_hi: float) -> bool:
    """Both edges (eps = 0: lam tuned; lam = 0: eps tuned), then the interior grid and
    Nelder-Mead in (log eps, log lam) from its LOCAL_MINIMA_2D lowest local minima."""
    ok = _search_lam(search, 0.0)
    ok = _search_eps(search, 0.0, eps_hi) and ok
    eps_grid = np.linspace(math.log(EPS_LOW_RATIO * eps_hi), math.log(eps_hi), EPS_POINTS)
    lam_grid = np.linspace(math.log(LAM_LOW), math.log(LAM_HIGH), LAM_POINTS)
    values = np.empty((len(eps_grid), len(lam_grid)))
    for i, te in enumerate(eps_grid):
        previous = None
        for j in range(len(lam_grid) - 1, -1, -1):
            r = search.recipe(float(math.exp(te)), float(math.exp(lam_grid[j])), start=previous)
            values[i, j] = r.robust_error if r is not None else math.inf
            previous = r.result if r is not None else None
    minima = []
    for i in range(len(eps_grid)):
        for j in range(len(lam_grid)):
            block = values[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2]
            if math.isfinite(values[i, j]) and values[i, j] <= block.min():
                minima.append((values[i, j], i, j))
    minima.sort()
    bounds = [(eps_grid[0], eps_grid[-1]), (lam_grid[0], lam_grid[-1])]
    for _, i, j in minima[:LOCAL_MINIMA_2D]:
        found = optimize.minimize(
            lambda x: search.value(math.exp(x[0]), math.exp(x[1])),
            x0=np.array([eps_grid[i], lam_grid[j]]),
            method="Nelder-Mead",
            bounds=bounds,
            options={
                "xatol": X_TOL,
                "fatol": F_TOL * values[i, j],
                "maxfev": MAX_NELDER_MEAD,
                "initial_simplex": _simplex(eps_grid, lam_grid, i, j),
            },
        )
        ok = ok and bool(found.success)
    return ok


def _simplex(eps_grid: np.ndarray, lam_grid: np.ndarray, i: int, j: int) -> np.ndarray:
    """A start simplex of one grid step around (i, j), inside the grid."""
    de = eps_grid[1] - eps_grid[0]
    dl = lam_grid[1] - lam_grid[0]
    x0 = np.array([eps_grid[i], lam_grid[j]])
    se = de if i + 1 < len(eps_grid) else -de
    sl = dl if j + 1 < len(lam_grid) else -dl
    return np.array([x0, x0 + [se, 0.0], x0 + [0.0, sl]])


def best_recipe(
    setting: Problem, eps_test: float, *, eps: float | None = None, lam: float | None = None
) -> BestRecipe:
    """The (eps, lam) minimising E_rob at eps_test for the setting (its psi1, psi2, signal,
    noise, activation; its own eps and lam are ignored), with the baselines.

    eps given: the best lam at that eps; lam given (inf allowed): the best eps at that lam; both:
    that recipe evaluated. Returns the best certified point found (module docstring).
    """
    eps_test = float(eps_test)
    search = _Search(setting, eps_test)
    eps_hi = eps_upper(setting)
    ok = _search_lam(search, 0.0)
    standard = search.best(lambda key: key[0] == 0.0)
    adversarial = search.recipe(eps_test, 0.0)
    if eps is None and lam is None:
        fixed = ""
        ok = _search_both(search, eps_hi) and ok
        best = search.best()
        for simpler in (search.zero, standard):
            if simpler.robust_error <= best.robust_error * (1.0 + TIE_RTOL):
                best = simpler
                break
    elif eps is not None and lam is None:
        fixed = "eps"
        ok = _search_lam(search, float(eps)) and ok
        best = search.best(lambda key: key[0] == float(eps))
    elif lam is not None and eps is None:
        fixed = "lam"
        if lam != math.inf:
            ok = _search_eps(search, float(lam), eps_hi) and ok
        best = search.best(lambda key: key[1] == float(lam))
    else:
        fixed = "both"
        found = search.recipe(float(eps), float(lam))  # type: ignore[arg-type]
        if found is None:
            raise TheoryError(search.failures[-1])
        best = found
    failed = len(search.failures)
    message = "converged" if ok else "a local refinement stopped before its tolerance"
    if failed:
        message += f"; the theory failed at {failed} of {search.evaluations} points (skipped)"
    return BestRecipe(
        setting=search.base,
        eps_test=eps_test,
        best=best,
        standard_training=standard,
        adversarial_training=adversarial,
        fixed=fixed,
        evaluations=search.evaluations,
        converged=ok,
        message=message,
    )
