"""Activations sigma, their weak derivatives, and their Gaussian moments (conventions 2).

For G ~ N(0, 1):

    mu0 = E sigma(G),   mu1 = E G sigma(G) = E sigma'(G),
    mu_star^2 = E sigma(G)^2 - mu0^2 - mu1^2,   nu^2 = E sigma'(G)^2 - mu1^2.

Smooth activations are integrated by Gauss-Hermite quadrature. Piecewise-smooth ones (ReLU) declare
their kinks; the Gaussian integral is then split at each kink and every smooth piece is integrated
by Gauss-Legendre on a finite interval that carries all but 1e-30 of the Gaussian mass, so the kink
costs no precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import special

ArrayFn = Callable[[np.ndarray], np.ndarray]

GAUSS_HERMITE_NODES = 160
GAUSS_LEGENDRE_NODES = 120
GAUSSIAN_TAIL = 12.0  # |t| > 12 carries less than 1e-32 of the N(0, 1) mass
INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class GaussianMoments:
    """Gaussian moments of an activation: the only way the theory sees it."""

    mu0: float
    mu1: float
    mu_star2: float
    nu2: float

    @property
    def mu_star(self) -> float:
        return float(np.sqrt(max(self.mu_star2, 0.0)))

    @property
    def nu(self) -> float:
        return float(np.sqrt(max(self.nu2, 0.0)))


def gaussian_expectation(fn: ArrayFn, kinks: Sequence[float] = ()) -> float:
    """E fn(G), G ~ N(0, 1), by quadrature split at the kinks of fn."""
    if not kinks:
        nodes, weights = special.roots_hermitenorm(GAUSS_HERMITE_NODES)
        return float(np.dot(weights, fn(nodes)) * INV_SQRT_2PI)
    cuts = [-GAUSSIAN_TAIL, *sorted(k for k in kinks if abs(k) < GAUSSIAN_TAIL), GAUSSIAN_TAIL]
    nodes, weights = special.roots_legendre(GAUSS_LEGENDRE_NODES)
    total = 0.0
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        half = 0.5 * (hi - lo)
        t = lo + half * (nodes + 1.0)
        total += half * np.dot(weights, fn(t) * np.exp(-0.5 * t * t))
    return float(total * INV_SQRT_2PI)


@dataclass(frozen=True)
class Activation:
    """An activation sigma, its weak derivative sigma', and the kinks where sigma' jumps."""

    name: str
    sigma: ArrayFn = field(repr=False)
    derivative: ArrayFn = field(repr=False)
    kinks: tuple[float, ...] = ()

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.sigma(t)

    def __reduce__(self):
        # Named activations travel between processes by name (their lambdas do not pickle).
        if ACTIVATIONS.get(self.name) is self:
            return (get_activation, (self.name,))
        return (Activation, (self.name, self.sigma, self.derivative, self.kinks))

    @cached_property
    def moments(self) -> GaussianMoments:
        """(mu0, mu1, mu_star^2, nu^2) of conventions 2, by quadrature."""
        e = lambda fn: gaussian_expectation(fn, self.kinks)  # noqa: E731
        mu0 = e(self.sigma)
        mu1 = e(lambda t: t * self.sigma(t))
        second = e(lambda t: self.sigma(t) ** 2)
        dsecond = e(lambda t: self.derivative(t) ** 2)
        mu_star2 = second - mu0**2 - mu1**2
        nu2 = dsecond - mu1**2
        # Quadrature round-off must not turn an exact zero (linear activation) negative.
        return GaussianMoments(mu0, mu1, max(mu_star2, 0.0), max(nu2, 0.0))


def _relu(t: np.ndarray) -> np.ndarray:
    return np.maximum(t, 0.0)


def _step(t: np.ndarray) -> np.ndarray:
    return (np.asarray(t) > 0).astype(float)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return special.expit(t)


def _sigmoid_derivative(t: np.ndarray) -> np.ndarray:
    s = special.expit(t)
    return s * (1.0 - s)


def _erf_derivative(t: np.ndarray) -> np.ndarray:
    return 2.0 / np.sqrt(np.pi) * np.exp(-(np.asarray(t) ** 2))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("relu_shifted", lambda t: _relu(t) - INV_SQRT_2PI, _step, kinks=(0.0,)),
        Activation("relu", _relu, _step, kinks=(0.0,)),
        Activation("tanh", np.tanh, lambda t: 1.0 / np.cosh(t) ** 2),
        Activation("erf", special.erf, _erf_derivative),
        Activation("sigmoid", _sigmoid, _sigmoid_derivative),
        Activation("softplus", lambda t: np.logaddexp(0.0, t), _sigmoid),
        Activation("linear", lambda t: np.asarray(t, dtype=float), np.ones_like),
    )
}


def get_activation(activation: str | Activation) -> Activation:
    """Look up a named activation (or pass an `Activation` through)."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"activation: unknown activation {activation!r}; choose one of "
        f"{', '.join(ACTIVATIONS)} or pass advrf.activations.custom(name, sigma, derivative)"
    )


def custom(
    name: str, sigma: ArrayFn, derivative: ArrayFn, kinks: Sequence[float] = ()
) -> Activation:
    """A user activation: vectorised sigma, its weak derivative, and where it kinks."""
    if not callable(sigma) or not callable(derivative):
        raise TypeError("activation: sigma and derivative must be callables of a numpy array")
    probe = np.linspace(-3.0, 3.0, 7)
    for label, fn in (("sigma", sigma), ("derivative", derivative)):
        values = np.asarray(fn(probe), dtype=float)
        if values.shape != probe.shape or not np.all(np.isfinite(values)):
            raise ValueError(
                f"activation: {label} of {name!r} must map an array to a finite array of the "
                "same shape"
            )
    return Activation(name, sigma, derivative, tuple(float(k) for k in kinks))
