"""A results directory: one Parquet file per finished row, written atomically, content-addressed.

Layout of a store `DIR`:

    DIR/advrf-store.json          manifest: {"format": "advrf-store", "format_version": 1, ...}
    DIR/points/<kind>-<hash>.parquet   one row each; <hash> = key_hash(key) of the row's key
    DIR/results.csv               optional CSV export of the whole table
    DIR/figures/                  optional figures drawn from it (`advrf figure`)

A row is written to `points/.tmp-<host>-<pid>-<random>-<name>` in the same directory, flushed and
fsynced, then renamed over its final name with os.replace (atomic on POSIX), and the directory is
fsynced. A reader therefore sees either the whole row or nothing; a SIGKILL can leave only a
temporary file, which readers ignore and the next writer on the same host removes once its process
is gone. Rows are never pickled. Any other file in the store (a foreign file, a corrupted row, a row
whose key does not match its name) is an error naming the file; the store never overwrites it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from advrf import __version__
from advrf.experiments.keys import HASH_CHARS, key_hash

MANIFEST = "advrf-store.json"
POINTS = "points"
CSV_EXPORT = "results.csv"
FIGURES = "figures"  # figures drawn from the store (advrf figure) may live here
FORMAT = "advrf-store"
FORMAT_VERSION = 1
TMP_PREFIX = ".tmp-"
_ROW_NAME = re.compile(rf"^([a-z][a-z0-9_]*)-([0-9a-f]{{{HASH_CHARS}}})\.parquet$")
_TMP_NAME = re.compile(r"^\.tmp-(?P<host>[^-]+)-(?P<pid>\d+)-[0-9a-f]+-")
_TOP_LEVEL = {MANIFEST, POINTS, CSV_EXPORT, FIGURES}


class StoreError(ValueError):
    """A results directory that cannot be used as it is; the message names the file."""


class Store:
    """A results directory (see module docstring). `Store(path)` creates it if needed."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        self.points = self.path / POINTS
        manifest = self.path / MANIFEST
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"{self.path} is a file, not a results directory")
        if manifest.exists():
            self._check_manifest(manifest)
        elif self.path.exists() and any(self.path.iterdir()):
            first = sorted(p.name for p in self.path.iterdir())[0]
            raise StoreError(
                f"{self.path} is not empty and is not an advrf results store (no {MANIFEST}; "
                f"it holds e.g. {first!r}): choose an empty or new directory"
            )
        elif not create:
            raise StoreError(f"{self.path} is not an advrf results store (no {MANIFEST})")
        else:
            self.points.mkdir(parents=True, exist_ok=True)
            info = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_by": f"advrf {__version__}",
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            _atomic_write_bytes(manifest, (json.dumps(info, indent=2) + "\n").encode())
        self.points.mkdir(exist_ok=True)
        self._check_layout()

    def _check_manifest(self, manifest: Path) -> None:
        try:
            info = json.loads(manifest.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise StoreError(f"{manifest}: unreadable store manifest ({error})") from None
        if not isinstance(info, dict) or info.get("format") != FORMAT:
            raise StoreError(f"{manifest}: not an advrf store manifest (format != {FORMAT!r})")
        if info.get("format_version") != FORMAT_VERSION:
            raise StoreError(
                f"{manifest}: store format version {info.get('format_version')!r}; this advrf "
                f"reads version {FORMAT_VERSION}"
            )

    def _check_layout(self) -> None:
        for entry in sorted(self.path.iterdir()):
            if entry.name not in _TOP_LEVEL:
                raise StoreError(
                    f"{entry}: foreign file in an advrf results store (allowed: "
                    f"{', '.join(sorted(_TOP_LEVEL))}); move it away, the store will not touch it"
                )
        if not self.points.is_dir():
            raise StoreError(f"{self.points}: must be a directory")

    def _row_files(self) -> dict[str, Path]:
        """{hash: path} of every row file; raise on any foreign file in points/."""
        rows = {}
        for entry in sorted(self.points.iterdir()):
            if entry.name.startswith(TMP_PREFIX):
                continue
            match = _ROW_NAME.match(entry.name)
            if match is None or not entry.is_file():
                raise StoreError(
                    f"{entry}: foreign file in an advrf results store (row files are named "
                    "KIND-HASH.parquet); move it away, the store will not touch it"
                )
            rows[match.group(2)] = entry
        return rows

    def keys(self) -> set[str]:
        """Hashes of the rows already stored (by file name; `read` checks their content)."""
        return set(self._row_files())

    def clean_temporary(self) -> list[Path]:
        """Remove temporary files left on this host by writers that no longer run."""
        removed = []
        host = _host()
        for entry in self.points.iterdir():
            match = _TMP_NAME.match(entry.name)
            if match and match["host"] == host and not _alive(int(match["pid"])):
                entry.unlink(missing_ok=True)
                removed.append(entry)
        return removed

    def write(self, kind: str, key: Mapping[str, Any], row: Mapping[str, Any]) -> Path:
        """Write one row atomically under the content address of `key` and return its path.

        The file is named KIND-HASH.parquet and the row gets a column `key` (the hash). Values:
        float, int, bool, str or None.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
            raise ValueError(f"row kind must be lower-case letters, digits, _; got {kind!r}")
        digest = key_hash(key)
        record = {"key": digest, **row}
        table = pa.Table.from_pylist([record])
        target = self.points / f"{kind}-{digest}.parquet"
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        _atomic_write_bytes(target, sink.getvalue().to_pybytes())
        return target

    def read(self) -> pd.DataFrame:
        """Every row as one DataFrame (unsorted; with the `key` column).

        Raises StoreError naming the first corrupted or mismatching file.
        """
        tables = []
        for digest, path in self._row_files().items():
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowException) as error:
                raise StoreError(
                    f"{path}: corrupted row file ({error}); remove it to recompute that row"
                ) from None
            if table.num_rows != 1 or "key" not in table.column_names:
                raise StoreError(f"{path}: not an advrf row file (expected one row with a key)")
            if table.column("key")[0].as_py() != digest:
                raise StoreError(f"{path}: its key column does not match its file name")
            tables.append(table)
        if not tables:
            return pd.DataFrame({"key": pd.Series(dtype="str")})
        try:
            combined = pa.concat_tables(tables, promote_options="default")
        except pa.ArrowException as error:
            raise StoreError(
                f"{self.points}: rows with incompatible column types ({error})"
            ) from None
        mapper = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}.get
        return combined.to_pandas(types_mapper=mapper)

    def export_csv(self, frame: pd.DataFrame) -> Path:
        """Write `frame` as DIR/results.csv (atomically) and return the path."""
        target = self.path / CSV_EXPORT
        _atomic_write_bytes(target, frame.to_csv(index=False).encode())
        return target


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


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, os.replace, fsync the directory."""
    tmp = target.with_name(
        f"{TMP_PREFIX}{_host()}-{os.getpid()}-{secrets.token_hex(4)}-{target.name}"
    )
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_directory(target.parent)


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
