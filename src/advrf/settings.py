"""Frozen, validated settings beside `Problem`: how a point is simulated and how training is solved.

`Problem` says *which* point of parameter space; these say *how* it is computed:

    SimulationSettings(d=400, seeds=3, n_test=None, variant="exact", attack="first-order",
                       inputs="gaussian", population=False)
    SolverSettings(gap_tol=1e-10, max_newton_steps=80, ...)

They are the only place where these values are checked (each error names the parameter and what it
accepts); the layers below (advrf.simulation, advrf.experiments) trust them. A new simulation option
is one field here, with its check in `_CHECKS`; sweeps then take it as a grid axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

VARIANTS = ("exact", "concentrated")
ATTACKS = ("first-order", "pgd")
INPUTS = ("gaussian", "sphere")
MAX_DIMENSION = 1_000_000  # d above this cannot be stored in memory on any machine advrf targets
MAX_SEEDS = 1_000_000  # seeds per point (a count is expanded into the tuple 0..k-1)


def check_integer(name: str, value: Any, low: int, meaning: str, high: int | None = None) -> int:
    """`value` as an int in [low, high], or ValueError naming the parameter (whole floats pass)."""
    bound = f">= {low}" if high is None else f"in [{low}, {high}]"
    message = f"{name} ({meaning}) must be an integer {bound}; got {value!r}"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        and not hasattr(value, "__index__")
    ):
        raise ValueError(message)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(message)
    integer = int(number) if not hasattr(value, "__index__") else int(value)
    if integer < low or (high is not None and integer > high):
        raise ValueError(message)
    return integer


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return value


def check_seeds(value: Any) -> tuple[int, ...]:
    """A count k means seeds 0..k-1; otherwise distinct integers >= 0."""
    if (isinstance(value, int | float) or hasattr(value, "__index__")) and not isinstance(
        value, bool
    ):
        count = check_integer("seeds", value, 1, "number of seeds per point", MAX_SEEDS)
        return tuple(range(count))
    if isinstance(value, str | bytes | bool) or not isinstance(value, Iterable):
        raise ValueError(f"seeds must be a count >= 1 or a list of seeds; got {value!r}")
    out = tuple(check_integer("seed", s, 0, "seed index") for s in value)
    if not out or len(set(out)) != len(out):
        raise ValueError(f"seeds must be a non-empty list of distinct seeds; got {value!r}")
    return out


def _positive_float(name: str, meaning: str) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        message = f"{name} ({meaning}) must be a finite number > 0; got {value!r}"
        if isinstance(value, bool):
            raise ValueError(message)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(message) from None
        if not math.isfinite(number) or number <= 0:
            raise ValueError(message)
        return number

    return check


def _fraction(name: str, meaning: str, high: float) -> Callable[[Any], float]:
    """A number in (0, high]."""
    positive = _positive_float(name, meaning)

    def check(value: Any) -> float:
        number = positive(value)
        if number > high:
            raise ValueError(f"{name} ({meaning}) must be in (0, {high:g}]; got {value!r}")
        return number

    return check


class _Validated:
    """Frozen dataclass mixin: each field is checked (and normalised) by `_CHECKS[name]`."""

    _CHECKS: dict[str, Callable[[Any], Any]] = {}

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, self._CHECKS[f.name](value))
        self._check_together()

    def _check_together(self) -> None:
        """Checks that involve several fields (none by default)."""

    def with_(self, **changes: Any):
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class SolverSettings(_Validated):
    """Tolerances and iteration caps of the training solver (advrf.simulation.train).

    gap_tol: relative duality gap that certifies an optimum; negative_gap_tol: how far below zero a
    relative gap may fall by rounding before the certificate is refused as invalid;
    max_newton_steps, max_backtracks: semismooth Newton caps; max_log_step: largest Newton step in
    log kappa and log delta; armijo: sufficient-decrease constant of the line search; stall_steps,
    stall_factor: Newton gives up when its merit fell by less than stall_factor over stall_steps
    steps; continuation_start, continuation_min_step: first fraction of eps and smallest step of
    the continuation fallback; max_outer: reweightings of the exact variant; anderson_memory: past
    iterates of its Anderson extrapolation; inner_tol: its inner programs are solved to
    inner_tol * gap_tol; inner_min_steps: Newton steps every warm-started inner program takes
    before its gap may certify it.
    """

    gap_tol: float = 1e-10
    negative_gap_tol: float = 1e-12
    max_newton_steps: int = 80
    max_backtracks: int = 50
    max_log_step: float = 5.0
    armijo: float = 1e-4
    stall_steps: int = 6
    stall_factor: float = 0.5
    continuation_start: float = 1.0 / 16.0
    continuation_min_step: float = 1e-6
    max_outer: int = 50
    anderson_memory: int = 5
    inner_tol: float = 0.1
    inner_min_steps: int = 1

    _CHECKS = {
        "gap_tol": _positive_float("gap_tol", "relative duality gap that certifies an optimum"),
        "negative_gap_tol": _positive_float(
            "negative_gap_tol", "rounding allowed below a zero relative gap"
        ),
        "max_newton_steps": lambda v: check_integer("max_newton_steps", v, 1, "Newton step cap"),
        "max_backtracks": lambda v: check_integer("max_backtracks", v, 1, "line-search cap"),
        "max_log_step": _positive_float("max_log_step", "largest Newton step in log kappa"),
        "armijo": _fraction("armijo", "line-search sufficient decrease", high=0.5),
        "stall_steps": lambda v: check_integer("stall_steps", v, 1, "Newton stall window"),
        "stall_factor": _fraction("stall_factor", "merit decrease over the stall window", 1.0),
        "continuation_start": _fraction("continuation_start", "first fraction of eps", 1.0),
        "continuation_min_step": _positive_float(
            "continuation_min_step", "smallest continuation step"
        ),
        "max_outer": lambda v: check_integer("max_outer", v, 1, "reweighting cap"),
        "anderson_memory": lambda v: check_integer("anderson_memory", v, 1, "Anderson memory"),
        "inner_tol": _positive_float("inner_tol", "inner tolerance as a fraction of gap_tol"),
        "inner_min_steps": lambda v: check_integer(
            "inner_min_steps", v, 0, "Newton steps of a warm-started inner program"
        ),
    }


@dataclass(frozen=True)
class SimulationSettings(_Validated):
    """How a point is simulated: input dimension d (N = round(psi1 d), n = round(psi2 d)), seeds
    (a count k: 0..k-1), test-set size (None: the default of advrf.simulation), training variant,
    attack, input distribution, and whether to add the test-set-free errors (population=True,
    Gaussian inputs only)."""

    d: int
    seeds: tuple[int, ...] = (0,)
    n_test: int | None = None
    variant: str = "exact"
    attack: str = "first-order"
    inputs: str = "gaussian"
    population: bool = False

    _CHECKS = {
        "d": lambda v: check_integer("d", v, 1, "input dimension", MAX_DIMENSION),
        "seeds": check_seeds,
        "n_test": lambda v: (
            None if v is None else check_integer("n_test", v, 1, "number of test samples")
        ),
        "variant": lambda v: check_choice("variant", v, VARIANTS),
        "attack": lambda v: check_choice("attack", v, ATTACKS),
        "inputs": lambda v: check_choice("inputs", v, INPUTS),
        "population": lambda v: check_bool("population", v),
    }

    def _check_together(self) -> None:
        if self.population and self.inputs != "gaussian":
            raise ValueError(
                f"population=True (test-set-free errors) needs inputs='gaussian'; got "
                f"inputs={self.inputs!r}"
            )
