"""Parallel efficiency of `advrf sweep`: a 16-point simulation sweep on 1 worker and on 2 workers.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_sweep.py [--d 200]

Each run starts from an empty results directory and is timed end to end (wall clock, including
worker start-up and storing every row). 1 worker runs in this process; 2 workers are spawned
processes with BLAS pinned to one thread, as `advrf sweep --workers 2` does. Target: the 2-worker
time is at most 0.55x the 1-worker time. The script also checks that both give the same table.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.grid import axes_from_mapping

# 16 simulation rows: 8 widths x 2 radii, psi2 = 2, one seed each (costs differ across psi1)
GRID = {"psi1": "0.5,1,1.5,3,4,5,6,8", "psi2": "2", "eps": "0.1,0.2", "noise": "0.5"}
TARGET = 0.55
VOLATILE = ["wall_time", "seconds"]


def timed_sweep(units, workers: int) -> tuple[float, pd.DataFrame]:
    out = Path(tempfile.mkdtemp(prefix="advrf-bench-"))
    try:
        start = time.perf_counter()
        run_sweep(out / "store", units, workers=workers, progress=False)
        seconds = time.perf_counter() - start
        table = read_results(out / "store")
    finally:
        shutil.rmtree(out)
    return seconds, table.drop(columns=[c for c in VOLATILE if c in table.columns])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=200, help="input dimension (default 200)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per worker count")
    args = parser.parse_args()
    units = sweep_units(axes_from_mapping(GRID), theory=False, simulate=True, d=[args.d], seeds=1)
    assert len(units) == 16
    times: dict[int, list[float]] = {1: [], 2: []}
    tables = {}
    for _ in range(args.repeats):
        for workers in (1, 2):
            seconds, tables[workers] = timed_sweep(units, workers)
            times[workers].append(seconds)
            print(f"workers={workers}: {seconds:.2f} s", flush=True)
    pd.testing.assert_frame_equal(tables[1], tables[2])
    best = {w: min(t) for w, t in times.items()}
    ratio = best[2] / best[1]
    threads = {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    print(
        f"\n| d | rows | 1 worker (s) | 2 workers (s) | ratio | target |\n"
        f"|---|---|---|---|---|---|\n"
        f"| {args.d} | {len(units)} | {best[1]:.2f} | {best[2]:.2f} | {ratio:.3f} | "
        f"<= {TARGET} ({'met' if ratio <= TARGET else 'NOT met'}) |\n"
        f"\nbest of {args.repeats} runs each; all runs: 1 worker {times[1]}, 2 workers {times[2]}; "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, {threads}; "
        "tables identical: yes"
    )


if __name__ == "__main__":
    main()
