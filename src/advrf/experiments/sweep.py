"""Sweeps: the product of parameter grids, computed by theory and/or simulation, stored row by row.

    units = sweep_units(axes, theory=True, simulate=True, d=[300], seeds=3)
    report = run_sweep("results/run", units, workers=2)       # or scheduler="tcp://host:8786"
    table = read_results("results/run")

Every unit (one point, method and seed) becomes one row of the store (advrf.experiments.store),
written by this process as soon as its task returns. Running the same sweep again computes only
the rows that are missing; a grid with new values computes only the new rows.

Failed points. A point whose method raises PointFailure (the theory does not converge, training
does not converge) is stored as a row with status "failed", its message in `error` and no result
fields. It is not computed again on the next run (its failure is deterministic) unless
`retry_failed=True` (`advrf sweep --retry-failed`). Every failed row of the requested grid, new or
from an earlier run, is listed in the report; `advrf sweep` prints them and exits with status 1.
Any other exception is a bug: it stops the sweep, and the rows finished so far stay stored.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from advrf.experiments.keys import key_hash
from advrf.experiments.methods import DEFAULT_METHODS, Methods
from advrf.experiments.parallel import run_unordered
from advrf.experiments.store import Store
from advrf.experiments.units import (
    FAILED,
    PARAMETERS,
    SIMULATION,
    SIMULATION_FIELDS,
    THEORY,
    VARIANTS,
    Unit,
    execute,
    make_tasks,
)
from advrf.grid import Axis, points
from advrf.problem import Problem

KEY_COLUMNS = ("method", *PARAMETERS, *SIMULATION_FIELDS)
META_COLUMNS = ("instance_seed", "status", "error")
TAIL_COLUMNS = ("advrf_version", "wall_time", "key")
REQUIRED = ("psi1", "psi2", "eps")  # the parameters of Problem without a default
SORT_COLUMNS = ("method", *PARAMETERS, "d", "variant", "n_test", "seed")


def sweep_units(
    axes: Sequence[Axis],
    *,
    theory: bool = True,
    simulate: bool = False,
    d: Sequence[int] = (),
    seeds: int = 0,
    n_test: int | None = None,
    variants: Sequence[str] = ("exact",),
) -> list[Unit]:
    """The units of the product of `axes` (names from PARAMETERS; others keep Problem defaults).

    Theory: one unit per point. Simulation: one per point, d, variant and seed index 0..seeds-1.
    Duplicate points are kept once. Every point is validated here (errors name the parameter).
    """
    if not theory and not simulate:
        raise ValueError("choose at least one method: theory and/or simulation")
    for axis in axes:
        if axis.name not in PARAMETERS:
            raise ValueError(f"unknown parameter {axis.name!r}; sweepable: {', '.join(PARAMETERS)}")
    missing = [name for name in REQUIRED if name not in {axis.name for axis in axes}]
    if missing:
        raise ValueError(f"missing parameter(s) without default: {', '.join(missing)}")
    if simulate:
        if not d:
            raise ValueError("a simulation needs at least one dimension d")
        for value in d:
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"d (input dimension) must be an integer >= 1; got {value!r}")
        if isinstance(seeds, bool) or int(seeds) != seeds or seeds < 1:
            raise ValueError(
                f"seeds (number of seeds per point) must be an integer >= 1; got {seeds!r}"
            )
        for variant in variants:
            if variant not in VARIANTS:
                raise ValueError(f"variant must be one of {', '.join(VARIANTS)}; got {variant!r}")
    units: dict[str, Unit] = {}
    for point in points(axes):
        problem = Problem(**point)
        candidates = [Unit(THEORY, problem)] if theory else []
        if simulate:
            candidates += [
                Unit(SIMULATION, problem, int(dim), seed, n_test, variant)
                for dim in d
                for variant in variants
                for seed in range(int(seeds))
            ]
        for unit in candidates:
            units.setdefault(key_hash(unit.key), unit)
    return list(units.values())


@dataclass(frozen=True)
class SweepReport:
    """What a sweep did: rows requested, computed now, found already stored, and failed."""

    out: Path
    requested: int
    computed: int
    skipped: int
    failures: tuple[dict[str, Any], ...] = field(default=())
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "requested": self.requested,
            "computed": self.computed,
            "skipped": self.skipped,
            "failed": len(self.failures),
            "failures": list(self.failures),
            "seconds": self.seconds,
        }


def run_sweep(
    out: str | Path,
    units: Sequence[Unit],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    methods: Methods = DEFAULT_METHODS,
    retry_failed: bool = False,
    progress: bool | None = None,
    csv: bool = False,
) -> SweepReport:
    """Compute the units missing from the store `out` and store each row as it finishes.

    workers: local processes (1 = this process); scheduler: a Dask scheduler address (overrides
    workers). progress: a tqdm bar on stderr (None: only on a terminal). csv: also write
    out/results.csv with the whole table. See the module docstring for failed points.
    """
    started = time.perf_counter()
    store = Store(out)
    store.clean_temporary()
    stored = store.read()  # also checks every stored row: a corrupted file stops here
    status = dict(zip(stored["key"], stored.get("status", ()), strict=False))
    hashes = [key_hash(unit.key) for unit in units]
    todo = {
        i
        for i, digest in enumerate(hashes)
        if digest not in status or (retry_failed and status[digest] == FAILED)
    }
    tasks = make_tasks(list(units), todo)
    with tqdm(
        total=len(todo),
        desc="advrf sweep",
        unit="row",
        file=sys.stderr,
        disable=(not progress) if progress is not None else None,
        dynamic_ncols=True,
    ) as bar:
        runner = partial(execute, methods=methods)
        for _, outcomes in run_unordered(runner, tasks, workers=workers, scheduler=scheduler):
            for outcome in outcomes:
                row = outcome.row()
                store.write(outcome.unit.method, outcome.unit.key, row)
                status[key_hash(outcome.unit.key)] = row["status"]
            bar.update(len(outcomes))
    if csv:
        store.export_csv(tidy(store.read()))
    failures = _failures(store, {h for h in hashes if status.get(h) == FAILED})
    return SweepReport(
        out=Path(out),
        requested=len(units),
        computed=len(todo),
        skipped=len(units) - len(todo),
        failures=failures,
        seconds=time.perf_counter() - started,
    )


def _failures(store: Store, failed: set[str]) -> tuple[dict[str, Any], ...]:
    if not failed:
        return ()
    table = tidy(store.read())
    rows = table[table["key"].isin(failed)]
    keep = [c for c in (*KEY_COLUMNS, "error") if c in rows.columns]
    return tuple(
        {k: (None if pd.isna(v) else v) for k, v in row.items()}
        for row in rows[keep].to_dict("records")
    )


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in a fixed order (key, meta, results, tail) and rows sorted by key columns."""
    if frame.empty:
        return frame
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
