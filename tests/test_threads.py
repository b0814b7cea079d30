"""advrf's BLAS thread policy: one thread, whatever the shell says (issue 10.10)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from advrf.threads import blas_thread_counts, blas_threads, pin_blas

SRC = str(Path(__file__).resolve().parents[1] / "src")
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def _env(threads: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}
    env["PYTHONPATH"] = SRC
    if threads is not None:
        env.update({k: threads for k in BLAS_VARIABLES})
    return env


def test_blas_threads_limits_and_restores():
    before = blas_thread_counts()
    assert before
    with blas_threads(1):
        assert set(blas_thread_counts()) == {1}
    assert blas_thread_counts() == before


def test_bad_thread_count_is_named():
    with pytest.raises(ValueError, match="threads .BLAS threads. must be an integer >= 1"):
        pin_blas(0)


def test_the_command_pins_blas_whatever_the_shell_says():
    code = (
        "from advrf.cli import main; from advrf.threads import blas_thread_counts; "
        "main(['theory', '--psi1', '2', '--psi2', '1', '--eps', '0.1']); "
        "print(blas_thread_counts())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env("2"), capture_output=True, text=True, check=True
    ).stdout
    assert set(json.loads(out.splitlines()[-1])) == {1}


def test_simulate_is_bit_identical_whatever_the_shell_says():
    """d = 150 is large enough for OpenBLAS to split its products over threads."""
    argv = ["-m", "advrf", "simulate", "--psi1", "2", "--psi2", "1.5", "--eps", "0.2",
            "--d", "150", "--seeds", "1", "--json"]  # fmt: skip
    outputs = []
    for threads in (None, "1", "4"):
        out = subprocess.run(
            [sys.executable, *argv], env=_env(threads), capture_output=True, text=True, check=True
        ).stdout
        record = json.loads(out.splitlines()[-1])
        record.pop("seconds")
        outputs.append(record)
    assert outputs[0] == outputs[1] == outputs[2]
