"""Time per point of advrf.theory, before (main) and after (this tree), as ratios in one run.

Curves: 200-point psi1 curves on a log grid [0.1, 100], psi2 = 2, noise = 0.5, for several
(activation, eps, lam). Warm: `solve_curve` (each point starts from the previous one). Cold:
`solve` on each point alone. Batched: `solve_batch` on 10^4 points, (a) a grid (2 activations x
50 psi1 x 5 psi2 x 5 eps x 4 lam, lam = 0 included) and (b) random points over the CLI's ranges (six
activations, lam = 0 and eps = 0 half of the time each, so every regime occurs), against `solve`
point by point. The code before is `git show REV:src/advrf/theory/*.py` loaded as a temporary
package (nothing of it lives in src). Every timing is the best of --repeats, the before and after
runs interleaved; BLAS pinned to one thread. Times are CPU time of this process
(`time.process_time`): on a shared machine the wall time also counts the waits for a core.

    PYTHONPATH=src python benchmarks/bench_theory.py [--before main]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

from advrf import Problem  # noqa: E402
from advrf.theory import TheoryError, solve, solve_batch, solve_curve  # noqa: E402

CURVES = (
    ("relu_shifted", 0.2, 0.0),
    ("relu_shifted", 0.05, 0.0),
    ("relu", 0.5, 0.01),
    ("tanh", 0.2, 0.1),
    ("erf", 0.0, 0.01),
    ("relu_shifted", 0.0, 0.0),
)
MODULES = ("__init__", "spectrum", "equations", "solve", "reference", "batch", "table", "wide")
ROOT = Path(__file__).resolve().parent.parent


def load_before(rev: str, package_name: str = "advrf_theory_before", modules=MODULES):
    """advrf.theory as it is at git revision `rev`, as the package `package_name`."""
    package = Path(tempfile.mkdtemp()) / package_name
    package.mkdir()
    for name in modules:
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:src/advrf/theory/{name}.py"],
            capture_output=True, text=True,
        )  # fmt: skip
        if shown.returncode != 0:
            continue  # a module the revision does not have yet
        source = shown.stdout
        text = source.replace("advrf.theory.", f"{package_name}.")
        (package / f"{name}.py").write_text(text)
    sys.path.insert(0, str(package.parent))
    return importlib.import_module(package_name)


def best_of(repeats: int, fns: list) -> list[float]:
    """Best CPU time of each function, the functions run interleaved in every repeat."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - start)
    return best


def each(solver, problems):
    out = []
    for p in problems:
        try:
            out.append(solver(p))
        except TheoryError as error:
            out.append(error)
    return out


def grid_points() -> list[Problem]:
    return [
        Problem(p1, p2, e, lam=lam, noise=0.5, activation=a)
        for a in ("relu_shifted", "tanh")
        for p1 in np.geomspace(0.1, 100, 50)
        for p2 in (0.5, 1.0, 2.0, 4.0, 8.0)
        for e in (0.0, 0.05, 0.1, 0.2, 0.4)
        for lam in (0.0, 1e-3, 1e-2, 0.1)
    ]


def random_points(n: int, seed: int) -> list[Problem]:
    rng = np.random.default_rng(seed)
    activations = ["relu_shifted", "relu", "tanh", "erf", "linear", "sigmoid"]
    out = []
    for _ in range(n):
        out.append(
            Problem(
                10 ** rng.uniform(-1, 2),
                10 ** rng.uniform(-1, 1),
                float(rng.choice([0.0, 10 ** rng.uniform(-3, 0.3)])),
                eps_test=float(rng.uniform(0, 1)),
                lam=float(rng.choice([0.0, 10 ** rng.uniform(-4, 1)])),
                signal=float(rng.uniform(0.5, 2)),
                noise=float(rng.choice([0.0, rng.uniform(0, 1)])),
                activation=str(rng.choice(activations)),
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-repeats", type=int, default=3)
    parser.add_argument("--before", default="main", help="git revision of the code before")
    parser.add_argument(
        "--batch-before", default="main", help="git revision of an earlier solve_batch"
    )
    args = parser.parse_args(argv)
    before = load_before(args.before)
    batch_before = load_before(args.batch_before, "advrf_theory_batch_before")
    psi1 = np.geomspace(0.1, 100.0, args.points)
    print(f"python {platform.python_version()}, {platform.processor() or platform.machine()}, "
          f"load average {os.getloadavg()[0]:.1f} at the start")  # fmt: skip
    print(f"{args.points}-point psi1 curves on [0.1, 100], psi2 = 2, noise = 0.5; best of "
          f"{args.repeats}, before = {args.before}")  # fmt: skip
    print("| activation | eps | lam | warm ms/point before | after | ratio | "
          "cold ms/point before | after | ratio | warm iterations/point |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for activation, eps, lam in CURVES:
        problems = [Problem(p, 2.0, eps, lam=lam, noise=0.5, activation=activation) for p in psi1]
        solve(problems[0])  # moments and imports, outside the timing
        before.solve(problems[0])
        wb, wa, cb, ca = best_of(
            args.repeats,
            [
                lambda ps=problems: before.solve_curve(ps),
                lambda ps=problems: solve_curve(ps),
                lambda ps=problems: [before.solve(p) for p in ps],
                lambda ps=problems: [solve(p) for p in ps],
            ],
        )
        iterations = np.mean([r.iterations for r in solve_curve(problems)])
        n = len(problems)
        print(
            f"| {activation} | {eps:g} | {lam:g} | {1e3 * wb / n:.3f} | {1e3 * wa / n:.3f} | "
            f"{wb / wa:.2f} | {1e3 * cb / n:.3f} | {1e3 * ca / n:.3f} | {cb / ca:.2f} | "
            f"{iterations:.1f} |"
        )
    print()
    print(f"10^4 points; best of {args.batch_repeats}; solve_batch before = {args.batch_before}")
    print("| points | before, solve each: us/point | after, solve each | solve_batch before | "
          "solve_batch | batch vs before | batch vs after each | "
          "batch vs batch before |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, problems in (("grid", grid_points()), ("random", random_points(10**4, 1))):
        tb, ta, tw, tv = best_of(
            args.batch_repeats,
            [
                lambda ps=problems: each(before.solve, ps),
                lambda ps=problems: each(solve, ps),
                lambda ps=problems: batch_before.solve_batch(ps),
                lambda ps=problems: solve_batch(ps),
            ],
        )
        n = len(problems)
        print(
            f"| {name} | {1e6 * tb / n:.1f} | {1e6 * ta / n:.1f} | {1e6 * tw / n:.1f} | "
            f"{1e6 * tv / n:.1f} | {tb / tv:.1f} | {ta / tv:.1f} | {tw / tv:.2f} |"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
