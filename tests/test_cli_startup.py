"""`advrf --help` starts fast: the command line imports the heavy libraries only when it runs."""

from __future__ import annotations

import os
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


def _seconds(*args: str) -> float:
    started = time.perf_counter()
    done = _python(*args)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return seconds


def test_help_adds_little_to_the_interpreter_start():
    bare, help_ = [], []
    for _ in range(TRIES):  # interleaved, best of each: robust to a busy machine
        bare.append(_seconds("-c", "pass"))
        help_.append(_seconds("-m", "advrf", "--help"))
    assert min(help_) - min(bare) < HELP_BUDGET, (min(help_), min(bare))


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
