"""Cost of the results store against the theory it stores, and of reading 10^5 rows back.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_store.py [--repeats 5]

One run, interleaved, best of `--repeats`:

- compute: a 5000-point theory sweep (20 psi1 curves of 250 log-spaced points in [0.1, 100],
  relu_shifted, psi2 = 2, eps in {0.05, 0.1, 0.2, 0.3, 0.5}, noise in {0, 0.25, 0.5, 1}), each
  curve solved in chunks of CURVE_CHUNK = 64 points with advrf.theory.solve_curve, as a sweep does;
- store: the 5000 rows (key columns, status, error, every TheoryResult field, version, wall time)
  written into a new store with Store.write_rows, one batch per chunk (80 files);
- read: Store.read of those 5000 rows; read 10^5: Store.read of 10^5 rows (the 5000 rows 20 times
  over, with distinct keys, in batches of 64: 1563 files), and Store.keys of the same; the same
  10^5 rows after Store.compact (one file; the compaction itself timed once).

Targets (issue 8): store / compute <= 2; reading 10^5 rows back <= 2 s. With `--per-row`, the same
5000 rows are also stored one file per row with Store.write (what a sweep did before batches),
timed once.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from advrf import __version__
from advrf.experiments.store import Store
from advrf.experiments.units import CURVE_CHUNK
from advrf.problem import Problem
from advrf.theory import solve_curve

PSI1 = np.geomspace(0.1, 100, 250)
EPS = (0.05, 0.1, 0.2, 0.3, 0.5)
NOISE = (0.0, 0.25, 0.5, 1.0)
STORE_TARGET = 2.0
READ_TARGET_S = 2.0
BIG = 100_000


def chunks() -> list[list[Problem]]:
    """The 5000 problems as the sweep's warm-started tasks: 64 consecutive psi1 of one curve."""
    out = []
    for eps in EPS:
        for noise in NOISE:
            curve = [Problem(psi1=float(p), psi2=2.0, eps=eps, noise=noise) for p in PSI1]
            out += [curve[i : i + CURVE_CHUNK] for i in range(0, len(curve), CURVE_CHUNK)]
    return out


def compute(tasks: list[list[Problem]]) -> tuple[float, list[list[tuple[dict, dict]]]]:
    """Solve every chunk; return the wall time and the (key, row) pairs of each chunk."""
    batches = []
    start = time.perf_counter()
    for problems in tasks:
        before = time.perf_counter()
        results = solve_curve(problems)
        each = (time.perf_counter() - before) / len(problems)
        batch = []
        for problem, result in zip(problems, results, strict=True):
            key = {"method": "theory", **problem.to_dict()}
            row = {**key, "status": "ok", "error": None, **result.to_dict()}
            batch.append((key, {**row, "advrf_version": __version__, "wall_time": each}))
        batches.append(batch)
    return time.perf_counter() - start, batches


def store_and_read(root: Path, batches) -> tuple[float, float, int]:
    out = root / "store"
    start = time.perf_counter()
    store = Store(out)
    for batch in batches:
        store.write_rows("theory", batch)
    stored = time.perf_counter() - start
    start = time.perf_counter()
    rows = len(Store(out).read())
    read = time.perf_counter() - start
    shutil.rmtree(out)
    return stored, read, rows


def big_store(root: Path, batches) -> Path:
    """10^5 rows: the 5000 rows with psi2 = 2, 3, ..., 21, in batches of 64."""
    out = root / "big"
    store = Store(out)
    pairs = []
    for copy in range(BIG // 5000):
        for batch in batches:
            for key, row in batch:
                pairs.append(({**key, "psi2": 2.0 + copy}, {**row, "psi2": 2.0 + copy}))
    for i in range(0, len(pairs), CURVE_CHUNK):
        store.write_rows("theory", pairs[i : i + CURVE_CHUNK])
    return out


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-row", action="store_true", help="also time one file per row")
    args = parser.parse_args()
    tasks = chunks()
    assert sum(map(len, tasks)) == 5000 and len(tasks) == 80
    root = Path(tempfile.mkdtemp(prefix="advrf-bench-store-"))
    try:
        _, batches = compute(tasks)
        big = big_store(root, batches)
        files = len(list((big / "points").iterdir()))
        compacted = root / "compacted"
        shutil.copytree(big, compacted)
        compact_s, _ = timed(lambda: Store(compacted).compact())
        names = ("compute", "store", "read", "big", "compacted", "keys")
        best = dict.fromkeys(names, np.inf)
        for _ in range(args.repeats):
            seconds, batches = compute(tasks)
            best["compute"] = min(best["compute"], seconds)
            stored, read, rows = store_and_read(root, batches)
            assert rows == 5000
            best["store"] = min(best["store"], stored)
            best["read"] = min(best["read"], read)
            for name, path in (("big", big), ("compacted", compacted)):
                seconds, frame = timed(lambda path=path: Store(path).read())
                assert len(frame) == BIG and frame["key"].is_unique
                best[name] = min(best[name], seconds)
            seconds, keys = timed(lambda: Store(big).keys())
            assert len(keys) == BIG
            best["keys"] = min(best["keys"], seconds)
        ratio = best["store"] / best["compute"]
        print(f"5000 theory points, {len(tasks)} chunks, best of {args.repeats}")
        print(f"  compute (solve_curve)        {best['compute']:8.3f} s")
        print(f"  store (write_rows, 80 files) {best['store']:8.3f} s  store/compute {ratio:.3f}")
        print(f"  read back 5000 rows          {best['read']:8.3f} s")
        print(f"  read back {BIG} rows, {files} files  {best['big']:8.3f} s")
        print(f"  keys of {BIG} rows, {files} files     {best['keys']:8.3f} s")
        print(f"  compact {BIG} rows into 1 file (once) {compact_s:8.3f} s")
        print(f"  read back {BIG} rows, 1 file     {best['compacted']:8.3f} s")
        if args.per_row:
            out = root / "per-row"
            store = Store(out)
            start = time.perf_counter()
            for batch in batches:
                for key, row in batch:
                    store.write("theory", key, row)
            per_row = time.perf_counter() - start
            seconds, _ = timed(lambda: Store(out).read())
            print(f"  one file per row (once): store {per_row:.3f} s, read {seconds:.3f} s")
        verdict = "met" if ratio <= STORE_TARGET else "NOT met"
        print(f"target store/compute <= {STORE_TARGET}: {verdict}")
        for name in ("big", "compacted"):
            verdict = "met" if best[name] <= READ_TARGET_S else "NOT met"
            print(f"target read 10^5 rows ({name}) <= {READ_TARGET_S} s: {verdict}")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
