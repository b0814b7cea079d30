"""Largest deviations of advrf.theory from its independent references (numbers for docs/).

1. The published statement (`advrf.theory.reference`) on psi1 log-spaced in [0.1, 100]
   (--psi1-points), psi2 in {1, 2}, eps in {0.05, 0.2, 0.5}, noise in {0, 0.5}.
2. Mei & Montanari (2019) at eps = 0 (tests/mei_montanari.py) for relu and tanh on psi1 in
   {0.2, 0.5, 0.9, 1.5, 3, 20}, psi2 in {0.5, 1, 2}, lam in {0 (ridgeless), 1e-3, 0.1, 2},
   noise in {0, 0.5}.
3. Adversarial linear regression (tests/linear_adversarial.py): linear activation, lam = 0.

    PYTHONPATH=src:tests OPENBLAS_NUM_THREADS=1 python validation/theory_reference_checks.py
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from advrf import Problem
from advrf.theory import solve
from advrf.theory.equations import Coefficients, loss_terms
from advrf.theory.reference import solve_reference

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import linear_adversarial  # noqa: E402
import mei_montanari  # noqa: E402


def relative(a: float, b: float) -> float:
    return abs(a / b - 1.0)


def reference_grid(points: int) -> None:
    worst, worst_at, count, trivial = 0.0, None, 0, 0
    for psi2 in (1.0, 2.0):
        for eps in (0.05, 0.2, 0.5):
            for noise in (0.0, 0.5):
                for psi1 in np.geomspace(0.1, 100.0, points):
                    problem = Problem(float(psi1), psi2, eps, noise=noise)
                    ours = solve(problem)
                    if ours.phase == "trivial":
                        trivial += 1
                        continue
                    lt = loss_terms(ours.gam, ours.Q, ours.s, eps)
                    alpha = math.sqrt(ours.Q - Coefficients.from_problem(problem).sigma2())
                    b = math.sqrt(lt.b2 / psi2)
                    start = (b / 2, lt.th2 * ours.s / 2, lt.th1 * alpha / 2, alpha, ours.gam * b)
                    ref = solve_reference(problem, start)
                    assert ref.min_block_eig > 0 and ref.reduced_max_eig < 0
                    dev = max(
                        relative(ref.robust_error, ours.robust_error),
                        relative(ref.standard_error, ours.standard_error),
                    )
                    count += 1
                    if dev > worst:
                        worst, worst_at = dev, problem
    print(
        f"section 6 statement: {count} nontrivial points (+{trivial} trivial), max relative "
        f"deviation of E_rob / E_std {worst:.2g} at {worst_at}"
    )


def mei_montanari_grid() -> None:
    worst, worst_at, count = 0.0, None, 0
    for activation in ("relu", "tanh"):
        for psi1 in (0.2, 0.5, 0.9, 1.5, 3.0, 20.0):
            for psi2 in (0.5, 1.0, 2.0):
                for lam in (0.0, 1e-3, 0.1, 2.0):
                    for noise in (0.0, 0.5):
                        if lam == 0.0 and psi1 == psi2:
                            continue
                        problem = Problem(
                            psi1, psi2, 0.0, lam=lam, noise=noise, activation=activation
                        )
                        m = problem.moments
                        expected = mei_montanari.standard_error(
                            m.mu1, m.mu_star, psi1, psi2, lam, 1.0, noise
                        )
                        dev = relative(solve(problem).standard_error, expected)
                        count += 1
                        if dev > worst:
                            worst, worst_at = dev, problem
    print(f"Mei-Montanari: {count} points, max relative deviation {worst:.2g} at {worst_at}")


def linear_grid() -> None:
    worst, count = 0.0, 0
    for psi1, psi2, eps, noise in [
        (2, 1.5, 0.3, 0.5), (3, 0.5, 0.1, 0.3), (1.5, 4, 0.6, 1.0), (5, 2, 0.05, 0.2),
        (1.2, 0.8, 0.2, 0.5), (4, 3, 1.0, 0.5), (8, 0.3, 0.4, 0.1), (2, 10, 0.8, 0.7),
    ]:  # fmt: skip
        problem = Problem(psi1, psi2, eps, noise=noise, activation="linear")
        ours = solve(problem)
        lt = loss_terms(ours.gam, ours.Q, ours.s, eps)
        p = problem.moments.mu1 * ours.beta_w - 1.0
        r = math.sqrt(ours.standard_error - noise**2 - p * p)
        start = (1.05 * p, 0.95 * r, 1.05 * math.sqrt(lt.b2), 0.95 * ours.gam)
        ref = linear_adversarial.solve_linear(psi2, eps, 1.0, noise, start)
        worst = max(
            worst,
            relative(ref["standard_error"], ours.standard_error),
            relative(ref["grad_norm"], math.sqrt(ours.grad_norm2)),
        )
        count += 1
    print(f"adversarial linear regression: {count} points, max relative deviation {worst:.2g}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psi1-points", type=int, default=25)
    args = parser.parse_args(argv)
    reference_grid(args.psi1_points)
    mei_montanari_grid()
    linear_grid()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
