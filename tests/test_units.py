"""Keys, instance seeds and tasks of a sweep (properties)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from advrf.experiments.keys import key_hash
from advrf.experiments.methods import Methods, PointFailure
from advrf.experiments.units import CURVE_CHUNK, CurveTask, Unit, execute, make_tasks
from advrf.problem import Problem

psi = st.floats(0.05, 50, allow_nan=False)
radius = st.floats(0, 5, allow_nan=False)


def sim(problem, d=50, seed=0, n_test=None, variant="exact"):
    return Unit("simulation", problem, d, seed, n_test, variant)


@settings(max_examples=60, deadline=None)
@given(psi1=psi, psi2=psi, eps=radius, d=st.integers(1, 5000), seed=st.integers(0, 1000))
def test_instance_seed_is_a_function_of_problem_d_and_seed_only(psi1, psi2, eps, d, seed):
    problem = Problem(psi1, psi2, eps)
    unit = sim(problem, d, seed)
    assert unit.instance_seed == sim(Problem(psi1, psi2, eps), d, seed).instance_seed
    assert 0 <= unit.instance_seed < 2**63
    # the training variant and the test set size do not change the instance...
    assert unit.instance_seed == sim(problem, d, seed, 1000, "concentrated").instance_seed
    # ...but they are different rows
    assert key_hash(unit.key) != key_hash(sim(problem, d, seed, 1000, "concentrated").key)
    # another seed index, dimension or parameter gives another instance
    others = {
        sim(problem, d, seed + 1).instance_seed,
        sim(problem, d + 1, seed).instance_seed,
        sim(problem.with_(psi1=psi1 * 1.001), d, seed).instance_seed,
        sim(problem.with_(eps=eps + 0.01), d, seed).instance_seed,
    }
    assert unit.instance_seed not in others and len(others) == 4


@settings(max_examples=60, deadline=None)
@given(
    digits=st.integers(1, 10**12 - 1),
    exponent=st.integers(-13, 1),
    ulps=st.integers(-8, 8),
    eps=radius,
)
def test_keys_ignore_last_bit_noise_and_separate_real_differences(digits, exponent, ulps, eps):
    # a number typed with up to 12 significant digits, and the same number off by a few units in
    # the last place (as a log range computes it), are one key; a 1e-12 relative change is not
    psi1 = float(f"{digits}e{exponent}")
    problem = Problem(psi1, 2.0, eps)
    theory = Unit("theory", problem)
    nudged = psi1
    for _ in range(abs(ulps)):
        nudged = float(np.nextafter(nudged, np.inf if ulps > 0 else 0.0))
    assert key_hash(theory.key) == key_hash(Unit("theory", problem.with_(psi1=nudged)).key)
    assert key_hash(theory.key) != key_hash(
        Unit("theory", problem.with_(psi1=psi1 * (1 + 1e-12))).key
    )
    assert key_hash(theory.key) != key_hash(sim(problem).key)


def _theory_units(count):
    return [Unit("theory", Problem(psi1, 2.0, 0.1)) for psi1 in np.geomspace(0.1, 100, count)]


def test_curves_are_chunked_in_psi1_order_and_only_missing_rows_returned():
    units = _theory_units(CURVE_CHUNK + 10)[::-1]  # given in decreasing psi1
    units.append(Unit("theory", Problem(1.0, 2.0, 0.2)))  # another curve
    todo = {0, len(units) - 2, len(units) - 1}  # the largest and the smallest psi1, the other
    tasks = make_tasks(units, todo)
    assert all(isinstance(task, CurveTask) for task in tasks)
    assert [len(task.units) for task in tasks] == [CURVE_CHUNK, 10, 1]
    for task in tasks:
        psi1 = [unit.problem.psi1 for unit in task.units]
        assert psi1 == sorted(psi1)
    assert sum(task.size for task in tasks) == 3
    # a chunk with nothing to do is not a task
    assert len(make_tasks(units, {len(units) - 1})) == 1


calls = []


def picky_theory(problem, start=None):
    calls.append((problem.psi1, start is not None))
    if problem.psi1 > 50:
        raise PointFailure(f"no convergence at psi1={problem.psi1}")
    if start is not None and problem.psi1 > 5:
        raise PointFailure("warm start failed")
    return {"robust_error": problem.psi1}, problem.psi1


def test_warm_start_then_cold_fallback_then_failure():
    calls.clear()
    units = [Unit("theory", Problem(psi1, 2.0, 0.1)) for psi1 in (1.0, 2.0, 10.0, 100.0)]
    task = CurveTask(tuple(units), (True, False, True, True))
    outcomes = execute(task, Methods(theory=picky_theory))
    assert [o.unit.problem.psi1 for o in outcomes] == [1.0, 10.0, 100.0]
    assert [o.error for o in outcomes] == [None, None, "no convergence at psi1=100.0"]
    assert outcomes[1].results == {"robust_error": 10.0}
    assert calls == [
        (1.0, False),
        (2.0, True),
        (10.0, True),
        (10.0, False),
        (100.0, True),
        (100.0, False),
    ]
    assert outcomes[2].row()["status"] == "failed" and outcomes[0].row()["status"] == "ok"
