"""Canonical keys and their content addresses (no heavy imports: workers load this module).

A key is a flat mapping of names to values (str, bool, int, float or None). Its canonical text is
JSON with sorted names and floats rounded to KEY_DIGITS significant digits, so that the same
number reached by two routes (0.1 typed in a list, 0.1 as the end of a log range) gives one key.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

KEY_DIGITS = 12  # significant digits of floats in a key
HASH_CHARS = 32  # hex characters of the SHA-256 of a key kept in a file name (128 bits)


def canonical(value: Any) -> Any:
    """A key value in canonical form: floats to KEY_DIGITS significant digits, NaN rejected
    (inf is kept: psi1 = inf is the infinite-width limit)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        if math.isnan(number):
            raise ValueError(f"a key value must not be NaN; got {value!r}")
        return float(f"{number:.{KEY_DIGITS}g}")
    raise TypeError(f"cannot use {type(value).__name__} {value!r} in a key")


def key_text(key: Mapping[str, Any]) -> str:
    """The canonical JSON text of a key (sorted names, canonical values)."""
    return json.dumps({k: canonical(v) for k, v in key.items()}, sort_keys=True)


def key_hash(key: Mapping[str, Any]) -> str:
    """The content address of a key: the first HASH_CHARS hex digits of its SHA-256."""
    return hashlib.sha256(key_text(key).encode()).hexdigest()[:HASH_CHARS]
