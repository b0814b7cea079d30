"""How a job computes a row: the theory and the simulation behind a small registry.

`Methods` holds the two callables that jobs call. The defaults, `solve_theory` and
`simulate_instance`, call advrf.theory.solve and advrf.simulation.simulate_seed (imported lazily,
inside the functions, so that a worker loads neither package until it needs it). Tests may pass
other callables with the same signatures (module-level functions, so that they pickle by name to
worker processes and Dask workers).

A point that cannot be computed (advrf.theory.TheoryError, advrf.simulation.TrainingError) is
reported as PointFailure with the method's message. Any other exception of a point (a LinAlgError
or FloatingPointError inside the simulator, ...) is caught by the job runner as well: every
failure of one point becomes that point's failed row (see advrf.experiments.jobs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from advrf.problem import Problem
from advrf.settings import SimulationSettings

# (problem, start) -> (result fields, warm-start state for the next point of a curve)
TheoryMethod = Callable[[Problem, Any], tuple[dict[str, Any], Any]]
# (problem, settings, instance seed) -> result fields
SimulationMethod = Callable[[Problem, SimulationSettings, int], dict[str, Any]]


class PointFailure(Exception):
    """A point that could not be computed (no convergence): recorded as a failed row.

    cold_tried=True: the method has already retried the point cold (advrf.theory.solve applies
    the warm-then-cold policy itself), so `warm_then_cold` does not solve it a third time.
    """

    def __init__(self, message: str = "", *, cold_tried: bool = False) -> None:
        super().__init__(message)
        self.cold_tried = cold_tried


def solve_theory(problem: Problem, start: Any = None) -> tuple[dict[str, Any], Any]:
    """advrf.theory.solve(problem, start) -> (TheoryResult.to_dict(), the result as warm start).

    solve retries a failed warm start cold itself: its failure is final (cold_tried)."""
    from advrf.theory import TheoryError, solve

    try:
        result = solve(problem, start=start)
    except TheoryError as error:
        raise PointFailure(str(error), cold_tried=True) from None
    return result.to_dict(), result


def simulate_instance(problem: Problem, settings: SimulationSettings, seed: int) -> dict[str, Any]:
    """advrf.simulation.simulate_seed(problem, d, seed, <every other option of settings>), after
    checking that its predicted peak memory (advrf.simulation.memory) fits in what the machine
    running it has available (a point that does not fit is a failed row naming its size)."""
    from advrf.simulation import TrainingError, simulate_seed
    from advrf.simulation.memory import available_memory, check_fits

    check_fits(problem, settings, available_memory())
    options = {k: v for k, v in settings.to_dict().items() if k not in ("d", "seeds")}
    try:
        record = simulate_seed(problem, settings.d, seed, **options)
    except TrainingError as error:
        raise PointFailure(str(error)) from None
    return record.to_dict()


def simulation_size(problem: Problem, settings: SimulationSettings) -> tuple[int, int, int]:
    """(N, n, predicted peak bytes of one seed): advrf.simulation's sizes and memory model."""
    from advrf.simulation.instance import sizes
    from advrf.simulation.memory import peak_bytes

    big_n, n = sizes(problem, settings.d)
    return big_n, n, peak_bytes(problem, settings)


@dataclass(frozen=True)
class Methods:
    """The callables jobs use for their theory and simulation results."""

    theory: TheoryMethod = solve_theory
    simulation: SimulationMethod = simulate_instance


DEFAULT_METHODS = Methods()


def failure_message(failure: Exception) -> str:
    """The message of a failed point: a PointFailure's own text, else `TypeName: text`."""
    if isinstance(failure, PointFailure):
        return str(failure) or type(failure).__name__
    text = str(failure)
    return f"{type(failure).__name__}: {text}" if text else type(failure).__name__


def warm_then_cold(
    compute: Callable[[Any], tuple[dict[str, Any], Any]], start: Any
) -> tuple[dict[str, Any] | None, Any, str | None]:
    """advrf's one warm-then-cold policy: compute(start), and when that fails (any exception)
    compute(None). Returns (fields, state, None) or (None, None, message of the last failure),
    so that a point's answer never depends on whether its neighbour was solved."""
    error = None
    for warm in (start, None) if start is not None else (None,):
        try:
            fields, state = compute(warm)
        except Exception as failure:  # every failure of one point is that point's failure
            error = failure_message(failure)
            if getattr(failure, "cold_tried", False):
                break
            continue
        return fields, state, None
    return None, None, error
