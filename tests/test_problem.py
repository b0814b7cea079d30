"""The parameter set: validation names the parameter and the allowed range."""

import math
import pickle

import pytest

from advrf import Problem


def test_defaults_and_eps_test_follows_eps():
    p = Problem(psi1=2, psi2=1, eps=0.3)
    assert p.eps_test == 0.3 and p.lam == 0 and p.signal == 1 and p.noise == 0
    assert p.activation.name == "relu_shifted"
    assert p.with_(eps=0.5).eps_test == 0.5
    assert Problem(psi1=2, psi2=1, eps=0.3, eps_test=1.0).with_(eps=0.5).eps_test == 1.0
    assert p.null_risk == 1.0
    assert p.to_dict()["activation"] == "relu_shifted"


def test_with_keeps_a_given_eps_test_and_follows_an_implicit_one():
    """Whether eps_test follows eps depends on whether it was given, not on its value."""
    given_equal = Problem(psi1=5, psi2=2, eps=0.2, eps_test=0.2)
    assert given_equal.with_(eps=0.5).eps_test == 0.2
    assert Problem(psi1=5, psi2=2, eps=0.1, eps_test=0.2).with_(eps=0.5).eps_test == 0.2
    implicit = Problem(psi1=5, psi2=2, eps=0.2)
    assert implicit.with_(eps=0.5).eps_test == 0.5
    assert implicit.with_(psi1=3).with_(eps=0.7).eps_test == 0.7  # still implicit after a copy
    assert implicit.with_(eps_test=0.2).with_(eps=0.7).eps_test == 0.2  # given by with_
    assert isinstance(implicit.eps_test, float)
    assert given_equal == implicit  # the same point
    assert "given" not in repr(implicit) and "_eps_test" not in implicit.to_dict()
    assert pickle.loads(pickle.dumps(given_equal)).with_(eps=0.5).eps_test == 0.2


def test_describe_prints_full_precision():
    p = Problem(psi1=1.999999999994, psi2=2, eps=0.2, activation="tanh")
    assert p.describe() == (
        "activation=tanh, psi1=1.999999999994, psi2=2.0, eps=0.2, eps_test=0.2, lam=0.0, "
        "signal=1.0, noise=0.0"
    )


def test_negative_zero_is_zero():
    p = Problem(psi1=1, psi2=1, eps=-0.0, lam=-0.0, noise=-0.0)
    assert all(math.copysign(1.0, v) == 1.0 for v in (p.eps, p.eps_test, p.lam, p.noise))


def test_frozen_and_picklable():
    p = Problem(psi1=2, psi2=1, eps=0.3, activation="tanh")
    with pytest.raises(AttributeError):
        p.psi1 = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(p)) == p


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("psi1", 0, "psi1 (width ratio N/d) must be a finite number > 0"),
        ("psi1", -1, "psi1"),
        ("psi2", math.nan, "psi2"),
        ("psi2", math.inf, "psi2"),
        ("eps", -0.1, "eps (training attack radius) must be a finite number >= 0"),
        ("eps_test", -1, "eps_test"),
        ("lam", -1e-3, "lam (ridge strength)"),
        ("signal", 0, "signal"),
        ("noise", -1, "noise"),
        ("lam", "abc", "lam"),
        ("psi1", None, "psi1"),
        ("eps", True, "eps"),
        ("psi1", 10**400, "psi1"),
        ("signal", 1e-300, "signal"),
        ("signal", 1e-300, "at least 1e-100, and at most 1e"),
        ("noise", 1e160, "and at most 1e"),
        ("eps_test", 1e101, "eps_test"),
        ("psi2", 1e-101, "psi2"),
    ],
)
def test_invalid_values_name_the_parameter(name, value, fragment):
    kwargs = {"psi1": 1.0, "psi2": 1.0, "eps": 0.1, name: value}
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Problem(**kwargs)


def test_the_numerical_range_ends_are_accepted():
    p = Problem(psi1=1e100, psi2=1e-100, eps=5e-324, lam=1e100, signal=1e-100, noise=1e-300)
    assert (p.psi1, p.psi2, p.signal, p.eps, p.noise) == (1e100, 1e-100, 1e-100, 5e-324, 1e-300)


def test_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        Problem(psi1=1, psi2=1, eps=0.1, activation="nope")


def test_missing_parameter():
    with pytest.raises(TypeError, match="eps"):
        Problem(psi1=1, psi2=1)  # type: ignore[call-arg]
