"""Jobs: one stored row each. What a job is keyed by, what it computes, the row it returns.

The protocol (`Job`, a frozen dataclass per kind of row):

    kind: str                  the store's row kind (file name prefix), lower case
    columns -> dict            the row's identifying columns (table columns, `method` first)
    key -> dict                what identifies the row; the store hashes it into the file name
    compute(methods, start) -> (results, state)
                               the result fields; `state` warm-starts the next job of its chain
    chain -> tuple | None      jobs with one chain value are computed in order of `order` in one
                               task, each warm-started from the previous (None: a job alone)
    order -> float             position in its chain
    cost -> float              rough relative cost: lone jobs start costliest first
    row(results, error, wall_time) -> dict
                               the stored row: columns, instance seed, status, error, results,
                               advrf version, wall time

A new kind of row is one subclass of `Job` (and, to sweep it, a line where jobs are made). The
first ones: `TheoryJob` (advrf.theory.solve), `SimulationJob` (advrf.simulation.simulate_seed
under SimulationSettings), `RidgeJob` (the ridge search of advrf.experiments.analysis).

Every failure of a job (PointFailure, or any other exception raised while computing it) becomes
that job's failed row with its message (`advrf.experiments.methods.failure_message`).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from advrf import __version__
from advrf.experiments.analysis import optimal_ridge, ridge_search_key
from advrf.experiments.keys import key_text
from advrf.experiments.methods import Methods
from advrf.experiments.units import (
    FAILED,
    KEY_V1,
    OK,
    OPTION_DEFAULTS,
    PARAMETERS,
    RIDGE,
    SIMULATION,
    SIMULATION_FIELDS,
    THEORY,
    problem_columns,
)
from advrf.problem import Problem
from advrf.settings import SimulationSettings


class Job(ABC):
    """Base of the job classes (see the module docstring); subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    problem: Problem
    # whether the row has an instance_seed column (None for the theory, which shares its table
    # with simulations; absent from the tables of ridge searches and phase cells)
    seed_column: ClassVar[bool] = True

    @property
    @abstractmethod
    def columns(self) -> dict[str, Any]:
        """The row's key columns (parameters and the job's own settings)."""

    @property
    def key(self) -> dict[str, Any]:
        return dict(self.columns)

    @property
    def chain(self) -> tuple | None:
        return None

    @property
    def order(self) -> float:
        return 0.0

    @property
    def cost(self) -> float:
        return 0.0

    @property
    def instance_seed(self) -> int | None:
        return None

    @abstractmethod
    def compute(self, methods: Methods, start: Any = None) -> tuple[dict[str, Any], Any]:
        """(result fields, warm-start state for the next job of its chain)."""

    def row(
        self, results: dict[str, Any] | None, error: str | None, wall_time: float
    ) -> dict[str, Any]:
        """Columns, instance seed, status, error, result fields, advrf version, wall time."""
        row = dict(self.columns)
        if self.seed_column:
            row["instance_seed"] = self.instance_seed
        row["status"] = OK if error is None else FAILED
        row["error"] = error
        for name, value in (results or {}).items():
            if name not in row:
                row[name] = value.item() if hasattr(value, "item") else value
        row["advrf_version"] = __version__
        row["wall_time"] = wall_time
        return row


@dataclass(frozen=True)
class TheoryJob(Job):
    """The theory at one Problem. Its chain: every parameter but psi1 (a curve in psi1)."""

    problem: Problem
    kind: ClassVar[str] = THEORY

    @cached_property
    def columns(self) -> dict[str, Any]:
        out = {"method": THEORY, **problem_columns(self.problem)}
        out.update(dict.fromkeys(SIMULATION_FIELDS))
        return out

    @cached_property
    def key(self) -> dict[str, Any]:
        return {k: v for k, v in self.columns.items() if k not in SIMULATION_FIELDS}

    @property
    def chain(self) -> tuple:
        return (THEORY, *((k, v) for k, v in self.columns.items() if k != "psi1"))

    @property
    def order(self) -> float:
        return self.problem.psi1

    def compute(self, methods: Methods, start: Any = None) -> tuple[dict[str, Any], Any]:
        return methods.theory(self.problem, start)


@dataclass(frozen=True)
class SimulationJob(Job):
    """One seed of a simulation: a Problem and SimulationSettings with exactly one seed index.

    The instance seed handed to the simulator is derived from the parameters, d and the seed
    index only (SHA-256 of their canonical key), so it depends neither on the worker count nor on
    the order of completion, and the variants, attacks, test sets ... of one point are computed
    on the same instance.
    """

    problem: Problem
    settings: SimulationSettings
    kind: ClassVar[str] = SIMULATION

    def __post_init__(self) -> None:
        if len(self.settings.seeds) != 1:
            raise ValueError(
                f"a simulation job has one seed; got seeds={self.settings.seeds!r} (make one job "
                "per seed)"
            )

    @property
    def seed(self) -> int:
        return self.settings.seeds[0]

    @cached_property
    def columns(self) -> dict[str, Any]:
        s = self.settings
        out = {"method": SIMULATION, **problem_columns(self.problem)}
        out.update(d=s.d, seed=self.seed, n_test=s.n_test, variant=s.variant)
        out.update({name: getattr(s, name) for name in OPTION_DEFAULTS if name not in out})
        return out

    @cached_property
    def key(self) -> dict[str, Any]:
        """Method, parameters, KEY_V1, and every later option that differs from its default."""
        later = {
            name: value
            for name, value in self.columns.items()
            if name in OPTION_DEFAULTS and name not in KEY_V1 and value != OPTION_DEFAULTS[name]
        }
        return {**{k: self.columns[k] for k in ("method", *PARAMETERS, *KEY_V1)}, **later}

    @cached_property
    def instance_seed(self) -> int:
        """SHA-256 of (parameters, d, seed index) as a 63-bit integer."""
        instance = {name: self.columns[name] for name in (*PARAMETERS, "d", "seed")}
        digest = hashlib.sha256(b"advrf-instance:" + key_text(instance).encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 1

    @property
    def cost(self) -> float:
        p = self.problem
        return float(self.settings.d) ** 3 * (p.psi1 + p.psi2) * min(p.psi1, p.psi2) ** 2

    def compute(self, methods: Methods, start: Any = None) -> tuple[dict[str, Any], Any]:
        return methods.simulation(self.problem, self.settings, self.instance_seed), None


@dataclass(frozen=True)
class RidgeJob(Job):
    """The ridge lam* minimising the theory's E_rob at a Problem (its lam ignored): one row of
    `analysis.optimal_ridge`, keyed by the parameters but lam and by the search's constants."""

    problem: Problem
    kind: ClassVar[str] = "ridge"
    seed_column: ClassVar[bool] = False

    @cached_property
    def columns(self) -> dict[str, Any]:
        out = {"method": RIDGE, **problem_columns(self.problem)}
        out.pop("lam")
        return out

    @cached_property
    def key(self) -> dict[str, Any]:
        key = {k: v for k, v in self.columns.items() if k != "method"}
        key.update(ridge_search_key())
        return key

    def compute(self, methods: Methods, start: Any = None) -> tuple[dict[str, Any], Any]:
        return optimal_ridge(self.problem, methods.theory), None
