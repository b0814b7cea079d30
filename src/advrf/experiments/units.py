"""Units of work of a sweep (one stored row each), their keys and seeds, and the tasks of workers.

This module imports neither pandas nor matplotlib: it is what a worker process loads.

- A `Unit` is one row: a method ("theory" or "simulation"), a Problem, and for a simulation the
  dimension d, the seed index (0, 1, ...), n_test and the training variant. Its key (every one of
  these, the activation by name) is what the store hashes into the row's file name.
- The instance seed handed to the simulator is derived from the problem, d and the seed index only
  (SHA-256 of their canonical key), so it depends neither on the worker count nor on the order of
  completion, and the two variants or two n_test of one point are trained on the same instance.
- Tasks: a `SimulationTask` is one unit; a `CurveTask` is a run of theory units that differ only in
  psi1 (sorted, at most CURVE_CHUNK of them), solved in order, each warm-started from the previous
  solution, with a cold start as fallback when a warm start fails. A curve is always solved whole,
  also when only some of its rows are missing, so a resumed sweep reproduces an uninterrupted one
  exactly; only the missing rows are returned.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from advrf import __version__
from advrf.experiments.keys import key_text
from advrf.experiments.methods import Methods, PointFailure
from advrf.problem import Problem

THEORY = "theory"
SIMULATION = "simulation"
METHODS = (THEORY, SIMULATION)
PARAMETERS = ("activation", "psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise")
SIMULATION_FIELDS = ("d", "seed", "n_test", "variant")
VARIANTS = ("exact", "concentrated")
CURVE_CHUNK = 64  # theory points per warm-started task: long curves still spread over workers
OK = "ok"
FAILED = "failed"


@dataclass(frozen=True)
class Unit:
    """One row of a sweep: a method, a problem and (simulations only) d, seed, n_test, variant."""

    method: str
    problem: Problem
    d: int | None = None
    seed: int | None = None
    n_test: int | None = None
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.method == SIMULATION:
            if not isinstance(self.d, int) or self.d < 1:
                raise ValueError(f"d (input dimension) must be an integer >= 1; got {self.d!r}")
            if not isinstance(self.seed, int) or self.seed < 0:
                raise ValueError(f"seed must be an integer >= 0; got {self.seed!r}")
            if self.n_test is not None and (not isinstance(self.n_test, int) or self.n_test < 1):
                raise ValueError(f"n_test must be an integer >= 1; got {self.n_test!r}")
            if self.variant not in VARIANTS:
                raise ValueError(
                    f"variant must be one of {', '.join(VARIANTS)}; got {self.variant!r}"
                )
        elif (self.d, self.seed, self.n_test, self.variant) != (None, None, None, None):
            raise ValueError("a theory unit takes no d, seed, n_test or variant")

    @cached_property
    def columns(self) -> dict[str, Any]:
        """The key as table columns: method, the parameters, d, seed, n_test, variant."""
        out = {"method": self.method}
        out.update({name: self.problem.to_dict()[name] for name in PARAMETERS})
        out.update(d=self.d, seed=self.seed, n_test=self.n_test, variant=self.variant)
        return out

    @cached_property
    def key(self) -> dict[str, Any]:
        """What identifies the row (the store hashes it): the columns without theory's Nones."""
        if self.method == THEORY:
            return {k: v for k, v in self.columns.items() if k not in SIMULATION_FIELDS}
        return dict(self.columns)

    @cached_property
    def instance_seed(self) -> int | None:
        """The simulator's seed: SHA-256 of (parameters, d, seed index) as a 63-bit integer."""
        if self.method != SIMULATION:
            return None
        instance = {name: self.columns[name] for name in (*PARAMETERS, "d", "seed")}
        digest = hashlib.sha256(b"advrf-instance:" + key_text(instance).encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class Outcome:
    """What a worker returns for one unit: result fields or an error message, and wall time."""

    unit: Unit
    results: dict[str, Any] | None
    error: str | None
    wall_time: float

    def row(self) -> dict[str, Any]:
        """The stored row: key columns, instance seed, status, error, results, version, time."""
        row = dict(self.unit.columns)
        row["instance_seed"] = self.unit.instance_seed
        row["status"] = OK if self.error is None else FAILED
        row["error"] = self.error
        for name, value in (self.results or {}).items():
            if name not in row:
                row[name] = value.item() if hasattr(value, "item") else value
        row["advrf_version"] = __version__
        row["wall_time"] = self.wall_time
        return row


@dataclass(frozen=True)
class SimulationTask:
    unit: Unit

    @property
    def size(self) -> int:
        return 1

    @property
    def cost(self) -> float:
        """A rough relative cost, to start the longest tasks first."""
        p = self.unit.problem
        return float(self.unit.d) ** 3 * (p.psi1 + p.psi2) * min(p.psi1, p.psi2) ** 2


@dataclass(frozen=True)
class CurveTask:
    units: tuple[Unit, ...]  # sorted by psi1, differing only in psi1
    todo: tuple[bool, ...]  # which of them to return

    @property
    def size(self) -> int:
        return sum(self.todo)


Task = SimulationTask | CurveTask


def execute(task: Task, methods: Methods) -> list[Outcome]:
    """Run one task in this process and return the outcomes of its units still to store."""
    if isinstance(task, SimulationTask):
        unit = task.unit
        start = time.perf_counter()
        try:
            results = methods.simulation(
                unit.problem, d=unit.d, seed=unit.instance_seed, n_test=unit.n_test,
                variant=unit.variant,
            )  # fmt: skip
            error = None
        except PointFailure as failure:
            results, error = None, str(failure) or type(failure).__name__
        return [Outcome(unit, results, error, time.perf_counter() - start)]
    outcomes = []
    state = None
    for unit, wanted in zip(task.units, task.todo, strict=True):
        start = time.perf_counter()
        results, error = None, None
        for warm in (state, None) if state is not None else (None,):
            try:
                results, new_state = methods.theory(unit.problem, warm)
            except PointFailure as failure:
                error = str(failure) or type(failure).__name__
                continue
            state, error = new_state, None
            break
        if wanted:
            outcomes.append(Outcome(unit, results, error, time.perf_counter() - start))
    return outcomes


def make_tasks(units: list[Unit], todo: set[int]) -> list[Task]:
    """Group units into tasks (see module docstring); `todo`: indices of the units to compute.

    Simulations come first, the costliest first; then theory curves in grid order.
    """
    simulations = [SimulationTask(units[i]) for i in sorted(todo) if units[i].method == SIMULATION]
    simulations.sort(key=lambda task: -task.cost)
    curves: dict[tuple, list[int]] = {}
    for i, unit in enumerate(units):
        if unit.method == THEORY:
            rest = tuple((k, v) for k, v in unit.columns.items() if k != "psi1")
            curves.setdefault(rest, []).append(i)
    tasks: list[Task] = list(simulations)
    for indices in curves.values():
        indices.sort(key=lambda i: units[i].problem.psi1)
        for begin in range(0, len(indices), CURVE_CHUNK):
            chunk = indices[begin : begin + CURVE_CHUNK]
            if any(i in todo for i in chunk):
                tasks.append(
                    CurveTask(tuple(units[i] for i in chunk), tuple(i in todo for i in chunk))
                )
    return tasks
