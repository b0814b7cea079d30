"""Sweeps and their store: resume after SIGKILL, workers, Dask, failures, corrupted/foreign files.

The machinery is tested with cheap deterministic methods (tests/sweep_fakes.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_driver import units as driver_units
from sweep_fakes import DELAY_ENV, FAIL_PSI1, FAKE

from advrf.activations import custom
from advrf.cli import main
from advrf.experiments import parallel
from advrf.experiments import store as store_module
from advrf.experiments.store import MANIFEST, POINTS, Store, StoreError
from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.experiments.units import PARAMETERS
from advrf.grid import Axis, axes_from_mapping

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = ["wall_time", "seconds"]  # measured times differ from run to run


def stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in VOLATILE if c in table.columns])


def stored_rows(out: Path) -> list[Path]:
    """Row files (a SIGKILL can also leave a `.tmp-*` file, which is no row)."""
    points = out / POINTS
    return (
        [p for p in points.glob("*.parquet") if not p.name.startswith(".")]
        if points.exists()
        else []
    )


def small_units(psi1="0.5,1,2", **extra):
    grid = {"psi1": psi1, "psi2": "2", "eps": "0,0.1", "noise": "0.5", **extra}
    return sweep_units(axes_from_mapping(grid), theory=True, simulate=True, d=[30], seeds=2)


def test_rows_stored_once_and_rerun_skips(tmp_path):
    units = small_units()
    report = run_sweep(tmp_path, units, methods=FAKE)
    assert (report.requested, report.computed, report.skipped) == (18, 18, 0)
    table = read_results(tmp_path)
    assert len(table) == 18 and table["key"].is_unique
    assert set(table["method"]) == {"theory", "simulation"}
    assert {
        "psi1",
        "eps",
        "eps_test",
        "seed",
        "d",
        "robust_error",
        "advrf_version",
        "wall_time",
    } <= set(table.columns)
    sim = table[table["method"] == "simulation"]
    assert sorted(set(sim["seed"])) == [0, 1] and set(sim["d"]) == {30}
    again = run_sweep(tmp_path, units, methods=FAKE)
    assert (again.computed, again.skipped) == (0, 18)
    pd.testing.assert_frame_equal(read_results(tmp_path), table)


def test_changed_grid_adds_only_new_points(tmp_path):
    run_sweep(tmp_path / "a", small_units("0.5,1"), methods=FAKE)
    before = read_results(tmp_path / "a")
    report = run_sweep(tmp_path / "a", small_units("0.5,1,2"), methods=FAKE)
    assert (report.computed, report.skipped) == (6, 12)
    after = read_results(tmp_path / "a")
    # the old rows are untouched (times included), the new grid equals a fresh run
    old = after[after["key"].isin(before["key"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before)
    run_sweep(tmp_path / "b", small_units("0.5,1,2"), methods=FAKE)
    pd.testing.assert_frame_equal(stable(after), stable(read_results(tmp_path / "b")))


def test_log_range_and_list_give_the_same_keys(tmp_path):
    run_sweep(tmp_path, small_units("log:0.1:10:3"), methods=FAKE)
    report = run_sweep(tmp_path, small_units("0.1,1,10"), methods=FAKE)
    assert report.computed == 0


def test_one_and_two_workers_give_the_same_table(tmp_path):
    units = small_units("0.5,1,2,4")
    run_sweep(tmp_path / "one", units, workers=1, methods=FAKE)
    run_sweep(tmp_path / "two", units, workers=2, methods=FAKE)
    pd.testing.assert_frame_equal(
        stable(read_results(tmp_path / "one")), stable(read_results(tmp_path / "two"))
    )


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_dask_local_cluster_gives_the_same_table(tmp_path, processes):
    distributed = pytest.importorskip("distributed")
    units = small_units("0.5,1,2,4")
    run_sweep(tmp_path / "local", units, workers=1, methods=FAKE)
    with distributed.LocalCluster(
        n_workers=2 if processes else 1,
        threads_per_worker=1 if processes else 2,
        processes=processes,
        dashboard_address=None,
    ) as cluster:
        report = run_sweep(
            tmp_path / "dask", units, scheduler=cluster.scheduler_address, methods=FAKE
        )
    assert report.computed == len(units)
    pd.testing.assert_frame_equal(
        stable(read_results(tmp_path / "local")), stable(read_results(tmp_path / "dask"))
    )


def test_missing_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(
        ValueError, match="cannot connect to the Dask scheduler at tcp://127.0.0.1:9"
    ):
        run_sweep(tmp_path, small_units(), scheduler="tcp://127.0.0.1:9", methods=FAKE)


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    env = dict(os.environ, **{DELAY_ENV: "0.05"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "sweep_driver.py"), str(out), "2"],
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if len(stored_rows(out)) >= 10 or process.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver and its worker processes
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the sweep finished before it was killed"
    total = len(driver_units())
    partial_rows = len(stored_rows(out))
    assert 10 <= partial_rows < total
    # what a SIGKILL mid-write leaves: a truncated temporary file of the dead process
    host = store_module._host()
    dead = out / POINTS / f".tmp-{host}-{process.pid}-0a1b-theory-{'0' * 32}.parquet"
    dead.write_bytes(b"PAR1 truncated")
    live = out / POINTS / f".tmp-{host}-{os.getpid()}-0a1b-theory-{'1' * 32}.parquet"
    live.write_bytes(b"PAR1 being written")

    report = run_sweep(out, driver_units(), methods=FAKE)
    assert report.computed == total - partial_rows
    assert not dead.exists(), "the dead writer's temporary file was not cleaned"
    assert live.exists(), "a live writer's temporary file was removed"
    live.unlink()
    resumed = read_results(out)
    assert len(resumed) == total and resumed["key"].is_unique

    run_sweep(tmp_path / "whole", driver_units(), methods=FAKE)
    pd.testing.assert_frame_equal(stable(resumed), stable(read_results(tmp_path / "whole")))


def test_failed_points_are_recorded_reported_and_retried_on_request(tmp_path):
    units = small_units(f"1,{FAIL_PSI1}")
    report = run_sweep(tmp_path, units, methods=FAKE)
    table = read_results(tmp_path)
    failed = table[table["status"] == "failed"]
    # theory at psi1 = 7 (eps 0 and 0.1) and the simulations whose instance seed is odd
    odd = [
        u
        for u in units
        if u.kind == "simulation" and u.problem.psi1 == FAIL_PSI1 and u.instance_seed % 2
    ]
    assert len(failed) == len(report.failures) == 2 + len(odd)
    assert failed["robust_error"].isna().all() and failed["error"].str.contains("converge").all()
    assert (table[table["status"] == "ok"]["robust_error"].notna()).all()
    again = run_sweep(tmp_path, units, methods=FAKE)
    assert again.computed == 0 and len(again.failures) == len(failed)
    retried = run_sweep(tmp_path, units, methods=FAKE, retry_failed=True)
    assert retried.computed == len(failed)


def test_corrupted_row_file_is_a_clear_error_and_left_alone(tmp_path):
    units = small_units()
    run_sweep(tmp_path, units, methods=FAKE)
    victim = sorted((tmp_path / POINTS).glob("theory-*.parquet"))[0]
    damaged = victim.read_bytes()[:-20]
    victim.write_bytes(damaged)
    with pytest.raises(StoreError, match=f"{victim.name}: corrupted row file"):
        run_sweep(tmp_path, units, methods=FAKE)
    with pytest.raises(StoreError, match=victim.name):
        read_results(tmp_path)
    assert victim.read_bytes() == damaged


def test_row_file_under_another_name_is_an_error(tmp_path):
    run_sweep(tmp_path, small_units(), methods=FAKE)
    files = sorted((tmp_path / POINTS).glob("theory-*.parquet"))
    files[1].write_bytes(files[0].read_bytes())
    with pytest.raises(StoreError, match=f"{files[1].name}: its key column does not match"):
        read_results(tmp_path)


@pytest.mark.parametrize("where", ["top", "points"])
def test_foreign_file_is_a_clear_error_and_left_alone(tmp_path, where):
    run_sweep(tmp_path, small_units(), methods=FAKE)
    foreign = (tmp_path if where == "top" else tmp_path / POINTS) / "notes.txt"
    foreign.write_text("mine")
    with pytest.raises(StoreError, match="notes.txt: foreign file"):
        run_sweep(tmp_path, small_units(), methods=FAKE)
    assert foreign.read_text() == "mine"


def test_a_directory_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(StoreError, match="not an advrf results store"):
        run_sweep(tmp_path, small_units(), methods=FAKE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_a_file_is_not_a_store(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "file")


def test_bad_manifest_is_a_clear_error(tmp_path):
    Store(tmp_path)
    (tmp_path / MANIFEST).write_text('{"format": "advrf-store", "format_version": 99}')
    with pytest.raises(StoreError, match="format version 99"):
        Store(tmp_path)


def test_csv_export(tmp_path):
    run_sweep(tmp_path, small_units(), methods=FAKE, csv=True)
    exported = pd.read_csv(tmp_path / "results.csv")
    assert len(exported) == len(read_results(tmp_path))
    assert list(exported.columns) == list(read_results(tmp_path).columns)


def test_invalid_parameters_name_themselves():
    with pytest.raises(ValueError, match="psi1"):
        small_units("-1")
    with pytest.raises(ValueError, match="psi2"):
        sweep_units(axes_from_mapping({"psi1": "1", "eps": "0"}))
    with pytest.raises(ValueError, match="d \\(input dimension\\)"):
        sweep_units(
            axes_from_mapping({"psi1": "1", "psi2": "1", "eps": "0"}), simulate=True, d=[0], seeds=1
        )


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigkill_of_the_driver_alone_ends_its_workers(tmp_path):
    out = tmp_path / "killed"
    env = dict(os.environ, **{DELAY_ENV: "0.2"})
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "sweep_driver.py"), str(out), "2"], env=env
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(stored_rows(out)) < 2:
            time.sleep(0.05)
        children = _children(process.pid)
        assert len(children) >= 2, "the driver has not started its workers"
        process.send_signal(signal.SIGKILL)  # the driver only, not its process group
        process.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_running(pid) for pid in children):
            time.sleep(0.1)
        alive = [pid for pid in children if _running(pid)]
    finally:
        process.kill()
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    assert not alive, (
        f"workers / resource tracker still running 20 s after the driver died: {alive}"
    )


def test_any_error_of_one_point_is_its_row_and_a_rerun_goes_on(tmp_path, capsys):
    # issue 10, item 2: the linear activation with lam = 0 and N > d hits a LinAlgError in the
    # simulator; it is that point's failed row, with its parameters, not the end of the sweep
    argv = ["sweep", "--activation", "tanh,linear", "--psi1", "0.5,2", "--psi2", "1", "--eps"]
    argv += ["0.2", "--simulate", "--d", "50", "--seeds", "2", "--workers", "1", "--quiet"]
    argv += ["--out", str(tmp_path)]
    code = main(argv)
    table = read_results(tmp_path)
    assert len(table) == 8 and code in (0, 1)
    failed = table[table["status"] == "failed"]
    assert (code == 1) == (len(failed) > 0)
    assert failed["error"].notna().all()
    err = capsys.readouterr().err
    for row in failed.itertuples():
        assert f"activation={row.activation}, psi1={row.psi1}" in err
    assert main(argv) == code
    assert "8 rows: 0 computed, 8 already stored" in capsys.readouterr().out


def test_attack_and_population_are_grid_axes_equal_to_separate_runs(tmp_path):
    base = ["--psi1", "0.5", "--psi2", "1", "--eps", "0.2", "--noise", "0.3", "--simulate"]
    base += ["--d", "30", "--seeds", "1", "--workers", "1", "--quiet"]
    swept = tmp_path / "swept"
    main(["sweep", *base, "--attack", "first-order,pgd", "--population", "true,false",
          "--out", str(swept)])  # fmt: skip
    for attack in ("first-order", "pgd"):
        for population in ("true", "false"):
            main(["sweep", *base, "--attack", attack, "--population", population,
                  "--out", str(tmp_path / "separate")])  # fmt: skip
    together, apart = read_results(swept), read_results(tmp_path / "separate")
    assert len(together) == 4 and set(together["attack"]) == {"first-order", "pgd"}
    assert set(together["population"]) == {True, False} and (together["status"] == "ok").all()
    assert together["robust_error_pgd"].notna().sum() == 2
    assert together.loc[together["population"] == True, "standard_error_exact"].notna().all()  # noqa: E712
    pd.testing.assert_frame_equal(stable(together), stable(apart))
    # the default options give the rows (and keys) of a sweep that does not name them
    main(["sweep", *base, "--out", str(tmp_path / "plain")])
    plain = read_results(tmp_path / "plain")
    defaults = together[(together["attack"] == "first-order") & (together["population"] == False)]  # noqa: E712
    assert sorted(plain["key"]) == sorted(defaults["key"])


def test_options_are_validated_by_the_simulation_settings():
    axes = axes_from_mapping({"psi1": "1", "psi2": "1", "eps": "0", "attack": ["fgsm"]})
    with pytest.raises(ValueError, match="attack must be one of first-order, pgd"):
        sweep_units(axes, theory=False, simulate=True, d=[10], seeds=1)
    axes = axes_from_mapping({"psi1": "1", "psi2": "1", "eps": "0", "inputs": ["sphere"]})
    with pytest.raises(ValueError, match="population=True"):
        sweep_units(axes + [Axis("population", (True,))], simulate=True, d=[10], seeds=1)


def test_custom_activation_named_like_a_builtin_gets_its_own_rows(tmp_path):
    grid = {"psi1": "1,2", "psi2": "1", "eps": "0.1"}
    run_sweep(
        tmp_path, sweep_units(axes_from_mapping({**grid, "activation": "tanh"})), methods=FAKE
    )
    mine = custom("tanh", doubled_tanh, doubled_tanh_derivative)
    units = sweep_units([*axes_from_mapping(grid), Axis("activation", (mine,))])
    report = run_sweep(tmp_path, units, methods=FAKE)
    assert (report.computed, report.skipped) == (2, 0)
    table = read_results(tmp_path)
    assert len(table) == 4 and table["activation"].str.startswith("tanh@").sum() == 2


def doubled_tanh(t):
    return 2.0 * np.tanh(t)


def doubled_tanh_derivative(t):
    return 2.0 / np.cosh(t) ** 2


def test_unpicklable_custom_activation_is_a_clear_error_before_any_work(tmp_path):
    mine = custom("mine", lambda t: np.tanh(t), lambda t: 1.0 / np.cosh(t) ** 2)
    grid = axes_from_mapping({"psi1": "1", "psi2": "1,2", "eps": "0.1"})  # two tasks
    units = sweep_units([*grid, Axis("activation", (mine,))])
    started = time.monotonic()
    with pytest.raises(ValueError, match="use module-level functions .* for workers > 1"):
        run_sweep(tmp_path, units, workers=2, methods=FAKE)
    assert time.monotonic() - started < 10
    assert stored_rows(tmp_path) == []
    assert run_sweep(tmp_path, units, workers=1, methods=FAKE).computed == 2


@pytest.mark.parametrize("address", ["garbage", "tcp://", "host:port", "tcp://h:1:2"])
def test_a_malformed_scheduler_address_fails_fast(tmp_path, capsys, address):
    started = time.monotonic()
    argv = ["sweep", "--psi1", "1", "--psi2", "1", "--eps", "0.1", "--theory", "--quiet"]
    assert main([*argv, "--out", str(tmp_path), "--scheduler", address]) == 2
    assert time.monotonic() - started < 5
    assert "is not a Dask scheduler address; expected tcp://HOST:PORT" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_plain_progress_lines_in_a_log(monkeypatch):
    import io

    from advrf import progress as progress_module

    # start; updates at 4, 11 (a line), 15, 25 (a line); the end at 26 (a last line)
    clock = iter([0.0, 4.0, 11.0, 11.0, 15.0, 25.0, 25.0, 26.0, 26.0])
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    log = io.StringIO()
    with progress_module.progress(400, "advrf sweep", stream=log) as bar:
        for _ in range(4):
            bar.update(30)
    assert log.getvalue().splitlines() == [
        "advrf sweep: 60/400 rows, 11 s",
        "advrf sweep: 120/400 rows, 25 s",
        "advrf sweep: 120/400 rows, 26 s",
    ]


def test_rows_written_before_the_options_existed_resume_and_read_as_defaults(tmp_path):
    grid = axes_from_mapping({"psi1": "1", "psi2": "2", "eps": "0.1"})
    (job,) = sweep_units(grid, theory=False, simulate=True, d=[20], seeds=1)
    # a row as the first store format wrote it: no option columns, the key of those days
    old_key = {k: job.columns[k] for k in ("method", *PARAMETERS, "d", "seed", "n_test", "variant")}
    old_row = job.row({"robust_error": 1.0}, None, 0.0)
    for name in ("attack", "inputs", "population"):
        del old_row[name]
    Store(tmp_path).write("simulation", old_key, old_row)
    assert run_sweep(tmp_path, [job], methods=FAKE).computed == 0
    both = sweep_units(
        [*grid, Axis("attack", ("first-order", "pgd"))],
        theory=False,
        simulate=True,
        d=[20],
        seeds=1,
    )
    assert run_sweep(tmp_path, both, methods=FAKE).computed == 1
    table = read_results(tmp_path)
    assert list(table["attack"]) == ["first-order", "pgd"]
    assert list(table["robust_error"])[0] == 1.0


def test_rows_claimed_by_another_sweep_are_left_to_it(tmp_path):
    units = small_units()
    store = Store(tmp_path)
    held = [store.key_hash(u.key) for u in units[:3]]
    with store.claim(held) as other:  # as a second sweep of this grid would hold them
        assert other.keys == frozenset(held)
        report = run_sweep(tmp_path, units, methods=FAKE)
    assert (report.computed, report.elsewhere, report.skipped) == (len(units) - 3, 3, 0)
    assert not set(held) & set(read_results(tmp_path)["key"])
    again = run_sweep(tmp_path, units, methods=FAKE)  # the claim is released: computed now
    assert (again.computed, again.elsewhere) == (3, 0)
    assert len(read_results(tmp_path)) == len(units)


def test_rows_of_one_task_are_one_file(tmp_path):
    grid = axes_from_mapping({"psi1": "lin:1:5:20", "psi2": "2", "eps": "0.1"})
    run_sweep(tmp_path, sweep_units(grid), methods=FAKE)
    assert len(stored_rows(tmp_path)) == 1 and len(read_results(tmp_path)) == 20


def test_a_store_of_the_first_format_resumes_without_computing(tmp_path):
    # tests/fixtures/store_v1: written by advrf 0.1.0 (docs/experiments.md); the same commands
    # through the jobs find every row, under the store's own key scheme, and compute nothing
    shutil.copytree(ROOT / "tests" / "fixtures" / "store_v1", tmp_path / "v1")
    theory = axes_from_mapping(
        {"psi1": "1,1.2345678901234,4", "psi2": "2", "eps": "0", "lam": "1e-20,0"}
    )
    simulation = axes_from_mapping({"psi1": "1", "psi2": "2", "eps": "0.1", "noise": "0.5"})
    units = sweep_units(theory) + sweep_units(
        simulation, theory=False, simulate=True, d=[8], seeds=2
    )
    report = run_sweep(tmp_path / "v1", units, methods=FAKE)
    assert (report.requested, report.computed, report.skipped) == (8, 0, 8)
    assert len(report.failures) == 1  # the failed row of that version, listed again
