"""Finite-size simulator: instances, exact adversarial training, attacks, evaluation.

Never imports advrf.theory (layering: activations <- problem <- simulation).
"""

from advrf.simulation.estimator import AdversarialRandomFeatures
from advrf.simulation.evaluate import (
    SimulationRecord,
    SimulationSummary,
    evaluate,
    simulate,
    simulate_seed,
)
from advrf.simulation.instance import Instance
from advrf.simulation.train import (
    NewtonState,
    TrainingError,
    TrainingResult,
    critical_eps,
    solve_concentrated,
    solve_exact,
    train,
)

__all__ = [
    "AdversarialRandomFeatures",
    "Instance",
    "NewtonState",
    "SimulationRecord",
    "SimulationSummary",
    "TrainingError",
    "TrainingResult",
    "critical_eps",
    "evaluate",
    "simulate",
    "simulate_seed",
    "solve_concentrated",
    "solve_exact",
    "train",
]
