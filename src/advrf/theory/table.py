"""The theory on a parameter grid, as a pandas DataFrame (one row per point, in grid order)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from advrf.problem import Problem
from advrf.theory.batch import solve_batch
from advrf.theory.solve import RESULT_COLUMNS, TheoryError

if TYPE_CHECKING:
    import pandas as pd

# The grid order of `advrf theory`: the product in this order, the last varying fastest.
GRID_ORDER = ("activation", "psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise")
REQUIRED = ("psi1", "psi2", "eps")


def _values(name: str, value: Any) -> tuple[Any, ...]:
    """A value, or a sequence of values (list, tuple, numpy array), as a tuple of values."""
    if isinstance(value, str) or not isinstance(value, Iterable | np.ndarray):
        return (value,)
    values = (
        tuple(np.asarray(value).ravel().tolist()) if isinstance(value, np.ndarray) else tuple(value)
    )
    if not values:
        raise ValueError(f"{name}: an empty sequence of values")
    return values


def solve_grid(**grids: Any) -> pd.DataFrame:
    """Solve the theory at every point of the product of `grids` (`solve_batch`).

    grids: parameter names of `Problem` (psi1, psi2, eps required; eps_test, lam, signal, noise,
    activation optional, with Problem's defaults: eps_test follows eps) mapped to a value or a
    sequence of values, e.g. solve_grid(psi1=np.logspace(-1, 2, 50), psi2=2, eps=[0, 0.1],
    activation="tanh"). Rows in grid order (activation, psi1, psi2, eps, eps_test, lam, signal,
    noise, the last varying fastest, like `advrf theory`); columns: the point's parameters
    (activation by name), the fields of `TheoryResult.to_dict()`, `status` ("ok" or "failed")
    and `error` (the TheoryError message of a failed point, else None; its result columns are
    empty). A bad parameter value raises ValueError naming the parameter.
    """
    import pandas as pd

    unknown = sorted(set(grids) - set(GRID_ORDER))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(GRID_ORDER)}")
    missing = [name for name in REQUIRED if name not in grids]
    if missing:
        raise ValueError(f"missing parameter(s) {', '.join(missing)}")
    names = [name for name in GRID_ORDER if name in grids]
    axes = [_values(name, grids[name]) for name in names]
    problems = [
        Problem(**dict(zip(names, combo, strict=True))) for combo in itertools.product(*axes)
    ]
    rows = []
    for problem, result in zip(problems, solve_batch(problems), strict=True):
        row: dict[str, Any] = problem.to_dict()
        if isinstance(result, TheoryError):
            row.update({key: None for key in RESULT_COLUMNS})
            row.update(status="failed", error=str(result))
        else:
            row.update(result.to_dict(), status="ok", error=None)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*GRID_ORDER, *RESULT_COLUMNS, "status", "error"])
    frame["error"] = pd.Series([row["error"] for row in rows], index=frame.index, dtype=object)
    return frame
