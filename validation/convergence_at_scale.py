"""Convergence to the theory at scale: seed-mean gaps at growing d and their fitted rate (issue 12).

At three points of the headline (relu_shifted, psi2 = 2, eps = eps_test = 0.1, lam = 0, signal 1,
noise 0): psi1 = 1 (before the interpolation peak at psi1 ~ 2.2), psi1 = 5 (the E_rob minimum,
psi1 ~ 4.9) and psi1 = 30 (wide), the seed-mean relative gap (simulation - theory) / theory of
E_rob and E_std without the test set's noise (robust_error_cv, standard_error_exact) and of the
order parameters, at each d with its own seed count, and gap(d) = C d^(-alpha) fitted by weighted
least squares (advrf.experiments.convergence). The jobs run through advrf's Runner into a results
store (--store): a rerun computes only missing rows, and --scheduler tcp://HOST:PORT runs the same
jobs on a Dask cluster. Before anything starts, the predicted peak memory of one seed at every
(psi1, d) is printed (advrf.simulation.memory.peak_bytes), with the time per seed extrapolated from
rows already measured; sizes above --max-memory are refused (--skip-too-large: left out instead).

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/convergence_at_scale.py \\
        --d 500,1000,2000,4000 --seeds 8,6,4,3 --plan          # the predictions only
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from advrf.experiments import convergence as cv
from advrf.experiments.runner import Runner
from advrf.experiments.store import Store
from advrf.grid import parse_values
from advrf.simulation.memory import available_memory, format_size, parse_size

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "docs" / "data"
LABELS = {
    "robust_error_cv": "E_rob",
    "standard_error_exact": "E_std",
    "norm_a2": "norm_a2",
    "norm_w2": "norm_w2",
    "beta_w": "beta_w",
    "grad_norm2": "grad_norm2",
}
WIDE = 30.0  # the point whose order parameters are tabulated


def stored_rows(store: Path, jobs) -> pd.DataFrame:
    """The rows of `jobs` found in the store (empty when there is none)."""
    if not (store.exists() and any(store.iterdir())):
        return pd.DataFrame()
    handle = Store(store, create=False)
    table = handle.read()
    if table.empty:
        return table
    return table[table["key"].isin({handle.key_hash(job.key) for job in jobs})]


def plan_text(plan: pd.DataFrame, timings: pd.DataFrame, limit: int | None) -> str:
    """The plan, one line per (psi1, d): sizes, seeds, peak, and the time per seed: measured, or
    extrapolated from the two largest measured d, as d^k with their exponent k and as d^3 (the
    asymptotic cost: the training solve and the population kernel, N^2 d), then whether it fits.
    The total takes the larger of the two predictions, for the seeds not stored yet."""
    lines = [f"memory limit per seed: {'none' if limit is None else format_size(limit)}"]
    lines.append(
        "psi1      d       N       n  seeds  peak/seed  s/seed measured   d^k fit (k)      d^3 fits"
    )
    total = 0.0
    for row in plan.itertuples():
        measured = timings[
            (timings["psi1"] == row.psi1) & (timings["d"] == row.d) & (timings["seeds"] > 0)
        ] if not timings.empty else timings  # fmt: skip
        seconds = float(measured["wall_time"].iloc[0]) if len(measured) else math.nan
        fit = cv.time_exponent(timings, row.psi1) if not timings.empty else None
        power = cube = math.nan
        exponent = ""
        if fit is not None and not len(measured):
            k, c, largest = fit
            power, exponent = c * row.d**k, f"({k:.2f})"
            cube = c * largest**k * (row.d / largest) ** 3
        best = seconds if len(measured) else max(power, cube)
        stored = int(measured["seeds"].iloc[0]) if len(measured) else 0
        fits = limit is None or row.peak_bytes <= limit
        if math.isfinite(best) and fits:
            total += best * max(row.seeds - stored, 0)
        lines.append(
            f"{row.psi1:<6g}{row.d:>7}{row.N:>8}{row.n:>8}{row.seeds:>7}  "
            f"{format_size(row.peak_bytes):>9}  {seconds:>15.4g} {power:>9.4g} {exponent:<6} "
            f"{cube:>8.4g}  {'yes' if fits else 'NO'}"
        )
    lines.append(
        f"predicted total of the seeds not stored: {total / 3600:.3g} core-hours (sizes that fit "
        "and have a time, from the wall times stored)"
    )
    return "\n".join(lines)


def percent(value: float) -> str:
    return f"{value:.2%}" if math.isfinite(value) else "—"


def pm(gap: float, se: float) -> str:
    if not math.isfinite(gap):
        return "—"
    return f"{gap:+.2%} ± {se:.2%}" if math.isfinite(se) else f"{gap:+.2%}"


def markdown(study: cv.ConvergenceStudy, gaps: pd.DataFrame, fits: pd.DataFrame) -> str:
    """Three tables: the errors' gaps at every (psi1, d) of the study (— where not run), the
    fitted rates, and the order parameters at psi1 = WIDE."""
    cell = {(r.psi1, r.d, r.quantity): r for r in gaps.itertuples()} if len(gaps) else {}
    out = [
        "| psi1 | d | seeds | s/seed | E_rob gap ± s.e. | E_rob rms | E_std gap ± s.e. "
        "| E_std rms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for psi1 in study.psi1:
        for d, count in zip(study.d, study.seeds, strict=True):
            rob = cell.get((psi1, d, "robust_error_cv"))
            std = cell.get((psi1, d, "standard_error_exact"))
            if rob is None or std is None:
                out.append(f"| {psi1:g} | {d} | ({count}) | — | — | — | — | — |")
                continue
            seeds = f"{rob.seeds}" + (f" ({rob.failed} failed)" if rob.failed else "")
            out.append(
                f"| {psi1:g} | {d} | {seeds} | {rob.wall_time:.3g} | {pm(rob.gap, rob.gap_se)} "
                f"| {percent(rob.gap_rms)} | {pm(std.gap, std.gap_se)} | {percent(std.gap_rms)} |"
            )
    out += [
        "",
        "| psi1 | quantity | d (sizes) | alpha ± s.e. | C | chi2/dof | p(all gaps = 0) | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in fits.itertuples():
        if row.quantity not in cv.ERRORS and row.psi1 != WIDE:
            continue
        span = f"{row.d_min}-{row.d_max} ({row.sizes})"
        if not row.converged:
            out.append(
                f"| {row.psi1:g} | {LABELS[row.quantity]} | {span} | no fit | | | "
                f"{row.zero_p:.2g} | {row.message} |"
            )
            continue
        chi2 = "—" if math.isnan(row.chi2_dof) else f"{row.chi2_dof:.2g}"
        out.append(
            f"| {row.psi1:g} | {LABELS[row.quantity]} | {span} | {row.alpha:.2f} ± "
            f"{row.alpha_se:.2g} | {row.C:+.3g} | {chi2} | {row.zero_p:.2g} | {row.message} |"
        )
    if WIDE in study.psi1:
        names = cv.ORDER_PARAMETERS
        out += ["", "| psi1 = 30 | " + " | ".join(names) + " |", "|---" * (1 + len(names)) + "|"]
        theory = [cell.get((WIDE, d, q)) for d in study.d for q in names]
        known = {q: r.theory for q, r in zip(names * len(study.d), theory, strict=True) if r}
        out.append("| theory | " + " | ".join(f"{known.get(q, math.nan):.4f}" for q in names)
                   + " |")  # fmt: skip
        for d in study.d:
            cells = []
            for q in names:
                r = cell.get((WIDE, d, q))
                cells.append(
                    "—"
                    if r is None or not r.seeds
                    else f"{r.simulation:.4f} ({pm(r.gap, r.gap_se)})"
                )
            out.append(f"| d = {d} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def figure(gaps: pd.DataFrame, fits: pd.DataFrame, out: Path) -> list[Path]:
    """Left: the seed-mean gap of E_rob and E_std +- its s.e. against d, one colour per psi1,
    with the fitted C d^(-alpha) where it converged; right: the per-seed rms, with d^(-1/2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from advrf.experiments.figures import save_figure

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, psi1 in enumerate(sorted(gaps["psi1"].unique())):
        for quantity, marker, style in zip(cv.ERRORS, "os", ("-", "--"), strict=True):
            rows = gaps[(gaps["psi1"] == psi1) & (gaps["quantity"] == quantity)].sort_values("d")
            label = f"psi1 = {psi1:g}, {LABELS[quantity]}"
            shift = 1.0 + 0.03 * (quantity == cv.ERRORS[1])  # side by side
            left.errorbar(rows["d"] * shift, rows["gap"], rows["gap_se"], fmt=marker,
                          color=colours[i], label=label, capsize=2)  # fmt: skip
            right.loglog(rows["d"], rows["gap_rms"], marker + style, color=colours[i], label=label)
            fit = fits[(fits["psi1"] == psi1) & (fits["quantity"] == quantity)]
            if len(fit) and bool(fit["converged"].iloc[0]):
                grid = np.geomspace(rows["d"].min(), rows["d"].max(), 50)
                c, alpha = float(fit["C"].iloc[0]), float(fit["alpha"].iloc[0])
                left.plot(grid, c * grid**-alpha, style, color=colours[i], lw=0.8)
    d = np.geomspace(gaps["d"].min(), gaps["d"].max(), 2)
    right.loglog(d, 0.06 * (d / d[0]) ** -0.5, ":", color="grey", label="d^(-1/2)")
    left.axhline(0.0, color="grey", lw=0.8)
    left.set_xscale("log")
    left.set(xlabel="d", ylabel="seed-mean gap (simulation - theory) / theory")
    right.set(xlabel="d", ylabel="per-seed rms of the gap")
    left.legend(fontsize=7, ncol=3, loc="lower center")
    right.legend(fontsize=7)
    fig.suptitle("relu_shifted, psi2 = 2, eps = eps_test = 0.1, lam = 0, noise 0 (population)")
    paths = save_figure(fig, out, formats=("png",))
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psi1", default=",".join(f"{v:g}" for v in cv.PSI1))
    parser.add_argument("--d", default=",".join(str(v) for v in cv.D))
    parser.add_argument(
        "--seeds", default=",".join(str(v) for v in cv.SEEDS), help="one count, or one per d"
    )
    parser.add_argument("--n-test", type=int, default=cv.N_TEST)
    parser.add_argument("--store", type=Path, default=ROOT / "results" / "convergence_at_scale")
    parser.add_argument("--workers", type=int, default=1, help="local processes")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler, tcp://HOST:PORT")
    parser.add_argument(
        "--max-memory", default=None, help="per seed (per worker), e.g. 16GB; default: free now"
    )
    parser.add_argument("--skip-too-large", action="store_true", help="leave them out")
    parser.add_argument(
        "--retry-failed", action="store_true", help="compute the stored failed rows again"
    )
    parser.add_argument("--plan", action="store_true", help="print the predictions and stop")
    parser.add_argument(
        "--report-only", action="store_true", help="the tables of the stored rows; compute nothing"
    )
    parser.add_argument("--csv", type=Path, default=DATA / "convergence_at_scale.csv")
    parser.add_argument("--fits-csv", type=Path, default=DATA / "convergence_at_scale_fits.csv")
    parser.add_argument("--markdown", type=Path, default=DATA / "convergence_at_scale.md")
    parser.add_argument("--figure", type=Path, default=None, help="a PNG of the gaps (optional)")
    args = parser.parse_args(argv)

    study = cv.ConvergenceStudy(
        psi1=parse_values("psi1", args.psi1).values,
        d=[int(v) for v in parse_values("d", args.d).values],
        seeds=[int(v) for v in parse_values("seeds", args.seeds).values],
        n_test=args.n_test,
    )
    limit = available_memory() if args.max_memory is None else parse_size(args.max_memory)
    plan = study.plan()
    timings = cv.gap_table(stored_rows(args.store, study.jobs()))
    if timings.empty and args.csv.exists():
        timings = pd.read_csv(args.csv)  # the times of an earlier run's table
    print(plan_text(plan, timings, limit), flush=True)
    too_large = plan[plan["peak_bytes"] > limit] if limit is not None else plan.iloc[:0]
    if len(too_large) and not args.report_only:
        sizes = ", ".join(f"psi1 = {r.psi1:g} at d = {r.d}" for r in too_large.itertuples())
        if not args.skip_too_large:
            print(
                f"refused: {sizes} would need more than --max-memory {format_size(limit)}; "
                "lower --d, raise --max-memory, or pass --skip-too-large",
                file=sys.stderr,
            )
            return 2
        print(f"left out (above {format_size(limit)}): {sizes}", file=sys.stderr)
    if args.plan:
        return 0
    if args.report_only:
        gaps = cv.gap_table(stored_rows(args.store, study.jobs()))
        summary = f"{len(gaps) // len(cv.QUANTITIES)} (psi1, d) found stored"
        failed = int(gaps["failed"].sum()) if len(gaps) else 0
    else:
        skip = {(r.psi1, r.d) for r in too_large.itertuples()}
        jobs = [
            job
            for job in study.jobs()
            if not (job.kind == "simulation" and (job.problem.psi1, job.settings.d) in skip)
        ]
        report = Runner(workers=args.workers, scheduler=args.scheduler).run(
            args.store, jobs, retry_failed=args.retry_failed, label="convergence at scale"
        )
        gaps = cv.gap_table(report.to_frame())
        failed = len(report.failures)
        summary = (
            f"{report.computed} rows computed, {report.skipped} found stored, {failed} failed, "
            f"{report.seconds:.0f} s"
        )
    fits = cv.fit_table(gaps)
    for path in (args.csv, args.fits_csv, args.markdown):
        path.parent.mkdir(parents=True, exist_ok=True)
    gaps.to_csv(args.csv, index=False, float_format="%.10g")
    fits.to_csv(args.fits_csv, index=False, float_format="%.6g")
    if args.figure is not None and len(gaps):
        figure(gaps, fits, args.figure)
    text = markdown(study, gaps, fits)
    args.markdown.write_text(text, encoding="utf-8")
    print(text)
    print(f"{summary}; wrote {args.csv}, {args.fits_csv}, {args.markdown}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
