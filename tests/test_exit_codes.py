"""The exit status of `advrf` (advrf.cli.EPILOG): 0 done, 1 points failed, 2 bad input,
3 internal error (traceback on request), 130 interrupted; never a traceback unless asked for."""

import linecache
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import advrf.cli.theory
from advrf import Problem
from advrf.cli import main
from advrf.theory import TheoryError

THEORY = ["theory", "--psi1", "2", "--psi2", "1", "--eps", "0.1"]
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run_raising(monkeypatch, capsys, error, argv=THEORY):
    def run(args):
        raise error

    monkeypatch.setattr(advrf.cli.theory, "run", run)
    status = main(list(argv))
    return status, capsys.readouterr().err


def test_ok_is_0_and_bad_input_is_2(capsys):
    assert main(THEORY) == 0
    assert main(["theory", "--psi1", "-1", "--psi2", "1", "--eps", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "advrf theory: error: psi1 (width ratio N/d) must be a finite number > 0" in err
    assert "Traceback" not in err


def test_bad_option_is_2():
    with pytest.raises(SystemExit) as exit_:
        main(["theory", "--psi1", "2", "--psi2", "1"])
    assert exit_.value.code == 2


def test_a_failed_point_is_1(monkeypatch, capsys):
    status, err = _run_raising(monkeypatch, capsys, TheoryError("theory did not converge for X"))
    assert status == 1 and "advrf theory: failed: theory did not converge for X" in err


def test_a_check_of_advrf_is_bad_input(monkeypatch, capsys):
    def run(args):
        Problem(psi1=1, psi2=1, eps=-1)

    monkeypatch.setattr(advrf.cli.theory, "run", run)
    assert main(THEORY) == 2
    assert "error: eps (training attack radius)" in capsys.readouterr().err


def test_a_value_error_inside_numpy_is_internal(monkeypatch, capsys):
    """LinAlgError is a ValueError, but no check of advrf raised it: a bug, not bad input."""

    def run(args):
        np.linalg.cholesky(-np.eye(2))

    monkeypatch.setattr(advrf.cli.theory, "run", run)
    assert main(THEORY) == 3
    err = capsys.readouterr().err
    assert "internal error: LinAlgError" in err and "--traceback" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("source", "status", "message"),
    [
        ("import math\nmath.sqrt(-1.0)\n", 3, "internal error: ValueError: math domain error"),
        ("raise ValueError('lam: no')\n", 2, "error: lam: no"),
    ],
)
def test_only_a_raise_of_advrf_is_bad_input(monkeypatch, capsys, source, status, message):
    """math.sqrt(-1) in advrf's code raises ValueError("math domain error"): no check said it."""
    filename = str(Path(advrf.cli.__file__).parent / "_fuzz_probe.py")  # inside the package
    lines = source.splitlines(keepends=True)
    monkeypatch.setitem(linecache.cache, filename, (len(source), None, lines, filename))
    code = compile(source, filename, "exec")
    monkeypatch.setattr(advrf.cli.theory, "run", lambda args: exec(code, {}))
    assert main(THEORY) == status
    assert message in capsys.readouterr().err


def test_an_unusable_path_is_2(monkeypatch, capsys):
    status, err = _run_raising(
        monkeypatch, capsys, PermissionError(13, "Permission denied", "/proc/foo")
    )
    assert status == 2 and "error: [Errno 13] Permission denied: '/proc/foo'" in err


def test_internal_error_is_3_with_the_traceback_on_request(monkeypatch, capsys):
    status, err = _run_raising(monkeypatch, capsys, ZeroDivisionError("float division by zero"))
    assert status == 3 and "Traceback" not in err
    assert "advrf theory: internal error: ZeroDivisionError: float division by zero" in err
    for argv in (["--traceback", *THEORY], [*THEORY, "--traceback"]):
        status, err = _run_raising(monkeypatch, capsys, ZeroDivisionError("x"), argv)
        assert status == 3 and "Traceback (most recent call last)" in err
    monkeypatch.setenv("ADVRF_TRACEBACK", "1")
    status, err = _run_raising(monkeypatch, capsys, ZeroDivisionError("x"))
    assert status == 3 and "Traceback (most recent call last)" in err


def test_keyboard_interrupt_in_process_is_130(monkeypatch, capsys):
    status, err = _run_raising(monkeypatch, capsys, KeyboardInterrupt())
    assert status == 130 and err.strip() == "advrf theory: interrupted"


def test_ctrl_c_ends_a_running_simulation_with_130_and_no_traceback():
    env = {**os.environ, "PYTHONPATH": SRC}
    argv = "simulate --psi1 2 --psi2 1 --eps 0.2 --d 300 --seeds 200".split()
    code = (
        # a terminal delivers Ctrl-C even when this test runs in a background job, whose
        # children start with SIGINT ignored
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from advrf.cli import main; print('ready', flush=True); "
        f"sys.exit(main({argv!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # inside main, computing
        os.killpg(process.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C: the whole group
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for line in ("0    done", "1    some points failed", "2    bad input", "3    internal error",
                 "130  interrupted"):  # fmt: skip
        assert line in out


def _check_in_a_worker(value):
    """Module level, so that it pickles to a worker process."""
    return Problem(psi1=1, psi2=1, eps=value)


def _numpy_in_a_worker(value):
    return np.linalg.cholesky(np.eye(2) * value)


@pytest.mark.parametrize(("fn", "status"), [(_check_in_a_worker, 2), (_numpy_in_a_worker, 3)])
def test_an_error_from_a_worker_process_keeps_its_origin(monkeypatch, capsys, fn, status):
    """concurrent.futures re-raises a worker's error in its own frame; the worker's traceback
    still says whether a check of advrf raised it."""
    from concurrent.futures import ProcessPoolExecutor

    def run(args):
        with ProcessPoolExecutor(max_workers=1) as pool:
            pool.submit(fn, -1.0).result()

    monkeypatch.setattr(advrf.cli.theory, "run", run)
    assert main(THEORY) == status
    assert (
        "error: eps" if status == 2 else "internal error: LinAlgError"
    ) in capsys.readouterr().err


@pytest.mark.parametrize("value", ["", "1e", ",", "nan", "-1", "-1e", "-inf", "-1,2", "-e5", "--1"])
def test_a_malformed_value_names_its_option_not_the_usage(capsys, value):
    """A value starting with '-' was taken by argparse for an unknown option: "--signal:
    expected one argument" after the whole usage. Every malformed value names the parameter."""
    assert main([*THEORY, "--signal", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advrf theory: error: signal") and "usage:" not in err
    assert main([*THEORY, "--lam", "-1e-3"]) == 2
    assert "lam (ridge strength) must be a finite number >= 0" in capsys.readouterr().err


def test_an_option_after_a_value_option_is_still_an_option(capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's own exit, status 2
        main([*THEORY, "--signal", "--json"])
    assert exit_.value.code == 2
    assert "argument --signal: expected one argument" in capsys.readouterr().err
