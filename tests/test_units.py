"""Jobs: keys, instance seeds, tasks, the warm-then-cold policy (properties and fixed values)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advrf.activations import ACTIVATIONS, custom
from advrf.experiments.jobs import RidgeJob, SimulationJob, TheoryJob
from advrf.experiments.keys import key_hash
from advrf.experiments.methods import Methods, PointFailure
from advrf.experiments.runner import CURVE_CHUNK, Task, execute, make_tasks
from advrf.problem import Problem
from advrf.settings import SimulationSettings

psi = st.floats(0.05, 50, allow_nan=False)
radius = st.floats(0, 5, allow_nan=False)


def sim(problem, d=50, seed=0, n_test=None, variant="exact", **options):
    return SimulationJob(
        problem, SimulationSettings(d=d, seeds=(seed,), n_test=n_test, variant=variant, **options)
    )


@settings(max_examples=60, deadline=None)
@given(psi1=psi, psi2=psi, eps=radius, d=st.integers(1, 5000), seed=st.integers(0, 1000))
def test_instance_seed_is_a_function_of_problem_d_and_seed_only(psi1, psi2, eps, d, seed):
    problem = Problem(psi1, psi2, eps)
    unit = sim(problem, d, seed)
    assert unit.instance_seed == sim(Problem(psi1, psi2, eps), d, seed).instance_seed
    assert 0 <= unit.instance_seed < 2**63
    # the training variant, the test set size and the attack do not change the instance...
    other = sim(problem, d, seed, 1000, "concentrated", attack="pgd")
    assert unit.instance_seed == other.instance_seed
    # ...but they are different rows
    assert key_hash(unit.key) != key_hash(other.key)
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
    theory = TheoryJob(problem)
    nudged = psi1
    for _ in range(abs(ulps)):
        nudged = float(np.nextafter(nudged, np.inf if ulps > 0 else 0.0))
    assert key_hash(theory.key) == key_hash(TheoryJob(problem.with_(psi1=nudged)).key)
    assert key_hash(theory.key) != key_hash(TheoryJob(problem.with_(psi1=psi1 * (1 + 1e-12))).key)
    assert key_hash(theory.key) != key_hash(sim(problem).key)


def test_keys_of_default_options_are_those_of_store_format_1():
    # hashes and instance seeds computed by the advrf of store format 1 (before SimulationSettings
    # and the jobs), under its key scheme 1: a store it wrote resumes without recomputing a row
    problem = Problem(1.5, 2.0, 0.1, noise=0.5, lam=0.01)
    assert key_hash(TheoryJob(problem).key, 1) == "5102da4b908cf73138f1de0e0a0cc919"
    job = sim(problem, 40, 1)
    assert key_hash(job.key, 1) == "f9d7264615b4596651eb0e667f22dc00"
    assert job.instance_seed == 5272828722800694766
    job = sim(Problem(3.0, 0.5, 0.2, activation="tanh"), 100, 0, 500, "concentrated")
    assert key_hash(job.key, 1) == "64f12358244745bcf5f70af5caefd25d"
    assert job.instance_seed == 7450825697858156674
    assert key_hash(RidgeJob(problem).key, 1) == "f64a776bbe357967cd2f87b4c99c0c1b"
    # an option that is not its default is in the key, and the columns always hold every option
    pgd = sim(problem, 40, 1, attack="pgd")
    assert pgd.key["attack"] == "pgd" and "attack" not in job.key
    assert job.columns["attack"] == "first-order" and job.columns["population"] is False
    assert key_hash(sim(problem, 40, 1, population=True).key) != key_hash(sim(problem, 40, 1).key)


def _cosh2(t):
    return 1.0 / np.cosh(t) ** 2


def _double(t):
    return 2.0 * np.tanh(t)


def test_custom_activations_are_keyed_by_what_they_compute():
    builtin = Problem(2.0, 1.0, 0.1, activation="tanh")
    same = Problem(2.0, 1.0, 0.1, activation=custom("tanh", np.tanh, _cosh2))
    other = Problem(2.0, 1.0, 0.1, activation=custom("tanh", _double, lambda t: 2 * _cosh2(t)))
    assert TheoryJob(builtin).key["activation"] == "tanh"  # built-ins keep their plain name
    keys = {key_hash(TheoryJob(p).key) for p in (builtin, same, other)}
    assert len(keys) == 3  # a custom "tanh" shares no row with the built-in one, nor with another
    assert TheoryJob(same).key["activation"].startswith("tanh@")
    # what it computes, not which object: a second copy of one function has the same key
    again = Problem(2.0, 1.0, 0.1, activation=custom("tanh", np.tanh, _cosh2))
    assert key_hash(TheoryJob(again).key) == key_hash(TheoryJob(same).key)
    kinked = custom("tanh", np.tanh, _cosh2, kinks=[0.0])
    assert TheoryJob(builtin.with_(activation=kinked)).key != TheoryJob(same).key
    assert sim(same).instance_seed != sim(builtin).instance_seed
    assert all(
        TheoryJob(Problem(1, 1, 0, activation=n)).key["activation"] == n for n in ACTIVATIONS
    )


def test_a_simulation_job_has_one_seed():
    with pytest.raises(ValueError, match="one seed"):
        SimulationJob(Problem(1, 1, 0), SimulationSettings(d=10, seeds=2))


def _theory_units(count):
    return [TheoryJob(Problem(psi1, 2.0, 0.1)) for psi1 in np.geomspace(0.1, 100, count)]


def test_curves_are_chunked_in_psi1_order_and_only_missing_rows_returned():
    units = _theory_units(CURVE_CHUNK + 10)[::-1]  # given in decreasing psi1
    units.append(TheoryJob(Problem(1.0, 2.0, 0.2)))  # another curve
    todo = {0, len(units) - 2, len(units) - 1}  # the largest and the smallest psi1, the other
    tasks = make_tasks(units, todo)
    assert [len(task.jobs) for task in tasks] == [CURVE_CHUNK, 10, 1]
    for task in tasks:
        psi1 = [unit.problem.psi1 for unit in task.jobs]
        assert psi1 == sorted(psi1)
    assert sum(task.size for task in tasks) == 3
    # a chunk with nothing to do is not a task
    assert len(make_tasks(units, {len(units) - 1})) == 1


def test_lone_jobs_come_first_costliest_first():
    problem = Problem(1.0, 2.0, 0.1)
    jobs = [TheoryJob(problem), sim(problem, 10), RidgeJob(problem), sim(problem, 100)]
    tasks = make_tasks(jobs, set(range(4)))
    assert [task.jobs[0] for task in tasks] == [jobs[3], jobs[1], jobs[2], jobs[0]]


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
    units = [TheoryJob(Problem(psi1, 2.0, 0.1)) for psi1 in (1.0, 2.0, 10.0, 100.0)]
    task = Task(tuple(units), (True, False, True, True))
    outcomes = execute(task, Methods(theory=picky_theory))
    assert [o.job.problem.psi1 for o in outcomes] == [1.0, 10.0, 100.0]
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


def singular_simulation(problem, settings, seed):
    if problem.psi1 > 1:
        raise np.linalg.LinAlgError("Singular matrix")
    return {"robust_error": 1.0}


def test_any_exception_of_a_point_is_its_failed_row():
    problem = Problem(2.0, 1.0, 0.1)
    (outcome,) = execute(Task((sim(problem),), (True,)), Methods(simulation=singular_simulation))
    row = outcome.row()
    assert row["status"] == "failed" and row["error"] == "LinAlgError: Singular matrix"
    assert row["psi1"] == 2.0 and row["d"] == 50 and row["seed"] == 0


def test_a_method_that_retried_cold_itself_is_not_solved_again():
    calls.clear()

    def final_failure(problem, start=None):
        calls.append(start is not None)
        if start is not None:
            raise PointFailure("warm and cold both failed", cold_tried=True)
        return {"robust_error": 1.0}, 1

    units = [TheoryJob(Problem(psi1, 2.0, 0.1)) for psi1 in (1.0, 2.0)]
    outcomes = execute(Task(tuple(units), (True, True)), Methods(theory=final_failure))
    assert [o.error for o in outcomes] == [None, "warm and cold both failed"]
    assert calls == [False, True]  # no third, cold, call of the second point
