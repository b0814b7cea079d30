"""The trivial-phase boundary eps_c: theory against the simulator's exact finite-size value.

For a finite instance, a = 0 is the optimum of the concentrated program exactly when
eps >= ||M^{-1/2} Phi^T y|| / ||y||_1 (`advrf.simulation.critical_eps`); the theory's
eps_c (`TheoryResult.eps_c`) is its limit. This script prints, for each point and d, the
seed mean +- standard error of the finite-size value, its relative gap to the theory, and writes
a Markdown table (docs/validation.md, section "Trivial phase boundary").

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/eps_c_finite_size.py --seeds 5
"""

from __future__ import annotations

import argparse

import numpy as np

from advrf import Problem
from advrf.grid import parse_names, parse_values
from advrf.simulation import Instance, critical_eps
from advrf.theory import solve

POINTS = [(0.5, 2.0), (2.0, 1.0), (5.0, 2.0)]  # (psi1, psi2)


def finite_size_eps_c(problem: Problem, d: int, seeds: list[int]) -> np.ndarray:
    """The exact eps_c of the instances (problem, d, seed) for each seed."""
    return np.array(
        [critical_eps(Instance.draw(problem, d, seed, n_test=1)) for seed in seeds], dtype=float
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", default="relu_shifted,relu,tanh,erf")
    parser.add_argument("--d", default="100,250,500,1000")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--noise", default="0")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    ds = [int(d) for d in parse_values("d", args.d).values]
    print(
        "| activation | psi1 | psi2 | noise | eps_c theory | "
        + " | ".join(f"d = {d}: mean ± s.e. (rel. gap)" for d in ds)
        + " |"
    )
    print("|---" * (5 + len(ds)) + "|")
    for activation in parse_names("activation", args.activation).values:
        for noise in parse_values("noise", args.noise).values:
            for psi1, psi2 in POINTS:
                problem = Problem(psi1=psi1, psi2=psi2, eps=0.0, noise=noise, activation=activation)
                theory = solve(problem).eps_c
                cells = []
                for d in ds:
                    values = finite_size_eps_c(problem, d, seeds)
                    mean, sem = values.mean(), values.std(ddof=1) / np.sqrt(len(values))
                    cells.append(f"{mean:.4f} ± {sem:.4f} ({(mean - theory) / theory:+.2%})")
                print(
                    f"| {activation} | {psi1:g} | {psi2:g} | {noise:g} | {theory:.4f} | "
                    + " | ".join(cells)
                    + " |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
