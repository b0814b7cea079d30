"""Theory against the project's simulator (issue 3, "Against the project's simulator").

For every point of the grid (default: the issue's grid, relu_shifted / relu / tanh / erf,
eps in {0.1, 0.25, 0.5, 1}, psi1 in {0.5, 2, 5}, psi2 in {1, 2}, lam in {0, 0.01, 0.1},
d in {250, 500, 1000}) it runs `advrf.simulation.simulate(problem, d, seeds, variant="exact")`
and `advrf.theory.solve(problem)`, and reports the seed mean +- standard error of E_rob and E_std
beside the theory. Criteria of the issue, printed at the end:

- at the largest d, away from psi1 = psi2, the theory lies within max(2 %, 3 standard errors)
  of the seed mean, for both errors;
- the gap |simulation - theory| / theory shrinks from d = 250 to 500 to 1000 (median over points).

Every option takes the grid syntax of `advrf theory` (a number, a list, lin:/log: ranges), so any
subset can be run. Rows are appended to --out (CSV) as they finish; a rerun with the same --out
skips the (point, d, seeds) already there, so an interrupted run resumes.

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/theory_vs_simulation.py \\
        --out results/theory_vs_simulation.csv [--figure docs/figures/theory_vs_simulation.png]
    # a quick subset:
    ... --activation relu_shifted --eps 0.25 --psi1 0.5,5 --psi2 1 --lam 0 --d 250,500 --seeds 2
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from advrf.grid import parse_names, parse_values, points
from advrf.problem import Problem
from advrf.theory import TheoryError, solve

DEFAULTS = {
    "activation": "relu_shifted,relu,tanh,erf",
    "eps": "0.1,0.25,0.5,1",
    "psi1": "0.5,2,5",
    "psi2": "1,2",
    "lam": "0,0.01,0.1",
    "d": "250,500,1000",
}
RELATIVE_TOL = 0.02  # issue 3: max(2 %, 3 standard errors)
SEM_FACTOR = 3.0
KEY = ("activation", "psi1", "psi2", "eps", "lam", "signal", "noise", "d", "seeds")
COLUMNS = [
    *KEY,
    "theory_robust_error",
    "theory_standard_error",
    "theory_phase",
    "sim_robust_error",
    "sim_robust_error_sem",
    "sim_standard_error",
    "sim_standard_error_sem",
    "seconds",
]


def summary_value(summary: Any, name: str) -> float:
    """A field of the simulator's SimulationSummary (attribute, else its to_dict())."""
    if hasattr(summary, name):
        return float(getattr(summary, name))
    return float(summary.to_dict()[name])


def key_of(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{float(row[k]):.12g}" if k not in ("activation",) else str(row[k]) for k in KEY)


def load_done(path: Path) -> dict[tuple[str, ...], dict[str, Any]]:
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        return {key_of(row): row for row in csv.DictReader(handle)}


def append_row(path: Path, row: dict[str, Any]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)
        handle.flush()
        os.fsync(handle.fileno())


def within(theory: float, mean: float, sem: float) -> bool:
    return abs(mean - theory) <= max(RELATIVE_TOL * abs(theory), SEM_FACTOR * sem)


def row_within(row: dict[str, Any]) -> bool:
    """Both errors of a row within max(2 %, 3 standard errors) of the theory."""
    return all(
        within(
            float(row[f"theory_{kind}"]),
            float(row[f"sim_{kind}"]),
            float(row[f"sim_{kind}_sem"]),
        )
        for kind in ("robust_error", "standard_error")
    )


def report(rows: list[dict[str, Any]]) -> None:
    rows = sorted(rows, key=lambda r: (key_of(r)[:-2], float(r["d"])))
    print(
        "| activation | psi1 | psi2 | eps | lam | d | E_rob theory | E_rob sim | E_std theory "
        "| E_std sim | within |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = row_within(r)
        print(
            f"| {r['activation']} | {float(r['psi1']):g} | {float(r['psi2']):g} | "
            f"{float(r['eps']):g} | {float(r['lam']):g} | {int(float(r['d']))} | "
            f"{float(r['theory_robust_error']):.4f} | {float(r['sim_robust_error']):.4f} ± "
            f"{float(r['sim_robust_error_sem']):.4f} | {float(r['theory_standard_error']):.4f} | "
            f"{float(r['sim_standard_error']):.4f} ± {float(r['sim_standard_error_sem']):.4f} | "
            f"{'yes' if ok else 'NO'} |"
        )
    by_d: dict[float, list[float]] = defaultdict(list)
    for r in rows:
        for kind in ("robust_error", "standard_error"):
            theory = float(r[f"theory_{kind}"])
            by_d[float(r["d"])].append(abs(float(r[f"sim_{kind}"]) - theory) / theory)
    print("\nrelative gap |sim - theory| / theory, both errors, by d:")
    for d in sorted(by_d):
        gaps = sorted(by_d[d])
        print(
            f"  d = {int(d)}: median {gaps[len(gaps) // 2]:.4f}, max {gaps[-1]:.4f} "
            f"({len(gaps)} values)"
        )
    largest = max(by_d) if by_d else None
    if largest is not None:
        far = [r for r in rows if float(r["d"]) == largest and float(r["psi1"]) != float(r["psi2"])]
        good = [r for r in far if row_within(r)]
        print(
            f"\nd = {int(largest)}, psi1 != psi2: {len(good)} of {len(far)} points within "
            f"max({RELATIVE_TOL:.0%}, {SEM_FACTOR:g} standard errors) for both errors"
        )


def figure(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, kind, label in (
        (axes[0], "robust_error", "E_rob"),
        (axes[1], "standard_error", "E_std"),
    ):
        ds = sorted({float(r["d"]) for r in rows})
        for d in ds:
            sel = [r for r in rows if float(r["d"]) == d]
            ax.errorbar(
                [float(r[f"theory_{kind}"]) for r in sel],
                [float(r[f"sim_{kind}"]) for r in sel],
                yerr=[float(r[f"sim_{kind}_sem"]) for r in sel],
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
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, default in DEFAULTS.items():
        parser.add_argument(f"--{name}", default=default)
    parser.add_argument("--signal", default="1")
    parser.add_argument("--noise", default="0")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds per point")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--n-test", type=int, default=None, help="test samples per seed (simulator default)"
    )
    parser.add_argument("--out", type=Path, default=Path("results/theory_vs_simulation.csv"))
    parser.add_argument("--figure", type=Path, default=None, help="write a PNG scatter here")
    parser.add_argument("--report-only", action="store_true", help="only print --out's table")
    args = parser.parse_args(argv)

    done = load_done(args.out)
    failures: list[str] = []
    if not args.report_only:
        from advrf.simulation import TrainingError, simulate

        axes = [parse_names("activation", args.activation)] + [
            parse_values(name, getattr(args, name))
            for name in ("psi1", "psi2", "eps", "lam", "signal", "noise", "d")
        ]
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        for point in points(axes):
            d = int(point.pop("d"))
            row = {**point, "d": d, "seeds": len(seeds)}
            if key_of(row) in done:
                continue
            problem = Problem(**point)
            try:
                theory = solve(problem)
            except TheoryError as error:
                print(f"theory failed: {error}", file=sys.stderr)
                continue
            start = time.perf_counter()
            try:
                summary = simulate(problem, d, seeds, variant="exact", n_test=args.n_test)
            except TrainingError as error:
                failures.append(f"{problem.activation.name} d={d}: {error}")
                print(f"simulation failed: {error}", file=sys.stderr)
                continue
            row.update(
                theory_robust_error=theory.robust_error,
                theory_standard_error=theory.standard_error,
                theory_phase=theory.phase,
                sim_robust_error=summary_value(summary, "robust_error"),
                sim_robust_error_sem=summary_value(summary, "robust_error_sem"),
                sim_standard_error=summary_value(summary, "standard_error"),
                sim_standard_error_sem=summary_value(summary, "standard_error_sem"),
                seconds=time.perf_counter() - start,
            )
            append_row(args.out, row)
            done[key_of(row)] = row
            print(
                f"{problem.activation.name} psi1={problem.psi1:g} psi2={problem.psi2:g} "
                f"eps={problem.eps:g} lam={problem.lam:g} d={d}: E_rob theory "
                f"{theory.robust_error:.4f} sim {row['sim_robust_error']:.4f} "
                f"± {row['sim_robust_error_sem']:.4f} ({row['seconds']:.1f} s)",
                file=sys.stderr,
            )
    for failure in failures:
        print(f"FAILED (not in the table): {failure}")
    rows = list(done.values())
    if not rows:
        print("no rows", file=sys.stderr)
        return 1
    report(rows)
    if args.figure is not None:
        figure(rows, args.figure)
    if failures or any(math.isnan(float(r["sim_robust_error"])) for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
