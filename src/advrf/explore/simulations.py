"""Simulation points of a results store that lie on a view: seed mean and standard error.

Rows of `advrf.experiments.read_results(DIR)` with method "simulation" and status "ok" whose
parameters other than x equal the view's (floats to 1e-9 relative; with eps_test tied, rows with
eps_test = eps) and whose x lies in the view's range, grouped by x and the simulation settings
(d, variant, n_test): mean over seeds and sem = sample standard deviation / sqrt(seeds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from advrf.activations import get_activation
from advrf.experiments import read_results
from advrf.experiments.figures import simulation_means
from advrf.experiments.sweep import filter_rows
from advrf.experiments.units import OK, SIMULATION
from advrf.explore.view import View

SETTINGS = ("d", "variant", "n_test")
COLUMNS = ("x", "d", "variant", "n_test", "robust_error_mean", "robust_error_sem",
           "standard_error_mean", "standard_error_sem", "seeds")  # fmt: skip
REL_TOL = 1e-9


def load(results: str | Path) -> pd.DataFrame:
    """The simulation rows of a results directory (ValueError when it is not one)."""
    table = read_results(results)
    if table.empty or "method" not in table.columns:
        return pd.DataFrame()
    rows = table[table["method"] == SIMULATION]
    if "status" in rows.columns:
        rows = rows[rows["status"] == OK]
    return rows.reset_index(drop=True)


def points(rows: pd.DataFrame, view: View) -> pd.DataFrame:
    """The seed-averaged simulation points on the view (columns COLUMNS, sorted by x)."""
    empty = pd.DataFrame({name: [] for name in COLUMNS})
    if rows.empty:
        return empty
    where = {k: v for k, v in view.fixed().items() if k != "eps_test"}
    where["activation"] = get_activation(view.activation).name
    if not view.tied and view.x != "eps_test":
        where["eps_test"] = view.eps_test
    rows = filter_rows(rows, where)
    if view.tied:
        eps = rows["eps"].astype(float)
        rows = rows[(rows["eps_test"].astype(float) - eps).abs() <= REL_TOL * eps.abs().clip(1.0)]
    x = rows[view.x].astype(float)
    lo, hi = sorted((view.lo, view.hi))
    rows = rows[(x >= lo * (1 - REL_TOL)) & (x <= hi * (1 + REL_TOL))]
    if rows.empty:
        return empty
    groups = [view.x, *(s for s in SETTINGS if s in rows.columns)]
    stats = simulation_means(rows, groups).rename(
        columns={
            view.x: "x",
            "robust_error_count": "seeds",
        }
    )
    for name in SETTINGS:
        if name not in stats.columns:
            stats[name] = np.nan
    return stats[list(COLUMNS)].sort_values("x", kind="mergesort").reset_index(drop=True)
