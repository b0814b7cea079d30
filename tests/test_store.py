"""The results store: batches, one row per key, format version 1, creation, OS errors, versions."""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from advrf import __version__
from advrf.experiments import store as store_module
from advrf.experiments.keys import key_hash
from advrf.experiments.store import (
    CSV_EXPORT,
    MANIFEST,
    POINTS,
    Store,
    StoreError,
    batch_hash,
    check_versions,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
V1 = FIXTURES / "store_v1"  # written by advrf 0.1.0 (main): 6 theory rows (1 failed), 2 simulations


def rows(count, start=0, status="ok"):
    """(key, row) pairs of a fake theory curve."""
    out = []
    for i in range(start, start + count):
        key = {"method": "theory", "psi1": 0.1 * (i + 1), "psi2": 2.0, "eps": 0.1}
        out.append((key, {**key, "status": status, "robust_error": 1.0 / (i + 1), "iterations": i}))
    return out


def tree(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("key").reset_index(drop=True)


# -- batches ------------------------------------------------------------------------------------


def test_a_batch_is_one_file_and_reads_back(tmp_path):
    store = Store(tmp_path)
    batch = rows(64)
    path = store.write_rows("theory", batch)
    assert [p.name for p in (tmp_path / POINTS).iterdir()] == [path.name]
    hashes = [key_hash(key) for key, _ in batch]
    assert path.name == f"theory-{batch_hash(hashes)}-64.parquet"
    assert store.keys() == set(hashes)
    table = by_key(store.read())
    assert len(table) == 64 and table["key"].is_unique
    expected = pd.DataFrame([{"key": h, **row} for h, (_, row) in zip(hashes, batch, strict=True)])
    expected = by_key(expected)
    assert list(table["robust_error"]) == list(expected["robust_error"])
    assert list(table["iterations"]) == list(expected["iterations"])
    # one row is named by its key, as in format version 1
    single = store.write_rows("theory", rows(1, start=100))
    assert single.name == f"theory-{key_hash(rows(1, start=100)[0][0])}.parquet"
    assert store.write("theory", *rows(1, start=101)[0]).name.count("-") == 1
    assert len(store.read()) == 66 and len(store.keys()) == 66


def test_a_key_in_two_files_reads_as_the_newest_row(tmp_path):
    store = Store(tmp_path)
    store.write_rows("theory", rows(3, status="failed"))  # keys 0, 1, 2
    newer = store.write_rows("theory", rows(3, start=2))  # keys 2, 3, 4: key 2 again
    table = store.read()
    assert len(table) == 5 and table["key"].is_unique
    status = dict(zip(table["psi1"].round(12), table["status"], strict=True))
    assert status == {0.1: "failed", 0.2: "failed", 0.3: "ok", 0.4: "ok", 0.5: "ok"}
    assert len(list((tmp_path / POINTS).iterdir())) == 2 and newer.exists()
    # the same set of keys written again replaces its file: no second copy
    again = store.write_rows("theory", rows(3, start=2, status="failed"))
    assert again == newer and len(list((tmp_path / POINTS).iterdir())) == 2
    assert (store.read()["status"] == "failed").sum() == 5


def test_newest_is_decided_by_file_name_when_written_at_the_same_time(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module.time, "time_ns", lambda: 1_000)
    store = Store(tmp_path)
    key, row = rows(1)[0]
    paths = {
        f"s{i}": store.write_rows("theory", [(key, {**row, "status": f"s{i}"}), *rows(1, 10 + i)])
        for i in range(5)
    }
    # every file holds key 0, each with another status: the largest file name wins
    winner = max(paths, key=lambda status: paths[status].name)
    table = store.read()
    assert len(table) == 6 and table["key"].is_unique
    assert table.set_index("key").loc[key_hash(key), "status"] == winner
    # later files win over earlier ones whatever their names
    monkeypatch.setattr(store_module.time, "time_ns", lambda: 2_000)
    store.write_rows("theory", [(key, {**row, "status": "latest"}), *rows(1, 20)])
    assert Store(tmp_path).read().set_index("key").loc[key_hash(key), "status"] == "latest"


def test_bad_batches_are_refused(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError, match="same key"):
        store.write_rows("theory", [rows(1)[0], rows(1)[0]])
    with pytest.raises(ValueError, match="at least one"):
        store.write_rows("theory", [])
    with pytest.raises(ValueError, match="row kind"):
        store.write_rows("Theory!", rows(2))
    with pytest.raises(ValueError, match="column named 'key'"):
        store.write_rows("theory", [({"a": 1}, {"key": "x"})])
    with pytest.raises(ValueError, match="one type per column"):
        store.write_rows("theory", [({"a": 1}, {"x": 1}), ({"a": 2}, {"x": "text"})])
    assert list((tmp_path / POINTS).iterdir()) == []


def test_corrupted_or_renamed_batch_is_a_clear_error_and_left_alone(tmp_path):
    store = Store(tmp_path)
    first = store.write_rows("theory", rows(10))
    second = store.write_rows("theory", rows(10, start=10))
    damaged = first.read_bytes()[:-30]
    first.write_bytes(damaged)
    with pytest.raises(StoreError, match=f"{first.name}: corrupted row file"):
        store.read()
    with pytest.raises(StoreError, match=f"{first.name}: corrupted row file"):
        store.keys()
    assert first.read_bytes() == damaged
    first.write_bytes(second.read_bytes())  # a batch under another batch's name
    with pytest.raises(StoreError, match=f"{first.name}: its key column does not match"):
        store.read()
    copy = first.with_name(first.name.replace("-10.parquet", "-9.parquet"))
    first.rename(copy)
    with pytest.raises(StoreError, match=f"{copy.name}: not an advrf row file"):
        store.read()


def test_sigkill_while_writing_batches_leaves_whole_batches(tmp_path):
    script = (
        "import sys\n"
        "from advrf.experiments.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "for i in range(100000):\n"
        "    rows = [({'psi1': float(i), 'j': j}, {'psi1': float(i), 'x': 'v' * 2000})"
        " for j in range(50)]\n"
        "    store.write_rows('theory', rows)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(store_module.__file__).parents[2]))
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if len(list((tmp_path / POINTS).glob("theory-*"))) >= 5:
                break
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    store = Store(tmp_path)
    table = store.read()
    files = list((tmp_path / POINTS).glob("theory-*"))
    assert len(table) == 50 * len(files) >= 250 and table["key"].is_unique
    store.clean_temporary()
    assert [p.name for p in (tmp_path / POINTS).iterdir() if p.name.startswith(".")] == []


# -- format version 1 ---------------------------------------------------------------------------


def test_a_store_of_advrf_0_1_0_is_read_unchanged():
    before = tree(V1)
    store = Store(V1, create=False)
    assert (store.format_version, store.key_scheme) == (1, 1)
    table = by_key(store.read())
    dtypes = json.loads((FIXTURES / "store_v1_dtypes.json").read_text())
    assert {c: str(t) for c, t in table.dtypes.items()} == dtypes
    # the same table as advrf 0.1.0 read it, both written as CSV (floats at full precision)
    assert table.to_csv(index=False) == (FIXTURES / "store_v1_table.csv").read_text()
    # its rows are found by their keys, hashed as advrf 0.1.0 did
    recorded = json.loads((FIXTURES / "store_v1_keys.json").read_text())
    assert {store.key_hash(e["key"]) for e in recorded} == store.keys() == set(table["key"])
    assert (table["status"] == "failed").sum() == 1
    assert tree(V1) == before


def test_new_rows_can_be_appended_to_a_store_of_advrf_0_1_0(tmp_path):
    out = tmp_path / "old"
    shutil.copytree(V1, out)
    old_files = sorted(p.name for p in (out / POINTS).iterdir())
    before = by_key(Store(out).read())
    recorded = json.loads((FIXTURES / "store_v1_keys.json").read_text())
    store = Store(out)
    # a row recomputed for a key of the old store replaces it (same name: key scheme 1 kept)
    theory = recorded[0]
    replaced = store.write("theory", theory["key"], {"status": "ok", "robust_error": 9.0})
    assert replaced.name == f"theory-{theory['hash']}.parquet"
    added = store.write_rows("theory", rows(5))
    manifest = json.loads((out / MANIFEST).read_text())
    assert (manifest["format_version"], manifest["key_scheme"]) == (2, 1)
    assert manifest["created_by"] == "advrf 0.1.0"
    assert sorted(p.name for p in (out / POINTS).iterdir()) == sorted([*old_files, added.name])
    after = by_key(Store(out).read())
    assert len(after) == len(before) + 5
    assert after.set_index("key").loc[theory["hash"], "robust_error"] == 9.0
    kept = after[after["key"].isin(set(before["key"]) - {theory["hash"]})].reset_index(drop=True)
    untouched = before[before["key"] != theory["hash"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[untouched.columns], untouched)
    assert Store(out).key_scheme == 1


def test_manifest_of_an_unknown_version_or_scheme_is_refused(tmp_path):
    Store(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert (manifest["format_version"], manifest["key_scheme"]) == (2, 2)
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "key_scheme": 9}))
    with pytest.raises(StoreError, match="unknown key scheme 9"):
        Store(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(StoreError, match="format version 3; this advrf reads versions 1, 2"):
        Store(tmp_path)


# -- temporary files, creation ------------------------------------------------------------------


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_leftover_csv_export_leaves_the_store_usable(tmp_path):
    store = Store(tmp_path)
    store.write_rows("theory", rows(3))
    host = store_module._host()
    dead = tmp_path / f".tmp-{host}-{_dead_pid()}-0a1b-{CSV_EXPORT}"
    dead.write_text("method,psi1\ntheory,")
    live = tmp_path / f".tmp-{host}-{os.getpid()}-0a1b-{CSV_EXPORT}"
    live.write_text("method,psi1\n")
    assert len(Store(tmp_path).read()) == 3
    assert Store(tmp_path).clean_temporary() == [dead]
    assert live.exists() and not dead.exists()


def test_reading_while_another_thread_exports(tmp_path):
    store = Store(tmp_path)
    store.write_rows("theory", rows(3))
    big = pd.DataFrame({"x": range(200_000), "y": ["text"] * 200_000})
    errors, done = [], threading.Event()

    def export():
        try:
            while not done.is_set():
                Store(tmp_path).export_csv(big)
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=export)
    thread.start()
    try:
        for _ in range(100):
            assert len(Store(tmp_path, create=False).read()) == 3
    finally:
        done.set()
        thread.join()
    assert errors == []


def _create_and_write(args):
    root, trials, barrier = args
    failures = []
    for trial in range(trials):
        barrier.wait()
        try:
            Store(Path(root) / f"trial{trial}" / "out").write_rows("theory", rows(2))
        except Exception as error:  # noqa: BLE001 - reported by the test
            failures.append(f"trial {trial}: {error!r}")
    return failures


def test_two_processes_creating_one_store_at_once_both_succeed(tmp_path):
    context = multiprocessing.get_context("fork")
    trials = 20
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        results = pool.map(_create_and_write, [(str(tmp_path), trials, barrier)] * 2)
    assert results == [[], []]
    for trial in range(trials):
        out = tmp_path / f"trial{trial}" / "out"
        assert sorted(p.name for p in out.iterdir()) == [MANIFEST, POINTS]
        assert len(Store(out).read()) == 2


def test_two_threads_creating_one_store_at_once_both_succeed(tmp_path):
    for trial in range(20):
        out = tmp_path / f"t{trial}"
        errors = []

        def create(out=out, errors=errors):
            try:
                Store(out)
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)

        threads = [threading.Thread(target=create) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and sorted(p.name for p in out.iterdir()) == [MANIFEST, POINTS]


def test_a_failed_manifest_write_leaves_a_reusable_directory(tmp_path, monkeypatch):
    out = tmp_path / "new"

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store_module, "_write_synced", full)
    with pytest.raises(StoreError, match=f"{out}: .*No space left on device.*free some space"):
        Store(out)
    monkeypatch.undo()
    assert list(out.iterdir()) == []
    Store(out).write_rows("theory", rows(2))
    assert len(Store(out).read()) == 2


def test_an_empty_points_directory_left_by_advrf_0_1_0_is_a_failed_creation(tmp_path):
    # advrf 0.1.0 made points/ before the manifest: a failed manifest write left only points/
    (tmp_path / POINTS).mkdir()
    Store(tmp_path).write_rows("theory", rows(2))
    assert len(Store(tmp_path).read()) == 2
    other = tmp_path / "other"
    (other / POINTS).mkdir(parents=True)
    (other / POINTS / "x.parquet").write_text("x")
    with pytest.raises(StoreError, match="not empty and is not an advrf results store"):
        Store(other)


# -- operating-system errors --------------------------------------------------------------------


def test_full_disk_while_writing_rows_is_a_store_error(tmp_path, monkeypatch):
    store = Store(tmp_path)

    def full(path, data):
        with open(path, "xb") as handle:
            handle.write(data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store_module, "_write_synced", full)
    with pytest.raises(StoreError, match="theory-.*: cannot write rows .No space left on device"):
        store.write_rows("theory", rows(3))
    with pytest.raises(StoreError, match=f"{CSV_EXPORT}: cannot export the table .No space left"):
        store.export_csv(pd.DataFrame({"x": [1]}))
    monkeypatch.undo()
    assert len(Store(tmp_path).read()) == 0  # nothing half-written is left
    assert list((tmp_path / POINTS).iterdir()) == []


def test_read_only_file_system_error_is_not_hidden_by_the_cleanup(tmp_path, monkeypatch):
    store = Store(tmp_path)
    read_only = OSError(errno.EROFS, os.strerror(errno.EROFS))

    def refuse(*args, **kwargs):
        raise read_only

    monkeypatch.setattr(store_module, "_write_synced", refuse)
    monkeypatch.setattr(Path, "unlink", refuse)  # the cleanup fails the same way
    with pytest.raises(StoreError, match="cannot write rows .Read-only file system.: choose"):
        store.write_rows("theory", rows(2))


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_out_under_proc_is_a_store_error():
    with pytest.raises(StoreError, match="/proc/advrf-test/out: cannot open the results store"):
        Store("/proc/advrf-test/out")


def test_points_that_is_a_file_is_a_store_error(tmp_path):
    Store(tmp_path)
    shutil.rmtree(tmp_path / POINTS)
    (tmp_path / POINTS).write_text("x")
    with pytest.raises(StoreError, match=f"{tmp_path / POINTS}: must be a directory"):
        Store(tmp_path)


def test_empty_path_is_refused():
    with pytest.raises(StoreError, match="empty string"):
        Store("")


def test_an_unreadable_row_file_names_the_cause(tmp_path, monkeypatch):
    store = Store(tmp_path)
    path = store.write_rows("theory", rows(2))

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(store_module.pq, "ParquetFile", denied)
    with pytest.raises(StoreError, match=f"{path.name}: cannot read the row file .Permission"):
        store.read()


# -- versions -----------------------------------------------------------------------------------


def test_versions_of_the_rows(tmp_path, monkeypatch):
    assert Store(V1, create=False).versions() == {"0.1.0": Store(V1, create=False).keys()}
    store = Store(tmp_path)
    assert check_versions(store).message == "" and store.versions() == {}
    store.write_rows("theory", rows(4))
    monkeypatch.setattr(store_module, "__version__", "0.0.9")
    old = store.write_rows("theory", rows(3, start=10))
    check = check_versions(store)
    assert check.rows == {__version__: 4, "0.0.9": 3}
    assert check.mixed and len(check.stale) == 3
    assert check.stale == set(store.versions()["0.0.9"])
    assert "3 of 7 stored rows were written by another advrf version (3 by advrf 0.0.9)" in (
        check.message
    )
    # recomputed by this version, they are current again
    monkeypatch.undo()
    store.write_rows("theory", rows(3, start=10))
    assert not check_versions(store).mixed and old.exists()


def test_the_pyarrow_floor_excludes_the_release_with_cve_2023_47248():
    # pyarrow 14.0.0 and older deserialise arbitrary Python objects from a crafted Parquet file;
    # the store reads Parquet files that users exchange. 14.0.1 fixed it.
    tomllib = pytest.importorskip("tomllib")
    requirements = pytest.importorskip("packaging.requirements")
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    (pyarrow,) = [
        requirements.Requirement(r)
        for r in project["project"]["dependencies"]
        if r.startswith("pyarrow")
    ]
    assert not pyarrow.specifier.contains("14.0.0") and pyarrow.specifier.contains("14.0.1")


# -- compaction ---------------------------------------------------------------------------------


def test_compaction_merges_files_and_changes_no_row(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.write_rows("theory", rows(3, status="failed"))
    store.write_rows("theory", rows(3, start=2))  # supersedes key 2
    store.write("ridge", {"p": 1}, {"lam_opt": 0.5})
    monkeypatch.setattr(store_module, "__version__", "0.0.9")
    store.write_rows("theory", rows(2, start=10))
    monkeypatch.undo()
    before, versions = by_key(store.read()), store.versions()
    merged = store.compact()
    assert [p.name.split("-")[0] for p in merged] == ["theory"]  # ridge has one file only
    names = sorted(p.name for p in (tmp_path / POINTS).iterdir())
    assert names == sorted([merged[0].name, f"ridge-{key_hash({'p': 1})}.parquet"])
    pd.testing.assert_frame_equal(by_key(Store(tmp_path).read()), before)
    assert Store(tmp_path).versions() == versions and len(versions["0.0.9"]) == 2
    assert Store(tmp_path).keys() == set(before["key"])
    # a copy written after the compaction still wins over the merged one
    store.write_rows("theory", rows(1, start=2, status="again"))
    after = Store(tmp_path).read().set_index("key")
    assert after.loc[key_hash(rows(1, start=2)[0][0]), "status"] == "again"
    assert store.compact() and len(list((tmp_path / POINTS).iterdir())) == 2
    assert (
        Store(tmp_path).read().set_index("key").loc[after.index, "status"].equals(after["status"])
    )


def test_compacting_a_store_of_advrf_0_1_0_keeps_its_table(tmp_path):
    out = tmp_path / "old"
    shutil.copytree(V1, out)
    store = Store(out)
    before = by_key(store.read())
    merged = store.compact()
    assert len(merged) == 2  # theory, simulation
    assert by_key(Store(out).read()).to_csv(index=False) == before.to_csv(index=False)
    assert Store(out).versions() == {"0.1.0": frozenset(before["key"])}
    assert (Store(out).format_version, Store(out).key_scheme) == (2, 1)


def test_reading_while_another_process_compacts(tmp_path):
    store = Store(tmp_path)
    for start in range(0, 400, 20):
        store.write_rows("theory", rows(20, start=start))
    expected = by_key(store.read())
    script = (
        "import sys\n"
        "from advrf.experiments.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "for i in range(30):\n"
        "    store.write_rows('theory', [({'i': i, 'j': j}, {'x': 1.0}) for j in range(2)])\n"
        "    store.write_rows('theory', [({'i': i, 'j': 9}, {'x': 2.0})])\n"
        "    store.compact()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(store_module.__file__).parents[2]))
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env)
    reads = 0
    try:
        while process.poll() is None or reads == 0:
            table = Store(tmp_path).read()
            reads += 1
            assert set(expected["key"]) <= set(table["key"]) and table["key"].is_unique
    finally:
        process.wait()
    assert process.returncode == 0
    pd.testing.assert_frame_equal(
        by_key(Store(tmp_path).read())
        .loc[lambda t: t["key"].isin(expected["key"])]
        .reset_index(drop=True)[expected.columns],
        expected,
    )
