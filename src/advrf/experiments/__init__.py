"""Experiments: sweeps over parameter grids, a resumable results store, figures, reproductions.

Layering: uses advrf.theory and advrf.simulation only through advrf.experiments.methods (imported
lazily), so that worker processes load only what their tasks need. The public names below are
loaded on first use.

Jobs (one row each: TheoryJob, SimulationJob, RidgeJob) are computed by one Runner (local
processes or Dask, one warm-then-cold policy) into a Store; reproductions are a registry
(advrf.experiments.reproductions: `reproduce(name, out)`, `available()`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Store": "store",
    "StoreError": "store",
    "Methods": "methods",
    "PointFailure": "methods",
    "Job": "jobs",
    "TheoryJob": "jobs",
    "SimulationJob": "jobs",
    "RidgeJob": "jobs",
    "Runner": "runner",
    "sweep_units": "sweep",
    "run_sweep": "sweep",
    "read_results": "sweep",
    "SweepReport": "runner",
    "plot_errors": "figures",
    "optimal_ridge": "analysis",
    "local_extremum": "analysis",
    "reproduce": "reproductions",
    "reproduce_overparam": "reproductions.overparam",
    "ConvergenceStudy": "convergence",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"advrf.experiments.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'advrf.experiments' has no attribute {name!r}")
