"""`advrf reproduce phase-diagram`: where overparametrization hurts robustness.

Over a grid of (psi2, eps) -- eps is both the training and the test radius -- for noise in NOISES
and the activations relu_shifted and tanh (signal 1), one row per cell (a job
`advrf.experiments.phase.PhaseCell`, stored in OUT/store: resumable), three maps:

(i) the trivial phase. At finite psi1, training at eps >= eps_c(psi1) gives the zero predictor
    (E_rob = E_std = F1^2 + tau^2); eps_c grows with psi1 and is infinite at psi1 = inf, so no eps
    is trivial at every width. A cell is trivial below psi1_c, the width where eps_c(psi1_c) = eps
    (Brent's root search on log psi1 between grid neighbours): `psi1_trivial_below` (None when eps
    < eps_c at the smallest width PSI1_MIN; PSI1_MAX when eps >= eps_c on the whole grid).
(ii) the curse, at lam = 0: curse = E_rob(psi1 = inf) - min over psi1 of E_rob, the minimum over
    PSI1_POINTS log-spaced psi1 in [PSI1_MIN, PSI1_MAX] refined by a bounded search on log psi1
    (advrf.experiments.analysis.local_extremum) and psi1 = inf, and the minimising width
    psi1_star (inf, null in summary.json, and curse 0 where no finite width beats psi1 = inf;
    the minimum can be a tie on the trivial phase, E_rob = null risk, at the smallest width).
    psi1 = inf is solved directly (advrf.theory.wide): at lam = 0 and eps > 0, the null risk.
(iii) the gain of adversarial training over standard training at the same eps_test = eps and
    width GAIN_PSI1, each with its own best ridge (advrf.theory.optimize.best_recipe with eps
    fixed: lam in {0} U (0, inf) U {inf}): gain = E_rob(eps = 0, lam*_0) - E_rob(eps, lam*_eps)
    (positive: adversarial training is better) and relative_gain = gain / E_rob(eps = 0, lam*_0).

Grids: `--grid quick` (the default: 3 x 3 cells per map, seconds) or `--grid full` (GRIDS).
Outputs: OUT/tables/phase_diagram.{parquet,csv}, OUT/phase_diagram.{png,pdf} (one row of panels
per activation and noise), OUT/summary.{txt,json}.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advrf import __version__

if TYPE_CHECKING:
    import pandas as pd

    from advrf.experiments.reproductions import Result
    from advrf.experiments.runner import Runner
    from advrf.problem import Problem

SUMMARY = (
    "the phase diagram over (psi2, eps): trivial phase, the curse E_rob(inf) - min E_rob and its "
    "width psi1*, and the gain of adversarial over standard training with tuned ridge"
)
ACTIVATIONS = ("relu_shifted", "tanh")
NOISES = (0.0, 0.5)
SIGNAL = 1.0
PSI1_MIN, PSI1_MAX = 0.1, 1000.0  # advrf.experiments.phase (not imported here: heavy)
PSI1_POINTS = 41
GAIN_PSI1 = 10.0
GRIDS = {
    "quick": {"psi2": (0.5, 2.0, 8.0), "eps": (0.05, 0.2, 0.8)},
    "full": {
        "psi2": tuple(float(v) for v in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)),
        "eps": (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2),
    },
}


@dataclass(frozen=True)
class Settings:
    """Which grid (GRIDS) and the psi1 grid of each cell."""

    grid: str = field(default="quick", metadata={"help": "grid of (psi2, eps): quick or full"})
    psi1_points: int = field(
        default=PSI1_POINTS, metadata={"help": "log-spaced psi1 per cell (>= 5)"}
    )
    activations: tuple[str, ...] = ACTIVATIONS
    noises: tuple[float, ...] = NOISES
    psi2_values: tuple[float, ...] | None = None  # None: those of the grid
    eps_values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        from advrf.settings import check_integer

        if self.grid not in GRIDS:
            raise ValueError(f"grid must be one of {', '.join(GRIDS)}; got {self.grid!r}")
        object.__setattr__(
            self, "psi1_points", check_integer("psi1_points", self.psi1_points, 5, "grid points")
        )
        self.problems()  # every cell validated once, by Problem

    @property
    def psi2(self) -> tuple[float, ...]:
        return GRIDS[self.grid]["psi2"] if self.psi2_values is None else self.psi2_values

    @property
    def eps(self) -> tuple[float, ...]:
        return GRIDS[self.grid]["eps"] if self.eps_values is None else self.eps_values

    def problems(self) -> list[Problem]:
        from advrf.problem import Problem  # here, not at the top: `advrf --help` stays light

        return [
            Problem(
                GAIN_PSI1, psi2, eps, lam=0.0, signal=SIGNAL, noise=noise, activation=activation
            )
            for activation in self.activations
            for noise in self.noises
            for psi2 in self.psi2
            for eps in self.eps
        ]


def _plot(table: pd.DataFrame, out: Path) -> list[Path]:
    import numpy as np
    from matplotlib.figure import Figure

    from advrf.experiments.figures import label, save_figure

    panels = list(table.groupby(["activation", "noise"], sort=True))
    maps = (
        ("psi1_trivial_below", r"trivial below $\psi_1$ (log$_{10}$)", "Greys", True),
        ("curse", r"curse $E_{rob}(\infty) - \min_{\psi_1} E_{rob}$", "magma_r", False),
        ("psi1_star", r"$\psi_1^*$ (log$_{10}$)", "viridis", True),
        ("relative_gain", "relative gain of adversarial training", "RdBu", False),
    )
    fig = Figure(figsize=(4.2 * len(maps), 3.4 * len(panels)))
    axes = fig.subplots(len(panels), len(maps), squeeze=False)
    for r, ((activation, noise), part) in enumerate(panels):
        psi2 = np.sort(part["psi2"].unique())
        eps = np.sort(part["eps"].unique())
        for c, (column, title, cmap, log) in enumerate(maps):
            grid = (
                part.pivot_table(index="eps", columns="psi2", values=column, dropna=False)
                .reindex(index=eps, columns=psi2)
                .to_numpy(dtype=float, copy=True)
            )
            grid[~np.isfinite(grid)] = np.nan  # psi1* = inf (no curse): blank
            if log:
                grid = np.log10(grid)
            ax = axes[r, c]
            options = {}
            if column == "relative_gain":
                bound = max(float(np.nanmax(np.abs(grid))), 1e-12)
                options = {"vmin": -bound, "vmax": bound}
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, **options)
            fig.colorbar(image, ax=ax)
            for (i, j), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=6)
            ax.set_xticks(range(len(psi2)), [f"{v:g}" for v in psi2], fontsize=7)
            ax.set_yticks(range(len(eps)), [f"{v:g}" for v in eps], fontsize=7)
            ax.set_xlabel(label("psi2"))
            ax.set_ylabel(r"$\varepsilon = \varepsilon_{test}$")
            ax.set_title(f"{activation}, {label('noise', noise)}\n{title}", fontsize=9)
    fig.suptitle(
        rf"Where overparametrization hurts: $\lambda = 0$ for the curse, $\psi_1 \in "
        rf"[{PSI1_MIN:g}, {PSI1_MAX:g}] \cup \{{\infty\}}$; gain at $\psi_1 = {GAIN_PSI1:g}$, "
        r"each recipe with its best $\lambda$"
        "\n"
        r"blank: never trivial on the grid (trivial map), no curse, $\psi_1^* = \infty$ "
        r"($\psi_1^*$ map)",
        fontsize=10,
    )
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))
    return save_figure(fig, out, dpi=130)


def _format(table: pd.DataFrame, settings: Settings, seconds: float, failed: int) -> str:
    def number(value: Any) -> str:
        return (
            "-"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else (f"{value:.4g}")
        )

    lines = [
        "advrf reproduce phase-diagram: where overparametrization hurts",
        f"grid {settings.grid}: eps = eps_test, lam = 0 for the curse; psi1 in [{PSI1_MIN:g}, "
        f"{PSI1_MAX:g}] ({settings.psi1_points} log points, refined) and psi1 = inf; gain at "
        f"psi1 = {GAIN_PSI1:g} with tuned ridge",
        "",
        f"{'activation':>12} {'noise':>5} {'psi2':>5} {'eps':>5} | {'trivial<':>8} | "
        f"{'psi1*':>7} {'min E_rob':>9} {'E_rob(inf)':>10} {'curse':>7} | {'E_rob std':>9} "
        f"{'E_rob adv':>9} {'rel gain':>8}",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"{r['activation']:>12} {r['noise']:>5g} {r['psi2']:>5g} {r['eps']:>5g} | "
            f"{number(r['psi1_trivial_below']):>8} | {number(r['psi1_star']):>7} "
            f"{number(r['min_robust_error']):>9} {number(r['robust_error_at_psi1_inf']):>10} "
            f"{number(r['curse']):>7} | {number(r['standard_robust_error']):>9} "
            f"{number(r['adversarial_robust_error']):>9} {number(r['relative_gain']):>8}"
        )
    lines += [
        "",
        "trivial<: the width below which training at eps gives the zero predictor (eps >= eps_c);",
        "curse = E_rob(inf) - min E_rob at lam = 0, reached at psi1*; E_rob std / adv: standard "
        "and adversarial training at eps_test = eps, each with its best ridge; rel gain = "
        "(std - adv) / std.",
        f"wall time of this run: {seconds:.1f} s; failed cells: {failed}",
    ]
    return "\n".join(lines) + "\n"


def run(out: Path, settings: Settings, runner: Runner) -> Result:
    """Run the reproduction into `out` (module docstring) with `runner`; its Result."""
    from advrf.experiments.phase import PhaseCell
    from advrf.experiments.reproductions import Result
    from advrf.experiments.store import Store
    from advrf.experiments.units import OK

    started = time.perf_counter()
    jobs = [PhaseCell(problem, settings.psi1_points) for problem in settings.problems()]
    report = runner.run(out / "store", jobs, label="advrf reproduce phase-diagram")
    table = Store(out / "store").read()
    table = table[table["key"].isin(report.keys)]
    table = table.sort_values(["activation", "noise", "psi2", "eps"]).reset_index(drop=True)
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    table.drop(columns=["key"]).to_parquet(tables / "phase_diagram.parquet", index=False)
    table.drop(columns=["key"]).to_csv(tables / "phase_diagram.csv", index=False)
    ok = table[table["status"] == OK]
    figures = _plot(ok, out / "phase_diagram") if not ok.empty else []
    seconds = time.perf_counter() - started
    text = _format(ok, settings, seconds, len(report.failures))
    summary = {
        "advrf_version": __version__,
        "setting": {
            "grid": settings.grid,
            "psi2": list(settings.psi2),
            "eps": list(settings.eps),
            "activations": list(settings.activations),
            "noises": list(settings.noises),
            "psi1_range": [PSI1_MIN, PSI1_MAX],
            "psi1_points": settings.psi1_points,
            "gain_psi1": GAIN_PSI1,
        },
        "cells": json.loads(ok.drop(columns=["key"]).to_json(orient="records")),
        "sweep": report.to_dict(),
        "figures": [str(p) for p in figures],
        "seconds": seconds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.txt").write_text(text)
    warnings = []
    if report.failures:
        warnings.append(f"{len(report.failures)} cell(s) failed (listed in summary.json)")
    return Result(summary=summary, text=text, warnings=tuple(warnings))
