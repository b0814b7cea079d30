"""The simulator's API: options validated once by SimulationSettings, solver settings passed
down, short reprs and to_frame for notebooks, and a gap statistic that hides no negative gap."""

import dataclasses

import pytest

from advrf import Problem
from advrf.settings import ATTACKS, INPUTS, VARIANTS, SimulationSettings, SolverSettings
from advrf.simulation import (
    TrainingError,
    attack,
    instance,
    simulate,
    simulate_seed,
    train_concentrated,
)

P = Problem(psi1=2, psi2=1, eps=0.2, noise=0.3)


@pytest.fixture(scope="module")
def summary():
    return simulate(P, 20, 3, n_test=200, variant="concentrated")


def test_settings_and_keywords_give_the_same_records(summary):
    settings = SimulationSettings(d=20, seeds=3, n_test=200, variant="concentrated")
    again = simulate(P, settings=settings)
    for a, b in zip(summary.records, again.records, strict=True):
        assert (a.robust_error, a.standard_error, a.seed) == (
            b.robust_error,
            b.standard_error,
            b.seed,
        )
    one = simulate_seed(P, 20, 1, n_test=200, variant="concentrated")
    assert one.robust_error == summary.records[1].robust_error


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(d=0, seeds=1), "d (input dimension)"),
        (dict(d=5, seeds=[1, 1]), "distinct"),
        (dict(d=5, seeds=1, variant="both"), "variant must be one of"),
        (dict(d=5, seeds=1, attack="fgsm"), "attack must be one of"),
        (dict(d=5, seeds=1, inputs="cube"), "inputs must be one of"),
        (dict(d=5, seeds=1, n_test=0), "n_test"),
        (dict(d=5, seeds=1, population=True, inputs="sphere"), "inputs='gaussian'"),
        (dict(d=5, seeds=1, settings=SimulationSettings(d=5)), "not both"),
        (dict(d=5), "needs d and seeds"),
    ],
)
def test_bad_options_are_refused_naming_the_parameter(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        simulate(P, **kwargs)


def test_solver_settings_reach_the_solver():
    capped = SolverSettings(max_newton_steps=1, continuation_min_step=2.0)
    with pytest.raises(TrainingError, match=r"variant=concentrated.*d=20, seed=0"):
        simulate(P.with_(eps=0.5), 20, 1, n_test=50, variant="concentrated", solver=capped)


def test_old_names_of_the_choices_still_import():
    assert instance.INPUTS is INPUTS and attack.ATTACKS is ATTACKS
    from advrf.simulation.train import VARIANTS as old_variants

    assert old_variants is VARIANTS and train_concentrated.critical_eps


def test_reprs_are_short(summary):
    text = repr(summary)
    assert "\n" not in text and len(text) < 400
    assert "d=20" in text and "seeds=[0, 1, 2]" in text and "robust_error=" in text and "+-" in text
    record = repr(summary.records[0])
    assert "\n" not in record and len(record) < 300 and "seed=0" in record


def test_to_frame_has_one_row_per_seed(summary):
    frame = summary.to_frame()
    assert list(frame["seed"]) == [0, 1, 2] and (frame["psi1"] == 2.0).all()
    assert frame["robust_error"].mean() == pytest.approx(summary.robust_error, rel=1e-12)
    assert {"variant", "attack", "phase", "residual", "activation"} <= set(frame.columns)


def test_gap_statistic_keeps_the_sign_of_the_largest_gap(summary):
    records = [
        dataclasses.replace(r, residual=gap, converged=ok)
        for r, gap, ok in zip(
            summary.records, (1e-12, -5e-11, 2e-11), (True, True, False), strict=True
        )
    ]
    mixed = dataclasses.replace(summary, records=tuple(records))
    assert mixed.residual == -5e-11 and mixed.to_dict()["residual"] == -5e-11
    assert not mixed.converged
