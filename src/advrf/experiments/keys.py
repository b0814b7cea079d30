"""Canonical keys, their content addresses, and full-precision numbers in messages.

No heavy imports: workers load this module.

A key is a flat mapping of names to values (str, bool, int, float or None). Its canonical text is
JSON with sorted names and floats rounded to a fixed number of significant digits, so that the
same number reached by two routes (0.1 typed in a list, 0.1 as the end of a log range, which
differ in the last bits) gives one key; -0.0 is 0.0. How many digits is the key scheme:

- scheme 1 (stores written by advrf <= 0.1.0): 12 significant digits. Too few: psi1 =
  1.999999999994 and 1.999999999986 were one key.
- scheme 2 (new stores, KEY_SCHEME): 14 significant digits. Numbers that differ by 1e-13
  relative or more are different keys; a number typed with up to 12 significant digits and the
  same number off by up to 28 units in the last place (a log range is off by one or two) are one
  key. 15 digits would keep only 2 units in the last place just below a power of ten (10 - 3 ulps
  rounds to 9.99999999999999).

A store records its scheme in its manifest and keeps it for life (advrf.experiments.store), so
that the rows of an old store are still found.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

KEY_SCHEMES = {1: 12, 2: 14}  # key scheme -> significant digits of floats in a key
KEY_SCHEME = 2  # the scheme of new stores
KEY_DIGITS = KEY_SCHEMES[KEY_SCHEME]
HASH_CHARS = 32  # hex characters of the SHA-256 of a key kept in a file name (128 bits)


def _digits(scheme: int) -> int:
    if scheme not in KEY_SCHEMES:
        raise ValueError(f"unknown key scheme {scheme!r}; known: {sorted(KEY_SCHEMES)}")
    return KEY_SCHEMES[scheme]


def canonical(value: Any, scheme: int = KEY_SCHEME) -> Any:
    """A key value in canonical form: floats to the scheme's significant digits, -0.0 as 0.0.

    NaN and infinities are rejected (a key must equal itself).
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"a key value must be finite; got {value!r}")
        return float(f"{number:.{_digits(scheme)}g}") + 0.0  # + 0.0 turns -0.0 into 0.0
    raise TypeError(f"cannot use {type(value).__name__} {value!r} in a key")


def key_text(key: Mapping[str, Any], scheme: int = KEY_SCHEME) -> str:
    """The canonical JSON text of a key (sorted names, canonical values)."""
    return json.dumps({k: canonical(v, scheme) for k, v in key.items()}, sort_keys=True)


def key_hash(key: Mapping[str, Any], scheme: int = KEY_SCHEME) -> str:
    """The content address of a key: the first HASH_CHARS hex digits of its SHA-256."""
    return hashlib.sha256(key_text(key, scheme).encode()).hexdigest()[:HASH_CHARS]


def format_value(value: Any) -> str:
    """A value for a message, at full precision: the shortest text that reads back as the float.

    format_value(1.999999999994) == "1.999999999994" (where %g prints "2"), format_value(2.0) ==
    "2", format_value(1e-20) == "1e-20"; ints, bools, strings and None as str().
    """
    kind = getattr(getattr(value, "dtype", None), "kind", None)  # numpy scalars
    if isinstance(value, float) or kind == "f":
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text
    if kind in ("i", "u"):
        return str(int(value))
    return str(value)
