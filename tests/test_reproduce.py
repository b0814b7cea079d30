"""Reproductions: registry, ridge search, extremum refinement, outputs (with fakes)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sweep_fakes import FAKE, FAKE_LAM_OPT

from advrf.cli import main
from advrf.experiments import analysis, reproductions
from advrf.experiments.analysis import local_extremum, optimal_ridge
from advrf.experiments.methods import PointFailure
from advrf.experiments.reproductions.overparam import Settings, reproduce_overparam
from advrf.experiments.runner import Runner
from advrf.experiments.store import Store
from advrf.problem import Problem


def test_optimal_ridge_finds_the_minimiser():
    found = optimal_ridge(Problem(3.0, 2.0, 0.2), FAKE.theory)
    assert math.log(found["lam_opt"] / FAKE_LAM_OPT) == pytest.approx(
        0.0, abs=2 * analysis.RIDGE_LOG_TOL
    )
    assert found["robust_error_opt"] < found["robust_error_lam0"]
    assert found["failures"] == 0 and not found["at_upper_bound"]


def increasing_in_lam(problem, start=None):
    if 0 < problem.lam < 1e-3:
        raise PointFailure("no convergence")
    value = 1.0 + problem.lam
    return {"robust_error": value, "standard_error": value}, None


def test_optimal_ridge_prefers_no_ridge_and_counts_failures():
    found = optimal_ridge(Problem(3.0, 2.0, 0.2), increasing_in_lam)
    assert found["lam_opt"] == 0.0 and found["robust_error_opt"] == 1.0
    scan_failures = sum(1 for lam in np.geomspace(10, 1e-5, 13) if lam < 1e-3)
    assert scan_failures == 4 and found["failures"] >= scan_failures


def decreasing_in_lam(problem, start=None):
    value = problem.null_risk + 0.1 / (1.0 + problem.lam)
    return {"robust_error": value, "standard_error": value}, None


def test_optimal_ridge_can_be_the_zero_predictor():
    problem = Problem(3.0, 2.0, 0.2, noise=0.5)
    found = optimal_ridge(problem, decreasing_in_lam)
    assert found["lam_opt"] == math.inf and found["at_upper_bound"]
    assert found["robust_error_opt"] == found["standard_error_opt"] == problem.null_risk


PEAK = 2.3


def peaked(problem, start=None):
    value = 1.0 - math.log(problem.psi1 / PEAK) ** 2
    return {"robust_error": value, "standard_error": value}, None


def valley(problem, start=None):
    value = 0.5 + math.log(problem.psi1 / PEAK) ** 2
    return {"robust_error": value, "standard_error": value}, None


def _curve(theory):
    base = Problem(1.0, 2.0, 0.1).to_dict()
    return pd.DataFrame(
        [
            {**base, "psi1": p, "robust_error": theory(Problem(p, 2, 0.1))[0]["robust_error"]}
            for p in np.geomspace(0.1, 100, 41)
        ]
    )


def test_peak_refined_between_grid_points():
    found = local_extremum(_curve(peaked), "robust_error", "peak", peaked, 2.0)
    assert found["refined"] and found["psi1"] == pytest.approx(PEAK, rel=2e-3)
    assert found["value"] == pytest.approx(1.0, abs=1e-5)


def test_minimum_refined_between_grid_points():
    # the bug of issue 9: a refined minimum was kept only when it was worse than the grid point
    curve = _curve(valley)
    grid_min = curve["robust_error"].min()
    found = local_extremum(curve, "robust_error", "min", valley, 2.0)
    assert found["refined"] and found["psi1"] == pytest.approx(PEAK, rel=2e-3)
    assert found["value"] == pytest.approx(0.5, abs=1e-6) and found["value"] < grid_min


def test_refinement_never_reports_a_worse_point():
    # a theory that fails off the grid: the grid point stays (for a peak and for a minimum)
    def off_grid_fails(problem, start=None):
        if not any(math.isclose(problem.psi1, p) for p in np.geomspace(0.1, 100, 41)):
            raise PointFailure("off the grid")
        return peaked(problem)

    curve = _curve(peaked)
    found = local_extremum(curve, "robust_error", "peak", off_grid_fails, 2.0)
    assert not found["refined"] and found["value"] == curve["robust_error"].max()


def test_reproduction_outputs_and_resume(tmp_path):
    settings = Settings(
        theory_points=31, sim_psi1=(0.5, 3.0), sim_psi1_wide=(20.0,), seeds_wide=1, d=20,
        seeds=2, ridge_points=5,
    )  # fmt: skip
    summary = reproduce_overparam(tmp_path, settings=settings, methods=FAKE, progress=False)
    for name in ("overparam_noise0", "overparam_noise0.5", "ridge_optimum"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    for name in ("theory", "simulation", "simulation_means", "ridge_optimum"):
        table = pd.read_parquet(tmp_path / "tables" / f"{name}.parquet")
        assert len(table) == len(pd.read_csv(tmp_path / "tables" / f"{name}.csv")) > 0
    theory = pd.read_parquet(tmp_path / "tables" / "theory.parquet")
    # every recipe under every attack, and each eps under eps_test = eps (eps = 0 too)
    assert len(theory) == 31 * (4 * 3 + 1) * 2 and set(theory["eps"]) == {0.0, 0.1, 0.2, 0.5}
    assert set(theory["eps_test"]) == {0.0, 0.1, 0.2, 0.5}
    sims = pd.read_parquet(tmp_path / "tables" / "simulation.parquet")
    # eps in {0, eps_test} under each eps_test; psi1 = 20 with one seed at eps_test = 0.2 only
    assert len(sims) == (3 * 2 * 2 * 2 + 2) * 2 and set(sims["d"]) == {20}
    wide = sims[sims["psi1"] == 20.0]
    assert set(wide["eps_test"]) == {0.2} and set(wide["eps"]) == {0.0, 0.2}
    assert set(zip(sims["eps"], sims["eps_test"], strict=True)) == {
        (e, t) for t in (0.1, 0.2, 0.5) for e in (0.0, t)
    }
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["curves"] == summary["curves"] and len(summary["curves"]) == 8
    curve = next(c for c in summary["curves"] if c["noise"] == 0.5 and c["eps"] == 0.2)
    assert curve["psi1_max"] == pytest.approx(100.0)
    assert curve["ridge_lam_at_psi1_max"] == pytest.approx(FAKE_LAM_OPT, rel=0.05)
    standard = theory[(theory["eps"] == 0) & (theory["eps_test"] == 0.2) & (theory["noise"] == 0.5)]
    last = standard.sort_values("psi1").iloc[-1]
    assert curve["standard_training_robust_error_at_psi1_max"] == last["robust_error"]
    for record in summary["curves"]:
        assert "psi1_standard_more_robust" in record and "min_robust_error" in record
        if record["eps"] == 0:
            assert record["psi1_standard_more_robust"] is None
    assert "min E_rob" in (tmp_path / "summary.txt").read_text()
    again = reproduce_overparam(tmp_path, settings=settings, methods=FAKE, progress=False)
    assert again["sweep"]["computed"] == 0 and again["curves"] == summary["curves"]
    assert again["ridge_sweep"]["computed"] == 0


def test_registry_lists_and_runs_reproductions(tmp_path, capsys):
    assert [name for name, _ in reproductions.available()] == list(reproductions.NAMES)
    assert main(["reproduce", "--list"]) == 0
    assert "overparam: the curse of overparametrization" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unknown reproduction 'nope'; choose one of overparam"):
        reproductions.load("nope")
    settings = Settings(theory_points=5, sim_psi1=(3.0,), d=10, seeds=1, ridge_points=3)
    runner = Runner(methods=FAKE, progress=False)
    result = reproductions.reproduce(
        "overparam", tmp_path / "out", settings=settings, runner=runner
    )
    assert result.summary["setting"]["theory_points"] == 5 and "min E_rob" in result.text
    assert (tmp_path / "out" / reproductions.MARKER).exists()


def test_settings_are_validated_once_with_the_parameter_named():
    with pytest.raises(ValueError, match="theory_points"):
        Settings(theory_points=2)
    with pytest.raises(ValueError, match="d \\(input dimension\\)"):
        Settings(d=0)
    with pytest.raises(ValueError, match="seeds"):
        Settings(seeds=0)


def test_output_must_not_be_a_sweep_store_or_foreign(tmp_path, capsys):
    store = tmp_path / "store"
    Store(store)
    before = sorted(p.name for p in store.iterdir())
    argv = ["reproduce", "overparam", "--out", str(store), "--theory-points", "3"]
    assert main(argv) == 2
    assert "is an advrf results store" in capsys.readouterr().err
    assert sorted(p.name for p in store.iterdir()) == before  # nothing written into it
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty and is not the output of a reproduction"):
        reproductions.prepare_output(foreign, "overparam")
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("workers", ["0", "-1", "x"])
def test_workers_must_be_at_least_one(tmp_path, capsys, workers):
    for command in (["reproduce", "overparam"], ["sweep", "--psi1", "1", "--psi2", "1",
                                                 "--eps", "0", "--theory"]):  # fmt: skip
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--out", str(tmp_path / "o"), "--workers", workers])
        assert exit_info.value.code == 2
        assert "--workers must be >= 1; use --workers N" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _theory_curve(psi1, eps, eps_test, noise=0.0):
    from advrf.experiments.methods import DEFAULT_METHODS

    rows = []
    for value in psi1:
        problem = Problem(value, 2.0, eps, eps_test=eps_test, noise=noise)
        fields, _ = DEFAULT_METHODS.theory(problem, None)
        rows.append({**problem.to_dict(), "robust_error": fields["robust_error"]})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("eps", "noise"), [(0.2, 0.0), (0.5, 0.5)])
def test_standard_more_robust_crossing_agrees_with_the_theory(eps, noise):
    from advrf.experiments.methods import DEFAULT_METHODS
    from advrf.experiments.reproductions.overparam import standard_more_robust_from

    grid = np.geomspace(0.5, 100.0, 25)
    adversarial = _theory_curve(grid, eps, eps, noise)
    standard = _theory_curve(grid, 0.0, eps, noise)
    crossing = standard_more_robust_from(adversarial, standard, DEFAULT_METHODS.theory)
    assert crossing is not None and grid[0] < crossing < grid[-1]
    assert not np.any(np.isclose(crossing, grid))  # refined, not a grid point
    for factor, sign in ((0.995, -1.0), (1.005, 1.0)):
        around = np.array([crossing * factor])
        gap = _theory_curve(around, eps, eps, noise)["robust_error"].iloc[0]
        gap -= _theory_curve(around, 0.0, eps, noise)["robust_error"].iloc[0]
        assert sign * gap > 0
    # the numbers (advrf theory --psi1 5,10,100 --eps 0,0.2 --eps-test 0.2)
    if (eps, noise) == (0.2, 0.0):
        at = np.array([5.0, 10.0, 100.0])
        np.testing.assert_allclose(
            _theory_curve(at, 0.0, 0.2)["robust_error"], [0.41, 0.26, 0.175], atol=0.005
        )
        np.testing.assert_allclose(
            _theory_curve(at, 0.2, 0.2)["robust_error"], [0.64, 0.71, 0.99], atol=0.005
        )


def test_standard_never_more_robust_is_none():
    from advrf.experiments.reproductions.overparam import standard_more_robust_from

    grid = np.geomspace(0.5, 100.0, 5)
    adversarial = _theory_curve(grid, 0.2, 0.2)
    standard = adversarial.assign(robust_error=adversarial["robust_error"] + 0.1)
    assert standard_more_robust_from(adversarial, standard, FAKE.theory) is None
