"""Sweeps: the product of parameter grids, computed by theory and/or simulation, stored row by row.

    units = sweep_units(axes, theory=True, simulate=True, d=[300], seeds=3)
    report = run_sweep("results/run", units, workers=2)       # or scheduler="tcp://host:8786"
    table = read_results("results/run")

The axes are the model's parameters (PARAMETERS, docs/conventions.md) and, for the simulations,
any field of `advrf.settings.SimulationSettings` but seeds (SIMULATION_OPTIONS: d, n_test,
variant, attack, inputs, population, and every option added there later):
`Axis("attack", ("first-order", "pgd"))` sweeps the attack like a parameter. Every unit is a job
(advrf.experiments.jobs) and becomes one row of the store (advrf.experiments.store), written as
soon as its task returns (advrf.experiments.runner). Running the same sweep again computes only
the rows that are missing; a grid with new values computes only the new rows.

Failed points. A point whose computation raises (the theory or the training does not converge, a
LinAlgError inside the simulator, ...) is stored as a row with status "failed", its message in
`error` and no result fields. It is not computed again on the next run (its failure is
deterministic) unless `retry_failed=True` (`advrf sweep --retry-failed`). Every failed row of the
requested grid, new or from an earlier run, is listed in the report; `advrf sweep` prints them and
exits with status 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from advrf.experiments.jobs import Job, SimulationJob, TheoryJob
from advrf.experiments.keys import key_hash
from advrf.experiments.methods import DEFAULT_METHODS, Methods
from advrf.experiments.runner import Runner, SweepReport
from advrf.experiments.store import Store
from advrf.experiments.units import (
    OPTION_DEFAULTS,
    PARAMETERS,
    SIMULATION,
    SIMULATION_FIELDS,
    SIMULATION_OPTIONS,
)
from advrf.grid import Axis, points
from advrf.problem import Problem
from advrf.settings import SimulationSettings

OPTION_COLUMNS = tuple(name for name in OPTION_DEFAULTS if name not in SIMULATION_FIELDS)
KEY_COLUMNS = ("method", *PARAMETERS, *SIMULATION_FIELDS, *OPTION_COLUMNS)
META_COLUMNS = ("instance_seed", "status", "error")
TAIL_COLUMNS = ("advrf_version", "wall_time", "key")
REQUIRED = ("psi1", "psi2", "eps")  # the parameters of Problem without a default
SORT_COLUMNS = ("method", *PARAMETERS, "d", "variant", *OPTION_COLUMNS, "n_test", "seed")

__all__ = ["SweepReport", "read_results", "run_sweep", "sweep_units", "tidy"]


def sweep_units(
    axes: Sequence[Axis],
    *,
    theory: bool = True,
    simulate: bool = False,
    d: Sequence[int] = (),
    seeds: Any = 0,
    n_test: int | None = None,
    variants: Sequence[str] = ("exact",),
) -> list[Job]:
    """The jobs of the product of `axes` (PARAMETERS; SIMULATION_OPTIONS for the simulations).

    Theory: one job per point. Simulation: one per point, combination of the simulation axes
    and seed (`seeds`: a count k for 0..k-1, or a list). `d`, `n_test`, `variants` are the
    simulation axes d, n_test, variant when those are not among `axes`. Duplicate jobs are kept
    once. Every point is validated by Problem, every simulation setting by SimulationSettings
    (errors name the parameter).
    """
    if not theory and not simulate:
        raise ValueError("choose at least one method: theory and/or simulation")
    names = [axis.name for axis in axes]
    for name in names:
        if name not in PARAMETERS and name not in SIMULATION_OPTIONS:
            raise ValueError(
                f"unknown parameter {name!r}; sweepable: {', '.join(PARAMETERS)}, and for "
                f"simulations {', '.join(SIMULATION_OPTIONS)}"
            )
    if len(set(names)) != len(names):
        raise ValueError(f"a parameter is given twice: {', '.join(names)}")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ValueError(f"missing parameter(s) without default: {', '.join(missing)}")
    problem_axes = [axis for axis in axes if axis.name in PARAMETERS]
    settings: list[SimulationSettings] = []
    if simulate:
        option_axes = [axis for axis in axes if axis.name in SIMULATION_OPTIONS]
        given = {axis.name for axis in option_axes}
        shorthands = {"d": tuple(d), "n_test": (n_test,), "variant": tuple(variants)}
        for name, values in shorthands.items():
            if name not in given:
                option_axes.append(Axis(name, values))
        if not next(axis for axis in option_axes if axis.name == "d").values:
            raise ValueError("a simulation needs at least one dimension d")
        option_axes.sort(key=lambda axis: SIMULATION_OPTIONS.index(axis.name))
        settings = [
            SimulationSettings(seeds=seeds, **combination) for combination in points(option_axes)
        ]
    units: dict[str, Job] = {}
    for point in points(problem_axes):
        problem = Problem(**point)
        candidates: list[Job] = [TheoryJob(problem)] if theory else []
        candidates += [
            SimulationJob(problem, setting.with_(seeds=(seed,)))
            for setting in settings
            for seed in setting.seeds
        ]
        for unit in candidates:
            units.setdefault(key_hash(unit.key), unit)
    return list(units.values())


def run_sweep(
    out: str | Path,
    units: Sequence[Job],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    methods: Methods = DEFAULT_METHODS,
    retry_failed: bool = False,
    progress: bool | None = None,
    csv: bool = False,
    other_versions: str = "keep",
) -> SweepReport:
    """Compute the units missing from the store `out` and store each row as it finishes.

    workers: local processes (1 = this process); scheduler: a Dask scheduler address (overrides
    workers). progress: advrf.progress's policy (False: none). csv: also write
    out/results.csv with the whole table. See the module docstring for failed points.
    other_versions: "keep" or "recompute" rows stored by another advrf version (Runner.run).
    """
    runner = Runner(workers=workers, scheduler=scheduler, methods=methods, progress=progress)
    report = runner.run(
        out, units, retry_failed=retry_failed, label="advrf sweep", other_versions=other_versions
    )
    if csv:
        store = Store(out)
        store.export_csv(tidy(store.read()))
    return report


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in a fixed order (key, meta, results, tail) and rows sorted by key columns.

    A simulation row written before an option existed (no value in its column) gets the option's
    default, which is what it was computed with.
    """
    if frame.empty:
        return frame
    if "method" in frame.columns:
        simulation = frame["method"] == SIMULATION
        for name in OPTION_COLUMNS:
            if name in frame.columns and frame.loc[simulation, name].isna().any():
                frame = frame.copy()
                frame.loc[simulation & frame[name].isna(), name] = OPTION_DEFAULTS[name]
    head = [c for c in (*KEY_COLUMNS, *META_COLUMNS) if c in frame.columns]
    tail = [c for c in TAIL_COLUMNS if c in frame.columns]
    results = sorted(c for c in frame.columns if c not in head and c not in tail)
    frame = frame[head + results + tail]
    order = [c for c in SORT_COLUMNS if c in frame.columns]
    return frame.sort_values(order, na_position="first", kind="mergesort").reset_index(drop=True)


def read_results(out: str | Path) -> pd.DataFrame:
    """The tidy table of a results directory: one row per point, seed and method."""
    return tidy(Store(out, create=False).read())


def filter_rows(frame: pd.DataFrame, where: Mapping[str, Any]) -> pd.DataFrame:
    """Rows whose column equals each value of `where` (floats compared to 1e-9 relative)."""
    mask = pd.Series(True, index=frame.index)
    for name, value in where.items():
        if name not in frame.columns:
            raise ValueError(
                f"no column {name!r} in the results; columns: {', '.join(frame.columns)}"
            )
        column = frame[name]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            numbers = pd.to_numeric(column, errors="coerce").astype(float)
            mask &= (numbers - value).abs() <= 1e-9 * max(abs(value), 1.0)
        else:
            mask &= column.astype(str) == str(value)
    return frame[mask]
