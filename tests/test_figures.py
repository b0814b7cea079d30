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
    from advrf.experiments.figures import plot_errors, save_figure, write_errors

    table = read_results(results)
    fig = plot_errors(table, x="eps", by="psi1", where={"noise": 0})
    paths = save_figure(fig, tmp_path / "eps.pdf")
    assert [p.name for p in paths] == ["eps.png", "eps.pdf"] and _is_png(paths[0])
    paths = write_errors(table, out=tmp_path / "again", x="eps", by="psi1", where={"noise": 0})
    assert [p.name for p in paths] == ["again.png", "again.pdf"] and _is_png(paths[0])
    with pytest.warns(DeprecationWarning, match="save_figure"):  # the former interface
        paths = plot_errors(table, out=tmp_path / "old", x="eps", by="psi1", where={"noise": 0})
    assert [p.name for p in paths] == ["old.png", "old.pdf"] and _is_png(paths[0])
    with pytest.raises(ValueError, match="no computed rows"):
        plot_errors(table, where={"noise": 3.0})


def test_plot_errors_returns_a_figure_and_leaves_the_backend(results, tmp_path, monkeypatch):
    import matplotlib
    from matplotlib.figure import Figure

    from advrf.experiments.figures import plot_errors

    table = read_results(results)
    previous = matplotlib.get_backend()
    monkeypatch.chdir(tmp_path)
    matplotlib.use("svg")
    try:
        fig = plot_errors(table, where={"noise": 0.5})
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(previous)
    assert isinstance(fig, Figure)
    assert [a.get_ylabel() for a in fig.axes] == [
        r"robust error $E_{rob}$",
        r"standard error $E_{std}$",
    ]
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"  # what Jupyter displays


def test_plot_errors_into_given_axes(results):
    from matplotlib.figure import Figure

    from advrf.experiments.figures import plot_errors

    table = read_results(results)
    mine = Figure()
    ax = mine.subplots()
    fig = plot_errors(table, where={"noise": 0.5}, errors=["robust_error"], ax=ax)
    assert fig is mine and fig.axes == [ax]
    assert len(ax.get_lines()) >= 2 and ax.get_legend() is not None  # theory lines, legend
    with pytest.raises(ValueError, match="ax must hold 1 x 2 Axes"):
        plot_errors(table, where={"noise": 0.5}, ax=ax)


@pytest.fixture(scope="module")
def two_dims(tmp_path_factory):
    """Theory rows (no d) and simulation rows at d = 20 and 40, one setting otherwise."""
    out = tmp_path_factory.mktemp("two-dims")
    grid = {"psi1": "0.5,2,8", "psi2": "2", "eps": "0.2"}
    run_sweep(out, sweep_units(axes_from_mapping(grid)), methods=FAKE)
    units = sweep_units(axes_from_mapping(grid), theory=False, simulate=True, d=[20, 40], seeds=2)
    run_sweep(out, units, methods=FAKE)
    return out


def test_by_and_row_d_draw_the_theory_in_every_panel(two_dims, tmp_path, capsys):
    from advrf.experiments.figures import plot_errors

    fig = plot_errors(read_results(two_dims), by="d")
    theory = read_results(two_dims).query("method == 'theory'").sort_values("psi1")
    for ax, error in zip(fig.axes[:2], ("robust_error", "standard_error"), strict=True):
        solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
        (line,) = solid  # the theory, drawn once, in the shared colour
        assert list(line.get_ydata()) == list(theory[error]) and line.get_color() == "0.15"
    assert (
        main(["figure", "--results", str(two_dims), "--by", "d", "--out", str(tmp_path / "a")]) == 0
    )
    assert _is_png(tmp_path / "a.png")
    fig = plot_errors(read_results(two_dims), by="psi2", row="d")
    assert len(fig.axes) == 4 and all(len(ax.get_lines()) >= 1 for ax in fig.axes)
    message = "the theory rows have no d"
    assert main(["figure", "--results", str(two_dims), "--x", "d", "--by", "psi1"]) == 2
    assert message in capsys.readouterr().err
    where = ["--where", "method=simulation", "--out", str(tmp_path / "b")]
    assert main(["figure", "--results", str(two_dims), "--x", "d", "--by", "psi1", *where]) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--row", "eps"], "by and row (--by, --row) are both 'eps'"),
        (["--x", "eps"], "x and by (--x, --by) are both 'eps'"),
        (["--ymax", "-1"], "ymax (--ymax) must be a positive number; got -1"),
        (["--ymax", "nan"], "ymax (--ymax) must be a positive number; got nan"),
        (["--by", "colour"], "by='colour' (--by): no column 'colour'"),
    ],
)
def test_bad_figure_options_are_named(results, options, message, capsys):
    assert main(["figure", "--results", str(results), "--where", "noise=0", *options]) == 2
    assert message in capsys.readouterr().err


def test_empty_store_says_so(tmp_path, capsys):
    from advrf.experiments.figures import plot_errors
    from advrf.experiments.store import Store

    Store(tmp_path / "empty")
    assert main(["figure", "--results", str(tmp_path / "empty")]) == 2
    assert "the store holds no rows yet" in capsys.readouterr().err
    with pytest.raises(ValueError, match="the results table has no rows"):
        plot_errors(read_results(tmp_path / "empty"))
