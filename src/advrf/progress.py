"""One progress policy for advrf's long commands (sweep, reproduce, simulate).

    with progress(total=400, label="advrf sweep", unit="rows") as bar:
        bar.update(3)

- enabled=False: nothing.
- In a Jupyter notebook: a `tqdm.auto` widget bar.
- On a terminal (the stream is a tty): a tqdm bar on it (rate, time left).
- Otherwise (a piped or redirected log): a plain line every PERIOD seconds and one at the end
  of a run that lasted that long, e.g. "advrf sweep: 120/400 rows, 35 s", so that a log shows
  progress without carriage returns.

enabled=None chooses by the rules above; True is the same (there is always some form of progress).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

PERIOD = 10.0  # seconds between two plain progress lines


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        name = type(shell.get_ipython()).__name__
    except Exception:  # an IPython without a running shell
        return False
    return name == "ZMQInteractiveShell"


class _Lines:
    """Plain lines every PERIOD seconds (and one at the end) on a stream that is not a tty."""

    def __init__(self, total: int, label: str, unit: str, stream: IO[str]) -> None:
        self.total, self.label, self.unit, self.stream = total, label, unit, stream
        self.done = 0
        self.started = self.last = time.monotonic()

    def _line(self) -> None:
        seconds = time.monotonic() - self.started
        print(
            f"{self.label}: {self.done}/{self.total} {self.unit}, {seconds:.0f} s",
            file=self.stream,
            flush=True,
        )

    def update(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= PERIOD:
            self.last = now
            self._line()

    def close(self) -> None:
        if time.monotonic() - self.started >= PERIOD:  # a short run stays silent
            self._line()


class _Silent:
    def update(self, count: int = 1) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


@contextmanager
def progress(
    total: int,
    label: str,
    unit: str = "rows",
    *,
    enabled: bool | None = None,
    stream: IO[str] | None = None,
) -> Iterator[Any]:
    """A progress reporter with `update(count)` (see the module docstring)."""
    stream = sys.stderr if stream is None else stream
    if enabled is False or total == 0:
        bar: Any = _Silent()
    elif in_notebook():
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=label, unit=unit.rstrip("s") or unit)
    elif hasattr(stream, "isatty") and stream.isatty():
        from tqdm import tqdm

        bar = tqdm(
            total=total, desc=label, unit=unit.rstrip("s") or unit, file=stream, dynamic_ncols=True
        )
    else:
        bar = _Lines(total, label, unit, stream)
    try:
        yield bar
    finally:
        bar.close()
