"""Sweep reports: rows of another advrf version are never reused without a word (the run counts
versions): the run counts them, and --other-versions recompute computes them again."""

from __future__ import annotations

import json

import pytest

import advrf.experiments.store as store_module
from advrf.cli import main
from advrf.experiments.store import Store
from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.grid import Axis

AXES = [Axis("psi1", (1.0, 3.0)), Axis("psi2", (2.0,)), Axis("eps", (0.1,))]


def _sweep_as(monkeypatch, version, out, **options):
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "__version__", version)
        return run_sweep(out, sweep_units(AXES), progress=False, **options)


def test_rows_of_another_version_are_counted_and_kept_by_default(tmp_path, monkeypatch):
    out = tmp_path / "store"
    _sweep_as(monkeypatch, "0.0.1", out)
    report = run_sweep(out, sweep_units(AXES), progress=False)
    assert (report.computed, report.skipped, report.other_versions) == (0, 2, 2)
    assert "2 of the 2 requested rows were written by another advrf version" in (
        report.versions_message
    )
    assert set(Store(out).versions()) == {"0.0.1"}


def test_recompute_writes_them_again_and_the_new_rows_win(tmp_path, monkeypatch):
    out = tmp_path / "store"
    _sweep_as(monkeypatch, "0.0.1", out)
    report = run_sweep(out, sweep_units(AXES), progress=False, other_versions="recompute")
    assert (report.computed, report.other_versions) == (2, 2)
    assert set(Store(out).versions()) == {store_module.__version__}
    assert len(read_results(out)) == 2  # no duplicate rows
    again = run_sweep(out, sweep_units(AXES), progress=False)
    assert (again.computed, again.other_versions, again.versions_message) == (0, 0, "")


def test_the_command_says_so_and_takes_the_choice(tmp_path, monkeypatch, capsys):
    out = tmp_path / "store"
    _sweep_as(monkeypatch, "0.0.1", out)
    grid = ["--psi1", "1,3", "--psi2", "2", "--eps", "0.1", "--theory", "--out", str(out)]
    assert main(["sweep", *grid]) == 0
    assert "another advrf version" in capsys.readouterr().err
    assert main(["sweep", *grid, "--other-versions", "recompute", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["computed"] == 2
    with pytest.raises(ValueError, match="other_versions must be one of keep, recompute"):
        run_sweep(out, sweep_units(AXES), progress=False, other_versions="drop")


def test_a_report_gives_its_own_rows_as_a_frame(tmp_path):
    out = tmp_path / "store"
    run_sweep(out, sweep_units([*AXES[:2], Axis("eps", (0.1, 0.2))]), progress=False)
    report = run_sweep(out, sweep_units(AXES), progress=False)
    frame = report.to_frame()
    assert len(read_results(out)) == 4
    assert list(frame["psi1"]) == [1.0, 3.0] and set(frame["eps"]) == {0.1}
    assert (frame["status"] == "ok").all()


def test_a_simulation_that_cannot_fit_in_memory_is_a_failed_row_naming_its_size(tmp_path):
    axes = [Axis("psi1", (1.0,)), Axis("psi2", (1.152921504606847e18,)), Axis("eps", (1.0,))]
    units = sweep_units(axes, theory=False, simulate=True, d=[1], seeds=1)
    report = run_sweep(tmp_path / "store", units, progress=False)
    (failure,) = report.failures
    assert "this run needs about" in failure["error"]
    assert "n=1152921504606846976" in failure["error"]
