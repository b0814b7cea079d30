"""What a stored row is made of: its kinds, status values, parameter columns and key parts.

This module imports neither pandas nor matplotlib: it is what a worker process loads.

- Parameter columns: the parameters of a Problem (PARAMETERS), the activation by its key
  (`activation_key`: the name of a built-in activation, name + digest of what a custom one
  computes), so that two different functions never share a row.
- Simulation columns: the fields of `advrf.settings.SimulationSettings` but `seeds`, and the seed
  index. KEY_V1 are those every simulation key has held since the first store format; a later
  option (attack, inputs, population, ...) enters the key only when it differs from its default,
  so that the rows of a store written before the option existed keep their keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import MISSING, fields
from typing import Any

import numpy as np

from advrf.activations import ACTIVATIONS, Activation
from advrf.problem import Problem
from advrf.settings import SimulationSettings

THEORY = "theory"
SIMULATION = "simulation"
RIDGE = "ridge_optimum"  # `method` column of the rows of the ridge search
PARAMETERS = ("activation", "psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise")
KEY_V1 = ("d", "seed", "n_test", "variant")  # simulation key fields of store format 1
SIMULATION_FIELDS = KEY_V1  # the simulation columns every row has (theory rows: empty)
OPTION_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in fields(SimulationSettings)
    if f.name not in ("d", "seeds") and f.default is not MISSING
}
SIMULATION_OPTIONS = ("d", *OPTION_DEFAULTS)  # sweepable simulation settings (grid axes)
OK = "ok"
FAILED = "failed"
PROBES = np.linspace(-4.0, 4.0, 33)  # where a custom activation is evaluated for its key
DIGEST_CHARS = 16


def activation_key(activation: Activation) -> str:
    """A built-in activation's name; for a custom one `name@DIGEST`, DIGEST the SHA-256 of its
    values and derivatives at PROBES and of its kinks (exact bits), so that a custom activation
    named like a built-in one, or two different functions of one name, never share a row."""
    if ACTIVATIONS.get(activation.name) is activation:
        return activation.name
    values = np.concatenate(
        [
            np.asarray(activation.sigma(PROBES), dtype=np.float64),
            np.asarray(activation.derivative(PROBES), dtype=np.float64),
            np.asarray(activation.kinks, dtype=np.float64),
        ]
    )
    digest = hashlib.sha256(b"advrf-activation:" + values.tobytes()).hexdigest()
    return f"{activation.name}@{digest[:DIGEST_CHARS]}"


def problem_columns(problem: Problem) -> dict[str, Any]:
    """The parameters of `problem` in PARAMETERS order, the activation by `activation_key`."""
    values = problem.to_dict()
    values["activation"] = activation_key(problem.activation)
    return {name: values[name] for name in PARAMETERS}
