"""Fuzz of the training solver against cvxpy on small random instances (issue 10): each solve is
certified and within 1e-6 relative of cvxpy's objective, or raises a TrainingError naming its
point. 5,000 solves: validation/fuzz_training.py (counts in docs/validation.md)."""

from collections import Counter

import numpy as np
import pytest

from advrf.simulation import reference_cvx

pytest.importorskip("cvxpy")

CASES = 250  # x 2 variants = 500 solves; fixed seed
SEED = 20260
# Clarabel's time grows with the exact program's size n d N; the default suite keeps the cases
# under this size (d still spans 1..40; validation/fuzz_training.py has no cap).
MAX_SIZE = 1.2e5


def _cases():
    rng = np.random.default_rng(SEED)
    out, index = [], 0
    while len(out) < CASES:
        case = reference_cvx.fuzz_case(rng, index)
        index += 1
        size = case["d"] ** 3 * case["psi1"] * case["psi2"]
        if size <= MAX_SIZE:
            out.append(case)
    return out


def test_fuzz_covers_the_regimes():
    cases = _cases()
    assert min(c["d"] for c in cases) <= 3 and max(c["d"] for c in cases) >= 35
    assert {c["lam"] == 0 for c in cases} == {True, False}
    assert {c["psi1"] < c["psi2"] for c in cases} == {True, False}
    assert {c["eps_ratio"] == 0 for c in cases} == {True, False}
    assert max(c["eps_ratio"] for c in cases) > 1.5  # past eps_c


def test_every_solve_is_certified_and_right_or_a_training_error_naming_its_point():
    counts, bad = Counter(), []
    for case in _cases():
        for variant in ("concentrated", "exact"):
            row = reference_cvx.judge(case, variant)
            counts[row["outcome"]] += 1
            if row["outcome"] in ("certified_worse", "certified_better", "other_error") or (
                row["outcome"] == "training_error" and not row["named"]
            ):
                bad.append(row)
    assert not bad, bad[:3]
    assert counts["reference_failed"] <= 0.05 * 2 * CASES, counts
    assert counts["certified_ok"] >= 0.8 * 2 * CASES, counts
