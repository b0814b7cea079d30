"""Gaussian moments of conventions 2: closed forms and Monte-Carlo."""

import numpy as np
import pytest

from advrf.activations import ACTIVATIONS, custom, gaussian_expectation, get_activation

RELU = {
    "mu0": 1 / np.sqrt(2 * np.pi),
    "mu1": 0.5,
    "mu_star2": (np.pi - 2) / (4 * np.pi),
    "nu2": 0.25,
}
# erf: E erf(G)^2 = (2/pi) arcsin(2/3); E erf'(G) = 2/sqrt(3 pi); E erf'(G)^2 = 4/(pi sqrt 5).
ERF = {
    "mu0": 0.0,
    "mu1": 2 / np.sqrt(3 * np.pi),
    "mu_star2": 2 / np.pi * np.arcsin(2 / 3) - 4 / (3 * np.pi),
    "nu2": 4 / (np.pi * np.sqrt(5)) - 4 / (3 * np.pi),
}
CLOSED_FORMS = {
    "relu": RELU,
    "relu_shifted": {**RELU, "mu0": 0.0},
    "erf": ERF,
    "linear": {"mu0": 0.0, "mu1": 1.0, "mu_star2": 0.0, "nu2": 0.0},
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_moments_match_closed_forms(name):
    moments = get_activation(name).moments
    for key, expected in CLOSED_FORMS[name].items():
        assert getattr(moments, key) == pytest.approx(expected, abs=1e-10), key


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_moments_match_monte_carlo(name):
    """4e6 samples: standard errors ~ 5e-4; tolerance 5 standard errors of each average."""
    act = get_activation(name)
    g = np.random.default_rng(0).standard_normal(4_000_000)
    s, ds = act(g), act.derivative(g)
    mc = {
        "mu0": s.mean(),
        "mu1": (g * s).mean(),
        "mu_star2": (s**2).mean() - s.mean() ** 2 - (g * s).mean() ** 2,
        "nu2": (ds**2).mean() - (g * s).mean() ** 2,
    }
    sem = {
        "mu0": s.std(),
        "mu1": (g * s).std(),
        "mu_star2": (s**2).std()
        + 2 * abs(s.mean()) * s.std()
        + 2 * abs((g * s).mean()) * (g * s).std(),
        "nu2": (ds**2).std() + 2 * abs((g * s).mean()) * (g * s).std(),
    }
    for key, value in mc.items():
        tol = 5 * sem[key] / np.sqrt(g.size) + 1e-12
        assert getattr(act.moments, key) == pytest.approx(value, abs=tol), key


def test_stein_identity_mu1_equals_mean_derivative():
    for act in ACTIVATIONS.values():
        assert gaussian_expectation(act.derivative, act.kinks) == pytest.approx(
            act.moments.mu1, abs=1e-10
        )


def test_kink_is_integrated_exactly_not_by_node_count():
    """A ReLU kinked away from zero: E max(G - 1, 0) = phi(1) - (1 - Phi(1))."""
    from scipy.stats import norm

    act = custom("relu_at_1", lambda t: np.maximum(t - 1, 0), lambda t: (t > 1) * 1.0, kinks=[1])
    expected = norm.pdf(1) - norm.sf(1)
    assert act.moments.mu0 == pytest.approx(expected, abs=1e-13)


def test_custom_activation_and_pickling():
    import pickle

    act = custom("cube", np.negative, lambda t: -np.ones_like(t))
    assert act.moments.mu1 == pytest.approx(-1.0, abs=1e-12)
    relu = pickle.loads(pickle.dumps(get_activation("relu")))
    assert relu is get_activation("relu")


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="activation: unknown activation 'swish'"):
        get_activation("swish")


def test_custom_rejects_bad_callables():
    with pytest.raises(ValueError, match="derivative"):
        custom("bad", np.tanh, lambda t: np.nan * t)
    with pytest.raises(TypeError, match="activation"):
        custom("bad", 3.0, np.tanh)
