"""A results directory: batches of rows in atomic, content-addressed Parquet files.

Layout of a store `DIR` (format version 2):

    DIR/advrf-store.json                 manifest: {"format": "advrf-store", "format_version": 2,
                                         "key_scheme": 2, "created_by": ..., "created": ...}
    DIR/points/KIND-HASH.parquet         one row; HASH = the row's key hash
    DIR/points/KIND-HASH-N.parquet       a batch of N >= 2 rows; HASH = batch_hash(their keys)
    DIR/claims/HOST-PID-RANDOM.json      rows being computed by a live process (Store.claim)
    DIR/claims/lock                      taken briefly while claiming
    DIR/lock                             shared by readers, exclusive while compact() removes files
    DIR/results.csv                      optional CSV export of the whole table
    DIR/figures/                         optional figures drawn from it (`advrf figure`)
    .tmp-HOST-PID-RANDOM-NAME            (in DIR, points/, claims/) a file being written

Every row has a column `key`: the hash of its key under the store's key scheme
(advrf.experiments.keys; scheme 2 for new stores, 1 for stores of format version 1, kept for life
so that their rows are still found): look rows up with `Store.key_hash(key)`. Every file records
in its Parquet metadata (b"advrf", JSON) when it was written (`written_ns`, time.time_ns()), by
whom (`writer`, HOST-PID), by which advrf version (`advrf_version`) and the `key_scheme`.

- **Atomic**: a file is written to a `.tmp-` sibling, flushed and fsynced, renamed over its final
  name (os.replace), and its directory is fsynced. A reader sees the whole batch or nothing. A
  SIGKILL leaves only a temporary file: readers ignore it, `clean_temporary` removes it once its
  writer (same host) is gone.
- **One row per key**: two files can hold the same key (two sweeps of one grid at once, a failed
  row computed again). Reading returns the newest row: the one written last (`written_ns`; rows
  of format version 1 count as oldest), of two written at the same nanosecond the one in the
  larger file name. Writing the same set of keys again replaces the file (same name).
- **Compaction**: `compact()` merges the files of each kind into one (a sweep of 10^5 theory rows
  leaves about 1600 files; reading them back takes about 10x longer than reading one). A merged
  file keeps each row's `written_ns` and writer in two columns (ROW_TIME, ROW_WRITER, dropped on
  reading), so compaction changes no row that `read` returns. It removes the merged files under
  DIR/lock held exclusively; readers hold it shared while they list and read.
- **Strict**: a foreign file, a corrupted file, or a file whose keys do not match its name is a
  StoreError naming the file; the store never overwrites or deletes it. An OSError (full disk,
  read-only file system, permissions) is a StoreError naming the path and the cause.
- **Created atomically**: the manifest is created first, with a no-clobber hard link from a
  complete temporary file, so two processes creating one store at once both succeed, and a failed
  creation leaves an empty (reusable) directory.
- **Format version 1** (advrf <= 0.1.0: one row per file, no metadata, no key_scheme) is read as
  it is; the first write into such a store rewrites its manifest as version 2 with key_scheme 1.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from advrf import __version__
from advrf.experiments.keys import HASH_CHARS, KEY_SCHEME, KEY_SCHEMES, key_hash

MANIFEST = "advrf-store.json"
POINTS = "points"
CLAIMS = "claims"
CLAIM_LOCK = "lock"
LOCK = "lock"  # DIR/lock: shared by readers, exclusive while a compaction removes files
CSV_EXPORT = "results.csv"
FIGURES = "figures"  # figures drawn from the store (advrf figure) may live here
FORMAT = "advrf-store"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
TMP_PREFIX = ".tmp-"
METADATA_KEY = b"advrf"
UNKNOWN_VERSION = "unknown"
READ_THREADS = 4  # files read at once (Parquet decoding releases the GIL)
READ_ROUNDS = 20  # listings of a store whose files keep disappearing before it gives up
ROW_TIME = "_advrf_written_ns"  # in a compacted file: when each row was written
ROW_WRITER = "_advrf_written_by"  # in a compacted file: the advrf version that wrote each row
RESERVED = ("key", ROW_TIME, ROW_WRITER)  # columns a row may not have
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_ROW_NAME = re.compile(
    rf"^(?P<kind>[a-z][a-z0-9_]*)-(?P<hash>[0-9a-f]{{{HASH_CHARS}}})"
    r"(?:-(?P<rows>[1-9][0-9]*))?\.parquet$"
)
_TMP_NAME = re.compile(r"^\.tmp-(?P<host>[^-]+)-(?P<pid>\d+)-[0-9a-f]+-")
_CLAIM_NAME = re.compile(r"^(?P<host>[^-]+)-(?P<pid>\d+)-[0-9a-f]+\.json$")
_TOP_LEVEL = {MANIFEST, POINTS, CLAIMS, LOCK, CSV_EXPORT, FIGURES}


class StoreError(ValueError):
    """A results directory that cannot be used as it is; the message names the file."""


def batch_hash(hashes: Sequence[str]) -> str:
    """The name of a batch: its key hash for one row, else SHA-256 of the sorted key hashes."""
    if len(hashes) == 1:
        return hashes[0]
    text = "advrf-batch:" + "\n".join(sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


@dataclass(frozen=True)
class _File:
    """A row file as read: its rows, and when and by which advrf version each was written."""

    path: Path
    table: pa.Table  # without metadata and without the columns ROW_TIME, ROW_WRITER
    times: np.ndarray  # int64 per row: written_ns; -1 for files of format version 1
    writers: list[str]  # per row: advrf version that wrote it


class _Vanished(Exception):
    """A listed row file was gone when opened (a compaction replaced it): list again."""


class Store:
    """A results directory (see module docstring). `Store(path)` creates it if needed."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        if str(path) == "":
            raise StoreError("the results directory must be a path; got an empty string")
        self.path = Path(path)
        self.points = self.path / POINTS
        self.claims_dir = self.path / CLAIMS
        manifest = self.path / MANIFEST
        try:
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"{self.path} is a file, not a results directory")
            if not manifest.exists():
                if not create:
                    raise StoreError(f"{self.path} is not an advrf results store (no {MANIFEST})")
                self._create(manifest)
            self._info = self._check_manifest(manifest)
            if not os.path.lexists(self.points):
                self.points.mkdir(exist_ok=True)  # a creator killed after its manifest
            self._check_layout()
        except OSError as error:
            raise _os_error(error, self.path, "cannot open the results store") from None

    # -- manifest -----------------------------------------------------------------------------

    def _create(self, manifest: Path) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        entries = sorted(p.name for p in self.path.iterdir() if not p.name.startswith(TMP_PREFIX))
        if MANIFEST in entries:
            return  # another process created it meanwhile
        if entries == [POINTS] and self.points.is_dir() and not any(self.points.iterdir()):
            entries = []  # advrf 0.1.0 made points/ first: its manifest write failed
        if entries:
            raise StoreError(
                f"{self.path} is not empty and is not an advrf results store (no {MANIFEST}; "
                f"it holds e.g. {entries[0]!r}): choose an empty or new directory"
            )
        info = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "key_scheme": KEY_SCHEME,
            "created_by": f"advrf {__version__}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        _atomic_create(manifest, _json_bytes(info))

    def _check_manifest(self, manifest: Path) -> dict[str, Any]:
        try:
            info = json.loads(manifest.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StoreError(f"{manifest}: unreadable store manifest ({error})") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise StoreError(f"{manifest}: not an advrf store manifest (format != {FORMAT!r})")
        version = info.get("format_version")
        if version not in READABLE_VERSIONS:
            raise StoreError(
                f"{manifest}: store format version {version!r}; this advrf "
                f"reads versions {', '.join(map(str, READABLE_VERSIONS))}"
            )
        scheme = info.get("key_scheme", 1)
        if scheme not in KEY_SCHEMES or (version == 1 and scheme != 1):
            raise StoreError(f"{manifest}: unknown key scheme {scheme!r}")
        return info

    @property
    def format_version(self) -> int:
        """1 for a store of advrf <= 0.1.0 not written to since, else 2."""
        return int(self._info["format_version"])

    @property
    def key_scheme(self) -> int:
        """How this store hashes keys (advrf.experiments.keys.KEY_SCHEMES); fixed for life."""
        return int(self._info.get("key_scheme", 1))

    def key_hash(self, key: Mapping[str, Any]) -> str:
        """The hash of `key` in this store (its `key` column): use this, not keys.key_hash."""
        return key_hash(key, self.key_scheme)

    def _upgrade(self) -> None:
        """Before the first write into a format-1 store: its manifest becomes version 2."""
        if self.format_version != 1:
            return
        info = {
            **self._info,
            "format_version": FORMAT_VERSION,
            "key_scheme": 1,
            "upgraded_by": f"advrf {__version__}",
            "upgraded": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        manifest = self.path / MANIFEST
        try:
            _atomic_write_bytes(manifest, _json_bytes(info))
        except OSError as error:
            raise _os_error(error, manifest, "cannot upgrade the store manifest") from None
        self._info = info

    def _check_layout(self) -> None:
        for entry in sorted(self.path.iterdir()):
            if entry.name not in _TOP_LEVEL and not entry.name.startswith(TMP_PREFIX):
                raise StoreError(
                    f"{entry}: foreign file in an advrf results store (allowed: "
                    f"{', '.join(sorted(_TOP_LEVEL))}); move it away, the store will not touch it"
                )
        for directory in (self.points, self.claims_dir):
            if (directory.exists() or directory.is_symlink()) and not directory.is_dir():
                raise StoreError(f"{directory}: must be a directory")

    # -- files --------------------------------------------------------------------------------

    def _row_files(self) -> list[tuple[Path, re.Match[str]]]:
        """(path, name match) of every row file, sorted by name; raise on a foreign file."""
        try:
            entries = sorted(self.points.iterdir())
        except OSError as error:
            raise _os_error(error, self.points, "cannot list the rows") from None
        rows = []
        for entry in entries:
            if entry.name.startswith(TMP_PREFIX):
                continue
            match = _ROW_NAME.match(entry.name)
            is_file = entry.is_file()
            if match is not None and not is_file and not os.path.lexists(entry):
                continue  # removed since listed (a compaction): it is no row any more
            if match is None or not is_file:
                raise StoreError(
                    f"{entry}: foreign file in an advrf results store (row files are named "
                    "KIND-HASH.parquet or KIND-HASH-N.parquet); move it away, the store will "
                    "not touch it"
                )
            rows.append((entry, match))
        return rows

    def _read_file(self, path: Path, match: re.Match[str], columns: list[str] | None) -> _File:
        try:
            table = pq.ParquetFile(path).read(columns=columns, use_threads=False)
        except FileNotFoundError:
            raise _Vanished(path) from None
        except (OSError, pa.ArrowException) as error:
            if isinstance(error, OSError) and error.errno is not None:
                raise _os_error(error, path, "cannot read the row file") from None
            raise StoreError(
                f"{path}: corrupted row file ({error}); remove it to recompute its rows"
            ) from None
        rows = int(match["rows"] or 1)
        if table.num_rows != rows or "key" not in table.column_names:
            raise StoreError(
                f"{path}: not an advrf row file (expected {rows} row(s) with a key column)"
            )
        hashes = table.column("key").to_pylist()
        if len(set(hashes)) != rows or batch_hash(hashes) != match["hash"]:
            raise StoreError(f"{path}: its key column does not match its file name")
        meta = (table.schema.metadata or {}).get(METADATA_KEY)
        table = table.replace_schema_metadata(None)
        if ROW_TIME in table.column_names and ROW_WRITER in table.column_names:  # compacted
            times = table.column(ROW_TIME).to_numpy().astype(np.int64)
            writers = [str(v) for v in table.column(ROW_WRITER).to_pylist()]
            return _File(path, table.drop_columns([ROW_TIME, ROW_WRITER]), times, writers)
        if meta is not None:
            try:
                info = json.loads(meta)
                written_ns, version = int(info["written_ns"]), str(info["advrf_version"])
            except (ValueError, KeyError, TypeError):
                raise StoreError(f"{path}: unreadable advrf metadata") from None
            return _File(path, table, np.full(rows, written_ns), [version] * rows)
        if "advrf_version" in table.column_names:  # format version 1: the row's own column
            values = table.column("advrf_version").to_pylist()
            writers = [UNKNOWN_VERSION if v is None else str(v) for v in values]
        else:
            writers = [UNKNOWN_VERSION] * rows
        return _File(path, table, np.full(rows, -1), writers)

    def _read_files(
        self,
        select: Callable[[re.Match[str]], bool] | None = None,
        columns: list[str] | None = None,
    ) -> list[_File]:
        """The row files (those whose name `select` accepts) read and checked, in name order.

        Raises StoreError naming the first bad file.
        """

        def work() -> list[_File]:
            entries = [(p, m) for p, m in self._row_files() if select is None or select(m)]
            results = self._read_entries(entries, columns)
            for result in results:  # the first bad file by name, whatever the threads did
                if isinstance(result, (StoreError, _Vanished)):
                    raise result
            return results

        return self._snapshot(work)

    def _snapshot(self, work: Callable[[], _T]) -> _T:
        """`work()` (list and read row files) while no compaction removes files.

        Readers hold DIR/lock shared; a compaction holds it exclusively while it removes the
        files it merged (a directory listing made while files are removed may miss both the
        removed and the merged file). A store without DIR/lock was never compacted: it is read
        without it, and read again if a compaction created it meanwhile.
        """
        for _ in range(READ_ROUNDS):
            with self._reading() as locked:
                try:
                    result = work()
                except _Vanished:
                    continue  # removed while listed: by a compaction that began, or by hand
            if locked or not os.path.lexists(self.path / LOCK):
                return result
        raise StoreError(
            f"{self.points}: row files keep disappearing while they are read; read again"
        )

    @contextlib.contextmanager
    def _reading(self) -> Iterator[bool]:
        try:
            fd = os.open(self.path / LOCK, os.O_RDONLY)
        except FileNotFoundError:
            yield False
            return
        except OSError as error:
            raise _os_error(error, self.path / LOCK, "cannot open the store's lock") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield True
        finally:
            os.close(fd)

    def _read_entries(
        self, entries: list[tuple[Path, re.Match[str]]], columns: list[str] | None
    ) -> list[_File | StoreError | _Vanished]:
        def attempt(entry: tuple[Path, re.Match[str]]) -> _File | StoreError | _Vanished:
            try:
                return self._read_file(*entry, columns)
            except (StoreError, _Vanished) as error:
                return error

        if len(entries) > 2 * READ_THREADS:
            with ThreadPoolExecutor(READ_THREADS) as pool:
                return list(pool.map(attempt, entries))
        return [attempt(entry) for entry in entries]

    # -- reading ------------------------------------------------------------------------------

    def keys(self) -> set[str]:
        """Hashes of the stored rows (one-row files by name; `read` checks their content)."""

        def work() -> set[str]:
            entries = self._row_files()
            hashes = {m["hash"] for _, m in entries if m["rows"] is None}
            batches = [(p, m) for p, m in entries if m["rows"] is not None]
            for result in self._read_entries(batches, ["key"]):
                if isinstance(result, (StoreError, _Vanished)):
                    raise result
                hashes.update(result.table.column("key").to_pylist())
            return hashes

        return self._snapshot(work)

    def read(self) -> pd.DataFrame:
        """Every row as one DataFrame (unsorted; with the `key` column), one row per key.

        A key stored in several files gets the row of the newest (module docstring). Raises
        StoreError naming the first corrupted or mismatching file.
        """
        return self._frame(with_versions=False)

    def versions(self) -> dict[str, frozenset[str]]:
        """{advrf version: hashes of the rows it wrote}, over the rows `read` returns.

        The version is the writer's (file metadata, or per row in a compacted file); for files
        of format version 1, the row's `advrf_version` column, else "unknown".
        """
        frame = self._frame(with_versions=True)
        if frame.empty:
            return {}
        groups = frame.groupby(_VERSION_COLUMN, sort=True)["key"]
        return {str(version): frozenset(keys) for version, keys in groups}

    def _frame(self, *, with_versions: bool) -> pd.DataFrame:
        files = self._read_files()
        if not files:
            columns = {"key": pd.Series(dtype="str")}
            if with_versions:
                columns[_VERSION_COLUMN] = pd.Series(dtype="str")
            return pd.DataFrame(columns)
        combined = self._combine(files)
        mapper = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
        frame = combined.to_pandas(types_mapper=mapper)
        if with_versions:
            frame[_VERSION_COLUMN] = [w for f in files for w in f.writers]
        winners = _winners(files, frame["key"])
        if winners is not None:
            frame = frame.iloc[winners].reset_index(drop=True)
        return frame

    def _combine(self, files: list[_File]) -> pa.Table:
        try:
            return pa.concat_tables([f.table for f in files], promote_options="default")
        except pa.ArrowException as error:
            raise StoreError(
                f"{self.points}: rows with incompatible column types ({error})"
            ) from None

    def compact(self) -> list[Path]:
        """Merge the row files of each kind into one file (kinds with several); return them.

        The merged file keeps, per row, when and by which advrf version it was written (columns
        ROW_TIME and ROW_WRITER, dropped on reading), so the row that wins for each key is the
        same as before; superseded copies are left out. It is in place before the files it
        replaces are removed, and they are removed under DIR/lock held exclusively, so a reader
        (holding it shared) always finds every row. Rows written meanwhile by another process
        stay in their own files.
        """
        counts = Counter(match["kind"] for _, match in self._row_files())
        merged = []
        for kind in sorted(k for k, n in counts.items() if n > 1):
            files = self._read_files(lambda m, kind=kind: m["kind"] == kind)
            table = self._combine(files)
            winners = _winners(files, table.column("key").to_pandas())
            times = np.concatenate([f.times for f in files])
            writers = [w for f in files for w in f.writers]
            table = table.append_column(ROW_TIME, pa.array(times, pa.int64()))
            table = table.append_column(ROW_WRITER, pa.array(writers, pa.string()))
            if winners is not None:
                table = table.take(pa.array(winners))
            target = self._write_table(kind, table, table.column("key").to_pylist())
            try:
                with _locked(self.path / LOCK):  # no reader lists points/ meanwhile
                    for path in (f.path for f in files):
                        if path != target:
                            path.unlink(missing_ok=True)
                    _fsync_directory(self.points)
            except OSError as error:
                raise _os_error(error, self.points, "cannot remove compacted files") from None
            merged.append(target)
        return merged

    # -- writing ------------------------------------------------------------------------------

    def write(self, kind: str, key: Mapping[str, Any], row: Mapping[str, Any]) -> Path:
        """Write one row atomically: `write_rows(kind, [(key, row)])`."""
        return self.write_rows(kind, [(key, row)])

    def write_rows(
        self, kind: str, rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> Path:
        """Write a batch of (key, row) pairs of one kind as one atomic file; return its path.

        Each row gets a column `key`, the hash of its key (`key_hash`). The file is
        points/KIND-HASH.parquet for one row, points/KIND-HASH-N.parquet for N >= 2 (HASH =
        batch_hash of the keys). Values: float, int, bool, str or None, one type per column
        (None mixes with any). Writing the same keys again replaces the file; a key also stored
        in another file is superseded by this newer file on reading.
        """
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise ValueError(f"row kind must be lower-case letters, digits, _; got {kind!r}")
        if not rows:
            raise ValueError("write_rows needs at least one (key, row) pair")
        records, hashes = [], []
        for key, row in rows:
            reserved = [name for name in RESERVED if name in row]
            if reserved:
                raise ValueError(
                    f"a row must not have a column named {reserved[0]!r} (the store's own)"
                )
            digest = self.key_hash(key)
            hashes.append(digest)
            records.append({"key": digest, **row})
        if len(set(hashes)) != len(hashes):
            twice = Counter(hashes).most_common(1)[0][0]
            raise ValueError(f"two rows of one batch have the same key (hash {twice})")
        try:
            table = pa.Table.from_pylist(records)
        except pa.ArrowException as error:
            raise ValueError(f"rows of one batch need one type per column ({error})") from None
        return self._write_table(kind, table, hashes)

    def _write_table(self, kind: str, table: pa.Table, hashes: list[str]) -> Path:
        """Write `table` (rows of `kind` with keys `hashes`) atomically under its batch name."""
        meta = {
            "written_ns": time.time_ns(),
            "writer": f"{_host()}-{os.getpid()}",
            "advrf_version": __version__,
            "key_scheme": self.key_scheme,
        }
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})
        suffix = "" if len(hashes) == 1 else f"-{len(hashes)}"
        target = self.points / f"{kind}-{batch_hash(hashes)}{suffix}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        self._upgrade()
        try:
            _atomic_write_bytes(target, sink.getvalue().to_pybytes())
        except OSError as error:
            raise _os_error(error, target, "cannot write rows") from None
        return target

    def export_csv(self, frame: pd.DataFrame) -> Path:
        """Write `frame` as DIR/results.csv (atomically) and return the path."""
        target = self.path / CSV_EXPORT
        try:
            _atomic_write_bytes(target, frame.to_csv(index=False).encode())
        except OSError as error:
            raise _os_error(error, target, "cannot export the table") from None
        return target

    def clean_temporary(self) -> list[Path]:
        """Remove temporary files (in DIR, points/, claims/) of this host's dead writers."""
        removed = []
        host = _host()
        for directory in (self.path, self.points, self.claims_dir):
            if not directory.is_dir():
                continue
            try:
                for entry in directory.iterdir():
                    match = _TMP_NAME.match(entry.name)
                    if match and match["host"] == host and not _alive(int(match["pid"])):
                        entry.unlink(missing_ok=True)
                        removed.append(entry)
            except OSError as error:
                raise _os_error(error, directory, "cannot remove temporary files") from None
        return removed

    # -- claims -------------------------------------------------------------------------------

    def claim(self, keys: Iterable[str]) -> Claim:
        """Claim the row hashes `keys` for this process, except those a live claim holds.

        Returns a Claim (a context manager; release it when the rows are written) with `.keys`,
        the hashes now held by this process, and `.taken`, {hash: holder} of those held by a live
        claim elsewhere (another process, or another Claim of this one). A claim is a file
        claims/HOST-PID-RANDOM.json that its process keeps locked (flock) while it lives, so the
        claim of a process that died, on any host, is stale: it is removed and its keys taken.
        Claiming happens under the lock claims/lock, so two processes never both hold a key.
        """
        wanted = list(dict.fromkeys(keys))
        try:
            self.claims_dir.mkdir(exist_ok=True)
            with _locked(self.claims_dir / CLAIM_LOCK):
                taken = self._live_claims()
                mine = [k for k in wanted if k not in taken]
                claim = Claim(self, frozenset(mine), {k: taken[k] for k in wanted if k in taken})
                if mine:
                    claim._hold(mine)
        except OSError as error:
            raise _os_error(error, self.claims_dir, "cannot claim rows") from None
        return claim

    def _live_claims(self) -> dict[str, str]:
        """{hash: holder} of every live claim; stale claim files are removed."""
        held: dict[str, str] = {}
        for entry in sorted(self.claims_dir.iterdir()):
            match = _CLAIM_NAME.match(entry.name)
            if match is None:
                if entry.name != CLAIM_LOCK and not entry.name.startswith(TMP_PREFIX):
                    raise StoreError(
                        f"{entry}: foreign file in the claims of an advrf results store; "
                        "move it away, the store will not touch it"
                    )
                continue
            if entry in _HELD:
                info = _claim_info(entry, entry.read_bytes())
            else:
                try:
                    fd = os.open(entry, os.O_RDONLY)
                except FileNotFoundError:
                    continue  # released meanwhile
                try:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    except BlockingIOError:
                        info = _claim_info(entry, os.read(fd, entry.stat().st_size + 1))
                    else:
                        entry.unlink(missing_ok=True)  # nobody holds it: its process is gone
                        continue
                finally:
                    os.close(fd)
            try:
                holder = f"pid {info['pid']} on {info['host']}"
                held.update(dict.fromkeys(map(str, info["keys"]), holder))
            except (KeyError, TypeError):
                raise StoreError(f"{entry}: not an advrf claim (pid, host, keys)") from None
        return held


_VERSION_COLUMN = "\x00advrf_version"  # internal column of Store._frame
_T = TypeVar("_T")
_HELD: dict[Path, int] = {}  # claim files this process holds -> their locked descriptors


class Claim:
    """Row hashes this process is computing (Store.claim); `release()` or leave the `with`."""

    def __init__(self, store: Store, keys: frozenset[str], taken: dict[str, str]) -> None:
        self.store = store
        self.keys = keys
        self.taken = taken
        self.path: Path | None = None

    def _hold(self, keys: list[str]) -> None:
        name = f"{_host()}-{os.getpid()}-{secrets.token_hex(6)}.json"
        target = self.store.claims_dir / name
        tmp = target.with_name(f"{TMP_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(4)}-{name}")
        info = {"host": _host(), "pid": os.getpid(), "created": time.time(), "keys": keys}
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps(info).encode())
            os.fsync(fd)
            os.replace(tmp, target)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _HELD[target] = fd
        self.path = target

    def release(self) -> None:
        """Give the keys back (idempotent)."""
        if self.path is None:
            return
        path, self.path = self.path, None
        fd = _HELD.pop(path)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise _os_error(error, path, "cannot release a claim") from None
        finally:
            os.close(fd)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class VersionCheck:
    """Which advrf versions wrote the rows of a store, against the running one."""

    current: str
    rows: dict[str, int]  # advrf version -> rows it wrote
    stale: frozenset[str]  # hashes of the rows written by another version
    message: str  # "" when every row comes from `current`

    @property
    def mixed(self) -> bool:
        return bool(self.stale)


def check_versions(store: Store, current: str = __version__) -> VersionCheck:
    """Rows of `store` written by an advrf version other than `current`, and a message saying so.

    A sweep calls this before reusing rows: keep them (the table then mixes versions) or compute
    the `stale` rows again (write them; the newer rows win on reading).
    """
    versions = store.versions()
    rows = {version: len(keys) for version, keys in versions.items()}
    stale = frozenset().union(*(k for v, k in versions.items() if v != current))
    message = ""
    if stale:
        others = ", ".join(f"{n} by advrf {v}" for v, n in rows.items() if v != current)
        message = (
            f"{store.path}: {len(stale)} of {sum(rows.values())} stored rows were written by "
            f"another advrf version ({others}); this is advrf {current}. Reused as they are, "
            "they mix versions in one table: keep them, or compute them again"
        )
    return VersionCheck(current=current, rows=rows, stale=stale, message=message)


def _winners(files: list[_File], keys: pd.Series) -> np.ndarray | None:
    """Positions of the row that wins for each key (the newest; ties: the larger file name).

    None when every key is stored once (nothing to choose). `files` are in name order and `keys`
    is the key column of their rows concatenated.
    """
    if not keys.duplicated().any():
        return None
    times = np.concatenate([f.times for f in files])
    ranks = np.repeat(np.arange(len(files)), [f.table.num_rows for f in files])
    order = np.lexsort((ranks, times))  # by time, then by file name
    last = ~pd.Series(keys.to_numpy()[order]).duplicated(keep="last").to_numpy()
    return np.sort(order[last])


def _claim_info(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise StoreError(f"{path}: not an advrf claim (unreadable JSON)") from None


def _json_bytes(info: Mapping[str, Any]) -> bytes:
    return (json.dumps(info, indent=2) + "\n").encode()


def _os_error(error: OSError, path: Path, action: str) -> StoreError:
    """A StoreError naming the path and the cause of an OSError."""
    cause = error.strerror or str(error)
    hint = {
        errno.ENOSPC: ": free some space and run again",
        errno.EROFS: ": choose a writable --out",
        errno.EACCES: ": check the permissions",
        errno.EDQUOT: ": disk quota exceeded; free some space",
    }.get(error.errno or 0, "")
    return StoreError(f"{path}: {action} ({cause}){hint}")


@contextlib.contextmanager
def _locked(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_name(target: Path) -> Path:
    return target.with_name(
        f"{TMP_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(4)}-{target.name}"
    )


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, os.replace, fsync the directory.

    A failure to remove the temporary file never hides the error that made it stay.
    """
    tmp = _tmp_name(target)
    try:
        _write_synced(tmp, data)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    _fsync_directory(target.parent)


def _atomic_create(target: Path, data: bytes) -> bool:
    """Create `target` with `data` unless it exists (then False): a complete file or none.

    A hard link from a synced temporary file does not replace an existing target; where the file
    system has no hard links, os.replace (a concurrent creator's equivalent file may be replaced).
    """
    tmp = _tmp_name(target)
    try:
        _write_synced(tmp, data)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    _fsync_directory(target.parent)
    return True


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
