"""Time and peak memory of one simulated seed at scale, and the memory model's prediction.

    python benchmarks/bench_scale.py --d 1000 2000 [--before /path/to/other/src] [--ridge]

Each run is a fresh subprocess with one BLAS thread: simulate(relu_shifted, psi1 = 4, psi2 = 2,
eps = 0.2, lam = 0, variant="concentrated", one seed); its peak is ru_maxrss after the run less
ru_maxrss after the imports (the interpreter's baseline). With --before, the same run with another
source tree on PYTHONPATH (e.g. a worktree of main) is interleaved with this one. With --ridge, the
same subprocess then times the training solve against one ridge solve (eps = 0, lam = 1e-3) of the
same Phi and M, best of REPEATS. Prints one JSON object per run.
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
import json, resource, sys, time
from advrf.problem import Problem
from advrf.simulation import Instance, simulate
import advrf.simulation.evaluate, advrf.simulation.train
d, ridge, repeats = int(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
problem = Problem(psi1=4, psi2=2, eps=0.2, lam=0.0, activation="relu_shifted")
start = time.perf_counter()
summary = simulate(problem, d, (0,), variant="concentrated")
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
out = dict(d=d, seconds=seconds, peak_bytes=peak, baseline_bytes=base,
           robust_error=summary.robust_error, standard_error=summary.standard_error)
try:
    from advrf.settings import SimulationSettings
    from advrf.simulation.memory import peak_bytes
    out["model_bytes"] = peak_bytes(problem, SimulationSettings(d=d, variant="concentrated"))
except ImportError:
    pass
if ridge:
    from advrf.simulation._linalg import m_operator
    from advrf.simulation.train_concentrated import solve_concentrated
    inst = Instance.draw(problem, d, 0)
    mom = problem.moments
    mop = m_operator(inst.theta, mom.mu1, mom.nu2, inst.n)
    phi = inst.phi
    def best(**kw):
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = solve_concentrated(phi, inst.y, mop, **kw)
            times.append(time.perf_counter() - t0)
        assert result.converged, result.message
        return min(times), result
    train_s, result = best(eps=0.2, c=0.0)
    ridge_s, _ = best(eps=0.0, c=1e-3)
    out.update(train_seconds=train_s, ridge_seconds=ridge_s, ratio=train_s / ridge_s,
               phase=result.phase, newton_steps=result.iterations)
print(json.dumps(out))
"""


def run(src: Path, d: int, ridge: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(d), "1" if ridge else "0", str(REPEATS)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--before", type=Path, default=None, help="src of the code to compare")
    parser.add_argument("--ridge", action="store_true", help="also time train vs ridge solves")
    args = parser.parse_args()
    for d in args.d:
        if args.before is not None:
            print(json.dumps({"code": "before", **run(args.before, d, False)}), flush=True)
        print(json.dumps({"code": "after", **run(SRC, d, args.ridge)}), flush=True)


if __name__ == "__main__":
    main()
