"""solve_batch: the vectorised solver equals solve point by point."""

import math

import numpy as np
import pytest

from advrf import Problem
from advrf.theory import TheoryError, solve, solve_batch
from advrf.theory.batch import STRAGGLERS
from advrf.theory.equations import Coefficients, residual
from advrf.theory.solve import REGIMES, default_start, newton

ACTIVATIONS = ["relu_shifted", "relu", "tanh", "erf", "linear", "sigmoid"]
FLOAT_FIELDS = [
    "robust_error", "standard_error", "train_objective", "norm_a2", "norm_w2", "beta_w",
    "grad_norm2", "eps_c", "gam", "Q", "s",
]  # fmt: skip
AGREEMENT = 1e-12  # relative, issue 11


def random_problems(n: int, seed: int) -> list[Problem]:
    """Points over the CLI's usual ranges, every regime represented (lam = 0 and eps = 0 often)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        eps = float(rng.choice([0.0, 10 ** rng.uniform(-3, 0.3)]))
        lam = float(rng.choice([0.0, 10 ** rng.uniform(-4, 1)]))
        out.append(
            Problem(
                10 ** rng.uniform(-1, 2),
                10 ** rng.uniform(-1, 1),
                eps,
                eps_test=float(rng.uniform(0, 1)),
                lam=lam,
                signal=float(rng.uniform(0.5, 2)),
                noise=float(rng.choice([0.0, rng.uniform(0, 1)])),
                activation=str(rng.choice(ACTIVATIONS)),
            )
        )
    return out


def assert_batch_equals_pointwise(problems):
    batch = solve_batch(problems)
    assert len(batch) == len(problems)
    regimes = set()
    for problem, got in zip(problems, batch, strict=True):
        try:
            want = solve(problem)
        except TheoryError as error:
            assert isinstance(got, TheoryError) and str(got) == str(error)
            continue
        assert got.problem is problem
        assert (got.regime, got.phase, got.inertia) == (want.regime, want.phase, want.inertia)
        # (iteration counts agree but for rounding-driven line-search steps: 3 of 10^4 points)
        assert got.converged
        regimes.add(got.regime)
        for name in FLOAT_FIELDS:
            a, b = getattr(got, name), getattr(want, name)
            assert a == b or math.isclose(a, b, rel_tol=AGREEMENT, abs_tol=0.0), (problem, name)
    return regimes


def test_batch_equals_solve_on_random_points():
    regimes = assert_batch_equals_pointwise(random_problems(400, seed=0))
    assert regimes == set(REGIMES)


def test_batch_keeps_order_and_returns_failures_in_place():
    problems = [Problem(2.0, 1.0, 0.2), Problem(1.0, 1.0, 0.0), Problem(2.0, 1.0, 0.2, lam=0.1)]
    out = solve_batch(problems)
    assert isinstance(out[1], TheoryError) and "psi1=1" in str(out[1])
    assert out[0].robust_error == pytest.approx(solve(problems[0]).robust_error, rel=AGREEMENT)
    assert out[2].problem is problems[2]
    assert solve_batch([]) == []


@pytest.mark.slow
def test_batch_equals_solve_on_ten_thousand_random_points():
    assert_batch_equals_pointwise(random_problems(10_000, seed=1))


def test_solve_grid_is_the_product_in_cli_order_with_failed_rows():
    from advrf.theory import solve_grid

    frame = solve_grid(psi1=np.array([1.0, 2.0]), psi2=1, eps=[0.0, 0.2], activation="tanh")
    assert len(frame) == 4
    assert frame[["psi1", "eps"]].values.tolist() == [[1, 0], [1, 0.2], [2, 0], [2, 0.2]]
    assert (frame["activation"] == "tanh").all() and (frame["eps_test"] == frame["eps"]).all()
    assert list(frame.columns[:8]) == [
        "activation", "psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise"
    ]  # fmt: skip
    assert frame.columns[-2:].tolist() == ["status", "error"]
    failed = frame.iloc[0]  # psi1 = psi2 = 1, eps = lam = 0: the interpolation threshold
    assert failed["status"] == "failed" and "infinite" in failed["error"]
    assert failed[["robust_error", "regime"]].isna().all()
    ok = frame.iloc[3]
    want = solve(Problem(2.0, 1.0, 0.2, activation="tanh"))
    assert ok["status"] == "ok" and ok["error"] is None
    for key, value in want.to_dict().items():
        if isinstance(value, float):
            assert ok[key] == pytest.approx(value, rel=AGREEMENT)
        else:
            assert ok[key] == value
    with pytest.raises(ValueError, match="missing parameter"):
        solve_grid(psi1=1, psi2=1)
    with pytest.raises(ValueError, match="unknown parameter.*width"):
        solve_grid(psi1=1, psi2=1, eps=0, width=3)
    with pytest.raises(ValueError, match="lam"):
        solve_grid(psi1=1, psi2=1, eps=0, lam=[-1])


def test_batched_continuation_equals_solve():
    # noiseless linear ridge points at small lam: Newton from the default start fails (iteration
    # limit or line search) on most of them, so they are solved by the lam-continuation, which
    # the batch runs vectorised once more than STRAGGLERS points need it
    pairs = ((8.16, 4.92), (1.67, 1.22), (4.44, 4.01), (30.0, 6.0), (60.0, 5.6), (2.0, 3.0))
    problems = [
        Problem(p1, p2, 0.0, lam=lam, noise=0.0, activation="linear")
        for p1, p2 in pairs
        for lam in (1e-4, 2e-4, 4e-4, 8e-4)
    ]
    batch = solve_batch(problems)
    continued = 0
    for problem, got in zip(problems, batch, strict=True):
        co = Coefficients.from_problem(problem)
        continued += not newton(lambda u, co=co: residual(co, u), default_start(co)).converged
        want = solve(problem)
        assert (got.regime, got.iterations) == (want.regime, want.iterations)
        for name in FLOAT_FIELDS:
            a, b = getattr(got, name), getattr(want, name)
            assert a == b or math.isclose(a, b, rel_tol=AGREEMENT, abs_tol=0.0), (problem, name)
    assert continued > STRAGGLERS
