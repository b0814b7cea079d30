"""advrf's BLAS thread policy: results and speed must not depend on the user's shell.

numpy's and scipy's BLAS (OpenBLAS, MKL) split a matrix product over as many threads as the shell
allows (OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, ... or every core). The split changes the rounding
(the same simulation differs by ~1e-15 between 1 and 2 threads), and with several worker processes
on few cores it oversubscribes them (one command took 1.6 s pinned, 2.1 to 15.7 s not, on 2
cores). advrf parallelises over points and seeds with processes and runs BLAS on one thread:

- `pin_blas()`: one BLAS thread for the rest of the process (also for processes it starts, through
  the environment). The `advrf` command calls it first; a worker process calls it when it starts.
- `blas_threads(n)`: n BLAS threads inside a `with` block (or a decorated function), restored after;
  for API users who want advrf's bit-for-bit results without changing the whole process.
- `blas_thread_counts()`: the thread count of every BLAS library loaded now.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy  # noqa: F401  (loads numpy's BLAS, so that threadpoolctl sees it)
import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, a separate library in its wheels)
from threadpoolctl import threadpool_info, threadpool_limits

BLAS_THREADS = 1
# Read by the BLAS libraries when a new process loads them.
_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS")  # fmt: skip


def _check(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads (BLAS threads) must be an integer >= 1; got {threads!r}")
    return threads


def pin_blas(threads: int = BLAS_THREADS) -> None:
    """Limit every loaded BLAS to `threads` threads for the rest of this process, and set the
    BLAS environment variables so that processes started from it begin the same way."""
    _check(threads)
    for name in _ENVIRONMENT:
        os.environ[name] = str(threads)
    threadpool_limits(limits=threads, user_api="blas")


@contextlib.contextmanager
def blas_threads(threads: int = BLAS_THREADS) -> Iterator[None]:
    """Limit every loaded BLAS to `threads` threads inside the block (usable as a decorator)."""
    _check(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def blas_thread_counts() -> list[int]:
    """The number of threads of each BLAS library loaded in this process."""
    return [int(info["num_threads"]) for info in threadpool_info() if info["user_api"] == "blas"]
