"""Order parameters and training loss: theory against trained finite instances, as d grows.

The test errors of a simulation carry the sampling noise of a finite test set; the order
parameters ||a||^2, ||w||^2, <beta, w>, s^2 = a^T M a and the training objective do not, so they
show the finite-size gap |simulation - theory| sharply. For each point and d, the seed mean +-
standard error of the relative gap (simulation - theory) / theory of each quantity, for the
concentrated program (the theory's program, conventions 3.4) trained exactly.

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/order_parameters.py --seeds 4
"""

from __future__ import annotations

import argparse

import numpy as np

from advrf import Problem
from advrf.grid import parse_values
from advrf.simulation import Instance, train
from advrf.theory import solve

QUANTITIES = ("norm_a2", "norm_w2", "beta_w", "grad_norm2", "train_objective")
POINTS = [  # (activation, psi1, psi2, eps, lam)
    ("relu_shifted", 5.0, 2.0, 0.5, 0.0),
    ("relu_shifted", 0.5, 1.0, 0.1, 0.0),
    ("tanh", 2.0, 1.0, 0.25, 0.1),
    ("erf", 5.0, 1.0, 0.25, 0.01),
]


def measured(instance: Instance) -> dict[str, float]:
    """The order parameters of the exactly trained concentrated program on one instance."""
    result = train(instance, variant="concentrated")
    a = result.a
    w = instance.w(a)
    mom = instance.problem.moments
    return {
        "norm_a2": float(a @ a),
        "norm_w2": float(w @ w),
        "beta_w": float(instance.beta @ w),
        "grad_norm2": float(mom.mu1**2 * (w @ w) + mom.nu2 * (a @ a)),
        "train_objective": float(result.objective),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", default="250,500,1000,2000")
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args(argv)
    ds = [int(d) for d in parse_values("d", args.d).values]
    print("| activation | psi1 | psi2 | eps | lam | d | " + " | ".join(QUANTITIES) + " |")
    print("|---" * (6 + len(QUANTITIES)) + "|")
    for activation, psi1, psi2, eps, lam in POINTS:
        problem = Problem(psi1=psi1, psi2=psi2, eps=eps, lam=lam, activation=activation)
        theory = solve(problem).to_dict()
        print(
            f"| {activation} | {psi1:g} | {psi2:g} | {eps:g} | {lam:g} | theory | "
            + " | ".join(f"{theory[q]:.4f}" for q in QUANTITIES)
            + " |",
            flush=True,
        )
        for d in ds:
            rows = [
                measured(Instance.draw(problem, d, seed, n_test=1)) for seed in range(args.seeds)
            ]
            cells = []
            for q in QUANTITIES:
                gaps = np.array([(row[q] - theory[q]) / theory[q] for row in rows])
                sem = gaps.std(ddof=1) / np.sqrt(len(gaps))
                cells.append(f"{gaps.mean():+.2%} ± {sem:.2%}")
            print(
                f"| {activation} | {psi1:g} | {psi2:g} | {eps:g} | {lam:g} | {d} | "
                + " | ".join(cells)
                + " |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
