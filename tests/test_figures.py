"""Figures from a results table (with the fake methods of tests/sweep_fakes.py)."""

from __future__ import annotations

import numpy as np
import pytest
from sweep_fakes import FAKE

from advrf.cli import main
from advrf.experiments.figures import is_log_grid, simulation_means
from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.grid import axes_from_mapping, parse_values


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    grid = {"psi1": "log:0.1:100:25", "psi2": "2", "eps": "0,0.2", "noise": "0,0.5"}
    run_sweep(out, sweep_units(axes_from_mapping(grid)), methods=FAKE)
    grid["psi1"] = "0.5,2,8"
    run_sweep(
        out,
        sweep_units(axes_from_mapping(grid), theory=False, simulate=True, d=[40], seeds=3),
        methods=FAKE,
    )
    return out


def test_log_grid_detection():
    assert is_log_grid(parse_values("psi1", "log:0.1:100:31").values)
    assert not is_log_grid(parse_values("psi1", "lin:0.1:100:31").values)
    assert not is_log_grid(parse_values("eps", "lin:0:1:11").values)  # zero: never log
    assert not is_log_grid([1.0, 2.0, 4.0])  # too narrow a range
    assert is_log_grid([0.5, 1, 2, 5, 10, 20])
    assert is_log_grid([1.0, 100.0]) and not is_log_grid([1.0, 5.0])


def test_seed_means_and_standard_errors(results):
    table = read_results(results)
    means = simulation_means(table[table["status"] == "ok"], ["noise", "eps", "psi1"])
    sims = table[(table["method"] == "simulation") & (table["status"] == "ok")]
    one = sims[(sims["noise"] == 0.5) & (sims["eps"] == 0.2) & (sims["psi1"] == 2.0)]
    row = means[(means["noise"] == 0.5) & (means["eps"] == 0.2) & (means["psi1"] == 2.0)].iloc[0]
    values = one["robust_error"].to_numpy()
    assert row["robust_error_count"] == len(values) == 3
    assert row["robust_error_mean"] == pytest.approx(values.mean(), rel=1e-14)
    assert row["robust_error_sem"] == pytest.approx(values.std(ddof=1) / np.sqrt(3), rel=1e-12)


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_cli_figure_writes_png_and_pdf(results, tmp_path, capsys):
    stem = tmp_path / "fig"
    assert main(["figure", "--results", str(results), "--row", "noise", "--out", str(stem)]) == 0
    png, pdf = tmp_path / "fig.png", tmp_path / "fig.pdf"
    assert _is_png(png) and pdf.read_bytes()[:5] == b"%PDF-"
    assert capsys.readouterr().out.split() == [str(png), str(pdf)]
    # default location: the store's figures/ directory, which keeps the store usable
    assert main(["figure", "--results", str(results), "--where", "noise=0.5"]) == 0
    assert _is_png(results / "figures" / "errors-vs-psi1-by-eps.png")
    read_results(results)


def test_mixed_settings_are_refused_with_the_fix(results, capsys):
    assert main(["figure", "--results", str(results)]) == 2
    assert "noise takes several values (0.0, 0.5)" in capsys.readouterr().err
    assert main(["figure", "--results", str(results), "--where", "noise"]) == 2
    assert main(["figure", "--results", str(results), "--where", "colour=red"]) == 2


def test_other_axes(results, tmp_path):
    from advrf.experiments.figures import plot_errors

    table = read_results(results)
    paths = plot_errors(table, out=tmp_path / "eps.pdf", x="eps", by="psi1", where={"noise": 0})
    assert [p.name for p in paths] == ["eps.png", "eps.pdf"] and _is_png(paths[0])
    with pytest.raises(ValueError, match="no computed rows"):
        plot_errors(table, out=tmp_path / "none", where={"noise": 3.0})
