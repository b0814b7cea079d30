"""How a sweep computes a row: the two methods, theory and simulation, behind a small registry.

`Methods` holds the two callables a sweep calls. The defaults, `solve_theory` and
`simulate_instance`, call advrf.theory.solve and advrf.simulation.simulate_seed (imported lazily,
inside the functions, so that the runner loads neither package until it needs it). Tests may pass
other callables with the same signatures (module-level functions, so that they pickle by name to
worker processes and Dask workers).

A point that cannot be computed (advrf.theory.TheoryError, advrf.simulation.TrainingError) is
reported as PointFailure: the sweep records it as a row with status "failed" and its message, and
goes on. Any other exception is a bug and stops the sweep (rows already finished stay stored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from advrf.problem import Problem

# (problem, start) -> (result fields, warm-start state for the next point of a curve)
TheoryMethod = Callable[[Problem, Any], tuple[dict[str, Any], Any]]
# (problem, d=, seed=, n_test=, variant=) -> result fields
SimulationMethod = Callable[..., dict[str, Any]]


class PointFailure(Exception):
    """A point that could not be computed (no convergence): recorded as a failed row."""


def solve_theory(problem: Problem, start: Any = None) -> tuple[dict[str, Any], Any]:
    """advrf.theory.solve(problem, start) -> (TheoryResult.to_dict(), the result as warm start)."""
    from advrf.theory import TheoryError, solve

    try:
        result = solve(problem, start=start)
    except TheoryError as error:
        raise PointFailure(str(error)) from None
    return result.to_dict(), result


def simulate_instance(
    problem: Problem, *, d: int, seed: int, n_test: int | None, variant: str
) -> dict[str, Any]:
    """advrf.simulation.simulate_seed(problem, d, seed, n_test=, variant=).to_dict()."""
    from advrf.simulation import TrainingError, simulate_seed

    try:
        record = simulate_seed(problem, d, seed, n_test=n_test, variant=variant)
    except TrainingError as error:
        raise PointFailure(str(error)) from None
    return record.to_dict()


@dataclass(frozen=True)
class Methods:
    """The callables a sweep uses for its "theory" and "simulation" rows."""

    theory: TheoryMethod = solve_theory
    simulation: SimulationMethod = simulate_instance


DEFAULT_METHODS = Methods()
