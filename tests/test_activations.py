"""Gaussian moments of conventions 2: closed forms and Monte-Carlo."""

import math

import numpy as np
import pytest

from advrf.activations import (
    ACTIVATIONS,
    check_picklable,
    custom,
    gaussian_expectation,
    get_activation,
)

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


def _dtanh(t):
    return 1.0 / np.cosh(t) ** 2


def test_wrong_derivative_is_refused():
    """Twice the true derivative: the theory would return 0.370 instead of 0.299 (issue 10.6)."""
    with pytest.raises(ValueError, match="'tanh2x': the derivative is not the derivative of sigma"):
        custom("tanh2x", np.tanh, lambda t: 2.0 * _dtanh(t))
    # A derivative wrong only on |t| in [4, 8], where the probes still look; no kink to declare.
    with pytest.raises(ValueError, match="'far': the derivative is not the derivative"):
        custom("far", np.tanh, lambda t: np.where(np.abs(t) > 4, 0.5, 1.0) * _dtanh(t))


def test_non_finite_on_the_quadrature_nodes_is_refused():
    nan_out = lambda t: np.where(np.abs(t) < 3, np.tanh(t), np.nan)  # noqa: E731
    with pytest.raises(ValueError, match="'nan_out': sigma is not finite at t = "):
        custom("nan_out", nan_out, _dtanh)
    with pytest.raises(ValueError, match="'d_inf': derivative is not finite"):
        custom("d_inf", np.tanh, lambda t: np.where(np.abs(t) > 20, np.inf, _dtanh(t)))


@pytest.mark.parametrize("kinks", [[np.nan], [np.inf], ["a"], "0", [True]])
def test_bad_kinks_are_refused(kinks):
    with pytest.raises(ValueError, match="kinks must be a list of finite numbers"):
        custom("k", np.tanh, _dtanh, kinks=kinks)


def test_kinks_are_normalised():
    act = custom("r", lambda t: np.maximum(t, 0.0), lambda t: (t > 0) * 1.0, kinks=[-0.0, 0])
    assert act.kinks == (0.0,) and str(act.kinks[0]) == "0.0"


def test_constant_huge_and_tiny_activations_are_refused():
    """These crashed the theory with ZeroDivisionError / OverflowError (issue 10.6)."""
    with pytest.raises(ValueError, match="'one': sigma is constant on the Gaussian"):
        custom("one", np.ones_like, np.zeros_like)
    with pytest.raises(ValueError, match="'huge': the largest |sigma| .* rescale sigma"):
        custom("huge", lambda t: 1e200 * np.tanh(t), lambda t: 1e200 * _dtanh(t))
    with pytest.raises(ValueError, match="'tiny': the largest |sigma| .* rescale sigma"):
        custom("tiny", lambda t: 1e-200 * np.tanh(t), lambda t: 1e-200 * _dtanh(t))
    with pytest.raises(ValueError, match="'dhuge': its Gaussian moments overflow"):
        custom("dhuge", np.tanh, lambda t: 1e200 * _dtanh(t))


def test_scaled_activation_is_accepted_and_scales_the_moments():
    big = custom("big", lambda t: 1e40 * np.tanh(t), lambda t: 1e40 * _dtanh(t)).moments
    tanh = get_activation("tanh").moments
    assert big.mu1 == pytest.approx(1e40 * tanh.mu1, rel=1e-13)
    assert big.nu2 == pytest.approx(1e80 * tanh.nu2, rel=1e-12)


@pytest.mark.parametrize(
    "sigma", [math.tanh, lambda t: t if t > 0 else 0.0, lambda t: float(np.sum(t))]
)
def test_non_vectorised_activation_gets_a_clear_message(sigma):
    with pytest.raises(ValueError, match="the activation must accept numpy arrays elementwise"):
        custom("scalar", sigma, _dtanh)


def test_not_elementwise_activation_is_refused():
    with pytest.raises(ValueError, match="differs from sigma of its elements"):
        custom("norm", lambda t: t / np.linalg.norm(t), lambda t: 0 * t + 1.0)


def test_undeclared_kink_is_found_and_named():
    """A ReLU without kinks=[0] lost accuracy silently (mu_star^2 0.09002, not 0.09085)."""
    relu, step = (lambda t: np.maximum(t, 0.0)), (lambda t: (t > 0) * 1.0)
    with pytest.raises(ValueError, match=r"derivative jumps at t = 0.0.*pass kinks=\[0.0\]"):
        custom("myrelu", relu, step)
    with pytest.raises(ValueError, match=r"jumps at t = 1.0.*pass kinks=\[-1.0, 1.0\]"):
        custom("clip", lambda t: np.clip(t, -1, 1), lambda t: (np.abs(t) < 1) * 1.0, kinks=[-1])
    declared = custom("myrelu", relu, step, kinks=[0])
    assert declared.moments.mu_star2 == pytest.approx(RELU["mu_star2"], abs=1e-13)


def test_jump_of_sigma_is_refused():
    with pytest.raises(ValueError, match="sigma jumps at t = 0.0 .it must be continuous"):
        custom("sign", np.sign, np.zeros_like)


def test_derivative_that_misses_a_jump_is_refused_even_with_the_kink_declared():
    """sign declared kinked at 0 integrates exactly, but its weak derivative is a delta."""
    with pytest.raises(ValueError, match="nu\\^2 = 0.0 < 2 mu_star\\^2"):
        custom("sign", np.sign, np.zeros_like, kinks=[0])


def test_unresolved_smooth_activation_is_refused():
    with pytest.raises(ValueError, match="not resolved .*oscillates"):
        custom("steep", lambda t: np.tanh(50 * t), lambda t: 50 * _dtanh(50 * t))


def test_linear_moments_are_exactly_zero():
    """Quadrature round-off (1e-15) must not make the linear activation look nonlinear."""
    m = get_activation("linear").moments
    assert m.mu_star2 == 0.0 and m.nu2 == 0.0 and m.mu0 == 0.0


def test_activation_from_a_module(tmp_path, monkeypatch):
    (tmp_path / "my_acts.py").write_text(
        "import numpy as np\n"
        "import advrf\n"
        "def sigma(t):\n    return np.maximum(t, 0.0) - 0.5\n"
        "def dsigma(t):\n    return (t > 0) * 1.0\n"
        "shifted = advrf.custom('shifted', sigma, dsigma, kinks=[0])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    act = get_activation("my_acts:shifted")
    assert act.name == "shifted" and act.moments.mu1 == pytest.approx(0.5, abs=1e-13)
    assert get_activation("my_acts:shifted") is act
    import pickle

    again = pickle.loads(pickle.dumps(act))
    assert again.moments == act.moments
    with pytest.raises(ValueError, match="'my_acts:sigma' is a function, not an Activation"):
        get_activation("my_acts:sigma")
    with pytest.raises(ValueError, match="module 'my_acts' has no 'nope'"):
        get_activation("my_acts:nope")
    with pytest.raises(ValueError, match="cannot import 'no_such_module_x'.*ModuleNotFoundError"):
        get_activation("no_such_module_x:f")
    with pytest.raises(ValueError, match="not of the form package.module:NAME"):
        get_activation("my_acts:")


def test_check_picklable_says_to_use_module_level_functions():
    local = custom("local", lambda t: np.tanh(t), _dtanh)
    with pytest.raises(ValueError, match="'local' cannot be sent to workers?.*module-level"):
        check_picklable(local)
    module_level = custom("mod", np.tanh, _dtanh)
    assert check_picklable(module_level) is module_level
    assert check_picklable(get_activation("relu")) is get_activation("relu")
