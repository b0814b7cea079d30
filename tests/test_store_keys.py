"""Canonical keys: -0 is 0, enough digits, float noise merged, full-precision messages."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from advrf.experiments.keys import KEY_SCHEME, canonical, format_value, key_hash, key_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POINT = {"method": "theory", "psi1": 2.0, "psi2": 2.0, "eps": 0.1, "lam": 0.0, "noise": 0.0}


@pytest.mark.parametrize("name", ["eps", "lam", "noise"])
@pytest.mark.parametrize("scheme", [1, 2])
def test_minus_zero_is_zero(name, scheme):
    assert key_hash({**POINT, name: -0.0}, scheme) == key_hash({**POINT, name: 0.0}, scheme)
    assert math.copysign(1.0, canonical(-0.0, scheme)) == 1.0


def test_keys_separate_numbers_that_differ_in_the_13th_digit():
    a, b = {**POINT, "psi1": 1.999999999994}, {**POINT, "psi1": 1.999999999986}
    assert key_hash(a) != key_hash(b)
    assert key_hash(a) != key_hash(POINT)
    # the key text keeps them apart too (it is what messages and seeds are built from)
    assert key_text(a) != key_text(b)
    # scheme 1 (stores of advrf <= 0.1.0) merged them, and still does for those stores
    assert key_hash(a, 1) == key_hash(b, 1)


def test_typed_and_computed_values_are_one_key():
    typed = {**POINT, "psi1": 0.1}
    # an end of a log range, and interior points computed as powers of ten
    assert key_hash({**POINT, "psi1": float(np.geomspace(0.1, 10, 3)[0])}) == key_hash(typed)
    for values in (np.geomspace(1e-3, 1e3, 7), np.geomspace(1e-10, 1e10, 21)):
        for value in values:
            nominal = float(f"{value:.3g}")
            assert key_hash({**POINT, "psi1": float(value)}) == key_hash(
                {**POINT, "psi1": nominal}
            ), (value, nominal)
    computed = 0.1 * 3  # 0.30000000000000004
    assert key_hash({**POINT, "psi1": computed}) == key_hash({**POINT, "psi1": 0.3})
    assert key_hash({**POINT, "psi1": np.float64(0.1)}) == key_hash(typed)


def test_scheme_1_is_the_hash_of_advrf_0_1_0():
    # keys and hashes recorded by advrf 0.1.0 (main) when it wrote tests/fixtures/store_v1
    recorded = json.loads((FIXTURES / "store_v1_keys.json").read_text())
    assert len(recorded) == 8
    for entry in recorded:
        assert key_hash(entry["key"], 1) == entry["hash"]
    # the new scheme differs where a value has more than 12 significant digits
    long = [e for e in recorded if e["key"]["psi1"] == 1.2345678901234]
    assert long and all(key_hash(e["key"], KEY_SCHEME) != e["hash"] for e in long)


def test_unknown_scheme_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="unknown key scheme 7"):
        key_hash(POINT, 7)
    with pytest.raises(ValueError, match="finite"):
        key_hash({**POINT, "psi1": math.nan})
    with pytest.raises(TypeError, match="cannot use list"):
        key_hash({**POINT, "psi1": [1]})


def test_format_value_prints_full_precision():
    assert format_value(1.999999999994) == "1.999999999994"
    assert format_value(1.999999999986) == "1.999999999986"
    assert format_value(2.0) == "2"
    assert format_value(0.1) == "0.1"
    assert format_value(1e-20) == "1e-20"
    assert format_value(0.30000000000000004) == "0.30000000000000004"
    assert format_value(np.float64(0.25)) == "0.25"
    assert format_value(np.int64(3)) == "3"
    assert format_value(7) == "7" and format_value(True) == "True"
    assert format_value("tanh") == "tanh" and format_value(None) == "None"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_value_reads_back_as_the_same_float(value):
    assert float(format_value(value)) == value
