"""`advrf reproduce overparam`: the curse of overparametrization, theory and simulation.

The paper's setting (Hassani & Javanmard, section 6): relu_shifted, lam = 0, psi2 = 2, signal = 1,
noise in {0, 0.5}. For eps in {0.1, 0.2, 0.5}, beside standard training (eps = 0: the minimum-norm
interpolator / least squares) and the null risk 1 + noise^2:

1. Robust error E_rob and standard error E_std against psi1 = N/d: the theory on a log grid of
   THEORY_POINTS values of psi1 in [0.1, 100], simulations at d = D with SEEDS seeds on SIM_PSI1
   (psi1 <= 10). Stored in OUT/store (an advrf results store: resumable); figure overparam.
2. Beyond the paper: for each psi1 of a coarser log grid (RIDGE_POINTS values), the ridge lam* that
   minimises E_rob, found through the theory (see `optimal_ridge`), and the E_rob it reaches
   beside lam = 0: does tuning lam undo the curse? Stored in OUT/ridge; figure ridge_optimum.
3. Tables (Parquet and CSV) under OUT/tables and a summary (OUT/summary.txt, OUT/summary.json):
   for each noise and eps, the psi1 of the interpolation peak (the interior local maximum of the
   theory curve nearest psi1 = psi2), the psi1 where E_rob is minimal and its value, and E_rob at
   psi1 = 100; peak and minimum are refined between their grid neighbours by a bounded scalar
   search on log psi1 with the theory.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advrf import __version__
from advrf.grid import Axis
from advrf.settings import SimulationSettings, check_integer

if TYPE_CHECKING:
    import pandas as pd

    from advrf.experiments.methods import TheoryMethod
    from advrf.experiments.reproductions import Result
    from advrf.experiments.runner import Runner

SUMMARY = (
    "the curse of overparametrization: E_rob and E_std against psi1 = N/d in the paper's "
    "setting, theory and simulation, and the ridge that minimises E_rob"
)
ACTIVATION = "relu_shifted"
PSI2 = 2.0
LAM = 0.0
SIGNAL = 1.0
NOISES = (0.0, 0.5)
EPSILONS = (0.1, 0.2, 0.5)
STANDARD_EPS = 0.0  # standard training, the minimum-norm comparison
PSI1_MIN, PSI1_MAX = 0.1, 100.0
THEORY_POINTS = 121  # psi1 values per theory curve (log grid)
SIM_PSI1 = (0.25, 0.5, 1.0, 1.5, 3.0, 5.0, 7.0, 10.0)  # away from the slow point psi1 = psi2
D = 300
SEEDS = 3
RIDGE_POINTS = 41  # psi1 values of the ridge optimisation (log grid)
MAX_LISTED_FAILURES = 30  # failed rows listed in summary.txt


@dataclass(frozen=True)
class Settings:
    """What the reproduction computes (defaults: the module constants, the paper's setting)."""

    theory_points: int = field(
        default=THEORY_POINTS, metadata={"help": "psi1 values per theory curve (>= 3)"}
    )
    sim_psi1: tuple[float, ...] = SIM_PSI1
    d: int = field(default=D, metadata={"help": "input dimension of the simulations"})
    seeds: int = field(default=SEEDS, metadata={"help": "seeds per simulated point"})
    ridge_points: int = field(
        default=RIDGE_POINTS, metadata={"help": "psi1 values of the ridge optimisation (>= 3)"}
    )
    noises: tuple[float, ...] = NOISES
    epsilons: tuple[float, ...] = (STANDARD_EPS, *EPSILONS)

    def __post_init__(self) -> None:
        for name in ("theory_points", "ridge_points"):
            object.__setattr__(
                self, name, check_integer(name, getattr(self, name), 3, "grid points")
            )
        self.simulation  # noqa: B018 (validates d and seeds, once, in SimulationSettings)

    @property
    def simulation(self) -> SimulationSettings:
        return SimulationSettings(d=self.d, seeds=self.seeds)

    def axes(self, psi1: Sequence[float]) -> list[Axis]:
        return [
            Axis("activation", (ACTIVATION,)),
            Axis("psi1", tuple(float(v) for v in psi1), log=True),
            Axis("psi2", (PSI2,)),
            Axis("eps", self.epsilons),
            Axis("lam", (LAM,)),
            Axis("signal", (SIGNAL,)),
            Axis("noise", self.noises),
        ]


def summarise(
    theory_rows: pd.DataFrame, ridge_rows: pd.DataFrame, theory: TheoryMethod
) -> list[dict[str, Any]]:
    """One record per (noise, eps): peak, minima and psi1 = PSI1_MAX values (module docstring).

    min_*: the minimum of E_rob past the interpolation peak (psi1 >= its psi1; the whole curve
    without a peak); global_min_*: over the whole curve (it can be the trivial phase at small
    psi1, where E_rob equals the null risk).
    """
    import numpy as np

    from advrf.experiments.analysis import local_extremum

    records = []
    for (noise, eps), curve in theory_rows.groupby(["noise", "eps"], sort=True):
        curve = curve.sort_values("psi1")
        last = curve.iloc[-1]
        record: dict[str, Any] = {"noise": float(noise), "eps": float(eps)}
        peak = local_extremum(curve, "robust_error", "peak", theory, PSI2)
        peak_std = local_extremum(curve, "standard_error", "peak", theory, PSI2)
        overparametrised = curve[curve["psi1"] >= peak["psi1"]] if peak else curve
        low = local_extremum(overparametrised, "robust_error", "min", theory, PSI2)
        lowest = local_extremum(curve, "robust_error", "min", theory, PSI2)
        record.update(
            peak_psi1=peak and peak["psi1"],
            peak_robust_error=peak and peak["value"],
            peak_psi1_standard=peak_std and peak_std["psi1"],
            min_psi1=low["psi1"],
            min_robust_error=low["value"],
            global_min_psi1=lowest["psi1"],
            global_min_robust_error=lowest["value"],
            psi1_max=float(last["psi1"]),
            robust_error_at_psi1_max=float(last["robust_error"]),
            standard_error_at_psi1_max=float(last["standard_error"]),
            null_risk=SIGNAL**2 + float(noise) ** 2,
            theory_points=len(curve),
        )
        tuned = ridge_rows[(ridge_rows["noise"] == noise) & (ridge_rows["eps"] == eps)]
        tuned = tuned.sort_values("psi1")
        if not tuned.empty:
            best = tuned.iloc[int(np.argmin(tuned["robust_error_opt"].to_numpy()))]
            end = tuned.iloc[-1]
            record.update(
                ridge_min_psi1=float(best["psi1"]),
                ridge_min_robust_error=float(best["robust_error_opt"]),
                ridge_lam_at_psi1_max=float(end["lam_opt"]),
                ridge_robust_error_at_psi1_max=float(end["robust_error_opt"]),
                ridge_rise_to_psi1_max=float(end["robust_error_opt"] - best["robust_error_opt"]),
            )
        records.append(record)
    return records


def _format_summary(
    records: list[dict[str, Any]],
    settings: Settings,
    seconds: float,
    failures: Sequence[dict[str, Any]],
) -> str:
    def number(value: Any, fmt: str = ".4g") -> str:
        return (
            "-"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else format(value, fmt)
        )

    lines = [
        "advrf reproduce overparam: the curse of overparametrization",
        f"setting: {ACTIVATION}, lam = {LAM:g}, psi2 = {PSI2:g}, signal = {SIGNAL:g}; theory on "
        f"{settings.theory_points} log-spaced psi1 in [{PSI1_MIN:g}, {PSI1_MAX:g}]; simulations at "
        f"d = {settings.d}, {settings.seeds} seeds; eps = 0 is standard (minimum-norm) training",
        "",
        f"{'noise':>5} {'eps':>5} | {'peak psi1':>9} {'E_rob peak':>10} | {'min psi1':>8} "
        f"{'min E_rob':>9} | {'E_rob(100)':>10} {'E_std(100)':>10} {'null':>5} | "
        f"{'lam*(100)':>9} {'E_rob*(100)':>11} {'min E_rob*':>10} {'at psi1':>7}",
    ]
    for r in records:
        lines.append(
            f"{r['noise']:>5g} {r['eps']:>5g} | {number(r['peak_psi1']):>9} "
            f"{number(r['peak_robust_error']):>10} | {number(r['min_psi1']):>8} "
            f"{number(r['min_robust_error']):>9} | {number(r['robust_error_at_psi1_max']):>10} "
            f"{number(r['standard_error_at_psi1_max']):>10} {r['null_risk']:>5g} | "
            f"{number(r.get('ridge_lam_at_psi1_max'), '.3g'):>9} "
            f"{number(r.get('ridge_robust_error_at_psi1_max')):>11} "
            f"{number(r.get('ridge_min_robust_error')):>10} {number(r.get('ridge_min_psi1')):>7}"
        )
    lines += [
        "",
        "peak: interior local maximum of E_rob nearest psi1 = psi2; min: minimum of E_rob past "
        "the peak (both refined by the theory);",
        "E_rob(100), E_std(100): at psi1 = 100, lam = 0. Global minima (whole curve) are in "
        "summary.json.",
        "lam*(100), E_rob*(100): the ridge minimising E_rob at psi1 = 100 and the E_rob it "
        "reaches; min E_rob*: the lowest tuned E_rob over psi1, at psi1 = 'at psi1'.",
        f"wall time of this run: {seconds:.1f} s (rows already stored are not computed again)",
    ]
    if failures:
        lines += ["", f"{len(failures)} row(s) failed and are not drawn (status/error columns):"]
        for f in failures[:MAX_LISTED_FAILURES]:
            where = f"d={f['d']}, seed={f['seed']}" if f["method"] == "simulation" else "theory"
            lines.append(
                f"  {f['method']} psi1={f['psi1']:g} eps={f['eps']:g} noise={f['noise']:g} "
                f"({where}): {f['error']}"
            )
        if len(failures) > MAX_LISTED_FAILURES:
            lines.append(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more")
    return "\n".join(lines) + "\n"


def _plot_ridge(ridge: pd.DataFrame, out: Path) -> list[Path]:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from advrf.experiments.analysis import RIDGE_LAM_MAX, RIDGE_LAM_MIN
    from advrf.experiments.figures import label, legend_below

    noises = sorted(ridge["noise"].unique())
    epsilons = sorted(ridge["eps"].unique())
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(epsilons)))
    fig = Figure(figsize=(10, 3.8 * len(noises)))  # no pyplot, no backend switch
    axes = fig.subplots(len(noises), 2, squeeze=False)
    for r, noise in enumerate(noises):
        for colour, eps in zip(colours, epsilons, strict=True):
            part = ridge[(ridge["noise"] == noise) & (ridge["eps"] == eps)].sort_values("psi1")
            positive = part[(part["lam_opt"] > 0) & np.isfinite(part["lam_opt"])]
            axes[r, 0].plot(positive["psi1"], positive["lam_opt"], "o-", ms=3, color=colour)
            axes[r, 1].plot(part["psi1"], part["robust_error_opt"], color=colour, lw=1.6)
            axes[r, 1].plot(part["psi1"], part["robust_error_lam0"], color=colour, lw=1.0, ls=":")
        null = SIGNAL**2 + noise**2
        axes[r, 1].axhline(null, color="0.4", ls="--", lw=1.0)
        axes[r, 1].set_ylim(0.0, 2.0 * null)
        positive = ridge[(ridge["noise"] == noise) & (ridge["lam_opt"] > 0)]["lam_opt"]
        positive = positive[np.isfinite(positive)]
        if not positive.empty:
            axes[r, 0].set_ylim(positive.min() / 3.0, positive.max() * 3.0)
        axes[r, 0].set_yscale("log")
        axes[r, 0].set_ylabel(r"optimal ridge $\lambda^*$")
        axes[r, 1].set_ylabel(r"robust error $E_{rob}$")
        for c in range(2):
            axes[r, c].set_xscale("log")
            axes[r, c].set_title(label("noise", noise), fontsize=10)
            axes[r, c].grid(alpha=0.3)
            axes[r, c].set_xlabel(label("psi1"))
    handles = [Line2D([], [], color=c, lw=1.6) for c in colours]
    names = [label("eps", e) for e in epsilons]
    handles += [
        Line2D([], [], color="0.2", lw=1.6),
        Line2D([], [], color="0.2", lw=1.0, ls=":"),
        Line2D([], [], color="0.4", lw=1.0, ls="--"),
    ]
    names += [r"at $\lambda^*$", r"at $\lambda = 0$", r"null risk $F_1^2 + \tau^2$"]
    fig.suptitle(
        rf"Does tuning the ridge undo the curse? {ACTIVATION}, $\psi_2 = {PSI2:g}$, theory."
        "\n"
        rf"$\lambda^*$ searched in $\{{0\}} \cup [10^{{{math.log10(RIDGE_LAM_MIN):.0f}}}, "
        rf"{RIDGE_LAM_MAX:g}] \cup \{{\infty\}}$ ($\lambda^* = \infty$: the zero predictor); "
        r"$\lambda^* = 0, \infty$ not drawn on the log axis",
        fontsize=10,
    )
    legend_below(fig, handles, names)
    paths = []
    for fmt in ("png", "pdf"):
        path = out.with_suffix(f".{fmt}")
        fig.savefig(path, dpi=150)
        paths.append(path)
    return paths


def _write_table(frame: pd.DataFrame, stem: Path) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(stem.with_suffix(".parquet"), index=False)
    frame.to_csv(stem.with_suffix(".csv"), index=False)


def run(out: Path, settings: Settings, runner: Runner) -> Result:
    """Run the reproduction into `out` (module docstring) with `runner`; its Result."""
    import numpy as np

    from advrf.experiments.figures import simulation_means, write_errors
    from advrf.experiments.jobs import RidgeJob
    from advrf.experiments.reproductions import Result
    from advrf.experiments.store import Store
    from advrf.experiments.sweep import sweep_units, tidy
    from advrf.experiments.units import OK, SIMULATION, THEORY
    from advrf.problem import Problem

    started = time.perf_counter()
    label = "advrf reproduce overparam"
    theory_psi1 = np.geomspace(PSI1_MIN, PSI1_MAX, settings.theory_points)
    units = sweep_units(settings.axes(theory_psi1), theory=True)
    units += sweep_units(
        settings.axes(settings.sim_psi1), theory=False, simulate=True, d=[settings.d],
        seeds=settings.seeds,
    )  # fmt: skip
    report = runner.run(out / "store", units, label=f"{label}: theory and simulations")
    ridge_jobs = [
        RidgeJob(
            Problem(psi1, PSI2, eps, lam=LAM, signal=SIGNAL, noise=noise, activation=ACTIVATION)
        )
        for noise in settings.noises
        for eps in settings.epsilons
        for psi1 in np.geomspace(PSI1_MIN, PSI1_MAX, settings.ridge_points)
    ]
    ridge_report = runner.run(out / "ridge", ridge_jobs, label=f"{label}: ridge optimum")
    ridge = Store(out / "ridge").read()
    ridge = ridge[ridge["key"].isin(ridge_report.keys)]
    ridge = ridge.sort_values(["noise", "eps", "psi1"]).reset_index(drop=True)
    if "status" in ridge.columns:  # rows of the first store format have no status: all ok
        ridge = ridge[ridge["status"].fillna(OK) == OK].reset_index(drop=True)

    table = tidy(Store(out / "store").read())
    table = table[table["key"].isin(report.keys)].reset_index(drop=True)
    ok = table[table["status"] == OK]
    theory_rows = ok[ok["method"] == THEORY]
    sims = ok[ok["method"] == SIMULATION]
    tables = out / "tables"
    _write_table(table[table["method"] == THEORY], tables / "theory")
    _write_table(table[table["method"] == SIMULATION], tables / "simulation")
    _write_table(simulation_means(sims, ["noise", "eps", "psi1"]), tables / "simulation_means")
    _write_table(ridge.drop(columns=["key"]), tables / "ridge_optimum")

    figures = write_errors(
        table,
        out=out / "overparam",
        x="psi1",
        by="eps",
        row="noise",
        title=rf"Curse of overparametrization: {ACTIVATION}, $\lambda = 0$, $\psi_2 = {PSI2:g}$; "
        r"$\varepsilon = 0$: standard (minimum-norm) training",
    )
    figures += _plot_ridge(ridge, out / "ridge_optimum")
    records = summarise(theory_rows, ridge, runner.methods.theory)
    seconds = time.perf_counter() - started
    ridge_failures = int(ridge["failures"].sum())
    summary = {
        "advrf_version": __version__,
        "setting": {
            "activation": ACTIVATION,
            "lam": LAM,
            "psi2": PSI2,
            "signal": SIGNAL,
            "theory_points": settings.theory_points,
            "psi1_range": [PSI1_MIN, PSI1_MAX],
            "sim_psi1": list(settings.sim_psi1),
            "d": settings.d,
            "seeds": settings.seeds,
            "ridge_points": settings.ridge_points,
        },  # fmt: skip
        "curves": records,
        "sweep": report.to_dict(),
        "ridge_sweep": ridge_report.to_dict(),
        "ridge_failures": ridge_failures,
        "figures": [str(p) for p in figures],
        "seconds": seconds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = _format_summary(records, settings, seconds, report.failures)
    (out / "summary.txt").write_text(text)
    warnings = []
    failed = len(report.failures) + len(ridge_report.failures)
    if failed or ridge_failures:
        warnings.append(
            f"{failed} row(s) failed (listed in summary.txt and summary.json), {ridge_failures} "
            "theory evaluation(s) of the ridge search failed; the figures leave them out"
        )
    return Result(summary=summary, text=text, warnings=tuple(warnings))


def reproduce_overparam(
    out: str | Path,
    *,
    settings: Settings | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    methods: Any = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """`reproduce("overparam", out, ...)` with a Runner of these arguments; the summary dict."""
    from advrf.experiments.methods import DEFAULT_METHODS
    from advrf.experiments.reproductions import reproduce
    from advrf.experiments.runner import Runner

    runner = Runner(
        workers=workers,
        scheduler=scheduler,
        methods=DEFAULT_METHODS if methods is None else methods,
        progress=progress,
    )
    return reproduce("overparam", out, settings=settings, runner=runner).summary
