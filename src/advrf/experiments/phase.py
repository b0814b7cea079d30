"""One cell of `advrf reproduce phase-diagram`: the trivial phase, the curse and the gain of
adversarial over standard training at one (activation, psi2, eps = eps_test, noise); the maps are
defined in advrf.experiments.reproductions.phase_diagram. `PhaseCell` is its job (a stored row
of kind "phase_cell"), `phase_cell` the computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from advrf.experiments.analysis import PSI1_LOG_TOL, local_extremum
from advrf.experiments.jobs import Job
from advrf.experiments.methods import Methods, PointFailure, TheoryMethod, warm_then_cold
from advrf.experiments.units import problem_columns
from advrf.problem import Problem

PSI1_MIN, PSI1_MAX = 0.1, 1000.0  # the widths of each cell (log grid), and psi1 = inf
PSI1_POINTS = 41  # log grid of psi1 per cell (the minimum is then refined)
GAIN_PSI1 = 10.0  # width of the comparison of the recipes
PHASE_KIND = "phase_cell"


def _first_crossing(fun: Any, psi1: Any, values: Any) -> float | None:
    """The psi1 where `values` (fun along the grid) first become negative, refined by Brent's
    root search on fun (log psi1); the largest psi1 when none is, None when the first is."""
    negative = np.flatnonzero(np.asarray(values) < 0)
    if len(negative) == 0:
        return float(psi1[-1])
    i = int(negative[0])
    if i == 0:
        return None
    try:
        root = brentq(
            lambda x: fun(math.exp(x)),
            math.log(psi1[i - 1]), math.log(psi1[i]), xtol=PSI1_LOG_TOL,
        )  # fmt: skip
    except ValueError:  # a failed point in the bracket: the grid bound
        return float(psi1[i])
    return float(math.exp(root))


def phase_cell(problem: Problem, theory: TheoryMethod, psi1_points: int) -> dict[str, Any]:
    """The maps (i)-(iii) of the module docstring at one (activation, psi2, eps, noise)."""
    from advrf.theory.optimize import best_recipe

    eps = problem.eps
    psi1 = np.geomspace(PSI1_MIN, PSI1_MAX, psi1_points)
    rows, start, failures = [], None, 0
    for value in psi1:
        point = problem.with_(psi1=float(value), lam=0.0)
        fields, state, error = warm_then_cold(partial(theory, point), start)
        if error is not None:
            failures += 1
            continue
        start = state
        rows.append({**point.to_dict(), **fields})
    if not rows:
        raise PointFailure(f"the theory failed on every psi1 of the cell ({problem})")
    curve = pd.DataFrame(rows).sort_values("psi1")

    def eps_minus_eps_c(width: float) -> float:
        fields, _, error = warm_then_cold(partial(theory, problem.with_(psi1=width)), None)
        return math.nan if error is not None else eps - float(fields["eps_c"])

    grid_psi1 = curve["psi1"].to_numpy()
    eps_c = curve["eps_c"].to_numpy(dtype=float)
    trivial_below = _first_crossing(eps_minus_eps_c, grid_psi1, eps - eps_c)
    lowest = local_extremum(curve, "robust_error", "min", theory, problem.psi2)
    wide, _, error = warm_then_cold(partial(theory, problem.with_(psi1=math.inf)), None)
    if error is not None:
        raise PointFailure(f"psi1 = inf: {error}")
    at_inf = float(wide["robust_error"])
    hurts = lowest["value"] < at_inf  # else no finite width beats psi1 = inf: no curse
    adversarial = best_recipe(problem, eps, eps=eps)
    standard = adversarial.standard_training
    gain = standard.robust_error - adversarial.best.robust_error
    return {
        "psi1_trivial_below": trivial_below,
        "eps_c_increasing": bool(np.all(np.diff(eps_c) >= 0)),
        "eps_c_at_psi1_min": float(eps_c[0]),
        "psi1_star": lowest["psi1"] if hurts else math.inf,
        "min_robust_error": min(lowest["value"], at_inf),
        "robust_error_at_psi1_inf": at_inf,
        "curse": at_inf - lowest["value"] if hurts else 0.0,
        "gain_psi1": GAIN_PSI1,
        "adversarial_robust_error": adversarial.best.robust_error,
        "adversarial_lam": adversarial.best.lam,
        "standard_robust_error": standard.robust_error,
        "standard_lam": standard.lam,
        "gain": gain,
        "relative_gain": gain / standard.robust_error,
        "recipes_converged": adversarial.converged,
        "null_risk": problem.null_risk,
        "theory_failures": failures,
    }


@dataclass(frozen=True)
class PhaseCell(Job):
    """One cell of the phase diagram (`phase_cell`), keyed by its parameters (psi1 and lam
    are those of the maps, not of the cell) and the constants of the computation."""

    problem: Problem
    psi1_points: int = PSI1_POINTS
    kind: ClassVar[str] = PHASE_KIND
    seed_column: ClassVar[bool] = False

    @cached_property
    def columns(self) -> dict[str, Any]:
        out = {"method": PHASE_KIND, **problem_columns(self.problem)}
        for name in ("psi1", "lam", "eps_test"):
            out.pop(name)
        return out

    @cached_property
    def key(self) -> dict[str, Any]:
        key = {k: v for k, v in self.columns.items() if k != "method"}
        key.update(
            psi1_min=PSI1_MIN, psi1_max=PSI1_MAX, psi1_points=self.psi1_points, gain_psi1=GAIN_PSI1
        )
        return key

    def compute(self, methods: Methods, start: Any = None) -> tuple[dict[str, Any], Any]:
        return phase_cell(self.problem, methods.theory, self.psi1_points), None
