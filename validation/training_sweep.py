"""Random sweep of the training solvers: does any case fail to certify its duality gap?

Each case draws an instance (instance seed = case index) with: psi2 uniform in [0.5, 2], psi1 =
psi2 times a factor uniform in [0.25, 0.8] (N < n) or [1.25, 4] (N > n), lam = 0 or log-uniform in
[1e-3, 1] (half each), an activation among relu_shifted, relu, tanh, erf, d uniform in [100, 250],
noise 0 or 0.5; eps log-uniform in [0.05, 0.99 eps_c] (eps_c: the concentrated program's,
`critical_eps`), or with probability 1/4 just below it, eps_c (1 - 10^U(-4, -1)). Both variants are
trained; with --compare-inner-min-steps K the exact variant is also trained with INNER_MIN_STEPS = K
(0 reproduces the solver before warm-started inner programs were refined).

Prints the counts (converged / total, per variant and per regime) and writes every case to --out.
Usage: python validation/training_sweep.py [--cases 120] [--seed 0] [--out FILE]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402

from advrf import Problem  # noqa: E402
from advrf.settings import SolverSettings  # noqa: E402
from advrf.simulation import Instance, critical_eps, train  # noqa: E402

ACTIVATIONS = ("relu_shifted", "relu", "tanh", "erf")
EPS_MIN = 0.05


def draw_case(rng: np.random.Generator, index: int) -> tuple[Instance, dict]:
    psi2 = float(rng.uniform(0.5, 2.0))
    fewer = bool(rng.random() < 0.5)
    psi1 = psi2 * float(rng.uniform(0.25, 0.8) if fewer else rng.uniform(1.25, 4.0))
    lam = 0.0 if rng.random() < 0.5 else float(10 ** rng.uniform(-3, 0))
    activation = str(rng.choice(ACTIVATIONS))
    d = int(rng.integers(100, 251))
    noise = float(rng.choice([0.0, 0.5]))
    problem = Problem(psi1=psi1, psi2=psi2, eps=0.1, lam=lam, activation=activation, noise=noise)
    inst = Instance.draw(problem, d, index, n_test=10)
    eps_c = critical_eps(inst)
    near = bool(rng.random() < 0.25)
    if near or eps_c <= EPS_MIN / 0.99:
        eps = eps_c * (1.0 - 10 ** rng.uniform(-4, -1))
    else:
        eps = float(np.exp(rng.uniform(np.log(EPS_MIN), np.log(0.99 * eps_c))))
    case = dict(
        index=index, psi1=psi1, psi2=psi2, lam=lam, activation=activation, d=d, noise=noise,
        n_features=inst.phi.shape[1], n=inst.phi.shape[0], eps=eps, eps_c=eps_c, near_eps_c=near,
    )  # fmt: skip
    return inst, case


def run(inst: Instance, variant: str, eps: float, solver: SolverSettings | None = None) -> dict:
    start = time.perf_counter()
    res = train(inst, variant, eps=eps, raise_on_failure=False, solver=solver)
    return dict(
        converged=bool(res.converged), residual=float(res.residual), phase=res.phase,
        iterations=int(res.iterations), outer=int(res.outer_iterations),
        seconds=time.perf_counter() - start,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-inner-min-steps", type=int, default=None)
    parser.add_argument("--out", default="validation/training_sweep_results.json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    for index in range(args.cases):
        inst, case = draw_case(rng, index)
        for variant in ("concentrated", "exact"):
            case[variant] = run(inst, variant, case["eps"])
        if args.compare_inner_min_steps is not None:
            compared = SolverSettings(inner_min_steps=args.compare_inner_min_steps)
            case["exact_compared"] = run(inst, "exact", case["eps"], compared)
        rows.append(case)
    keys = ["concentrated", "exact"]
    if args.compare_inner_min_steps is not None:
        keys.append("exact_compared")
    for key in keys:
        total, ok = Counter(), Counter()
        for row in rows:
            regime = (
                f"{'N<n' if row['n_features'] < row['n'] else 'N>=n'}, "
                f"{'lam=0' if row['lam'] == 0 else 'lam>0'}"
            )
            for group in ("all", regime):
                total[group] += 1
                ok[group] += row[key]["converged"]
        worst = max(r[key]["residual"] for r in rows if r[key]["converged"])
        outer = [r[key]["outer"] for r in rows if r[key]["converged"]]
        seconds = sum(r[key]["seconds"] for r in rows)
        counts = ", ".join(f"{g}: {ok[g]}/{total[g]}" for g in sorted(total))
        print(f"{key}: certified {counts}; worst certified gap {worst:.2e}; ", end="")
        print(f"reweightings max {max(outer)}; total {seconds:.1f} s")
        for row in rows:
            if not row[key]["converged"]:
                print(f"  failed: {json.dumps({k: v for k, v in row.items() if k in CASE_KEYS})}")
                print(f"          {json.dumps(row[key])}")
    with open(args.out, "w") as handle:
        json.dump(dict(seed=args.seed, cases=rows), handle, indent=1)


CASE_KEYS = ("index", "psi1", "psi2", "lam", "activation", "d", "eps", "eps_c", "noise")

if __name__ == "__main__":
    main()
