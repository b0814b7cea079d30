"""Parallel efficiency of `advrf sweep`: a 16-point simulation sweep on 1 worker and on 2 workers.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_sweep.py [--d 300,400,500]

Each run starts from an empty results directory and is timed end to end (wall clock, including
worker start-up and storing every row). 1 worker runs in this process; 2 workers are spawned
processes with BLAS pinned to one thread, as `advrf sweep --workers 2` does. Target: the 2-worker
time is at most 0.55x the 1-worker time. The script checks that both give the same table, and
prints two load-independent numbers beside the wall times:

- the CPU time of each run (this process + its workers): the work parallelism adds (start-up of
  the workers, moving rows between processes);
- the sum of the rows' own compute times (inside the workers) in each run: how much two tasks
  running at once slow each other down (shared caches and memory bandwidth);
- the ideal 2-worker ratio: the makespan of the sweep's own task order (costliest first, each
  task to the first free worker) computed from the per-row times of the 1-worker run, divided by
  their sum. On an idle 2-core machine the measured ratio is this plus start-up overhead.
"""

from __future__ import annotations

import argparse
import heapq
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from advrf.experiments.keys import key_hash
from advrf.experiments.runner import make_tasks
from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.grid import axes_from_mapping

# 16 simulation rows: 8 widths x 2 radii, psi2 = 2, one seed each (costs differ across psi1)
GRID = {"psi1": "0.5,1,1.5,3,4,5,6,8", "psi2": "2", "eps": "0.1,0.2", "noise": "0.5"}
TARGET = 0.55
VOLATILE = ["wall_time", "seconds"]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_sweep(units, workers: int) -> tuple[float, float, pd.DataFrame]:
    out = Path(tempfile.mkdtemp(prefix="advrf-bench-"))
    try:
        cpu, start = cpu_seconds(), time.perf_counter()
        run_sweep(out / "store", units, workers=workers, progress=False)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        table = read_results(out / "store")
    finally:
        shutil.rmtree(out)
    return seconds, cpu, table


def ideal_ratio(units, table: pd.DataFrame, workers: int = 2) -> float:
    """Greedy list schedule of the sweep's task order with the measured per-row times."""
    seconds = dict(zip(table["key"], table["wall_time"], strict=True))
    order = make_tasks(list(units), set(range(len(units))))
    free = [0.0] * workers
    for task in order:
        heapq.heappush(free, heapq.heappop(free) + seconds[key_hash(task.jobs[0].key)])
    return max(free) / sum(seconds.values())


def measure(d: int, repeats: int) -> str:
    """One table row (and its details) for 16 simulation rows at dimension d."""
    units = sweep_units(axes_from_mapping(GRID), theory=False, simulate=True, d=[d], seeds=1)
    assert len(units) == 16
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    tables = {}
    for _ in range(repeats):
        for workers in (1, 2):
            seconds, cpu, tables[workers] = timed_sweep(units, workers)
            runs[workers].append((round(seconds, 2), round(cpu, 2)))
            print(f"d={d} workers={workers}: {seconds:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    stable = {w: t.drop(columns=[c for c in VOLATILE if c in t.columns]) for w, t in tables.items()}
    pd.testing.assert_frame_equal(stable[1], stable[2])
    best = {w: min(r) for w, r in runs.items()}
    ratio = best[2][0] / best[1][0]
    compute = {w: float(t["wall_time"].sum()) for w, t in tables.items()}
    return (
        f"| {d} | {best[1][0]:.2f} | {best[2][0]:.2f} | **{ratio:.3f}** "
        f"({'met' if ratio <= TARGET else 'not met'}) | {best[1][1]:.2f} / {best[2][1]:.2f} | "
        f"{compute[1]:.2f} / {compute[2]:.2f} | {ideal_ratio(units, tables[1]):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", default="300,400,500", help="input dimensions (default 300,400,500)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per worker count (best kept)")
    args = parser.parse_args()
    rows = [measure(int(d), args.repeats) for d in args.d.split(",")]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"\n16 simulation rows each; best of {args.repeats} runs; target ratio <= {TARGET}; "
        f"{os.cpu_count()} CPUs; load average after: {load}; 1- and 2-worker tables identical\n\n"
        "| d | 1 worker wall (s) | 2 workers wall (s) | ratio | CPU 1 / 2 workers (s) "
        "| rows' compute 1 / 2 workers (s) | ideal ratio |\n|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
