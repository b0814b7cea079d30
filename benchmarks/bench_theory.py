"""Time per point of advrf.theory along a 200-point psi1 curve, warm-started and cold (issue 3).

Curves: psi1 on a log grid [0.1, 100], psi2 = 2, noise = 0.5, for several (activation, eps, lam).
Warm: `solve_curve` (each point starts from the previous one). Cold: `solve` on each point alone.
Each timing is the best of --repeats runs (BLAS pinned to one thread by the caller).

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python benchmarks/bench_theory.py
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from advrf import Problem
from advrf.theory import solve, solve_curve

CURVES = (
    ("relu_shifted", 0.2, 0.0),
    ("relu_shifted", 0.05, 0.0),
    ("relu", 0.5, 0.01),
    ("tanh", 0.2, 0.1),
    ("erf", 0.0, 0.01),
    ("relu_shifted", 0.0, 0.0),
)


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    psi1 = np.geomspace(0.1, 100.0, args.points)
    print(f"python {platform.python_version()}, {platform.processor() or platform.machine()}")
    print(f"{args.points}-point psi1 curves on [0.1, 100], psi2 = 2, noise = 0.5; best of "
          f"{args.repeats}")  # fmt: skip
    print("| activation | eps | lam | warm ms/point | cold ms/point | warm iterations/point |")
    print("|---|---|---|---|---|---|")
    for activation, eps, lam in CURVES:
        problems = [Problem(p, 2.0, eps, lam=lam, noise=0.5, activation=activation) for p in psi1]
        solve(problems[0])  # moments and imports, outside the timing
        warm = best_of(args.repeats, lambda ps=problems: solve_curve(ps))
        cold = best_of(args.repeats, lambda ps=problems: [solve(p) for p in ps])
        iterations = np.mean([r.iterations for r in solve_curve(problems)])
        print(
            f"| {activation} | {eps:g} | {lam:g} | {1e3 * warm / len(problems):.3f} | "
            f"{1e3 * cold / len(problems):.3f} | {iterations:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
