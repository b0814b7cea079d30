"""The headline reproduction's machinery (ridge search, extremum refinement, outputs) with fakes."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sweep_fakes import FAKE, FAKE_LAM_OPT

from advrf.experiments import reproduce
from advrf.experiments.methods import PointFailure
from advrf.experiments.reproduce import Settings, optimal_ridge, reproduce_overparam
from advrf.problem import Problem


def test_optimal_ridge_finds_the_minimiser():
    found = optimal_ridge(Problem(3.0, 2.0, 0.2), FAKE.theory)
    assert math.log(found["lam_opt"] / FAKE_LAM_OPT) == pytest.approx(
        0.0, abs=2 * reproduce.RIDGE_LOG_TOL
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


def test_peak_refined_between_grid_points():
    psi1 = np.geomspace(0.1, 100, 41)
    base = Problem(1.0, 2.0, 0.1).to_dict()
    curve = pd.DataFrame(
        [
            {**base, "psi1": p, "robust_error": peaked(Problem(p, 2, 0.1))[0]["robust_error"]}
            for p in psi1
        ]
    )
    found = reproduce._local_extremum(curve, "robust_error", "peak", peaked, 2.0)
    assert found["refined"] and found["psi1"] == pytest.approx(PEAK, rel=2e-3)
    assert found["value"] == pytest.approx(1.0, abs=1e-5)


def test_reproduction_outputs_and_resume(tmp_path):
    settings = Settings(theory_points=31, sim_psi1=(0.5, 3.0), d=20, seeds=2, ridge_points=5)
    summary = reproduce_overparam(tmp_path, settings=settings, methods=FAKE, progress=False)
    for name in ("overparam", "ridge_optimum"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert (tmp_path / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    for name in ("theory", "simulation", "simulation_means", "ridge_optimum"):
        table = pd.read_parquet(tmp_path / "tables" / f"{name}.parquet")
        assert len(table) == len(pd.read_csv(tmp_path / "tables" / f"{name}.csv")) > 0
    theory = pd.read_parquet(tmp_path / "tables" / "theory.parquet")
    assert len(theory) == 31 * 4 * 2 and set(theory["eps"]) == {0.0, 0.1, 0.2, 0.5}
    sims = pd.read_parquet(tmp_path / "tables" / "simulation.parquet")
    assert len(sims) == 2 * 2 * 4 * 2 and set(sims["d"]) == {20}
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["curves"] == summary["curves"] and len(summary["curves"]) == 8
    curve = next(c for c in summary["curves"] if c["noise"] == 0.5 and c["eps"] == 0.2)
    assert curve["psi1_max"] == pytest.approx(100.0)
    assert curve["ridge_lam_at_psi1_max"] == pytest.approx(FAKE_LAM_OPT, rel=0.05)
    assert "min E_rob" in (tmp_path / "summary.txt").read_text()
    again = reproduce_overparam(tmp_path, settings=settings, methods=FAKE, progress=False)
    assert again["sweep"]["computed"] == 0 and again["curves"] == summary["curves"]
