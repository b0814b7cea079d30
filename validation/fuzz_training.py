"""Fuzz of the training solver against cvxpy + Clarabel on small random instances (issue 10).

    python validation/fuzz_training.py [--cases 2500] [--seed 0] [--out FILE]
                                       [--reference PATH/TO/reference_cvx.py]

Each case (`advrf.simulation.reference_cvx.fuzz_case`: d in 1..40, N < n or N > n, lam = 0 or
> 0, eps from 0 to 2 eps_c, six activations) is trained with both variants (2 solves per case)
and judged by `reference_cvx.judge`. --reuse takes the cvxpy values of an earlier run's --out
file (same --seed) instead of solving again, where the case's eps is the same. Prints the counts
per outcome, overall and per d range, and every solve that is neither certified_ok nor a
TrainingError naming its point. --reference loads the reference module from a file, to judge
another checkout of advrf (PYTHONPATH pointing to its src) with the same cases:
docs/validation.md "before and after".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from collections import Counter

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def load_reference(path: str | None):
    if path is None:
        from advrf.simulation import reference_cvx

        return reference_cvx
    spec = importlib.util.spec_from_file_location("reference_cvx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def d_range(d: int) -> str:
    return "d<=5" if d <= 5 else ("6<=d<20" if d < 20 else "20<=d<=40")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", default=None)
    parser.add_argument("--out", default=None, help="JSON lines, one per solve")
    parser.add_argument(
        "--reuse", default=None, help="JSON lines of an earlier run (--out): its cvxpy values"
    )
    args = parser.parse_args()
    ref = load_reference(args.reference)
    stored = {}
    if args.reuse:
        with open(args.reuse) as f:
            for line in f:
                row = json.loads(line)
                if row.get("reference") is not None:
                    stored[(row["index"], row["variant"])] = (row["eps"], row["reference"])
    rng = np.random.default_rng(args.seed)
    counts: Counter = Counter()
    start = time.perf_counter()
    out = open(args.out, "w") if args.out else None
    try:
        for index in range(args.cases):
            case = ref.fuzz_case(rng, index)
            for variant in ("concentrated", "exact"):
                row = ref.judge(case, variant, stored.get((index, variant)))
                outcome = row["outcome"]
                if outcome == "training_error" and not row["named"]:
                    outcome = "training_error_unnamed"
                counts[outcome] += 1
                counts[(d_range(case["d"]), outcome)] += 1
                if outcome not in ("certified_ok", "training_error"):
                    print(json.dumps(row, default=float), flush=True)
                if out:
                    out.write(json.dumps(row, default=float) + "\n")
            if (index + 1) % 125 == 0:
                totals = {k: v for k, v in sorted(counts.items(), key=str) if isinstance(k, str)}
                print(f"after {2 * (index + 1)} solves: {totals}", flush=True)
    finally:
        if out:
            out.close()
    print(f"{2 * args.cases} solves in {time.perf_counter() - start:.0f} s")
    for key in sorted((k for k in counts if isinstance(k, str)), key=str):
        print(f"  {key}: {counts[key]}")
    for key in sorted((k for k in counts if isinstance(k, tuple)), key=str):
        print(f"  {key[0]} {key[1]}: {counts[key]}")


if __name__ == "__main__":
    main()
