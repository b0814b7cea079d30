"""Reproductions: one module per headline experiment, found by name.

    from advrf.experiments.reproductions import available, reproduce
    available()                                  # [("overparam", "one-line summary"), ...]
    result = reproduce("overparam", "results/overparam", runner=Runner(workers=2))

A reproduction is a module `advrf.experiments.reproductions.NAME` (NAME with `-` spelled `_`),
listed in NAMES, that defines:

- `SUMMARY`: one line for `advrf reproduce --list`; the module docstring is its `--help` text;
- `Settings`: a frozen dataclass of what it computes, every field with a default (the full
  reproduction), validated in its `__post_init__`; fields with `metadata={"help": ...}` become
  options `--FIELD-NAME` of `advrf reproduce NAME` (int and float fields);
- `run(out: Path, settings: Settings, runner: Runner) -> Result`: computes through the runner
  and the store (advrf.experiments.runner, .store, .jobs) and the shared analysis helpers
  (advrf.experiments.analysis), writes its figures, tables and summary under `out`.

Its top-level imports stay light (the standard library, advrf.problem, advrf.settings): the
command line loads every reproduction to list its options, and heavy modules (pandas, matplotlib,
the theory) are imported inside `run`.

`reproduce` owns the output directory: it refuses an advrf results store (the output of
`advrf sweep`) and a directory written by another reproduction or by anything else, and marks the
directory as the output of NAME (MARKER) before anything is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

NAMES = ("overparam", "phase-diagram")
MARKER = "advrf-reproduction.json"
STORE_MANIFEST = "advrf-store.json"  # advrf.experiments.store.MANIFEST (not imported: heavy)


@dataclass(frozen=True)
class Result:
    """What a reproduction returns: its summary (summary.json), the text it printed into
    summary.txt, and warnings for stderr (failed rows, ...)."""

    summary: dict[str, Any]
    text: str
    warnings: tuple[str, ...] = field(default=())


def load(name: str) -> ModuleType:
    """The module of reproduction `name`; ValueError naming the choices."""
    if name not in NAMES:
        raise ValueError(f"unknown reproduction {name!r}; choose one of {', '.join(NAMES)}")
    return import_module(f"{__name__}.{name.replace('-', '_')}")


def available() -> list[tuple[str, str]]:
    """(name, one-line summary) of every reproduction."""
    return [(name, load(name).SUMMARY) for name in NAMES]


def prepare_output(out: str | Path, name: str) -> Path:
    """Create or check the output directory of reproduction `name` (module docstring)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; a reproduction writes a directory")
    if (out / STORE_MANIFEST).exists():
        raise ValueError(
            f"--out {out} is an advrf results store (advrf sweep); a reproduction writes a "
            "directory of its own (stores, figures, tables): choose another --out"
        )
    marker = out / MARKER
    if marker.exists():
        try:
            owner = json.loads(marker.read_text()).get("reproduction")
        except (OSError, ValueError, AttributeError) as error:
            raise ValueError(f"{marker}: unreadable reproduction marker ({error})") from None
        if owner != name:
            raise ValueError(
                f"--out {out} holds the output of `advrf reproduce {owner}`; choose another --out"
            )
        return out
    if out.exists() and any(out.iterdir()) and not (out / "store" / STORE_MANIFEST).exists():
        raise ValueError(
            f"--out {out} is not empty and is not the output of a reproduction: choose an "
            "empty or new directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"reproduction": name}) + "\n")
    return out


def reproduce(name: str, out: str | Path, *, settings: Any = None, runner: Any = None) -> Result:
    """Run reproduction `name` into `out` (settings: its Settings, default the full one;
    runner: an advrf.experiments.runner.Runner, default this process)."""
    from advrf.experiments.runner import Runner

    module = load(name)
    settings = module.Settings() if settings is None else settings
    if not isinstance(settings, module.Settings):
        raise TypeError(f"settings of {name!r} must be {module.__name__}.Settings")
    return module.run(prepare_output(out, name), settings, Runner() if runner is None else runner)
