"""Robustness of advrf.theory.solve over the parameter ranges the CLI accepts (issue 3).

Draws random points (psi1, psi2 log-uniform in [0.05, 50], eps in [0, 5], lam in [0, 10], eps_test
in [0, 2], signal in [0.2, 3], noise in [0, 2]) for four activations, with a share of exact
zeros for eps and lam and of small values (the hard corners: the interpolating regime and the
boundary of the trivial phase). Every point must either return a certified result or raise
TheoryError; the script counts both, re-checks the saddle inertia of every returned Newton point,
and checks E_rob >= E_std and the trivial phase exactly above eps_c.

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/theory_robustness.py --points 1000
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter

import numpy as np

from advrf import Problem
from advrf.theory import TheoryError, solve
from advrf.theory.equations import Coefficients, loss_terms
from advrf.theory.solve import saddle_inertia

ACTIVATIONS = ("relu_shifted", "relu", "tanh", "erf")


def draw(rng: np.random.Generator, activation: str) -> Problem:
    psi1 = float(np.exp(rng.uniform(math.log(0.05), math.log(50.0))))
    psi2 = float(np.exp(rng.uniform(math.log(0.05), math.log(50.0))))
    kind = rng.integers(4)
    eps = (0.0, float(rng.uniform(0.0, 5.0)), float(10 ** rng.uniform(-4, 0)), None)[kind]
    lam_kind = rng.integers(3)
    lam = (0.0, float(rng.uniform(0.0, 10.0)), float(10 ** rng.uniform(-6, 0)))[lam_kind]
    problem = Problem(
        psi1,
        psi2,
        0.0 if eps is None else eps,
        eps_test=float(rng.uniform(0.0, 2.0)),
        lam=lam,
        signal=float(rng.uniform(0.2, 3.0)),
        noise=float(rng.uniform(0.0, 2.0)),
        activation=activation,
    )
    if eps is None:  # just below or above the trivial-phase boundary
        eps_c = Coefficients.from_problem(problem).eps_c()
        factor = 1.0 + float(rng.choice([-1.0, 1.0])) * 10 ** rng.uniform(-8, -1)
        problem = problem.with_(eps=min(eps_c * factor, 5.0), eps_test=problem.eps_test)
    return problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    counts: Counter[str] = Counter()
    regimes: Counter[str] = Counter()
    errors: list[str] = []
    bad: list[str] = []
    times = []
    for i in range(args.points):
        problem = draw(rng, ACTIVATIONS[i % len(ACTIVATIONS)])
        start = time.perf_counter()
        try:
            result = solve(problem)
        except TheoryError as error:
            counts["TheoryError"] += 1
            errors.append(str(error))
            continue
        times.append(time.perf_counter() - start)
        counts["converged"] += 1
        regimes[result.regime] += 1
        co = Coefficients.from_problem(problem)
        # Newton points, and the eps -> 0+ closed form taken as the finite-eps solution
        if result.regime in ("adversarial", "ridge") or (
            result.regime == "min_M_norm" and 0.0 < result.gam < math.inf
        ):
            lt = loss_terms(result.gam, result.Q, result.s, problem.eps)
            pos, neg, size = saddle_inertia(
                co, (result.Q, result.s, result.gam, lt.b2, lt.th1, lt.th2)
            )
            if pos != size // 2 or neg != size // 2:
                bad.append(f"inertia {(pos, neg)} at {problem}")
        if not result.robust_error >= result.standard_error:
            bad.append(f"E_rob < E_std at {problem}")
        if (result.phase == "trivial") != (problem.eps > 0 and problem.eps >= result.eps_c):
            bad.append(f"phase inconsistent with eps_c at {problem}")
        if not (result.converged and math.isfinite(result.robust_error)):
            bad.append(f"non-finite or unconverged result at {problem}")
    print(f"points: {args.points} (seed {args.seed}), activations: {', '.join(ACTIVATIONS)}")
    print(f"converged: {counts['converged']}, TheoryError: {counts['TheoryError']}")
    print("regimes: " + ", ".join(f"{k} {v}" for k, v in sorted(regimes.items())))
    t = np.array(times) * 1e3
    print(
        f"time per converged point (cold): median {np.median(t):.2f} ms, 99th percentile "
        f"{np.percentile(t, 99):.2f} ms, max {t.max():.1f} ms, above 10 ms: {np.sum(t > 10)}"
    )
    print(f"failed checks (saddle inertia, E_rob >= E_std, phase): {len(bad)}")
    for line in bad + errors:
        print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
