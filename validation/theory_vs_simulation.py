"""Theory against the project's simulator (issue 3, "Against the project's simulator").

For every point of the grid (default: the issue's grid, relu_shifted / relu / tanh / erf,
eps in {0.1, 0.25, 0.5, 1}, psi1 in {0.5, 2, 5}, psi2 in {1, 2}, lam in {0, 0.01, 0.1},
d in {250, 500, 1000}) and every seed it trains the instance with the exact variant of the
simulator, evaluates it, and compares the seed mean +- standard error of E_rob and E_std with the
theory. The computation is an advrf sweep: theory and simulation jobs (population=True) in an
advrf results store (--store; resumable after a kill, rows computed once, workers or a Dask
cluster with --workers / --scheduler), the same rows as

    advrf sweep --theory --simulate --population true --variant exact --d 1000,500,250 ...

Two estimators of each error of a trained a are recorded:

- on the test set (n_test = max(2000, 2n) by default): `robust_error`, `standard_error`;
- without the test set's noise: `standard_error_exact`, E_std over the input distribution in
  closed form (`advrf.simulation.population`), and `robust_error_cv` = standard_error_exact +
  (robust_error - standard_error), E_rob with the exact E_std as control variate.

The criteria of the issue are judged on the second pair, which measures the trained model and not
its test set (docs/validation.md explains why the first pair cannot resolve 2 %):

- at the largest d, away from psi1 = psi2, the theory lies within max(2 %, 3 standard errors)
  of the seed mean, for both errors;
- the gap |simulation - theory| / theory shrinks from d = 250 to 500 to 1000 (median over points).

Every option takes the grid syntax of `advrf theory`. The seed means are written to --out (CSV,
one row per point and d), which --report-only (with --also: more such CSVs) reports on.

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/theory_vs_simulation.py --workers 2 \\
        --store results/theory_vs_simulation --out results/theory_vs_simulation.csv \\
        --figure docs/figures/theory_vs_simulation.png
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from advrf.experiments.runner import Runner
from advrf.experiments.sweep import read_results, sweep_units
from advrf.grid import Axis, parse_names, parse_values

RELATIVE_TOL = 0.02  # issue 3: max(2 %, 3 standard errors)
SEM_FACTOR = 3.0
PARAMETERS = ("activation", "psi1", "psi2", "eps", "lam", "signal", "noise")
KEY = (*PARAMETERS, "d", "seeds")
ERRORS = ("robust_error", "standard_error")
# (estimator, its column for E_rob, its column for E_std)
ESTIMATORS = {
    "population": ("robust_error_cv", "standard_error_exact"),
    "test set": ("robust_error", "standard_error"),
}
SIM_METRICS = ("robust_error", "standard_error", "robust_error_cv", "standard_error_exact")
COLUMNS = [
    *KEY,
    "theory_robust_error",
    "theory_standard_error",
    "theory_phase",
    *(f"sim_{m}{s}" for m in SIM_METRICS for s in ("", "_sem")),
    "seconds",
]
GRID = {
    "activation": "relu_shifted,relu,tanh,erf",
    "eps": "0.1,0.25,0.5,1",
    "psi1": "0.5,2,5",
    "psi2": "1,2",
    "lam": "0,0.01,0.1",
    "d": "1000,500,250",
}
VARIANT = "exact"


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[k]) if k == "activation" else f"{float(row[k]):.12g}" for k in KEY)


def load_rows(paths: list[Path]) -> dict[tuple[str, ...], dict[str, Any]]:
    """The rows of CSVs written by this script (--out, --also), by point, d and seed count."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for path in paths:
        if path.exists():
            with path.open(newline="") as handle:
                rows.update({key_of(row): row for row in csv.DictReader(handle)})
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)


def within(theory: float, mean: float, sem: float) -> bool:
    return abs(mean - theory) <= max(RELATIVE_TOL * abs(theory), SEM_FACTOR * sem)


def row_within(row: dict[str, Any], estimator: str = "population") -> bool:
    """Both errors of a row within max(2 %, 3 standard errors) of the theory."""
    return all(
        within(float(row[f"theory_{kind}"]), float(row[f"sim_{col}"]), float(row[f"sim_{col}_sem"]))
        for kind, col in zip(ERRORS, ESTIMATORS[estimator], strict=True)
    )


def relative_gaps(row: dict[str, Any], estimator: str = "population") -> list[float]:
    """(simulation - theory) / theory for E_rob and E_std."""
    return [
        (float(row[f"sim_{col}"]) - float(row[f"theory_{kind}"])) / float(row[f"theory_{kind}"])
        for kind, col in zip(ERRORS, ESTIMATORS[estimator], strict=True)
    ]


def jobs(args: argparse.Namespace, seeds: list[int]) -> list:
    """The theory and simulation jobs of the grid (simulations: exact variant, population
    errors, every d and seed)."""
    axes = [parse_names("activation", args.activation)] + [
        parse_values(name, getattr(args, name)) for name in PARAMETERS[1:]
    ]
    axes += [
        parse_values("d", args.d),
        Axis("variant", (VARIANT,)),
        Axis("population", (True,)),
        Axis("n_test", (args.n_test,)),
    ]
    return sweep_units(axes, theory=True, simulate=True, seeds=seeds)


def seed_means(table: pd.DataFrame, seeds: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per point and d (COLUMNS) from the stored theory and simulation rows; and the
    failures (a point whose theory or any of whose seeds failed is left out and listed)."""
    ok = table["status"] == "ok"
    theory = table[table["method"] == "theory"]
    sims = table[table["method"] == "simulation"]
    failures = [
        f"{row['method']} {', '.join(f'{k}={row[k]}' for k in PARAMETERS)}"
        + (f", d={row['d']}, seed={row['seed']}" if row["method"] == "simulation" else "")
        + f": {row['error']}"
        for _, row in table[~ok].iterrows()
    ]
    solved = theory[theory["status"] == "ok"]
    by_point = {tuple(r[k] for k in PARAMETERS): r for _, r in solved.iterrows()}
    rows = []
    for (*point, d), group in sims.groupby([*PARAMETERS, "d"], sort=True):
        point = tuple(point)
        if point not in by_point or not (group["status"] == "ok").all():
            continue
        th = by_point[point]
        row: dict[str, Any] = {**dict(zip(PARAMETERS, point, strict=True)), "d": int(d)}
        row.update(
            seeds=len(seeds),
            theory_robust_error=float(th["robust_error"]),
            theory_standard_error=float(th["standard_error"]),
            theory_phase=th["phase"],
            seconds=float(group["wall_time"].mean()),
        )
        for name in SIM_METRICS:
            values = group[name].to_numpy(dtype=float)
            row[f"sim_{name}"] = float(values.mean())
            row[f"sim_{name}_sem"] = (
                float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
            )
        rows.append(row)
    return rows, failures


def report(rows: list[dict[str, Any]]) -> None:
    rows = sorted(rows, key=lambda r: (key_of(r)[:-2], float(r["d"])))
    print(
        "| activation | psi1 | psi2 | eps | lam | d | E_rob theory | E_rob sim | E_std theory "
        "| E_std sim | within |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['activation']} | {float(r['psi1']):g} | {float(r['psi2']):g} | "
            f"{float(r['eps']):g} | {float(r['lam']):g} | {int(float(r['d']))} | "
            f"{float(r['theory_robust_error']):.4f} | {float(r['sim_robust_error_cv']):.4f} ± "
            f"{float(r['sim_robust_error_cv_sem']):.4f} | {float(r['theory_standard_error']):.4f} "
            f"| {float(r['sim_standard_error_exact']):.4f} ± "
            f"{float(r['sim_standard_error_exact_sem']):.4f} | "
            f"{'yes' if row_within(r) else 'NO'} |"
        )
    ds = sorted({float(r["d"]) for r in rows})
    for estimator in ESTIMATORS:
        print(f"\nestimator: {estimator}")
        print("| d | rows | median abs gap | mean gap | max abs gap | within (psi1 != psi2) |")
        print("|---|---|---|---|---|---|")
        for d in ds:
            at_d = [r for r in rows if float(r["d"]) == d]
            gaps = np.array([g for r in at_d for g in relative_gaps(r, estimator)])
            far = [r for r in at_d if float(r["psi1"]) != float(r["psi2"])]
            good = sum(row_within(r, estimator) for r in far)
            print(
                f"| {int(d)} | {len(at_d)} | {np.median(np.abs(gaps)):.2%} | "
                f"{gaps.mean():+.2%} | {np.abs(gaps).max():.2%} | {good} of {len(far)} |"
            )


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    ds = sorted({float(r["d"]) for r in rows})
    for ax, kind, col, label in (
        (axes[0], "robust_error", "robust_error_cv", "E_rob"),
        (axes[1], "standard_error", "standard_error_exact", "E_std"),
    ):
        for d in ds:
            sel = [r for r in rows if float(r["d"]) == d]
            ax.errorbar(
                [float(r[f"theory_{kind}"]) for r in sel],
                [float(r[f"sim_{col}"]) for r in sel],
                yerr=[float(r[f"sim_{col}_sem"]) for r in sel],
                fmt="o",
                ms=3,
                label=f"d = {int(d)}",
                alpha=0.7,
            )
        lo = min(float(r[f"theory_{kind}"]) for r in rows)
        hi = max(float(r[f"theory_{kind}"]) for r in rows)
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{label}, theory")
        ax.set_ylabel(f"{label}, simulation (seed mean ± s.e.)")
        ax.legend()
    gaps = [
        [100 * abs(g) for r in rows if float(r["d"]) == d for g in relative_gaps(r)] for d in ds
    ]
    axes[2].boxplot(gaps, whis=(5, 95), showfliers=False)
    axes[2].set_xticks(range(1, len(ds) + 1), [str(int(d)) for d in ds])
    axes[2].axhline(100 * RELATIVE_TOL, color="k", lw=0.8, ls="--")
    axes[2].set_xlabel("d")
    axes[2].set_ylabel("|simulation - theory| / theory (%), both errors")
    axes[2].set_title("box: quartiles, whiskers: 5-95 %", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, default in GRID.items():
        parser.add_argument(f"--{name}", default=default)
    parser.add_argument("--signal", default="1")
    parser.add_argument("--noise", default="0")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds per point")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--n-test", type=int, default=None, help="test samples per seed (simulator default)"
    )
    parser.add_argument("--store", type=Path, default=Path("results/theory_vs_simulation"))
    parser.add_argument("--workers", type=int, default=1, help="local processes")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address")
    parser.add_argument("--out", type=Path, default=Path("results/theory_vs_simulation.csv"))
    parser.add_argument(
        "--also", type=Path, nargs="*", default=[], help="more CSVs of this script to report on"
    )
    parser.add_argument("--figure", type=Path, default=None, help="write a PNG here")
    parser.add_argument("--report-only", action="store_true", help="only report on the CSVs")
    args = parser.parse_args(argv)

    failures: list[str] = []
    if not args.report_only:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        units = jobs(args, seeds)
        runner = Runner(workers=args.workers, scheduler=args.scheduler)
        report = runner.run(args.store, units, label="theory_vs_simulation")
        table = read_results(args.store)
        table = table[table["key"].isin(report.keys)]
        rows, failures = seed_means(table, seeds)
        write_rows(args.out, rows)
    done = load_rows([args.out, *args.also])
    rows = list(done.values())
    if not rows:
        print("no rows", file=sys.stderr)
        return 1
    report(rows)
    if args.figure is not None:
        figure(rows, args.figure)
    for failure in failures:
        print(f"FAILED (not in the table): {failure}")
    return 1 if failures or any(math.isnan(float(r["sim_robust_error_cv"])) for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
