"""Cheap deterministic stand-ins for the theory and the simulator (a test seam of the sweeps).

Module-level functions, so that they pickle by name to worker processes and Dask workers.
"""

from __future__ import annotations

import os
import time

import numpy as np

from advrf.experiments.methods import Methods, PointFailure

FAKE_LAM_OPT = 0.01  # the fake theory's robust error is lowest at this ridge
FAIL_PSI1 = 7.0  # the fake theory fails at this psi1, the fake simulator at this psi1 and seed 1
DELAY_ENV = "ADVRF_TEST_DELAY"  # seconds each fake call sleeps (to kill a sweep mid-run)


def _delay() -> None:
    time.sleep(float(os.environ.get(DELAY_ENV, "0")))


def fake_theory(problem, start=None):
    _delay()
    if problem.psi1 == FAIL_PSI1:
        raise PointFailure(f"fake theory did not converge at psi1={problem.psi1}")
    value = problem.null_risk / (1.0 + problem.psi1) + problem.eps * np.sqrt(problem.psi1)
    distance = np.log10(problem.lam / FAKE_LAM_OPT) if problem.lam > 0 else np.inf
    value += 0.01 * min(distance**2, 4.0)  # continuous as lam -> 0, lowest at FAKE_LAM_OPT
    fields = {
        "robust_error": float(value + problem.eps_test),
        "standard_error": float(value),
        "phase": "nontrivial",
        "converged": True,
        "iterations": 3,
        "residual": 0.0,
    }
    return fields, fields


def fake_simulation(problem, settings, seed):
    _delay()
    d = settings.d
    if problem.psi1 == FAIL_PSI1 and seed % 2 == 1:
        raise PointFailure("fake training did not converge")
    rng = np.random.default_rng(seed)
    noise = rng.normal(scale=0.1 / np.sqrt(d))
    value = problem.null_risk / (1.0 + problem.psi1) + problem.eps * np.sqrt(problem.psi1)
    return {
        "robust_error": float(value + problem.eps_test + noise),
        "standard_error": float(value + noise),
        "converged": True,
        "iterations": int(rng.integers(1, 10)),
        "residual": 1e-12,
        "seconds": 0.001,
    }


FAKE = Methods(theory=fake_theory, simulation=fake_simulation)
