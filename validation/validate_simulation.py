"""Spec section 3 facts measured on trained models at growing d (issue 2; docs/simulation.md).

For each activation (tanh, relu_shifted), each d in --d and each seed, on psi1 = 1, psi2 = 2
(N <= n, which true adversarial training with lam = 0 needs), lam = 0, noise = 0, signal = 1,
eps = --eps:

1. first order vs PGD: the exact-variant model's robust test error under the closed-form
   first-order attack vs under PGD on the nonlinear model (the max of (y - f)^2 over the ball is
   at the argmax or the argmin of f: PGD for both, from the first-order points and
   PGD_RESTARTS_VALIDATION random points, PGD_STEPS_VALIDATION steps): relative gap
   (PGD - first order) / first order;
2. exact vs concentrated gradient norm: robust test errors of the models trained with the two
   variants, relative difference, and ||a_exact - a_conc|| / ||a_conc||;
3. true adversarial training of the nonlinear model (`pgd_adversarial_training`: PGD cuts,
   certified lower bound, started at the first-order solution), for d <= --true-at-max-d: the
   curvature gap (R(a_FO) - F(a_FO)) / F(a_FO) between the true robust training objective R and
   the first-order one F at the first-order solution, the relative decrease of R achieved by true
   adversarial training, and the change of the PGD robust test error.

Prints markdown tables (seed means +- standard errors) and writes the raw numbers to --out (JSON).
Usage: python validation/validate_simulation.py [--d 50 100 200 400] [--seeds 3] [--out FILE]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from advrf import Problem  # noqa: E402
from advrf.simulation import Instance, train  # noqa: E402
from advrf.simulation.attack import (  # noqa: E402
    extreme_perturbations,
    first_order_attack,
    pgd_adversarial_training,
    squared_loss,
)

PGD_STEPS_VALIDATION = 50
PGD_RESTARTS_VALIDATION = 5
N_TEST = 2000


def first_order_error(inst, a, eps):
    """Robust test error of a under the first-order attack."""
    act, theta, x, y = inst.problem.activation, inst.theta, inst.x_test, inst.y_test
    delta, _ = first_order_attack(theta, act, a, x, y, eps)
    return float(squared_loss(theta, act, a, x + delta, y).mean())


def robust_errors(inst, a, eps):
    """(first-order attack, PGD) robust test errors of a."""
    act, theta, x, y = inst.problem.activation, inst.theta, inst.x_test, inst.y_test
    first = first_order_error(inst, a, eps)
    (_, f_max), (_, f_min) = extreme_perturbations(
        theta, act, a, x, eps, steps=PGD_STEPS_VALIDATION, restarts=PGD_RESTARTS_VALIDATION,
        seed=inst.seed,
    )  # fmt: skip
    pgd = np.maximum((y - f_max) ** 2, (y - f_min) ** 2)  # the first-order point is a start
    return first, float(pgd.mean())


def one_seed(activation, d, seed, eps, true_at):
    problem = Problem(psi1=1.0, psi2=2.0, eps=eps, activation=activation)
    inst = Instance.draw(problem, d, seed, n_test=N_TEST)
    exact = train(inst, "exact")
    conc = train(inst, "concentrated")
    fo_exact, pgd_exact = robust_errors(inst, exact.a, eps)
    fo_conc = first_order_error(inst, conc.a, eps)
    out = {
        "activation": activation, "d": d, "seed": seed, "eps": eps,
        "phase_exact": exact.phase, "phase_concentrated": conc.phase,
        "robust_fo_exact": fo_exact, "robust_pgd_exact": pgd_exact,
        "pgd_gap": (pgd_exact - fo_exact) / fo_exact,
        "robust_fo_concentrated": fo_conc,
        "exact_vs_conc": (fo_exact - fo_conc) / fo_conc,
        "a_distance": float(np.linalg.norm(exact.a - conc.a) / np.linalg.norm(conc.a)),
        "exact_outer": exact.outer_iterations,
    }  # fmt: skip
    if true_at:
        start = time.perf_counter()
        res = pgd_adversarial_training(
            inst.theta, problem.activation, inst.x, inst.y, eps, 0.0, exact.a, seed=seed
        )
        _, pgd_at = robust_errors(inst, res.a, eps)
        out.update(
            true_at_R_first_order=res.objective_start,
            true_at_R=res.objective,
            true_at_lower_bound=res.lower_bound,
            true_at_gap=res.residual,
            true_at_decrease=(res.objective_start - res.objective) / res.objective_start,
            first_order_objective=exact.objective,
            curvature_gap=(res.objective_start - exact.objective) / exact.objective,
            robust_pgd_true_at=pgd_at,
            true_at_vs_fo=(pgd_at - pgd_exact) / pgd_exact,
            true_at_steps=res.iterations,
            true_at_converged=res.converged,
            true_at_seconds=time.perf_counter() - start,
        )
    return out


def mean_sem(rows, key):
    values = np.array([r[key] for r in rows], dtype=float)
    sem = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return f"{values.mean():.2e} +- {sem:.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[50, 100, 200, 400])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--eps", type=float, default=0.5)
    parser.add_argument("--activations", nargs="+", default=["tanh", "relu_shifted"])
    parser.add_argument("--true-at-max-d", type=int, default=400)
    parser.add_argument("--out", default="validation/simulation_results.json")
    args = parser.parse_args()
    rows = []
    for activation in args.activations:
        for d in args.d:
            for seed in range(args.seeds):
                rows.append(one_seed(activation, d, seed, args.eps, d <= args.true_at_max_d))
                print(json.dumps(rows[-1]), flush=True)
    with open(args.out, "w") as handle:
        json.dump(rows, handle, indent=1)
    print()
    print("| activation | d | robust error, first order | robust error, PGD | (PGD - FO) / FO | "
          "(exact - conc.) / conc. robust error | rel. distance a_exact, a_conc |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for activation in args.activations:
        for d in args.d:
            sub = [r for r in rows if r["activation"] == activation and r["d"] == d]
            print(
                f"| {activation} | {d} | {mean_sem(sub, 'robust_fo_exact')} | "
                f"{mean_sem(sub, 'robust_pgd_exact')} | {mean_sem(sub, 'pgd_gap')} | "
                f"{mean_sem(sub, 'exact_vs_conc')} | {mean_sem(sub, 'a_distance')} |"
            )
    print()
    print("| activation | d | (R(a_FO) - F(a_FO)) / F | R decrease by true AT | "
          "certified gap of true AT | (PGD err. true AT - PGD err. FO) / PGD err. FO | steps | "
          "converged |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for activation in args.activations:
        for d in args.d:
            sub = [
                r for r in rows
                if r["activation"] == activation and r["d"] == d and "true_at_R" in r
            ]  # fmt: skip
            if sub:
                steps = ",".join(str(r["true_at_steps"]) for r in sub)
                conv = ",".join("y" if r["true_at_converged"] else "n" for r in sub)
                print(
                    f"| {activation} | {d} | {mean_sem(sub, 'curvature_gap')} | "
                    f"{mean_sem(sub, 'true_at_decrease')} | {mean_sem(sub, 'true_at_gap')} | "
                    f"{mean_sem(sub, 'true_at_vs_fo')} | "
                    f"{steps} | {conv} |"
                )


if __name__ == "__main__":
    main()
