"""Training-solver benchmark (issue 2): advrf's solver vs cvxpy + Clarabel vs one ridge solve.

On the same instances (d = 200, 400, 800; psi2 = 2; psi1 = 1, 4; lam = 0, 0.01; eps = 0.2;
relu_shifted, signal 1, noise 0, seed 0) it measures, in one run with BLAS pinned to one thread:

- advrf's concentrated solver (variant b), from (Phi, y, Theta): building M's representation
  (thin SVD of Theta or dense M), closed-form tests, Newton, certificate (best of REPEATS);
- one ridge solve of the same size: Cholesky of the smaller Gram matrix (Phi Phi^T or Phi^T Phi,
  whichever is smaller) plus the solve (best of REPEATS);
- cvxpy + Clarabel on the same program in epigraph form, with s = ||(mu1 Theta^T a / sqrt d,
  nu a)|| (its sparsest exact form), default tolerances; wall time of `problem.solve` and
  Clarabel's own solve time; skipped when N + n exceeds --cvxpy-max-unknowns (default 2400: it
  took 47-62 s at N + n = 2400 with psi1 = 4 and grows about cubically);
- advrf's exact variant (a) on the same instance (one run).

Usage: python benchmarks/bench_solver.py [--d 200 400 800] [--psi1 1 4] [--lam 0 0.01]
       [--cvxpy-max-unknowns 2400] [--no-exact]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: every method on one thread

import argparse  # noqa: E402
import importlib  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy import linalg  # noqa: E402

from advrf import Problem  # noqa: E402
from advrf.simulation import Instance  # noqa: E402

train_module = importlib.import_module("advrf.simulation.train")
from advrf.simulation._linalg import m_operator  # noqa: E402

REPEATS = 3
EPS = 0.2
PSI2 = 2.0


def best_time(fn, repeats=REPEATS):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def ridge_solve(phi, y, c):
    """One ridge solve (c > 0) on the smaller side by Cholesky."""
    n, big_n = phi.shape
    if big_n >= n:
        g = phi @ phi.T
        g[np.diag_indices_from(g)] += n * c
        return phi.T @ linalg.cho_solve(linalg.cho_factor(g, lower=True), y)
    g = phi.T @ phi
    g[np.diag_indices_from(g)] += n * c
    return linalg.cho_solve(linalg.cho_factor(g, lower=True), phi.T @ y)


def ours(inst, c):
    mom = inst.problem.moments
    mop = m_operator(inst.theta, mom.mu1, mom.nu2, inst.n)
    return train_module.solve_concentrated(inst.phi, inst.y, mop, eps=EPS, c=c)


def exact(inst, c):
    mom = inst.problem.moments
    mop = m_operator(inst.theta, mom.mu1, mom.nu2, inst.n)
    sprime = inst.problem.activation.derivative(inst.preactivations(inst.x))
    return train_module.solve_exact(inst.phi, inst.y, inst.theta, sprime, mop, eps=EPS, c=c)


def cvxpy_solve(inst, c):
    import cvxpy as cp

    phi, y, d = inst.phi, inst.y, inst.d
    n, big_n = phi.shape
    mom = inst.problem.moments
    a, t = cp.Variable(big_n), cp.Variable(n)
    s = cp.norm(cp.hstack([mom.mu1 * (inst.theta.T / np.sqrt(d)) @ a, mom.nu * a]))
    objective = cp.sum_squares(t) + (n * c * cp.sum_squares(a) if c > 0 else 0)
    problem = cp.Problem(cp.Minimize(objective), [t >= cp.abs(y - phi @ a) + EPS * s])
    start = time.perf_counter()
    problem.solve(solver=cp.CLARABEL)
    wall = time.perf_counter() - start
    return wall, problem.solver_stats.solve_time, problem.value / n, problem.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[200, 400, 800])
    parser.add_argument("--cvxpy-max-unknowns", type=int, default=2400)
    parser.add_argument("--psi1", type=float, nargs="+", default=[1.0, 4.0])
    parser.add_argument("--lam", type=float, nargs="+", default=[0.0, 0.01])
    parser.add_argument("--no-exact", action="store_true")
    args = parser.parse_args()
    header = (
        "| d | psi1 | lam | N | n | phase | Newton steps | gap | advrf (s) | ridge (s) | "
        "advrf / ridge | cvxpy wall (s) | Clarabel solve (s) | cvxpy / advrf | "
        "rel. objective diff | exact (a) (s) | exact / concentrated | exact outer it. |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for d in args.d:
        for psi1 in args.psi1:
            for lam in args.lam:
                problem = Problem(psi1=psi1, psi2=PSI2, eps=EPS, lam=lam)
                inst = Instance.draw(problem, d, 0, n_test=1)
                _ = inst.phi  # the features are an input of every method, not timed
                c = psi1 * lam
                t_ours, res = best_time(lambda inst=inst, c=c: ours(inst, c))
                t_ridge, _ = best_time(
                    lambda inst=inst, c=c: ridge_solve(inst.phi, inst.y, c or 1e-2)
                )
                row = [
                    d, psi1, lam, inst.big_n, inst.n, res.phase, res.iterations,
                    f"{res.residual:.1e}", f"{t_ours:.3f}", f"{t_ridge:.3f}",
                    f"{t_ours / t_ridge:.1f}",
                ]  # fmt: skip
                if inst.big_n + inst.n <= args.cvxpy_max_unknowns:
                    wall, solve, value, status = cvxpy_solve(inst, c)
                    diff = (value - res.objective) / res.objective
                    row += [f"{wall:.2f}", f"{solve:.2f}", f"{wall / t_ours:.0f}", f"{diff:.1e}"]
                    if status != "optimal":
                        row[-1] += f" ({status})"
                else:
                    row += ["skipped", "skipped", "", ""]
                if args.no_exact:
                    row += ["", "", ""]
                else:
                    start = time.perf_counter()
                    res_a = exact(inst, c)
                    t_a = time.perf_counter() - start
                    flag = "" if res_a.converged else " (not converged)"
                    row += [f"{t_a:.2f}{flag}", f"{t_a / t_ours:.1f}", res_a.outer_iterations]
                print("| " + " | ".join(str(v) for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
