"""What the training solvers return: `TrainingResult`, `TrainingError`, and the Newton state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class TrainingError(ValueError):
    """Training did not reach its certified tolerance (the message names the point)."""


@dataclass(frozen=True)
class NewtonState:
    """Unknowns of the concentrated optimality conditions: the multiplier u (n,), log kappa and
    log delta (see `advrf.simulation.train_concentrated`); a warm start of `solve_concentrated`."""

    u: np.ndarray
    log_kappa: float
    log_delta: float


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """A trained a with its certificate.

    objective: value of the trained program at a; residual: certified relative duality gap
    (normal-equation residual for the eps = 0, lam = 0 minimum-norm solution); phase: "trivial",
    "interpolating", "ridge", "min_norm" or "nontrivial"; iterations: Newton steps (for the exact
    variant: total inner Newton steps; `outer_iterations` counts the reweightings); kappa, delta,
    multiplier: the concentrated program's scalars and multiplier u at a; message: why the result
    is (or is not) certified.
    """

    a: np.ndarray
    objective: float
    iterations: int
    converged: bool
    residual: float
    phase: str
    variant: str
    outer_iterations: int = 0
    kappa: float = float("nan")
    delta: float = float("nan")
    multiplier: np.ndarray | None = None
    message: str = ""

    @property
    def state(self) -> NewtonState | None:
        """The Newton state at a (a warm start), for a nontrivial concentrated-type result."""
        if self.phase != "nontrivial" or self.multiplier is None:
            return None
        return NewtonState(self.multiplier, float(np.log(self.kappa)), float(np.log(self.delta)))
