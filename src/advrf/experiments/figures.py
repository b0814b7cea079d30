"""Figures from a results table: robust and standard test error against a swept parameter.

`plot_errors(table, x="psi1", by="eps", row=None, out=...)` draws two panels side by side, the
robust error E_rob (left) and the standard error E_std (right), against the column `x`, one colour
per value of `by`: theory rows as lines, simulation rows as points at the seed mean with error bars
of one standard error of the mean (sem = sample standard deviation / sqrt(number of seeds)). With
`row`, one such pair of panels per value of that column. The null risk F1^2 + tau^2 (the error of
the zero predictor) is a dashed horizontal line. The x axis is logarithmic when the values of x
are (see `is_log_grid`). Failed rows are not drawn. Every other parameter must take a single value
in each curve (filter with `where`), so that a line never mixes two settings. Written as PNG and
PDF with matplotlib's Agg backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
SIMULATION_SETTINGS = ("d", "variant", "n_test")
FORMATS = ("png", "pdf")
DPI = 150
PANEL_SIZE = (5.0, 3.8)  # inches per panel
YMAX_NULL_RISKS = 2.5  # the y axis stops at this many null risks (peaks may diverge)
MAX_LEGEND_LINES = 8  # with more lines, only every k-th value is named in the legend
LEGEND_COLUMNS = 4
LEGEND_LINE, LEGEND_MARGIN = 0.2, 0.1  # inches per legend line, and below the legend
LOG_RATIO = 10.0  # a positive axis spanning at least this ratio may be logarithmic


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
    """Axis label (no value) or legend entry (`symbol = value`) with the spec's symbols."""
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
    out: str | Path,
    x: str = "psi1",
    by: str | None = "eps",
    row: str | None = None,
    where: Mapping[str, Any] | None = None,
    title: str | None = None,
    ymax: float | None = None,
) -> list[Path]:
    """Draw E_rob and E_std against `x` (see module docstring); return the PNG and PDF paths.

    out: file name without suffix (a .png/.pdf suffix is replaced). ymax: top of the y axes
    (default: the highest point drawn, at most YMAX_NULL_RISKS null risks).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = filter_rows(table, where or {})
    if "status" in frame.columns:
        frame = frame[frame["status"] == OK]
    for name in (x, by, row):
        if name is not None and name not in frame.columns:
            raise ValueError(f"no column {name!r} in the results")
    if frame.empty:
        raise ValueError("no computed rows to draw (check --where and the status column)")
    groups = [c for c in (row, by, x) if c is not None]
    _check_single_settings(frame, groups)
    rows = sorted(frame[row].unique()) if row else [None]
    lines = sorted(frame[by].unique()) if by else [None]
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(lines), 1)))
    named = set(lines[:: -(-len(lines) // MAX_LEGEND_LINES)] + lines[-1:])
    fig, axes = plt.subplots(
        len(rows),
        2,
        figsize=(2 * PANEL_SIZE[0], PANEL_SIZE[1] * len(rows)),
        squeeze=False,
        sharex=True,
    )
    logx = is_log_grid(frame[x].to_numpy(dtype=float))
    drew_null = False
    for r, row_value in enumerate(rows):
        part = frame if row is None else frame[frame[row] == row_value]
        theory = part[part["method"] == THEORY]
        means = simulation_means(part, groups)
        null_risks = (part["signal"] ** 2 + part["noise"] ** 2).unique()
        top = 0.0
        for c, (error, ylabel) in enumerate(ERRORS.items()):
            ax = axes[r, c]
            for colour, value in zip(colours, lines, strict=True):
                curve = theory if by is None else theory[theory[by] == value]
                curve = curve.sort_values(x)
                name = label(by, value) if by and r == 0 and value in named else None
                if not curve.empty and error in curve:
                    ax.plot(curve[x], curve[error], color=colour, lw=1.6, label=name)
                    top = max(top, float(np.nanmax(curve[error])))
                    name = None
                points = means if by is None else means[means[by] == value]
                if not points.empty:
                    ax.errorbar(
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
                ax.axhline(null_risks[0], color="0.4", ls="--", lw=1.0)
                drew_null = True
            if logx:
                ax.set_xscale("log")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3, which="both" if logx else "major")
            if row is not None:
                ax.set_title(label(row, row_value), fontsize=10)
        limit = ymax
        if limit is None:
            limit = 1.05 * top
            if len(null_risks) == 1:
                limit = min(limit, YMAX_NULL_RISKS * float(null_risks[0]))
        for c in range(2):
            axes[r, c].set_ylim(0.0, limit)
    for c in range(2):
        axes[-1, c].set_xlabel(label(x))
    handles, names = _legend_entries(axes[0, 0], frame, null_risk=drew_null)
    fig.suptitle(title or _caption(frame, groups), fontsize=10)
    legend_below(fig, handles, names)
    paths = _save(fig, out)
    plt.close(fig)
    return paths


def legend_below(fig, handles: list, names: list[str]) -> None:
    """One legend for the whole figure, centred below the panels, and a tight layout above it."""
    columns = min(len(names), LEGEND_COLUMNS)
    lines = -(-len(names) // columns)
    height = fig.get_size_inches()[1]
    bottom = (LEGEND_MARGIN + LEGEND_LINE * lines) / height
    fig.legend(handles, names, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0.0, bottom, 1.0, 1.0))


def _legend_entries(ax, frame: pd.DataFrame, *, null_risk: bool) -> tuple[list, list[str]]:
    from matplotlib.lines import Line2D

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


def _save(fig, out: str | Path) -> list[Path]:
    stem = Path(out)
    if stem.suffix.lower() in {f".{fmt}" for fmt in FORMATS}:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = stem.with_name(f"{stem.name}.{fmt}")
        fig.savefig(path, dpi=DPI)
        paths.append(path)
    return paths
