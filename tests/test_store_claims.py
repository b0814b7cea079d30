"""Claims: a row being computed by a live process is not computed by another one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from advrf.experiments import store as store_module
from advrf.experiments.store import CLAIMS, Store, StoreError

SRC = str(Path(store_module.__file__).parents[2])
HOLDER = (
    "import sys, time\n"
    "from advrf.experiments.store import Store\n"
    "claim = Store(sys.argv[1]).claim(sys.argv[2].split(','))\n"
    "print(','.join(sorted(claim.keys)), flush=True)\n"
    "time.sleep(120)\n"
)


def hashes(count, start=0):
    return [f"{i:032x}" for i in range(start, start + count)]


def test_claims_of_this_process(tmp_path):
    store = Store(tmp_path)
    a, b, c = hashes(3)
    first = store.claim([a, b])
    assert first.keys == {a, b} and first.taken == {}
    second = store.claim([b, c])
    assert second.keys == {c}
    assert second.taken == {b: f"pid {os.getpid()} on {store_module._host()}"}
    first.release()
    first.release()  # idempotent
    with store.claim([a, b, c]) as third:
        assert third.keys == {a, b} and set(third.taken) == {c}
    second.release()
    assert store.claim([a, b, c]).keys == {a, b, c}
    assert Store(tmp_path).read().empty  # claims/ is part of a store's layout


def test_a_live_process_holds_its_claim_and_a_killed_one_does_not(tmp_path):
    store = Store(tmp_path)
    keys = hashes(4)
    env = dict(os.environ, PYTHONPATH=SRC)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), ",".join(keys[:3])],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == ",".join(keys[:3])
        claim = store.claim(keys)
        assert claim.keys == {keys[3]}
        assert claim.taken == dict.fromkeys(keys[:3], f"pid {holder.pid} on {store_module._host()}")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the dead process's claim is stale: its keys are free, its file is removed
    again = store.claim(keys[:3])
    assert again.keys == set(keys[:3]) and again.taken == {}
    names = sorted(p.name for p in (tmp_path / CLAIMS).iterdir())
    assert len(names) == 3 and names[0] == "lock"  # the lock, claim's and again's claims
    assert not any(str(holder.pid) in name for name in names)


def _claim_at_once(args):
    root, trials, barrier = args
    got = []
    for trial in range(trials):
        barrier.wait()
        claim = Store(Path(root) / f"t{trial}").claim(hashes(300))
        got.append(sorted(claim.keys))
        barrier.wait()  # hold the claim until the other process has claimed too
        claim.release()
    return got


def test_two_processes_claiming_the_same_rows_at_once_never_share_one(tmp_path):
    context = multiprocessing.get_context("fork")
    trials = 10
    barrier = context.Manager().Barrier(2)
    with context.Pool(2) as pool:
        first, second = pool.map(_claim_at_once, [(str(tmp_path), trials, barrier)] * 2)
    for mine, theirs in zip(first, second, strict=True):
        assert not set(mine) & set(theirs)
        assert set(mine) | set(theirs) == set(hashes(300))


def test_a_foreign_file_among_the_claims_is_an_error(tmp_path):
    store = Store(tmp_path)
    store.claim(hashes(1)).release()
    (tmp_path / CLAIMS / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="notes.txt: foreign file in the claims"):
        store.claim(hashes(1))


def test_a_damaged_claim_of_a_live_process_is_a_clear_error(tmp_path):
    store = Store(tmp_path)
    claim = store.claim(hashes(2))
    claim.path.write_text("{not json")
    with pytest.raises(StoreError, match=f"{claim.path.name}: not an advrf claim"):
        store.claim(hashes(1))
    claim.release()
    assert store.claim(hashes(2)).keys == set(hashes(2))
