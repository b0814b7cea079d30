"""One runner for every kind of job: local processes or Dask, one warm-then-cold policy, a store.

    runner = Runner(workers=2)                      # or Runner(scheduler="tcp://host:8786")
    report = runner.run("results/run", jobs)        # missing rows computed, stored as they finish
    outcomes = runner.compute(jobs)                 # no store: this process, in the given order

Tasks. Jobs without a chain are one task each (the costliest first). Jobs of one chain (the theory
points of one curve in psi1) are sorted by `order` and cut into tasks of at most CURVE_CHUNK jobs;
a task computes its jobs in order, each warm-started from the state of the last one that
succeeded, under advrf's one policy (`methods.warm_then_cold`: warm, then cold). A task is always
computed whole, also when only some of its rows are missing, so a resumed run reproduces an
uninterrupted one exactly; only the missing rows are returned and stored.

Claims. The rows a run computes are claimed in the store first (Store.claim): rows that another
live process has claimed (a second sweep of the same grid at once) are left to it, counted in the
report as `elsewhere`, and found stored by the next run; a killed process's claims are stale.

Failures. Any exception of one job becomes its failed row (status "failed", the message in
`error`, the job's parameters in its columns); the run goes on. Failed rows are not computed again
(their failure is deterministic) unless retry_failed=True. Only the process that calls `run`
writes the store: workers return rows, so a Dask cluster needs no shared file system.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from advrf import __version__
from advrf.experiments.jobs import Job
from advrf.experiments.methods import DEFAULT_METHODS, Methods, warm_then_cold
from advrf.experiments.parallel import check_scheduler, run_unordered
from advrf.experiments.units import FAILED
from advrf.progress import progress
from advrf.settings import check_integer

OTHER_VERSIONS = ("keep", "recompute")  # what a run does with rows of another advrf version
CURVE_CHUNK = 64  # jobs per warm-started task: long curves still spread over workers


@dataclass(frozen=True)
class Outcome:
    """What a task returns for one job: result fields or an error message, and wall time."""

    job: Job
    results: dict[str, Any] | None
    error: str | None
    wall_time: float

    def row(self) -> dict[str, Any]:
        return self.job.row(self.results, self.error, self.wall_time)


@dataclass(frozen=True)
class Task:
    """Jobs computed in order in one process (a chain, or one job), and which to return."""

    jobs: tuple[Job, ...]
    todo: tuple[bool, ...]

    @property
    def size(self) -> int:
        return sum(self.todo)


def execute(task: Task, methods: Methods) -> list[Outcome]:
    """Compute a task in this process: each job warm-started from the last success, warm then
    cold; the outcomes of the jobs to return."""
    outcomes = []
    state = None
    for job, wanted in zip(task.jobs, task.todo, strict=True):
        start = time.perf_counter()
        results, new_state, error = warm_then_cold(partial(job.compute, methods), state)
        if error is None:
            state = new_state
        if wanted:
            outcomes.append(Outcome(job, results, error, time.perf_counter() - start))
    return outcomes


def make_tasks(jobs: Sequence[Job], todo: set[int]) -> list[Task]:
    """Group jobs into tasks (module docstring); `todo`: indices of the jobs to compute.

    Lone jobs come first, the costliest first; then chains in order of first appearance.
    """
    lone = [i for i in sorted(todo) if jobs[i].chain is None]
    lone.sort(key=lambda i: -jobs[i].cost)
    tasks = [Task((jobs[i],), (True,)) for i in lone]
    chains: dict[tuple, list[int]] = {}
    for i, job in enumerate(jobs):
        if job.chain is not None:
            chains.setdefault(job.chain, []).append(i)
    for indices in chains.values():
        indices.sort(key=lambda i: jobs[i].order)
        for begin in range(0, len(indices), CURVE_CHUNK):
            chunk = indices[begin : begin + CURVE_CHUNK]
            if any(i in todo for i in chunk):
                tasks.append(Task(tuple(jobs[i] for i in chunk), tuple(i in todo for i in chunk)))
    return tasks


@dataclass(frozen=True)
class SweepReport:
    """What a run did: rows requested, computed now, found already stored, and failed."""

    out: Path
    requested: int
    computed: int
    skipped: int
    failures: tuple[dict[str, Any], ...] = field(default=())
    seconds: float = 0.0
    elsewhere: int = 0  # rows left to another live process that had claimed them
    keys: frozenset[str] = field(default=frozenset(), repr=False)  # the requested rows' hashes
    other_versions: int = 0  # requested rows found stored by another advrf version
    versions_message: str = ""  # what was found and done about them ("" when none)

    def to_frame(self):
        """The requested rows as a tidy pandas DataFrame (read back from the store `out`)."""
        from advrf.experiments.sweep import read_results

        table = read_results(self.out)
        return table[table["key"].isin(self.keys)].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "requested": self.requested,
            "computed": self.computed,
            "skipped": self.skipped,
            "failed": len(self.failures),
            "failures": list(self.failures),
            "elsewhere": self.elsewhere,
            "other_versions": self.other_versions,
            "versions_message": self.versions_message,
            "seconds": self.seconds,
        }


def store_rows(store: Any, outcomes: Iterable[Outcome]) -> None:
    """Write the rows of a finished task, one batch (one atomic file) per kind of row: the one
    place where the runner writes the store."""
    batches: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for outcome in outcomes:
        batches.setdefault(outcome.job.kind, []).append((outcome.job.key, outcome.row()))
    for kind, rows in batches.items():
        store.write_rows(kind, rows)


@dataclass(frozen=True)
class Runner:
    """How jobs are computed: `workers` local processes (1: this process) or a Dask
    `scheduler` (its address; overrides workers), the `methods`, and the progress policy
    (advrf.progress; False: none)."""

    workers: int = 1
    scheduler: str | None = None
    methods: Methods = DEFAULT_METHODS
    progress: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "workers", check_integer("workers", self.workers, 1, "local processes")
        )
        if self.scheduler is not None:
            object.__setattr__(self, "scheduler", check_scheduler(self.scheduler))

    def compute(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Every job in this process, in the given order, as one chain (each warm-started from
        the last success); no store."""
        return execute(Task(tuple(jobs), (True,) * len(jobs)), self.methods)

    def _compute(
        self, store: Any, jobs: list[Job], todo: set[int], status: dict[str, Any], label: str
    ) -> None:
        """Compute the jobs `todo` (indices) and store their rows as their tasks finish."""
        tasks = make_tasks(jobs, todo)
        with progress(len(todo), label, enabled=self.progress) as bar:
            results = run_unordered(
                partial(execute, methods=self.methods),
                tasks,
                workers=self.workers,
                scheduler=self.scheduler,
            )
            for _, outcomes in results:
                store_rows(store, outcomes)
                for outcome in outcomes:
                    status[store.key_hash(outcome.job.key)] = FAILED if outcome.error else "ok"
                bar.update(len(outcomes))

    def run(
        self,
        out: str | Path,
        jobs: Sequence[Job],
        *,
        retry_failed: bool = False,
        label: str = "advrf sweep",
        other_versions: str = "keep",
    ) -> SweepReport:
        """Compute the jobs missing from the store `out` and store each row as it finishes.

        other_versions: what to do with requested rows stored by another advrf version: "keep"
        (reuse them; the report says how many, so a table that mixes versions never goes
        unnoticed) or "recompute" (compute them again; the new rows win on reading).
        """
        from advrf.experiments.store import Store, check_versions

        if other_versions not in OTHER_VERSIONS:
            raise ValueError(
                f"other_versions must be one of {', '.join(OTHER_VERSIONS)}; got {other_versions!r}"
            )

        started = time.perf_counter()
        store = Store(out)
        store.clean_temporary()
        stored = store.read()  # also checks every stored row: a corrupted file stops here
        status = dict(zip(stored["key"], stored.get("status", ()), strict=False))
        hashes = [store.key_hash(job.key) for job in jobs]  # under the store's key scheme
        first = {digest: i for i, digest in reversed(list(enumerate(hashes)))}
        todo = {
            i
            for i, digest in enumerate(hashes)
            if first[digest] == i  # one job per row of this store (its key scheme may merge two)
            and (digest not in status or (retry_failed and status[digest] == FAILED))
        }
        stale = check_versions(store, __version__).stale & {hashes[i] for i in first.values()} - {
            hashes[i] for i in todo
        }
        versions_message = ""
        if stale:
            versions_message = (
                f"{len(stale)} of the {len(first)} requested rows were written by another advrf "
                f"version (this is {__version__}): "
                + ("computed again" if other_versions == "recompute" else "reused as they are")
            )
            if other_versions == "recompute":
                todo |= {first[digest] for digest in stale}
        with store.claim(hashes[i] for i in sorted(todo)) as claim:
            elsewhere = {i for i in todo if hashes[i] in claim.taken}
            todo -= elsewhere
            self._compute(store, list(jobs), todo, status, label)
        failed = [j for j, digest in zip(jobs, hashes, strict=True) if status.get(digest) == FAILED]
        return SweepReport(
            out=Path(out),
            requested=len(jobs),
            computed=len(todo),
            skipped=len(jobs) - len(todo) - len(elsewhere),
            failures=_failures(store, failed),
            seconds=time.perf_counter() - started,
            elsewhere=len(elsewhere),
            keys=frozenset(hashes),
            other_versions=len(stale),
            versions_message=versions_message,
        )


def _failures(store: Any, failed: Sequence[Job]) -> tuple[dict[str, Any], ...]:
    """The failed jobs' columns and stored error messages, in job order."""
    if not failed:
        return ()
    table = store.read()
    errors = dict(zip(table["key"], table["error"], strict=True))
    return tuple({**job.columns, "error": errors[store.key_hash(job.key)]} for job in failed)
