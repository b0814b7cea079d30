"""Figures from a results table: robust and standard test error against a swept parameter.

`plot_errors(table, x="psi1", by="eps", row=None)` returns a matplotlib Figure with two panels side
by side, the robust error E_rob (left) and the standard error E_std (right), against the column
`x`, one colour per value of `by`: theory rows as lines, simulation rows as points at the seed mean
with error bars of one standard error of the mean (sem = sample standard deviation / sqrt(number of
seeds)). With `row`, one such pair of panels per value of that column. The null risk
F1^2 + tau^2 (the error of the zero predictor) is a dashed horizontal line. The x axis is
logarithmic when the values of x are (see `is_log_grid`). Failed rows are not drawn. Every other
parameter must take a single value in each curve (filter with `where`), so that a line never mixes
two settings. A simulation setting such as d is absent from the theory rows (the theory is the
limit d -> infinity): with `by="d"` or `row="d"` the theory is one dark line in every panel.

Nothing here writes a file or touches pyplot's global state or the backend: the figure is a
`matplotlib.figure.Figure` of its own (`NotebookFigure`, which Jupyter displays as the cell's value
even before pyplot is imported), or the one of the Axes passed as `ax`; `save_figure` writes it as
PNG and PDF.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from advrf.experiments.sweep import filter_rows
from advrf.experiments.units import OK, PARAMETERS, SIMULATION, THEORY

SYMBOLS = {
    "psi1": r"\psi_1",
    "psi2": r"\psi_2",
    "eps": r"\varepsilon",
    "eps_test": r"\varepsilon_{test}",
    "lam": r"\lambda",
    "signal": "F_1",
    "noise": r"\tau",
    "d": "d",
}
AXIS_LABELS = {"psi1": r"$\psi_1 = N/d$", "psi2": r"$\psi_2 = n/d$"}
ERRORS = {
    "robust_error": r"robust error $E_{rob}$",
    "standard_error": r"standard error $E_{std}$",
}
# Settings of the simulation rows (absent from the theory rows); columns not in a table are skipped.
SIMULATION_SETTINGS = ("d", "variant", "n_test", "attack", "inputs", "population")
FORMATS = ("png", "pdf")
DPI = 150
NOTEBOOK_DPI = 100  # of the PNG that Jupyter shows
PANEL_SIZE = (5.0, 3.8)  # inches per panel
YMAX_NULL_RISKS = 2.5  # the y axis stops at this many null risks (peaks may diverge)
MAX_LEGEND_LINES = 8  # with more lines, only every k-th value is named in the legend
LEGEND_COLUMNS = 4
LEGEND_LINE, LEGEND_MARGIN = 0.2, 0.1  # inches per legend line, and below the legend
SHARED_COLOUR = "0.15"  # rows without a value of `by` (the theory, for a simulation setting)
LOG_RATIO = 10.0  # a positive axis spanning at least this ratio may be logarithmic


class NotebookFigure(Figure):
    """A Figure outside pyplot that Jupyter shows as a PNG (IPython's `_repr_png_` protocol).

    Where pyplot's inline backend has registered its own display of figures, that one is used.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=NOTEBOOK_DPI, bbox_inches="tight")
        return buffer.getvalue()


def is_log_grid(values: Sequence[float]) -> bool:
    """Whether positive values spanning >= LOG_RATIO are spaced more evenly in log than linearly.

    The spacing is compared through the coefficient of variation of consecutive gaps of the sorted
    distinct values (of log(values) and of values); two values count as logarithmic when their
    ratio is at least LOG_RATIO.
    """
    v = np.unique(np.asarray(values, dtype=float))
    if v.size < 2 or v[0] <= 0 or v[-1] / v[0] < LOG_RATIO:
        return False
    if v.size == 2:
        return True

    def spread(gaps: np.ndarray) -> float:
        return float(np.std(gaps) / np.mean(gaps))

    return spread(np.diff(np.log(v))) < spread(np.diff(v))


def label(name: str, value: Any = None) -> str:
    """Axis label (no value) or legend entry (`symbol = value`) with the symbols of the docs."""
    symbol = SYMBOLS.get(name)
    if value is None:
        return AXIS_LABELS.get(name, f"${symbol}$" if symbol else name)
    number = isinstance(value, float | int | np.floating | np.integer)
    shown = f"{value:.3g}" if number else str(value)
    return f"${symbol} = {shown}$" if symbol else f"{name} = {shown}"


def _check_single_settings(frame: pd.DataFrame, groups: list[str]) -> None:
    for method in (THEORY, SIMULATION):
        rows = frame[frame["method"] == method]
        settings = [p for p in PARAMETERS if p not in groups]
        if method == SIMULATION:
            settings += [c for c in SIMULATION_SETTINGS if c in rows.columns]
        for name in settings:
            counts = rows.groupby(groups, dropna=False)[name].nunique(dropna=False)
            if (counts > 1).any():
                values = ", ".join(str(v) for v in sorted(rows[name].dropna().unique()))
                raise ValueError(
                    f"{name} takes several values ({values}) within one curve of the {method} "
                    f"rows: choose one (where {name}=VALUE, `--where {name}=VALUE`) or draw "
                    f"them as separate lines or rows (by={name!r} or row={name!r})"
                )


def simulation_means(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Seed mean, standard error of the mean and seed count of both errors, per group."""
    rows = frame[frame["method"] == SIMULATION]
    stats = rows.groupby(groups, dropna=False)[list(ERRORS)].agg(["mean", "sem", "count"])
    stats.columns = [f"{error}_{stat}" for error, stat in stats.columns]
    return stats.reset_index()


def plot_errors(
    table: pd.DataFrame,
    *,
    x: str = "psi1",
    by: str | None = "eps",
    row: str | None = None,
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
    ymax: float | None = None,
    errors: Sequence[str] = tuple(ERRORS),
    ax: Any = None,
    out: str | Path | None = None,
) -> Figure:
    """Draw E_rob and E_std against `x` (see module docstring) and return the Figure.

    ymax: top of the y axes (default: the highest point drawn, at most YMAX_NULL_RISKS null
    risks). errors: the error columns drawn, one panel each (robust_error, standard_error).
    ax: None (a new Figure), or the Axes to draw into: one per panel, shaped (rows, errors), e.g.
    a single Axes with `errors=["robust_error"]` and no `row`. Then the legend goes into the
    first Axes and no figure title is set unless `title` is given.
    out: deprecated, the former interface: writes OUT.png and OUT.pdf and returns their paths
    instead of the Figure; use `save_figure(plot_errors(...), out)` or `write_errors`.
    """
    if out is not None:
        warnings.warn(
            "plot_errors(out=...) is deprecated: it returns the Figure; write it with "
            "save_figure(fig, out), or call write_errors(table, out=...) for the paths",
            DeprecationWarning,
            stacklevel=2,
        )
        options = {"x": x, "by": by, "row": row, "where": where, "title": title, "ymax": ymax}
        return write_errors(table, out=out, errors=errors, ax=ax, **options)
    errors = list(errors)
    frame = _rows_to_draw(table, x=x, by=by, row=row, where=where, ymax=ymax, errors=errors)
    groups = [c for c in (row, by, x) if c is not None]
    _check_single_settings(frame, groups)
    rows = _values(frame, row)
    lines = _values(frame, by)
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, max(len(lines), 1)))
    named = set(lines[:: -(-len(lines) // MAX_LEGEND_LINES)] + lines[-1:])
    if ax is None:
        size = (len(errors) * PANEL_SIZE[0], PANEL_SIZE[1] * len(rows))
        fig = NotebookFigure(figsize=size)
        axes = fig.subplots(len(rows), len(errors), squeeze=False, sharex=True)
    else:
        axes = np.asarray(ax, dtype=object)
        if axes.size != len(rows) * len(errors):
            raise ValueError(
                f"ax must hold {len(rows)} x {len(errors)} Axes (rows x errors); got {axes.size}"
            )
        axes = axes.reshape(len(rows), len(errors))
        fig = axes[0, 0].figure
    logx = is_log_grid(frame[x].to_numpy(dtype=float))
    drew_null = False
    for r, row_value in enumerate(rows):
        part = frame if row is None else frame[_matches(frame[row], row_value, shared=True)]
        theory = part[part["method"] == THEORY]
        means = simulation_means(part, groups)
        null_risks = (part["signal"] ** 2 + part["noise"] ** 2).unique()
        curves = [(value, colour) for value, colour in zip(lines, colours, strict=False)]
        if by is not None and part[by].isna().any():
            curves.append((None, SHARED_COLOUR))  # rows without a value of `by`: the theory
        top = 0.0
        for c, error in enumerate(errors):
            axis = axes[r, c]
            for value, colour in curves:
                curve = theory if by is None else theory[_matches(theory[by], value)]
                curve = curve.sort_values(x)
                name = None
                if r == 0 and by is not None:
                    name = label(by, value) if value is not None and value in named else None
                if not curve.empty:
                    axis.plot(curve[x], curve[error], color=colour, lw=1.6, label=name)
                    top = max(top, float(np.nanmax(curve[error])))
                    name = None
                points = means if by is None else means[_matches(means[by], value)]
                if not points.empty:
                    axis.errorbar(
                        points[x],
                        points[f"{error}_mean"],
                        yerr=points[f"{error}_sem"].fillna(0.0),
                        fmt="o",
                        ms=4,
                        capsize=2.5,
                        color=colour,
                        label=name,
                    )
                    top = max(top, float(np.nanmax(points[f"{error}_mean"])))
            if len(null_risks) == 1:
                axis.axhline(null_risks[0], color="0.4", ls="--", lw=1.0)
                drew_null = True
            if logx:
                axis.set_xscale("log")
            axis.set_ylabel(ERRORS[error])
            axis.grid(alpha=0.3, which="both" if logx else "major")
            if row is not None:
                axis.set_title(label(row, row_value), fontsize=10)
        limit = ymax
        if limit is None:
            limit = 1.05 * top if top > 0 else 1.0
            if len(null_risks) == 1 and null_risks[0] > 0:
                limit = min(limit, YMAX_NULL_RISKS * float(null_risks[0]))
        for c in range(len(errors)):
            axes[r, c].set_ylim(0.0, limit)
    for c in range(len(errors)):
        axes[-1, c].set_xlabel(label(x))
    handles, names = _legend_entries(axes[0, 0], frame, null_risk=drew_null)
    if ax is None:
        fig.suptitle(title or _caption(frame, groups), fontsize=10)
        legend_below(fig, handles, names)
    else:
        if title:
            fig.suptitle(title, fontsize=10)
        axes[0, 0].legend(handles, names, fontsize=8)
    return fig


def write_errors(table: pd.DataFrame, *, out: str | Path, **options: Any) -> list[Path]:
    """`save_figure(plot_errors(table, **options), out)`: the PNG and PDF paths."""
    return save_figure(plot_errors(table, **options), out)


def save_figure(
    fig: Figure, out: str | Path, formats: Sequence[str] = FORMATS, dpi: int = DPI
) -> list[Path]:
    """Write `fig` as OUT.png and OUT.pdf (a .png/.pdf suffix of `out` is replaced); the paths."""
    stem = Path(out)
    if stem.suffix.lower() in {f".{fmt}" for fmt in FORMATS}:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def _rows_to_draw(
    table: pd.DataFrame,
    *,
    x: str,
    by: str | None,
    row: str | None,
    where: Mapping[str, Any] | None,
    ymax: float | None,
    errors: list[str],
) -> pd.DataFrame:
    """The computed rows of `table` that `where` keeps, after checking every option."""
    if ymax is not None and not (math.isfinite(ymax) and ymax > 0):
        raise ValueError(f"ymax (--ymax) must be a positive number; got {ymax:g}")
    unknown = [e for e in errors if e not in ERRORS]
    if unknown or not errors:
        raise ValueError(f"errors must be among {', '.join(ERRORS)}; got {errors}")
    chosen = {"x": x, "by": by, "row": row}
    for first, second in (("x", "by"), ("x", "row"), ("by", "row")):
        if chosen[first] is not None and chosen[first] == chosen[second]:
            free = "by" if "by" in (first, second) else "row"
            raise ValueError(
                f"{first} and {second} (--{first}, --{second}) are both {chosen[first]!r}: "
                f"choose two different columns (or {free}=None, `--{free} none`)"
            )
    if table.empty:
        raise ValueError("the results table has no rows (is the sweep's store empty?)")
    for option, name in chosen.items():
        if name is not None and name not in table.columns:
            raise ValueError(
                f"{option}={name!r} (--{option}): no column {name!r} in the results; "
                f"columns: {', '.join(table.columns)}"
            )
    frame = filter_rows(table, where or {})
    if "status" in frame.columns:
        frame = frame[frame["status"] == OK]
    if frame.empty:
        raise ValueError("no computed rows to draw (check --where and the status column)")
    if row is not None and frame[row].isna().all():
        raise ValueError(f"row={row!r} (--row): no row to draw has a value of {row}")
    theory = frame[frame["method"] == THEORY]
    if not theory.empty and theory[x].isna().all():
        raise ValueError(
            f"x={x!r} (--x): the theory rows have no {x} (the theory is the limit d -> infinity); "
            f"draw the simulation rows alone (where method='simulation', "
            f"`--where method=simulation`) or put {x} in by or row"
        )
    return frame


def _values(frame: pd.DataFrame, name: str | None) -> list:
    """The distinct values of a column, sorted, without the missing ones ([None] for no column)."""
    return [None] if name is None else sorted(frame[name].dropna().unique())


def _matches(column: pd.Series, value: Any, *, shared: bool = False) -> pd.Series:
    """Rows equal to `value` (missing rows for `value=None`), and missing ones too if `shared`."""
    if value is None:
        return column.isna()
    mask = column.eq(value).fillna(False).astype(bool)
    return mask | column.isna() if shared else mask


def legend_below(fig, handles: list, names: list[str]) -> None:
    """One legend for the whole figure, centred below the panels, and a tight layout above it."""
    columns = min(len(names), LEGEND_COLUMNS)
    lines = -(-len(names) // columns)
    height = fig.get_size_inches()[1]
    bottom = (LEGEND_MARGIN + LEGEND_LINE * lines) / height
    fig.legend(handles, names, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0.0, bottom, 1.0, 1.0))


def _legend_entries(ax, frame: pd.DataFrame, *, null_risk: bool) -> tuple[list, list[str]]:
    handles, names = ax.get_legend_handles_labels()
    if (frame["method"] == THEORY).any():
        handles.append(Line2D([], [], color="0.2", lw=1.6))
        names.append("theory")
    sims = frame[frame["method"] == SIMULATION]
    if not sims.empty:
        handles.append(Line2D([], [], color="0.2", marker="o", ls="none", ms=4))
        dims = ", ".join(str(int(v)) for v in sorted(sims["d"].unique()))
        names.append(f"simulation, d = {dims} (mean ± s.e.m.)")
    if null_risk:
        handles.append(Line2D([], [], color="0.4", ls="--", lw=1.0))
        names.append(r"null risk $F_1^2 + \tau^2$")
    return handles, names


def _caption(frame: pd.DataFrame, groups: list[str]) -> str:
    parts = []
    for name in PARAMETERS:
        if name in groups or (name == "eps_test" and (frame["eps_test"] == frame["eps"]).all()):
            continue
        values = frame[name].unique()
        if len(values) == 1:
            parts.append(label(name, values[0]))
    return ", ".join(parts)
