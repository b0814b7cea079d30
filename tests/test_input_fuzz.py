"""Property-based fuzz of every input (issue 10): each one gives a result, or a message that names
the parameter (the command exits 2 with "error:" on stderr); never a traceback, never an internal
error (exit 3).

Examples are derandomised, so the default suite is reproducible; ADVRF_FUZZ_EXAMPLES=N explores N
random examples per test instead. Numbers are drawn over the whole float range (and 0, -0,
negatives, nan, inf, garbage); simulations at d = 1..8.
Findings and what is left: docs/inputs.md.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy import integrate

from advrf import Problem, custom
from advrf.activations import Activation
from advrf.cli import main
from advrf.grid import MAX_POINTS, parse_values
from advrf.settings import SimulationSettings

EXAMPLES = int(os.environ.get("ADVRF_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int):
    """Hypothesis settings: `examples` derandomised examples, or ADVRF_FUZZ_EXAMPLES random ones."""
    return settings(
        max_examples=EXAMPLES or examples,
        derandomize=not EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


GARBAGE = [
    *"abc , 1,,2 0x10 1_0 -- lin: log:1:2 lin:1:2:x lin:1:2:0 lin:1:2:-3 lin:1:2:100000000".split(),
    *"log:0:1:3 log:-1:1:2 1e400 -1e400 nan inf -inf -1 -0 -0.0 1e-320".split(),
    "",
    " ",
    "lin:0:1:9" + "9" * 5000,
]
moderate = st.floats(min_value=1e-3, max_value=1e3)
anywhere = st.one_of(
    st.floats(min_value=1e-100, max_value=1e100), st.floats(min_value=5e-324, max_value=1.7e308)
)
INVALID_TEXT = st.one_of(anywhere.map(repr), st.sampled_from(GARBAGE), st.text(max_size=6))


def numbers(low: float, high: float) -> st.SearchStrategy[str]:
    """Valid text of a numeric grid option: a number, a list or a range in [low, high]."""
    within = st.floats(min_value=max(low, 1e-6), max_value=high)  # Problem: SMALLEST, LARGEST
    one = st.one_of(within.map(repr), st.sampled_from([repr(low), repr(high)]))
    listed = st.lists(one, min_size=1, max_size=2).map(",".join)
    ranged = st.tuples(st.sampled_from(["lin", "log"]), within, within, st.integers(1, 2)).map(
        lambda r: f"{r[0]}:{r[1]!r}:{r[2]!r}:{r[3]}"
    )
    return st.one_of(one, listed, ranged)


ACTIVATIONS_VALID = st.sampled_from(["relu_shifted", "relu", "tanh", "erf", "linear", "tanh,relu"])
ACTIVATIONS_INVALID = st.one_of(
    st.sampled_from(
        "swish , math:tanh advrf:Problem no_such_mod:x :x advrf: advrf.activations:ACTIVATIONS "
        "tanh,swish".split()
        + [""]
    ),
    st.text(alphabet=st.characters(blacklist_characters=":"), max_size=6),
)


def draw_argv(data, valid: dict, invalid: dict, optional: tuple[str, ...] = ()):
    """Options --NAME=VALUE: all valid, or exactly one (returned) drawn from its invalid values."""
    broken = data.draw(st.sampled_from([None, None, None, *invalid]), label="broken")
    argv = []
    for name, strategy in valid.items():
        if name == broken:
            value = data.draw(invalid[name], label=name)
        elif name in optional and data.draw(st.booleans(), label=f"omit {name}"):
            continue
        else:
            value = data.draw(strategy, label=name)
        if value is not None and value.startswith("--"):
            argv += value.split()  # flags, e.g. "--theory --simulate"
        elif value is not None:
            argv.append(f"--{name}={value}")
    return argv, broken


def _check_outcome(status, err: str, broken: str | None, paths: tuple[str, ...] = ()) -> None:
    """Valid options: a result (0) or failed points listed (1). One broken option: that, or
    status 2 with a message naming it (or the file). Never 3, never a traceback."""
    assert "Traceback" not in err, err
    assert status in (0, 1, 2), (status, err)
    if status == 1:
        assert "failed" in err, err
    if broken is None:
        assert status != 2, err
    if status == 2:
        assert re.search(r"(^|\n)(usage: .*\n)?advrf( \w+)?: error: ", err), err
        message = err.split("error: ", 1)[1]
        names = {broken, broken.replace("-", "_")} | ({"grid"} if broken in GRID else set())
        named = any(re.search(rf"(\b|--){re.escape(n)}\b", message) for n in names)
        assert named or any(path in message for path in paths), (broken, err)


GRID = ("psi1", "psi2", "eps", "eps-test", "lam", "signal", "noise", "d", "variant", "activation")


def _main(argv: list[str], capsys) -> tuple[int | None, str]:
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse: bad options
        status = exit_.code
    err = capsys.readouterr().err
    event(f"exit status {status}")  # --hypothesis-show-statistics: how often each was reached
    return status, err


THEORY_VALID = {
    "activation": ACTIVATIONS_VALID,
    "psi1": numbers(1e-3, 1e3),
    "psi2": numbers(1e-3, 1e3),
    "eps": numbers(0.0, 1e3),
    "eps-test": numbers(0.0, 1e3),
    "lam": numbers(0.0, 1e3),
    "signal": numbers(1e-3, 1e3),
    "noise": numbers(0.0, 1e3),
    "json": st.sampled_from(["--json", None]),
}
THEORY_INVALID = {
    "activation": ACTIVATIONS_INVALID,
    **{k: INVALID_TEXT for k in ("psi1", "psi2", "eps", "eps-test", "lam", "signal", "noise")},
}
OPTIONAL = ("activation", "eps-test", "lam", "signal", "noise", "json")


@fuzz(60)
@given(data=st.data())
def test_theory_command(capsys, data):
    argv, broken = draw_argv(data, THEORY_VALID, THEORY_INVALID, OPTIONAL)
    _check_outcome(*_main(["theory", *argv], capsys), broken)


def _floats(low, high):
    return st.one_of(st.just(low), st.floats(min_value=max(low, 1e-6), max_value=high)).map(repr)


BAD_FLOAT = st.sampled_from(["0", "-0", "-1", "nan", "inf", "1e400", "x", "", "1,2", "lin:0:1:2"])
SIMULATE_VALID = {
    "activation": st.sampled_from(["relu_shifted", "tanh"]),  # linear needs lam > 0 when N > d
    "psi1": _floats(0.2, 3),
    "psi2": _floats(0.2, 3),
    "eps": _floats(0, 1),
    "eps-test": _floats(0, 1),
    "lam": _floats(0, 1),
    "noise": _floats(0, 1),
    "d": st.integers(1, 8).map(str),
    "seeds": st.sampled_from(["1", "2", "0,3"]),
    "n-test": st.sampled_from(["50", None]),
    "variant": st.sampled_from(["exact", "concentrated"]),
    "attack": st.sampled_from(["first-order", "pgd"]),
    "inputs": st.sampled_from(["gaussian", "sphere"]),
    "json": st.sampled_from(["--json", None]),
}
SIMULATE_INVALID = {
    "activation": ACTIVATIONS_INVALID,
    **{k: BAD_FLOAT for k in ("psi1", "psi2", "eps", "eps-test", "lam", "noise")},
    "d": st.sampled_from(["0", "-1", "x", "2.5", "10**9"]),
    "seeds": st.sampled_from(["0", "-1", "x", "0,0", ""]),
    "n-test": st.sampled_from(["0", "-5", "x"]),
    "variant": st.sampled_from(["x", ""]),
    "inputs": st.just("--inputs=sphere --population"),
}


@fuzz(30)
@given(data=st.data())
def test_simulate_command(capsys, data):
    optional = ("activation", "eps-test", "lam", "noise", "n-test", "attack", "inputs", "json")
    argv, broken = draw_argv(data, SIMULATE_VALID, SIMULATE_INVALID, optional)
    _check_outcome(*_main(["simulate", *argv], capsys), broken)


SWEEP_VALID = {
    "activation": st.sampled_from(["relu_shifted", "tanh,linear"]),
    "psi1": numbers(0.2, 3),
    "psi2": numbers(0.2, 3),
    "eps": numbers(0.0, 1.0),
    "lam": numbers(0.0, 1.0),
    "noise": numbers(0.0, 1.0),
    "simulate": st.sampled_from(["--theory", "--theory --simulate"]),
    "d": st.sampled_from(["1", "2,5", "lin:3:7:2"]),
    "seeds": st.sampled_from(["1", "2"]),
    "workers": st.just("1"),  # in this process: a pool of processes costs seconds
    "variant": st.sampled_from(["exact", "concentrated", "exact,concentrated"]),
    "out": st.sampled_from(["new", "nested/dir"]),
}
SWEEP_INVALID = {
    "activation": ACTIVATIONS_INVALID,
    **{k: INVALID_TEXT for k in ("psi1", "psi2", "eps", "lam", "noise")},
    "simulate": st.just("--simulate"),  # without --d below: "--simulate needs --d"
    "d": st.sampled_from(["0", "x", "2.5", "-1"]),
    "seeds": st.sampled_from(["0", "-1", "x"]),
    "workers": st.sampled_from(["0", "-1", "x"]),
    "variant": st.sampled_from(["x", ""]),
    "out": st.just("file"),
}


@fuzz(20)
@given(data=st.data())
def test_sweep_command(capsys, data):
    optional = ("activation", "lam", "noise", "variant")
    argv, broken = draw_argv(data, SWEEP_VALID, SWEEP_INVALID, optional)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "file").write_text("not a directory")
        argv = [
            f"--out={Path(tmp) / a.split('=', 1)[1]}" if a.startswith("--out=") else a for a in argv
        ]
        if broken == "simulate":
            argv = [a for a in argv if not a.startswith("--d=")]
        status, err = _main(["sweep", *argv, "--quiet"], capsys)
        _check_outcome(status, err, broken, paths=(str(Path(tmp) / "file"),))


ANY_VALUE = st.one_of(
    moderate,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 10),
    st.sampled_from([None, True, False, "1", "x", "", [1.0], (2,), {"a": 1}, 1j, b"1"]),
    st.sampled_from([np.float64(0.5), np.int64(2), np.array([1.0, 2.0]), np.nan]),
)


@fuzz(150)
@given(
    kwargs=st.fixed_dictionaries(
        {"psi1": ANY_VALUE, "psi2": ANY_VALUE, "eps": ANY_VALUE},
        optional={k: ANY_VALUE for k in ("eps_test", "lam", "signal", "noise", "activation")},
    )
)
def test_problem(kwargs):
    try:
        problem = Problem(**kwargs)
    except ValueError as error:
        bad = [k for k in kwargs if re.match(rf"(activation|{k})\b", str(error))]
        assert bad, error
        return
    for name in ("psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise"):
        value = getattr(problem, name)
        assert type(value) is float and math.isfinite(value) and math.copysign(1, value) == 1
    assert isinstance(problem.activation, Activation)


@fuzz(150)
@given(
    kwargs=st.fixed_dictionaries(
        {"d": ANY_VALUE},
        optional={
            "seeds": st.one_of(ANY_VALUE, st.lists(st.integers(-2, 5), max_size=3)),
            "n_test": ANY_VALUE,
            "variant": st.one_of(ANY_VALUE, st.sampled_from(["exact", "concentrated"])),
            "attack": st.one_of(ANY_VALUE, st.sampled_from(["first-order", "pgd"])),
            "inputs": st.one_of(ANY_VALUE, st.sampled_from(["gaussian", "sphere"])),
            "population": ANY_VALUE,
        },
    )
)
def test_simulation_settings(kwargs):
    try:
        SimulationSettings(**kwargs)
    except ValueError as error:
        assert re.match(rf"({'|'.join(kwargs)}|seed)\b", str(error)), error


@pytest.mark.parametrize("seeds", [10**12, 1e300, 1_000_001])
def test_a_huge_seed_count_is_refused_not_expanded(seeds):
    """seeds=1e300 expanded into range(10**300) until the machine ran out of memory."""
    with pytest.raises(ValueError, match=r"^seeds \(number of seeds per point\) must be .*1000000"):
        SimulationSettings(d=1, seeds=seeds)
    assert len(SimulationSettings(d=1, seeds=1_000_000).seeds) == 1_000_000


@fuzz(200)
@given(
    name=st.sampled_from(["psi1", "eps"]),
    text=st.one_of(numbers(1e-3, 1e3), INVALID_TEXT, st.text()),
)
def test_grid_parsing(name, text):
    try:
        axis = parse_values(name, text)
    except ValueError as error:
        assert str(error).startswith(f"{name}: ") or str(error).startswith("grid: "), error
        return
    assert 1 <= len(axis.values) <= MAX_POINTS
    assert all(type(v) is float and not (v == 0 and math.copysign(1, v) < 0) for v in axis.values)


def _exact_moments(sigma, derivative, kinks) -> np.ndarray:
    """mu0, mu1, mu_star^2, nu^2 by adaptive quadrature split at the true kinks (independent of
    advrf's Gauss rules)."""
    phi = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)  # noqa: E731
    cuts = [-40.0, *sorted(kinks), 40.0]

    def e(fn):
        total = 0.0
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            f = lambda t: fn(t) * phi(t)  # noqa: E731
            total += integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        return total

    s = lambda t: float(sigma(np.array([t]))[0])  # noqa: E731
    ds = lambda t: float(derivative(np.array([t]))[0])  # noqa: E731
    mu0, mu1 = e(s), e(lambda t: t * s(t))
    second, dsecond = e(lambda t: s(t) ** 2), e(lambda t: ds(t) ** 2)
    return np.array([mu0, mu1, second - mu0**2 - mu1**2, dsecond - mu1**2])


@fuzz(40)
@given(
    a=st.floats(-3, 3),
    b=st.floats(0.1, 3),
    c=st.floats(-1, 1),
    slope=st.floats(-1, 1),
    relu=st.floats(-2, 2),
    kink=st.floats(-2, 2),
    declare=st.booleans(),
    factor=st.sampled_from([1.0, 1.0, 1.0, 2.0, 0.5, -1.0, 1.01]),
)
def test_custom_activation(a, b, c, slope, relu, kink, declare, factor):
    """sigma = a tanh(b t + c) + slope t + relu max(t - kink, 0); the derivative is scaled by
    factor (wrong unless 1); the kink declared or not. Either refused with a message naming the
    activation, or its moments are right to 1e-7."""

    def sigma(t):
        return a * np.tanh(b * t + c) + slope * t + relu * np.maximum(t - kink, 0.0)

    def true_derivative(t):
        return a * b / np.cosh(b * t + c) ** 2 + slope + relu * (t > kink)

    def derivative(t):
        return factor * true_derivative(t)

    try:
        act = custom("fuzzed", sigma, derivative, kinks=[kink] if declare else [])
    except ValueError as error:
        assert str(error).startswith("activation 'fuzzed': "), error
        return
    m = act.moments
    exact = _exact_moments(sigma, true_derivative, [kink])
    scale = max(1.0, exact[1] ** 2 + exact[2] + exact[3])
    got = np.array([m.mu0, m.mu1, m.mu_star2, m.nu2])
    assert np.all(np.abs(got - exact) <= 1e-7 * scale), (got, exact)
    if factor != 1.0:  # a wrong derivative may pass only where it does not matter
        assert abs(a * b) < 1e-6 and abs(slope) < 1e-6 and abs(relu) < 1e-6


def test_the_property_itself():
    """A message naming another parameter, a refused valid input, or status 3 are caught."""
    for status, err, broken in [
        (2, "advrf theory: error: something went wrong\n", "psi1"),
        (2, "advrf theory: error: psi2 (sample ratio n/d) must be > 0\n", "psi1"),
        (2, "advrf theory: error: psi1 (width ratio N/d) must be > 0\n", None),
        (3, "advrf theory: internal error: ZeroDivisionError\n", None),
    ]:
        with pytest.raises(AssertionError):
            _check_outcome(status, err, broken)
    _check_outcome(2, "advrf theory: error: psi1 (width ratio N/d) must be > 0\n", "psi1")
    _check_outcome(2, "advrf theory: error: argument --eps-test: expected one argument", "eps-test")
