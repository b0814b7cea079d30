"""How fast a simulation approaches the theory as d grows: per-seed and seed-mean gaps.

For a few points away from psi1 = psi2, at d = 125, 250, 500, 1000 with many seeds and a large test
set, the relative deviation (simulation - theory) / theory of E_rob, E_std and the order parameters,
summarised two ways: the seed mean +- standard error (a bias of the finite size) and the
root-mean-square over seeds (how far one simulation is from the theory: finite-size bias and
instance-to-instance fluctuation together). E_rob and E_std are measured twice: on the test set,
and without its noise (standard_error_exact, robust_error_cv: `evaluate(..., population=True)`).

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/convergence_in_d.py --seeds 12
"""

from __future__ import annotations

import argparse

import numpy as np

from advrf import Problem
from advrf.grid import parse_values
from advrf.simulation import simulate_seed
from advrf.theory import solve

# simulated quantity -> the theory's
QUANTITIES = {
    "robust_error": "robust_error",
    "standard_error": "standard_error",
    "robust_error_cv": "robust_error",
    "standard_error_exact": "standard_error",
    "norm_a2": "norm_a2",
    "beta_w": "beta_w",
    "grad_norm2": "grad_norm2",
}
POINTS = [  # (activation, psi1, psi2, eps, lam)
    ("relu_shifted", 2.0, 1.0, 0.1, 0.0),
    ("tanh", 2.0, 1.0, 0.25, 0.1),
    ("erf", 0.5, 2.0, 0.5, 0.1),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", default="125,250,500,1000")
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--variant", default="exact")
    parser.add_argument("--activation", default=None, help="only the points of this activation")
    args = parser.parse_args(argv)
    ds = [int(d) for d in parse_values("d", args.d).values]
    print(
        "| point | d | "
        + " | ".join(f"{q}: mean ± s.e. / rms" for q in QUANTITIES)
        + " |\n"
        + "|---" * (2 + len(QUANTITIES))
        + "|"
    )
    for activation, psi1, psi2, eps, lam in POINTS:
        if args.activation is not None and activation != args.activation:
            continue
        problem = Problem(psi1=psi1, psi2=psi2, eps=eps, lam=lam, activation=activation)
        theory = solve(problem).to_dict()
        label = f"{activation}, psi1 = {psi1:g}, psi2 = {psi2:g}, eps = {eps:g}, lam = {lam:g}"
        for d in ds:
            records = [
                simulate_seed(
                    problem, d, seed, n_test=args.n_test, variant=args.variant, population=True
                )
                for seed in range(args.seeds)
            ]
            cells = []
            for q, t in QUANTITIES.items():
                gaps = np.array([getattr(r, q) / theory[t] - 1.0 for r in records])
                sem = gaps.std(ddof=1) / np.sqrt(gaps.size)
                rms = np.sqrt(np.mean(gaps**2))
                cells.append(f"{gaps.mean():+.2%} ± {sem:.2%} / {rms:.2%}")
            print(f"| {label} | {d} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
