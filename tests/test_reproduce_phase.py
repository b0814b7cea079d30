"""`advrf reproduce phase-diagram` on a tiny grid, against direct theory calls."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from advrf.cli import main
from advrf.experiments.reproductions import reproduce
from advrf.experiments.reproductions.phase_diagram import Settings
from advrf.experiments.runner import Runner
from advrf.problem import Problem
from advrf.theory import solve
from advrf.theory.optimize import best_recipe


def _tiny() -> Settings:
    return Settings(
        psi1_points=9, activations=("relu_shifted",), noises=(0.0,), psi2_values=(2.0,),
        eps_values=(0.2, 0.8),
    )  # fmt: skip


def test_phase_diagram_cells_match_direct_theory_calls(tmp_path):
    result = reproduce("phase-diagram", tmp_path, settings=_tiny(), runner=Runner(progress=False))
    table = pd.read_parquet(tmp_path / "tables" / "phase_diagram.parquet")
    assert len(table) == len(pd.read_csv(tmp_path / "tables" / "phase_diagram.csv")) == 2
    assert (table["status"] == "ok").all()
    assert (tmp_path / "phase_diagram.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "summary.json").read_text())["cells"] == result.summary["cells"]
    dense = np.geomspace(0.1, 1000.0, 400)
    for cell in result.summary["cells"]:

        def at(psi1, cell=cell):
            return solve(Problem(psi1, 2.0, cell["eps"], lam=0.0)).robust_error

        wide = at(math.inf)
        assert cell["robust_error_at_psi1_inf"] == pytest.approx(wide, rel=1e-10)
        assert wide == pytest.approx(1.0, rel=1e-12)  # lam = 0, eps > 0: the null risk
        scan = min(at(p) for p in dense)
        assert cell["min_robust_error"] <= scan + 1e-9  # the refined minimum beats a dense scan
        assert cell["min_robust_error"] >= scan - 1e-3 * scan  # and is not far below it
        if cell["psi1_star"] is not None:  # null in summary.json: psi1 = inf, no curse
            assert at(cell["psi1_star"]) == pytest.approx(cell["min_robust_error"], rel=1e-9)
            assert cell["curse"] == pytest.approx(wide - cell["min_robust_error"], rel=1e-9)
        else:
            assert cell["curse"] == 0.0 and scan >= wide - 1e-12
        recipe = best_recipe(Problem(10.0, 2.0, cell["eps"]), cell["eps"], eps=cell["eps"])
        assert cell["gain"] == pytest.approx(
            recipe.standard_training.robust_error - recipe.best.robust_error, rel=1e-9, abs=1e-12
        )
    low, high = (c for c in sorted(result.summary["cells"], key=lambda c: c["eps"]))
    assert low["curse"] > 0.3  # the headline's curse (E_rob 0.634 at psi1 ~ 5.3, 1 at inf)
    assert low["psi1_trivial_below"] is None  # eps = 0.2 < eps_c at psi1 = 0.1
    # eps = 0.8 is trivial below a width where eps_c = 0.8, found by the root search
    width = high["psi1_trivial_below"]
    assert 0.1 < width < 1000.0
    for factor, trivial in ((0.99, True), (1.01, False)):
        assert (solve(Problem(width * factor, 2.0, 0.8)).eps_c <= 0.8) is trivial


def test_phase_diagram_resumes_and_is_listed(tmp_path, capsys):
    first = reproduce("phase-diagram", tmp_path, settings=_tiny(), runner=Runner(progress=False))
    again = reproduce("phase-diagram", tmp_path, settings=_tiny(), runner=Runner(progress=False))
    assert (
        again.summary["sweep"]["computed"] == 0 and again.summary["cells"] == first.summary["cells"]
    )
    assert main(["reproduce", "--list"]) == 0
    assert "phase-diagram: the phase diagram" in capsys.readouterr().out
    with pytest.raises(ValueError, match="grid must be one of quick, full"):
        Settings(grid="huge")
