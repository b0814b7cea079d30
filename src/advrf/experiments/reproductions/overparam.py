"""`advrf reproduce overparam`: the curse of overparametrization, theory and simulation.

The paper's setting (Hassani & Javanmard, section 6): relu_shifted, lam = 0, psi2 = 2, signal = 1,
noise in {0, 0.5}. Every training recipe -- standard training (eps = 0: the minimum-norm
interpolator / least squares) and adversarial training at eps in {0.1, 0.2, 0.5} -- is compared
at the same test radius eps_test in EPS_TESTS (like with like), beside the null risk 1 + noise^2:

1. Robust error E_rob at eps_test and standard error E_std against psi1 = N/d: the theory on a
   log grid of THEORY_POINTS values of psi1 in [0.1, 100] for every (eps, eps_test) (and eps =
   eps_test = 0), simulations at d = D with SEEDS seeds on SIM_PSI1 for eps in {0, eps_test},
   and past the peak's minimum, where E_rob rises back, on SIM_PSI1_WIDE with SIM_SEEDS_WIDE seeds
   at eps_test = SIM_EPS_TEST_WIDE. Stored in OUT/store (an advrf results store: resumable);
   figures overparam_noiseN, one row of panels per eps_test.
2. Beyond the paper: for each psi1 of a coarser log grid (RIDGE_POINTS values), the ridge lam* that
   minimises E_rob, found through the theory (see `optimal_ridge`), and the E_rob it reaches
   beside lam = 0: does tuning lam undo the curse? Stored in OUT/ridge; figure ridge_optimum.
3. Tables (Parquet and CSV) under OUT/tables and a summary (OUT/summary.txt, OUT/summary.json):
   for each noise and eps, the psi1 of the interpolation peak (the interior local maximum of the
   theory curve nearest psi1 = psi2), the psi1 where E_rob is minimal and its value, and E_rob at
   psi1 = 100; peak and minimum are refined between their grid neighbours by a bounded scalar
   search on log psi1 with the theory. Like with like: E_rob of standard training at eps_test =
   eps at psi1 = 100, and the psi1 beyond which standard training is more robust than adversarial
   training at eps (the last sign change of the difference on the grid, refined by Brent's root
   search on log psi1 with the theory; null where standard training is not more robust at
   psi1 = 100).

At lam = 0 the E_std curves of eps = 0.1, 0.2, 0.5 coincide for psi1 above about 5: there the
adversarial minimiser interpolates the training data and is the interpolator of least gradient
norm, which does not depend on eps (so E_rob at a common eps_test coincides too); standard
training is the interpolator of least l2 norm, a different one.
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
EPS_TESTS = EPSILONS  # the attacks every recipe is compared under
STANDARD_EPS = 0.0  # standard training, the minimum-norm comparison
PSI1_MIN, PSI1_MAX = 0.1, 100.0
THEORY_POINTS = 121  # psi1 values per theory curve (log grid)
SIM_PSI1 = (0.25, 0.5, 1.0, 1.5, 3.0, 5.0, 7.0, 10.0)  # away from the slow point psi1 = psi2
SIM_PSI1_WIDE = (20.0, 30.0)  # where E_rob rises back (~8 s a point at d = 300, psi1 = 30)
SIM_SEEDS_WIDE = 2
SIM_EPS_TEST_WIDE = 0.2  # the headline's attack; the wide simulations are costly
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
    sim_psi1_wide: tuple[float, ...] = SIM_PSI1_WIDE
    seeds_wide: int = field(
        default=SIM_SEEDS_WIDE, metadata={"help": "seeds per simulated point at psi1 > 10"}
    )
    d: int = field(default=D, metadata={"help": "input dimension of the simulations"})
    seeds: int = field(default=SEEDS, metadata={"help": "seeds per simulated point"})
    ridge_points: int = field(
        default=RIDGE_POINTS, metadata={"help": "psi1 values of the ridge optimisation (>= 3)"}
    )
    noises: tuple[float, ...] = NOISES
    epsilons: tuple[float, ...] = (STANDARD_EPS, *EPSILONS)
    eps_tests: tuple[float, ...] = EPS_TESTS

    def __post_init__(self) -> None:
        for name in ("theory_points", "ridge_points"):
            object.__setattr__(
                self, name, check_integer(name, getattr(self, name), 3, "grid points")
            )
        self.simulation  # noqa: B018 (validates d and seeds, once, in SimulationSettings)
        SimulationSettings(d=self.d, seeds=self.seeds_wide)

    @property
    def simulation(self) -> SimulationSettings:
        return SimulationSettings(d=self.d, seeds=self.seeds)

    def axes(
        self,
        psi1: Sequence[float],
        epsilons: Sequence[float] | None = None,
        eps_test: Sequence[float] | None = None,
    ) -> list[Axis]:
        """The grid: psi1, eps (default: every recipe) and eps_test (default: eps_test = eps)."""
        axes = [
            Axis("activation", (ACTIVATION,)),
            Axis("psi1", tuple(float(v) for v in psi1), log=True),
            Axis("psi2", (PSI2,)),
            Axis("eps", tuple(self.epsilons if epsilons is None else epsilons)),
            Axis("lam", (LAM,)),
            Axis("signal", (SIGNAL,)),
            Axis("noise", self.noises),
        ]
        if eps_test is not None:
            axes.append(Axis("eps_test", tuple(eps_test)))
        return axes

    def units(self, theory_psi1: Sequence[float]) -> list[Any]:
        """The jobs of step 1: every recipe under every eps_test (theory), eps in {0, eps_test}
        (simulations), and eps = eps_test for the records of the summary."""
        from advrf.experiments.sweep import sweep_units

        units = sweep_units(self.axes(theory_psi1), theory=True)  # eps_test = eps
        units += sweep_units(self.axes(theory_psi1, eps_test=self.eps_tests), theory=True)
        for eps_test in self.eps_tests:
            recipes = sorted({STANDARD_EPS, eps_test})
            runs = [(self.sim_psi1, self.seeds)]
            if eps_test == SIM_EPS_TEST_WIDE and self.sim_psi1_wide:
                runs.append((self.sim_psi1_wide, self.seeds_wide))
            for psi1, seeds in runs:
                units += sweep_units(
                    self.axes(psi1, recipes, (eps_test,)), theory=False, simulate=True,
                    d=[self.d], seeds=seeds,
                )  # fmt: skip
        from advrf.experiments.keys import key_text

        unique = {key_text(unit.key): unit for unit in units}  # eps = eps_test rows twice
        return list(unique.values())


def _robust_gap(row: Any, theory: TheoryMethod, psi1: float) -> float:
    """E_rob(eps) - E_rob(eps = 0) at the row's eps_test, at psi1, by the theory (NaN: failed)."""
    from functools import partial

    from advrf.experiments.analysis import curve_problem
    from advrf.experiments.methods import warm_then_cold

    values = []
    for eps in (float(row["eps"]), STANDARD_EPS):
        problem = curve_problem(row).with_(psi1=psi1, eps=eps, eps_test=float(row["eps_test"]))
        fields, _, error = warm_then_cold(partial(theory, problem), None)
        values.append(math.nan if error is not None else float(fields["robust_error"]))
    return values[0] - values[1]


def standard_more_robust_from(
    adversarial: pd.DataFrame, standard: pd.DataFrame, theory: TheoryMethod
) -> float | None:
    """The psi1 beyond which standard training (eps = 0) has the lower E_rob at the common
    eps_test: the last sign change of E_rob(eps) - E_rob(0) along the grid (both curves sorted
    by psi1, on the same psi1), refined by Brent's root search on log psi1 with the theory
    (xtol PSI1_LOG_TOL). None where standard training is not more robust at the largest psi1;
    the smallest psi1 of the grid where it is more robust on the whole grid."""
    import numpy as np
    from scipy.optimize import brentq

    from advrf.experiments.analysis import PSI1_LOG_TOL

    merged = adversarial.merge(standard, on="psi1", suffixes=("", "_standard")).sort_values("psi1")
    gap = (merged["robust_error"] - merged["robust_error_standard"]).to_numpy()
    psi1 = merged["psi1"].to_numpy(dtype=float)
    if len(gap) == 0 or not gap[-1] > 0:
        return None
    below = np.flatnonzero(~(gap > 0))
    if len(below) == 0:
        return float(psi1[0])
    i = int(below[-1])
    row = merged.iloc[i]
    low, high = math.log(psi1[i]), math.log(psi1[i + 1])
    if gap[i] == 0:
        return float(psi1[i])
    try:
        root = brentq(
            lambda log_psi1: _robust_gap(row, theory, math.exp(log_psi1)),
            low, high, xtol=PSI1_LOG_TOL,
        )  # fmt: skip
    except ValueError:  # a failed theory point (NaN) inside the bracket: keep the grid bound
        return float(psi1[i + 1])
    return float(math.exp(root))


def summarise(
    theory_rows: pd.DataFrame, ridge_rows: pd.DataFrame, theory: TheoryMethod
) -> list[dict[str, Any]]:
    """One record per (noise, eps) at eps_test = eps: peak, minima and psi1 = PSI1_MAX values
    (module docstring), and standard training compared at the same eps_test.

    min_*: the minimum of E_rob past the interpolation peak (psi1 >= its psi1; the whole curve
    without a peak); global_min_*: over the whole curve (it can be the trivial phase at small
    psi1, where E_rob equals the null risk). standard_training_robust_error_at_psi1_max: E_rob of
    eps = 0 at eps_test = eps, psi1 = PSI1_MAX; psi1_standard_more_robust: see
    `standard_more_robust_from` (None for eps = 0 itself).
    """
    import numpy as np

    from advrf.experiments.analysis import local_extremum

    records = []
    diagonal = theory_rows[theory_rows["eps_test"] == theory_rows["eps"]]
    for (noise, eps), curve in diagonal.groupby(["noise", "eps"], sort=True):
        curve = curve.sort_values("psi1")
        last = curve.iloc[-1]
        record: dict[str, Any] = {"noise": float(noise), "eps": float(eps)}
        peak = local_extremum(curve, "robust_error", "peak", theory, PSI2)
        peak_std = local_extremum(curve, "standard_error", "peak", theory, PSI2)
        overparametrised = curve[curve["psi1"] >= peak["psi1"]] if peak else curve
        low = local_extremum(overparametrised, "robust_error", "min", theory, PSI2)
        lowest = local_extremum(curve, "robust_error", "min", theory, PSI2)
        standard = theory_rows[
            (theory_rows["noise"] == noise)
            & (theory_rows["eps"] == STANDARD_EPS)
            & (theory_rows["eps_test"] == eps)
        ].sort_values("psi1")
        compared = eps != STANDARD_EPS and not standard.empty
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
            standard_training_robust_error_at_psi1_max=(
                float(standard.iloc[-1]["robust_error"]) if not standard.empty else None
            ),
            psi1_standard_more_robust=(
                standard_more_robust_from(curve, standard, theory) if compared else None
            ),
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
        f"{'lam*(100)':>9} {'E_rob*(100)':>11} {'min E_rob*':>10} {'at psi1':>7} | "
        f"{'E_rob eps=0 (100)':>17} {'eps=0 wins from':>15}",
    ]
    for r in records:
        lines.append(
            f"{r['noise']:>5g} {r['eps']:>5g} | {number(r['peak_psi1']):>9} "
            f"{number(r['peak_robust_error']):>10} | {number(r['min_psi1']):>8} "
            f"{number(r['min_robust_error']):>9} | {number(r['robust_error_at_psi1_max']):>10} "
            f"{number(r['standard_error_at_psi1_max']):>10} {r['null_risk']:>5g} | "
            f"{number(r.get('ridge_lam_at_psi1_max'), '.3g'):>9} "
            f"{number(r.get('ridge_robust_error_at_psi1_max')):>11} "
            f"{number(r.get('ridge_min_robust_error')):>10} {number(r.get('ridge_min_psi1')):>7} | "
            f"{number(r['standard_training_robust_error_at_psi1_max']):>17} "
            f"{number(r['psi1_standard_more_robust']):>15}"
        )
    lines += [
        "",
        "peak: interior local maximum of E_rob nearest psi1 = psi2; min: minimum of E_rob past "
        "the peak (both refined by the theory);",
        "E_rob(100), E_std(100): at psi1 = 100, lam = 0. Global minima (whole curve) are in "
        "summary.json.",
        "lam*(100), E_rob*(100): the ridge minimising E_rob at psi1 = 100 and the E_rob it "
        "reaches; min E_rob*: the lowest tuned E_rob over psi1, at psi1 = 'at psi1'.",
        "E_rob eps=0 (100): E_rob of standard training (eps = 0) at eps_test = eps, psi1 = 100; "
        "eps=0 wins from: the psi1 beyond which",
        "standard training is more robust than adversarial training at eps, both attacked with "
        "eps_test = eps (-: not at psi1 = 100).",
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
    from advrf.experiments.figures import label, legend_below, save_figure

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
    return save_figure(fig, out)


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
    from advrf.experiments.sweep import tidy
    from advrf.experiments.units import OK, SIMULATION, THEORY
    from advrf.problem import Problem

    started = time.perf_counter()
    label = "advrf reproduce overparam"
    theory_psi1 = np.geomspace(PSI1_MIN, PSI1_MAX, settings.theory_points)
    units = settings.units(theory_psi1)
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

    attacked = table[table["eps_test"] > 0]
    figures = []
    for noise in settings.noises:
        figures += write_errors(
            attacked,
            out=out / f"overparam_noise{noise:g}",
            x="psi1",
            by="eps",
            row="eps_test",
            where={"noise": noise},
            title=rf"Curse of overparametrization: {ACTIVATION}, $\lambda = 0$, "
            rf"$\psi_2 = {PSI2:g}$, noise $\tau = {noise:g}$; one row per test radius "
            r"$\varepsilon_{test}$"
            "\n"
            r"$\varepsilon = 0$: standard (minimum-norm) training, attacked with the same "
            r"$\varepsilon_{test}$ as adversarial training"
            "\n"
            r"For $\psi_1 \gtrsim 5$ the curves of $\varepsilon > 0$ coincide: adversarial "
            "training interpolates, with the interpolator of least gradient norm",
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
            "eps_tests": list(settings.eps_tests),
            "sim_psi1": list(settings.sim_psi1),
            "sim_psi1_wide": list(settings.sim_psi1_wide),
            "seeds_wide": settings.seeds_wide,
            "sim_eps_test_wide": SIM_EPS_TEST_WIDE,
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
