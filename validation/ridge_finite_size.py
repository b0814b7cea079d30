"""Finite-size bias at one point as d grows; by default plain ridge (eps = 0), the published case.

At eps = 0 and lam > 0 the trained model is the ridge estimator and the theory's E_std is Mei &
Montanari's asymptotic formula (checked against it in tests/test_theory_limits.py), so a gap
between a simulation and the theory there is a property of finite d, not of the adversarial
theory. For one point and growing d it prints the seed mean +- standard error of the relative gap
of the exact population E_std (`evaluate(..., population=True)`, no test set) and of the order
parameters. --eps > 0 runs the same for adversarial training (--variant concentrated reaches
larger d: N = 10000 at d = 2000 and psi1 = 5).

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/ridge_finite_size.py \\
        --activation tanh --psi1 5 --psi2 1 --lam 0.1 --d 250,500,1000,2000 --seeds 12
"""

from __future__ import annotations

import argparse

import numpy as np

from advrf import Problem
from advrf.grid import parse_values
from advrf.simulation import simulate_seed
from advrf.theory import solve

QUANTITIES = ("standard_error_exact", "norm_a2", "norm_w2", "beta_w")
THEORY = {"standard_error_exact": "standard_error"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--psi1", type=float, default=5.0)
    parser.add_argument("--psi2", type=float, default=1.0)
    parser.add_argument("--lam", type=float, default=0.1)
    parser.add_argument("--eps", type=float, default=0.0)
    parser.add_argument("--d", default="250,500,1000,2000")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--variant", default="exact", choices=("exact", "concentrated"))
    args = parser.parse_args(argv)
    problem = Problem(
        activation=args.activation, psi1=args.psi1, psi2=args.psi2, eps=args.eps, lam=args.lam
    )
    theory = solve(problem).to_dict()
    print(
        f"{args.activation}, psi1 = {args.psi1:g}, psi2 = {args.psi2:g}, eps = {args.eps:g}, "
        f"lam = {args.lam:g}, variant {args.variant}; theory E_std = "
        f"{theory['standard_error']:.5f}\n"
    )
    print("| d | seeds | " + " | ".join(f"{q}: mean ± s.e." for q in QUANTITIES) + " |")
    print("|---" * (2 + len(QUANTITIES)) + "|")
    for d in (int(v) for v in parse_values("d", args.d).values):
        records = [
            simulate_seed(problem, d, seed, n_test=200, variant=args.variant, population=True)
            for seed in range(args.seeds)
        ]
        cells = []
        for q in QUANTITIES:
            gaps = np.array([getattr(r, q) / theory[THEORY.get(q, q)] - 1.0 for r in records])
            cells.append(f"{gaps.mean():+.2%} ± {gaps.std(ddof=1) / np.sqrt(gaps.size):.2%}")
        print(f"| {d} | {args.seeds} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
