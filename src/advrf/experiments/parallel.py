"""Run independent tasks in this process, in local worker processes, or on a Dask cluster.

`run_unordered(fn, items, workers=, scheduler=)` yields `(index, fn(items[index]))` as each task
finishes. Only the caller touches the results directory: workers compute and return values, so a
Dask cluster need not share a file system with the machine that stores the results.

- workers <= 1 (and no scheduler): in this process, in order.
- workers = N > 1: a concurrent.futures.ProcessPoolExecutor of N "spawn" processes (safe with
  threads, the same on every platform). Each worker starts with BLAS pinned to one thread
  (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS, ... = 1 in its environment) so that N
  workers use N cores. Each worker also watches its parent: when the driver dies (even by
  SIGKILL, which runs no cleanup) the workers exit within PARENT_POLL seconds, and with them the
  multiprocessing resource tracker.
- scheduler = ADDRESS: an existing dask.distributed cluster (the optional `dask` extra, imported
  only here). Its workers must have advrf installed; start them with BLAS pinned the same way
  (e.g. `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 dask worker ADDRESS --nthreads 1`). The
  address is checked (`check_scheduler`) before any connection is tried.

Before anything is submitted to another process, `check_picklable` pickles the function and every
item, so that an unpicklable task (a lambda-based custom activation, ...) is a clear error, not a
PicklingError from inside the pool or a hung cluster.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
START_METHOD = "spawn"
DASK_CONNECT_TIMEOUT = "20s"
PARENT_POLL = 0.5  # seconds between two checks of a worker that its driver is still alive
_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}/?$"
    r"|^inproc://\S+$"
)


class ParallelError(ValueError):
    """A parallel backend that cannot be used (missing dask, unreachable scheduler)."""


def default_workers() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextmanager
def pinned_blas_environment() -> Iterator[None]:
    """Set the BLAS thread variables to 1 while worker processes are started, then restore."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_scheduler(address: str) -> str:
    """`address` if it reads as a Dask scheduler address (`tcp://host:port`, `host:port`,
    tls/ucx/ws/wss/inproc), else ParallelError with the expected form."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise ParallelError(
            f"--scheduler {address!r} is not a Dask scheduler address; expected "
            "tcp://HOST:PORT (or HOST:PORT, tls://HOST:PORT, ...), e.g. tcp://127.0.0.1:8786"
        )
    return address.strip()


def check_picklable(fn: Callable[[Any], Any], items: Sequence[Any]) -> None:
    """Raise ParallelError naming what cannot be sent to another process."""
    for what, value in (("the function", fn), *(("a task", item) for item in items)):
        try:
            pickle.dumps(value)
        except Exception as error:  # PicklingError, AttributeError, TypeError, ...
            raise ParallelError(
                f"{what} cannot be sent to worker processes ({type(error).__name__}: {error}); "
                "use module-level functions (also for custom activations) for workers > 1 or "
                "a scheduler, or run with --workers 1"
            ) from None


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit as soon as the process that started this worker is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)

    threading.Thread(target=watch, name="advrf-parent-watch", daemon=True).start()


def run_unordered(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int = 1,
    scheduler: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (index, fn(items[index])) in order of completion. fn and items must pickle."""
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
        check_picklable(fn, items)
        yield from _run_dask(fn, items, scheduler)
    elif workers <= 1 or len(items) <= 1:
        for index, item in enumerate(items):
            yield index, fn(item)
    else:
        check_picklable(fn, items)
        yield from _run_processes(fn, items, min(workers, len(items)))


def _run_processes(fn: Callable[[Any], Any], items: Sequence[Any], workers: int):
    context = multiprocessing.get_context(START_METHOD)
    with pinned_blas_environment():
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        try:
            pending = {executor.submit(fn, item): index for index, item in enumerate(items)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    yield index, future.result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def _run_dask(fn: Callable[[Any], Any], items: Sequence[Any], scheduler: str):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ParallelError(
            "--scheduler needs dask.distributed, an optional extra: pip install 'advrf[dask]'"
        ) from None
    try:
        client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except OSError as error:
        raise ParallelError(
            f"cannot connect to the Dask scheduler at {scheduler}: {error}"
        ) from None
    try:
        futures = [client.submit(fn, item, pure=False) for item in items]
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            yield index[future.key], future.result()
            future.release()
    finally:
        client.close()
