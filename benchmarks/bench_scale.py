"""Time and peak memory of one simulated seed at scale, and the memory model's prediction.

    python benchmarks/bench_scale.py --d 1000 2000 [--psi1 4 --psi2 2] [--threads 1]
        [--population] [--before /path/to/other/src] [--ridge]

Each run is a fresh subprocess with --threads BLAS threads: simulate(relu_shifted, psi1, psi2,
eps = 0.2, lam = 0, variant="concentrated", one seed); its peak is VmHWM after the run less VmHWM
after the imports (the interpreter's baseline). With --before, the same run with another source
tree on PYTHONPATH (e.g. a worktree of main) is interleaved with this one. With --ridge, the same
subprocess then times the training solve against one ridge solve (eps = 0, lam = 1e-3) of the
same Phi and M, best of REPEATS, and against the BLAS floor of the training solve's own flop
count: flops / the dgemm rate measured in the same process (best of REPEATS of an n x n x r
product). Prints one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
REPEATS = 3
CHILD = r"""
import json, sys, time
import numpy as np
from advrf.problem import Problem
from advrf.simulation import Instance, simulate
import advrf.simulation.evaluate, advrf.simulation.train
def hwm():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
d, psi1, psi2 = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ridge, repeats, population = sys.argv[4] == "1", int(sys.argv[5]), sys.argv[6] == "1"
base = hwm()
problem = Problem(psi1=psi1, psi2=psi2, eps=0.2, lam=0.0, activation="relu_shifted")
options = dict(variant="concentrated", population=True) if population else dict(
    variant="concentrated")
start = time.perf_counter()
try:
    summary = simulate(problem, d, (0,), max_memory=None, **options)
except TypeError:  # code from before the max_memory parameter
    summary = simulate(problem, d, (0,), **options)
seconds = time.perf_counter() - start
peak = hwm() - base
record = summary.records[0]
out = dict(d=d, psi1=psi1, psi2=psi2, seconds=seconds, peak_bytes=peak, baseline_bytes=base,
           robust_error=record.robust_error, standard_error=record.standard_error,
           gap=record.residual, newton_steps=record.iterations)
if population:
    out.update(standard_error_exact=record.standard_error_exact,
               robust_error_cv=record.robust_error_cv)
try:
    from advrf.settings import SimulationSettings
    from advrf.simulation.memory import peak_bytes
    out["model_bytes"] = peak_bytes(problem, SimulationSettings(d=d, **options))
except ImportError:
    pass
if ridge:
    from advrf.simulation import _linalg
    from advrf.simulation._linalg import m_operator
    from advrf.simulation.train_concentrated import solve_concentrated
    inst = Instance.draw(problem, d, 0, n_test=1)
    mom = problem.moments
    mop = m_operator(inst.theta, mom.mu1, mom.nu2, inst.n)
    phi = inst.phi
    n, big_n = phi.shape
    r = mop.m.shape[0]
    calls = {"gram": 0, "factor": 0}
    for name in calls:
        original = getattr(_linalg.NewtonSystem, name)
        def counted(self, *a, _original=original, _name=name, **k):
            calls[_name] += 1
            return _original(self, *a, **k)
        setattr(_linalg.NewtonSystem, name, counted)
    def best(**kw):
        times = []
        for _ in range(repeats):
            for name in calls:
                calls[name] = 0
            t0 = time.perf_counter()
            result = solve_concentrated(phi, inst.y, mop, **kw)
            times.append(time.perf_counter() - t0)
        assert result.converged, result.message
        return min(times), result, dict(calls)
    train_s, result, train_calls = best(eps=0.2, c=0.0)
    ridge_s, _, _ = best(eps=0.0, c=1e-3)
    # flops of the training solve: Phi U through Phi Theta, the perpendicular Gram (syrk), then
    # per Gram a syrk of Phi U and per factorisation a Cholesky
    flops = 2.0 * n * big_n * d + 2.0 * n * d * r + n * n * big_n + n * n * r
    flops += train_calls["gram"] * n * n * r + train_calls["factor"] * n**3 / 3.0
    a_mat = np.random.default_rng(0).standard_normal((n, r))
    b_mat = np.random.default_rng(1).standard_normal((r, n))
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a_mat @ b_mat
        rates.append(2.0 * n * n * r / (time.perf_counter() - t0))
    rate = max(rates)
    out.update(train_seconds=train_s, ridge_seconds=ridge_s, ratio=train_s / ridge_s,
               phase=result.phase, train_calls=train_calls, train_gflop=flops / 1e9,
               dgemm_gflops=rate / 1e9, floor_seconds=flops / rate,
               train_over_floor=train_s / (flops / rate))
print(json.dumps(out))
"""


def run(src: Path, d: int, args: argparse.Namespace, ridge: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(args.threads)
    argv = [str(d), str(args.psi1), str(args.psi2), "1" if ridge else "0", str(REPEATS),
            "1" if args.population else "0"]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], env=env, capture_output=True, text=True, check=True
    )
    return {"threads": args.threads, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--psi1", type=float, default=4.0)
    parser.add_argument("--psi2", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of each run")
    parser.add_argument("--population", action="store_true", help="simulate(population=True)")
    parser.add_argument("--before", type=Path, default=None, help="src of the code to compare")
    parser.add_argument("--ridge", action="store_true", help="also time train vs ridge solves")
    args = parser.parse_args()
    for d in args.d:
        if args.before is not None:
            print(
                json.dumps({"code": "before", **run(args.before, d, args, args.ridge)}), flush=True
            )
        print(json.dumps({"code": "after", **run(SRC, d, args, args.ridge)}), flush=True)


if __name__ == "__main__":
    main()
