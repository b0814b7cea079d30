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
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from tqdm import tqdm

from advrf import __version__
from advrf.experiments.figures import label, legend_below, plot_errors, simulation_means
from advrf.experiments.keys import key_hash
from advrf.experiments.methods import DEFAULT_METHODS, Methods, PointFailure
from advrf.experiments.parallel import run_unordered
from advrf.experiments.store import Store
from advrf.experiments.sweep import SweepReport, run_sweep, sweep_units, tidy
from advrf.experiments.units import OK, SIMULATION, THEORY
from advrf.grid import Axis
from advrf.problem import Problem

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
RIDGE_LAM_MIN, RIDGE_LAM_MAX, RIDGE_LAM_COUNT = 1e-5, 10.0, 13  # scan of lam before refinement
RIDGE_LOG_TOL = 0.01  # tolerance of the refinement in log(lam)
RIDGE_SEARCH = "scan-brent-inf/2"  # names the search in the stored rows' keys (change it with it)
FAILED_PENALTY = 1e10  # what a failed evaluation counts for inside a scalar search
PSI1_LOG_TOL = 1e-3
MAX_LISTED_FAILURES = 30  # tolerance of the peak / minimum refinement in log(psi1)


@dataclass(frozen=True)
class Settings:
    """What the reproduction computes (defaults: the module constants, the paper's setting)."""

    theory_points: int = THEORY_POINTS
    sim_psi1: tuple[float, ...] = SIM_PSI1
    d: int = D
    seeds: int = SEEDS
    ridge_points: int = RIDGE_POINTS
    noises: tuple[float, ...] = NOISES
    epsilons: tuple[float, ...] = (STANDARD_EPS, *EPSILONS)

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


def optimal_ridge(problem: Problem, theory: Callable = DEFAULT_METHODS.theory) -> dict[str, Any]:
    """The ridge lam* >= 0 minimising the theory's E_rob at `problem` (its own lam is ignored).

    E_rob is evaluated at lam = 0 and on RIDGE_LAM_COUNT log-spaced lam in [RIDGE_LAM_MIN,
    RIDGE_LAM_MAX] (from the largest, each warm-started from the previous); the best of these is
    refined by a bounded Brent search on log(lam) between its grid neighbours (to RIDGE_LOG_TOL).
    lam* = 0 when lam = 0 is at least as good as every lam tried. When the best lam is the
    largest one (`at_upper_bound`), the limit lam -> inf (the zero predictor, E_rob = E_std =
    F1^2 + tau^2) is a candidate too, and lam* = inf when it is better. A lam where the theory
    fails counts as +inf and is counted in `failures`.
    """
    evaluations: dict[float, tuple[float, float]] = {}
    states: dict[float, Any] = {}
    failures = 0

    def evaluate(lam: float) -> float:
        nonlocal failures
        if lam in evaluations:
            return evaluations[lam][0]
        positive = [k for k in states if k > 0]
        start = None
        if lam > 0 and positive:
            start = states[min(positive, key=lambda k: abs(math.log(k / lam)))]
        for warm in (start, None) if start is not None else (None,):
            try:
                fields, state = theory(problem.with_(lam=lam), warm)
            except PointFailure:
                continue
            states[lam] = state
            evaluations[lam] = (float(fields["robust_error"]), float(fields["standard_error"]))
            return evaluations[lam][0]
        failures += 1
        evaluations[lam] = (math.inf, math.inf)
        return math.inf

    grid = np.geomspace(RIDGE_LAM_MAX, RIDGE_LAM_MIN, RIDGE_LAM_COUNT)  # from the largest
    values = [evaluate(float(lam)) for lam in grid]
    at_zero = evaluate(0.0)
    best = int(np.argmin(values))
    if math.isfinite(values[best]):
        low = grid[best + 1] if best + 1 < len(grid) else grid[-1] / 10.0
        high = grid[max(best - 1, 0)]
        minimize_scalar(
            lambda log_lam: min(evaluate(float(np.exp(log_lam))), FAILED_PENALTY),
            bounds=(math.log(low), math.log(high)),
            method="bounded",
            options={"xatol": RIDGE_LOG_TOL},
        )
    lam_opt = min(evaluations, key=lambda lam: (evaluations[lam][0], lam))
    robust, standard = evaluations[lam_opt]
    beyond = lam_opt >= RIDGE_LAM_MAX
    if beyond and problem.null_risk < robust:
        # the limit lam -> inf is the zero predictor: E_rob = E_std = F1^2 + tau^2
        lam_opt, robust, standard = math.inf, problem.null_risk, problem.null_risk
    return {
        "lam_opt": lam_opt,
        "robust_error_opt": robust,
        "standard_error_opt": standard,
        "robust_error_lam0": at_zero,
        "standard_error_lam0": evaluations[0.0][1],
        "evaluations": len(evaluations),
        "failures": failures,
        "at_upper_bound": bool(beyond),
    }


def _ridge_row(problem: Problem, methods: Methods) -> dict[str, Any]:
    start = time.perf_counter()
    row = {"method": "ridge_optimum", **problem.to_dict()}
    row.pop("lam")
    row.update(optimal_ridge(problem, methods.theory))
    row["advrf_version"] = __version__
    row["wall_time"] = time.perf_counter() - start
    return row


def _ridge_key(problem: Problem) -> dict[str, Any]:
    key = {k: v for k, v in problem.to_dict().items() if k != "lam"}
    key.update(
        search=RIDGE_SEARCH,
        lam_min=RIDGE_LAM_MIN,
        lam_max=RIDGE_LAM_MAX,
        lam_count=RIDGE_LAM_COUNT,
        log_tol=RIDGE_LOG_TOL,
    )
    return key


def run_ridge(
    out: Path,
    problems: Sequence[Problem],
    *,
    workers: int,
    scheduler: str | None,
    methods: Methods,
    progress: bool | None,
) -> pd.DataFrame:
    """optimal_ridge for each problem not yet in the store `out`; returns the stored rows."""
    store = Store(out)
    store.clean_temporary()
    done = store.keys()
    todo = [p for p in problems if key_hash(_ridge_key(p)) not in done]
    task = partial(_ridge_row, methods=methods)
    disable = (not progress) if progress is not None else None
    with tqdm(
        total=len(todo), desc="ridge optimum", unit="pt", file=sys.stderr, disable=disable
    ) as bar:
        for index, row in run_unordered(task, todo, workers=workers, scheduler=scheduler):
            store.write("ridge", _ridge_key(todo[index]), row)
            bar.update()
    wanted = {key_hash(_ridge_key(p)) for p in problems}
    rows = store.read()
    rows = rows[rows["key"].isin(wanted)]
    return rows.sort_values(["noise", "eps", "psi1"]).reset_index(drop=True)


def _local_extremum(
    curve: pd.DataFrame, column: str, kind: str, theory: Callable, psi2: float
) -> dict[str, Any] | None:
    """The interior local maximum nearest psi2 (kind="peak") or the global minimum (kind="min")
    of `column` along a theory curve, refined by a bounded search on log(psi1)."""
    psi1 = curve["psi1"].to_numpy(dtype=float)
    values = curve[column].to_numpy(dtype=float)
    if kind == "peak":
        interior = np.flatnonzero((values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])) + 1
        if interior.size == 0:
            return None
        index = int(interior[np.argmin(np.abs(np.log(psi1[interior] / psi2)))])
    else:
        index = int(np.nanargmin(values))
    result = {"psi1": float(psi1[index]), "value": float(values[index]), "refined": False}
    if 0 < index < len(psi1) - 1:
        sign = -1.0 if kind == "peak" else 1.0
        problem_row = curve.iloc[index]
        base = Problem(
            psi1=float(problem_row["psi1"]),
            psi2=float(problem_row["psi2"]),
            eps=float(problem_row["eps"]),
            eps_test=float(problem_row["eps_test"]),
            lam=float(problem_row["lam"]),
            signal=float(problem_row["signal"]),
            noise=float(problem_row["noise"]),
            activation=str(problem_row["activation"]),
        )

        def objective(log_psi1: float) -> float:
            try:
                fields, _ = theory(base.with_(psi1=float(np.exp(log_psi1))), None)
            except PointFailure:
                return FAILED_PENALTY
            return sign * float(fields[column])

        found = minimize_scalar(
            objective,
            bounds=(math.log(psi1[index - 1]), math.log(psi1[index + 1])),
            method="bounded",
            options={"xatol": PSI1_LOG_TOL},
        )
        if (
            found.success
            and math.isfinite(found.fun)
            and sign * found.fun >= sign * result["value"]
        ):
            result = {
                "psi1": float(np.exp(found.x)),
                "value": sign * float(found.fun),
                "refined": True,
            }
    return result


def summarise(
    theory_rows: pd.DataFrame, ridge_rows: pd.DataFrame, theory: Callable
) -> list[dict[str, Any]]:
    """One record per (noise, eps): peak, minima and psi1 = PSI1_MAX values (module docstring).

    min_*: the minimum of E_rob past the interpolation peak (psi1 >= its psi1; the whole curve
    without a peak); global_min_*: over the whole curve (it can be the trivial phase at small
    psi1, where E_rob equals the null risk).
    """
    records = []
    for (noise, eps), curve in theory_rows.groupby(["noise", "eps"], sort=True):
        curve = curve.sort_values("psi1")
        last = curve.iloc[-1]
        record: dict[str, Any] = {"noise": float(noise), "eps": float(eps)}
        peak = _local_extremum(curve, "robust_error", "peak", theory, PSI2)
        peak_std = _local_extremum(curve, "standard_error", "peak", theory, PSI2)
        overparametrised = curve[curve["psi1"] >= peak["psi1"]] if peak else curve
        low = _local_extremum(overparametrised, "robust_error", "min", theory, PSI2)
        lowest = _local_extremum(curve, "robust_error", "min", theory, PSI2)
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
            where = f"d={f['d']}, seed={f['seed']}" if f["method"] == SIMULATION else "theory"
            lines.append(
                f"  {f['method']} psi1={f['psi1']:g} eps={f['eps']:g} noise={f['noise']:g} "
                f"({where}): {f['error']}"
            )
        if len(failures) > MAX_LISTED_FAILURES:
            lines.append(f"  ... and {len(failures) - MAX_LISTED_FAILURES} more")
    return "\n".join(lines) + "\n"


def _plot_ridge(ridge: pd.DataFrame, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    noises = sorted(ridge["noise"].unique())
    epsilons = sorted(ridge["eps"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(epsilons)))
    fig, axes = plt.subplots(len(noises), 2, figsize=(10, 3.8 * len(noises)), squeeze=False)
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
    plt.close(fig)
    return paths


def _write_table(frame: pd.DataFrame, stem: Path) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(stem.with_suffix(".parquet"), index=False)
    frame.to_csv(stem.with_suffix(".csv"), index=False)


def reproduce_overparam(
    out: str | Path,
    *,
    settings: Settings = Settings(),  # noqa: B008 (frozen)
    workers: int = 1,
    scheduler: str | None = None,
    methods: Methods = DEFAULT_METHODS,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run the reproduction into `out` (module docstring); return the summary as a dict."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    theory_psi1 = np.geomspace(PSI1_MIN, PSI1_MAX, settings.theory_points)
    units = sweep_units(settings.axes(theory_psi1), theory=True)
    units += sweep_units(
        settings.axes(settings.sim_psi1), theory=False, simulate=True, d=[settings.d],
        seeds=settings.seeds,
    )  # fmt: skip
    report: SweepReport = run_sweep(
        out / "store", units, workers=workers, scheduler=scheduler, methods=methods,
        progress=progress,
    )  # fmt: skip
    ridge_problems = [
        Problem(psi1, PSI2, eps, lam=LAM, signal=SIGNAL, noise=noise, activation=ACTIVATION)
        for noise in settings.noises
        for eps in settings.epsilons
        for psi1 in np.geomspace(PSI1_MIN, PSI1_MAX, settings.ridge_points)
    ]
    ridge = run_ridge(
        out / "ridge", ridge_problems, workers=workers, scheduler=scheduler, methods=methods,
        progress=progress,
    )  # fmt: skip

    table = tidy(Store(out / "store").read())
    table = table[table["key"].isin({key_hash(u.key) for u in units})].reset_index(drop=True)
    ok = table[table["status"] == OK]
    theory_rows = ok[ok["method"] == THEORY]
    sims = ok[ok["method"] == SIMULATION]
    tables = out / "tables"
    _write_table(table[table["method"] == THEORY], tables / "theory")
    _write_table(table[table["method"] == SIMULATION], tables / "simulation")
    _write_table(simulation_means(sims, ["noise", "eps", "psi1"]), tables / "simulation_means")
    _write_table(ridge.drop(columns=["key"]), tables / "ridge_optimum")

    figures = plot_errors(
        table,
        out=out / "overparam",
        x="psi1",
        by="eps",
        row="noise",
        title=rf"Curse of overparametrization: {ACTIVATION}, $\lambda = 0$, $\psi_2 = {PSI2:g}$; "
        r"$\varepsilon = 0$: standard (minimum-norm) training",
    )
    figures += _plot_ridge(ridge, out / "ridge_optimum")
    records = summarise(theory_rows, ridge, methods.theory)
    seconds = time.perf_counter() - started
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
        "ridge_failures": int(ridge["failures"].sum()),
        "figures": [str(p) for p in figures],
        "seconds": seconds,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = _format_summary(records, settings, seconds, report.failures)
    (out / "summary.txt").write_text(text)
    return summary
