"""`advrf --help` starts fast: the command line imports the heavy libraries only when it runs."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import advrf
from advrf.cli import main

SOURCE = str(Path(advrf.__file__).resolve().parents[1])
HEAVY = ("pandas", "pyarrow", "matplotlib", "scipy")
HELP_BUDGET = 0.3  # seconds that `advrf --help` may add to a bare interpreter's start
TRIES = 5


def _python(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SOURCE}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)


def _seconds(*args: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of the interpreter."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = _python(*args)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_help_adds_little_to_the_interpreter_start():
    """Best of TRIES interleaved runs. The bound is on CPU time, which a machine busy with other
    work inflates far less than wall-clock time; both are in the message."""
    bare, help_ = [], []
    for _ in range(TRIES):
        bare.append(_seconds("-c", "pass"))
        help_.append(_seconds("-m", "advrf", "--help"))
    wall = min(w for w, _ in help_) - min(w for w, _ in bare)
    cpu = min(c for _, c in help_) - min(c for _, c in bare)
    assert cpu < HELP_BUDGET, f"advrf --help adds {cpu:.3f} s CPU, {wall:.3f} s wall-clock"


def test_building_the_parser_imports_no_heavy_library():
    code = (
        "import sys; from advrf.cli import build_parser; build_parser(); "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"advrf {advrf.__version__}"


def test_public_names_load_on_first_use():
    from advrf.problem import Problem

    assert advrf.Problem is Problem and "Problem" in advrf.__all__
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = advrf.nothing
