"""Analysis helpers shared by the reproductions: pure functions of a theory method and a curve.

- `optimal_ridge(problem, theory)`: the ridge lam* >= 0 (or inf) minimising the theory's E_rob.
- `local_extremum(curve, column, kind, theory)`: the interior peak or the minimum of a column
  along a theory curve in psi1, refined between its grid neighbours by a bounded search.

`theory` is a callable (problem, start) -> (result fields, warm-start state), e.g.
advrf.experiments.methods.solve_theory; a point where it fails (any exception) counts as +inf
(FAILED_PENALTY inside a scalar search).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from advrf.experiments.methods import DEFAULT_METHODS, TheoryMethod, warm_then_cold
from advrf.problem import Problem

RIDGE_LAM_MIN, RIDGE_LAM_MAX, RIDGE_LAM_COUNT = 1e-5, 10.0, 13  # scan of lam before refinement
RIDGE_LOG_TOL = 0.01  # tolerance of the refinement in log(lam)
RIDGE_SEARCH = "scan-brent-inf/2"  # names the search in the stored rows' keys (change it with it)
FAILED_PENALTY = 1e10  # what a failed evaluation counts for inside a scalar search
PSI1_LOG_TOL = 1e-3  # tolerance of the peak / minimum refinement in log(psi1)


def ridge_search_key() -> dict[str, Any]:
    """What identifies the ridge search in a row's key (its name and its constants)."""
    return {
        "search": RIDGE_SEARCH,
        "lam_min": RIDGE_LAM_MIN,
        "lam_max": RIDGE_LAM_MAX,
        "lam_count": RIDGE_LAM_COUNT,
        "log_tol": RIDGE_LOG_TOL,
    }


def optimal_ridge(
    problem: Problem, theory: TheoryMethod = DEFAULT_METHODS.theory
) -> dict[str, Any]:
    """The ridge lam* >= 0 minimising the theory's E_rob at `problem` (its own lam is ignored).

    E_rob is evaluated at lam = 0 and on RIDGE_LAM_COUNT log-spaced lam in [RIDGE_LAM_MIN,
    RIDGE_LAM_MAX] (from the largest, each warm-started from the nearest lam solved, cold when
    that fails); the best of these is refined by a bounded Brent search on log(lam) between its
    grid neighbours (to RIDGE_LOG_TOL). lam* = 0 when lam = 0 is at least as good as every lam
    tried. When the best lam is the largest one (`at_upper_bound`), the limit lam -> inf (the
    zero predictor, E_rob = E_std = F1^2 + tau^2) is a candidate too, and lam* = inf when it is
    better. A lam where the theory fails counts as +inf and is counted in `failures`.
    """
    evaluations: dict[float, tuple[float, float]] = {}
    states: dict[float, Any] = {}
    failures = 0

    def evaluate(lam: float) -> float:
        nonlocal failures
        if lam in evaluations:
            return evaluations[lam][0]
        positive = [k for k in states if k > 0]
        start = None
        if lam > 0 and positive:
            start = states[min(positive, key=lambda k: abs(math.log(k / lam)))]
        fields, state, error = warm_then_cold(partial(theory, problem.with_(lam=lam)), start)
        if error is not None:
            failures += 1
            evaluations[lam] = (math.inf, math.inf)
            return math.inf
        states[lam] = state
        evaluations[lam] = (float(fields["robust_error"]), float(fields["standard_error"]))
        return evaluations[lam][0]

    grid = np.geomspace(RIDGE_LAM_MAX, RIDGE_LAM_MIN, RIDGE_LAM_COUNT)  # from the largest
    values = [evaluate(float(lam)) for lam in grid]
    at_zero = evaluate(0.0)
    best = int(np.argmin(values))
    if math.isfinite(values[best]):
        low = grid[best + 1] if best + 1 < len(grid) else grid[-1] / 10.0
        high = grid[max(best - 1, 0)]
        minimize_scalar(
            lambda log_lam: min(evaluate(float(np.exp(log_lam))), FAILED_PENALTY),
            bounds=(math.log(low), math.log(high)),
            method="bounded",
            options={"xatol": RIDGE_LOG_TOL},
        )
    lam_opt = min(evaluations, key=lambda lam: (evaluations[lam][0], lam))
    robust, standard = evaluations[lam_opt]
    beyond = lam_opt >= RIDGE_LAM_MAX
    if beyond and problem.null_risk < robust:
        # the limit lam -> inf is the zero predictor: E_rob = E_std = F1^2 + tau^2
        lam_opt, robust, standard = math.inf, problem.null_risk, problem.null_risk
    return {
        "lam_opt": lam_opt,
        "robust_error_opt": robust,
        "standard_error_opt": standard,
        "robust_error_lam0": at_zero,
        "standard_error_lam0": evaluations[0.0][1],
        "evaluations": len(evaluations),
        "failures": failures,
        "at_upper_bound": bool(beyond),
    }


def curve_problem(row: Any) -> Problem:
    """The Problem of one row of a theory table (a built-in activation, by name)."""
    return Problem(
        psi1=float(row["psi1"]),
        psi2=float(row["psi2"]),
        eps=float(row["eps"]),
        eps_test=float(row["eps_test"]),
        lam=float(row["lam"]),
        signal=float(row["signal"]),
        noise=float(row["noise"]),
        activation=str(row["activation"]),
    )


def local_extremum(
    curve: Any, column: str, kind: str, theory: TheoryMethod, psi2: float
) -> dict[str, Any] | None:
    """The interior local maximum nearest psi2 (kind="peak") or the global minimum (kind="min")
    of `column` along a theory curve (a DataFrame sorted by psi1, one parameter point per row
    but psi1), refined by a bounded search on log(psi1) between the grid neighbours.

    Returns {"psi1", "value", "refined"}; the refined point replaces the grid point only when it
    is at least as extreme (lower for a minimum, higher for a peak). None: no interior peak.
    """
    psi1 = curve["psi1"].to_numpy(dtype=float)
    values = curve[column].to_numpy(dtype=float)
    if kind == "peak":
        interior = np.flatnonzero((values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])) + 1
        if interior.size == 0:
            return None
        index = int(interior[np.argmin(np.abs(np.log(psi1[interior] / psi2)))])
    else:
        index = int(np.nanargmin(values))
    result = {"psi1": float(psi1[index]), "value": float(values[index]), "refined": False}
    if 0 < index < len(psi1) - 1:
        sign = -1.0 if kind == "peak" else 1.0  # minimise sign * value
        base = curve_problem(curve.iloc[index])

        def objective(log_psi1: float) -> float:
            point = base.with_(psi1=float(np.exp(log_psi1)))
            fields, _, error = warm_then_cold(partial(theory, point), None)
            return FAILED_PENALTY if error is not None else sign * float(fields[column])

        found = minimize_scalar(
            objective,
            bounds=(math.log(psi1[index - 1]), math.log(psi1[index + 1])),
            method="bounded",
            options={"xatol": PSI1_LOG_TOL},
        )
        if found.success and math.isfinite(found.fun) and found.fun <= sign * result["value"]:
            result = {
                "psi1": float(np.exp(found.x)),
                "value": sign * float(found.fun),
                "refined": True,
            }
    return result
