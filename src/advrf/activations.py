"""Activations sigma, their weak derivatives, and their Gaussian moments (conventions 2).

For G ~ N(0, 1):

    mu0 = E sigma(G),   mu1 = E G sigma(G) = E sigma'(G),
    mu_star^2 = E sigma(G)^2 - mu0^2 - mu1^2,   nu^2 = E sigma'(G)^2 - mu1^2.

Smooth activations are integrated by Gauss-Hermite quadrature. Piecewise-smooth ones (ReLU) declare
their kinks; the Gaussian integral is then split at each kink and every smooth piece is integrated
by Gauss-Legendre on a finite interval that carries all but 1e-30 of the Gaussian mass, so the kink
costs no precision.

Every `Activation` is checked once, when it is made (`custom(...)` for a user activation): sigma
and sigma' accept numpy arrays elementwise and are finite on the quadrature nodes, sigma' agrees
with finite differences of sigma, the moments are resolved by the quadrature (a second rule with
1.5 times the nodes agrees; an undeclared kink is found and named), and they define a theory:
finite, sigma not constant, and nu^2 >= 2 mu_star^2 (Hermite expansion: nu^2 = sum_k k a_k^2 over
k >= 2, mu_star^2 = sum_k a_k^2; a violation means sigma' is not the derivative of sigma).
"""

from __future__ import annotations

import importlib
import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
from scipy import special

ArrayFn = Callable[[np.ndarray], np.ndarray]

GAUSS_HERMITE_NODES = 160
GAUSS_LEGENDRE_NODES = 120
CHECK_NODES_FACTOR = 1.5  # the second rule that checks the first has 1.5 times the nodes
GAUSSIAN_TAIL = 12.0  # |t| > 12 carries less than 1e-32 of the N(0, 1) mass
INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
# Relative disagreement of the two quadrature rules above which the moments are not resolved.
QUADRATURE_TOL = 1e-8
# sigma' against finite differences of sigma, relative to the largest |sigma'| on the probes.
DERIVATIVE_TOL = 1e-6
# A moment below this fraction of E sigma(G)^2 (resp. E sigma'(G)^2) is round-off: set to 0.
ROUND_OFF = 1e-12
# max |sigma| on the quadrature nodes must lie in this range (the theory squares sigma twice).
SCALE_RANGE = (1e-50, 1e50)
# Finite-difference probes: generic points (no kink of a usual activation sits near one).
_PROBES = np.linspace(-8.0, 8.0, 65) + 0.012345


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


@cache
def quadrature_rule(kinks: tuple[float, ...] = (), factor: float = 1.0) -> tuple:
    """(nodes, weights) with sum(weights * f(nodes)) ~ E f(G), split at the kinks of f.

    factor scales the node count (the check rule uses CHECK_NODES_FACTOR).
    """
    inner = sorted(k for k in kinks if abs(k) < GAUSSIAN_TAIL)
    if not inner:
        nodes, weights = special.roots_hermitenorm(round(GAUSS_HERMITE_NODES * factor))
        return nodes, weights * INV_SQRT_2PI
    cuts = [-GAUSSIAN_TAIL, *inner, GAUSSIAN_TAIL]
    x, w = special.roots_legendre(round(GAUSS_LEGENDRE_NODES * factor))
    nodes, weights = [], []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        half = 0.5 * (hi - lo)
        t = lo + half * (x + 1.0)
        nodes.append(t)
        weights.append(half * w * np.exp(-0.5 * t * t) * INV_SQRT_2PI)
    return np.concatenate(nodes), np.concatenate(weights)


def gaussian_expectation(fn: ArrayFn, kinks: Sequence[float] = ()) -> float:
    """E fn(G), G ~ N(0, 1), by quadrature split at the kinks of fn."""
    nodes, weights = quadrature_rule(tuple(float(k) for k in kinks))
    return float(np.dot(weights, fn(nodes)))


@dataclass(frozen=True)
class Activation:
    """An activation sigma, its weak derivative sigma', and the kinks where sigma' jumps.

    Checked when made (see the module docstring); a check that fails raises ValueError saying what
    is wrong. `moments` is then available at once.
    """

    name: str
    sigma: ArrayFn = field(repr=False)
    derivative: ArrayFn = field(repr=False)
    kinks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"activation: the name must be a non-empty string; got {self.name!r}")
        if not callable(self.sigma) or not callable(self.derivative):
            raise TypeError(
                f"activation {self.name!r}: sigma and derivative must be callables of a numpy array"
            )
        object.__setattr__(self, "kinks", _check_kinks(self.name, self.kinks))
        self.__dict__["moments"] = _checked_moments(self)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.sigma(t)

    def __reduce__(self):
        # Named activations travel between processes by name (their lambdas do not pickle).
        if ACTIVATIONS.get(self.name) is self:
            return (get_activation, (self.name,))
        return (Activation, (self.name, self.sigma, self.derivative, self.kinks))

    @cached_property
    def moments(self) -> GaussianMoments:
        """(mu0, mu1, mu_star^2, nu^2) of conventions 2, by quadrature (computed when made)."""
        return _checked_moments(self)


def _check_kinks(name: str, kinks: Sequence[float]) -> tuple[float, ...]:
    message = f"activation {name!r}: kinks must be a list of finite numbers; got {kinks!r}"
    if isinstance(kinks, str | bytes) or not isinstance(kinks, Sequence | np.ndarray):
        raise ValueError(message)
    out = []
    for k in kinks:
        if isinstance(k, bool):
            raise ValueError(message)
        try:
            value = float(k)
        except (TypeError, ValueError):
            raise ValueError(message) from None
        if not math.isfinite(value):
            raise ValueError(message)
        out.append(value + 0.0)  # -0.0 -> 0.0
    return tuple(sorted(set(out)))


def _evaluate(act: Activation, label: str, t: np.ndarray) -> np.ndarray:
    """fn(t) as a finite float array of t's shape, or ValueError saying what is wrong."""
    fn = act.sigma if label == "sigma" else act.derivative
    prefix = f"activation {act.name!r}: {label}"
    hint = (
        "the activation must accept numpy arrays elementwise (use numpy functions, e.g. np.tanh "
        "rather than math.tanh, and np.where rather than if)"
    )
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(fn(t))
    except Exception as error:  # a user function may raise anything: say what and why
        raise ValueError(
            f"{prefix} failed on a numpy array ({type(error).__name__}: {error}); {hint}"
        ) from None
    if values.shape != t.shape or not (
        np.issubdtype(values.dtype, np.floating)
        or np.issubdtype(values.dtype, np.integer)
        or values.dtype == bool
    ):
        raise ValueError(
            f"{prefix} returned {values.dtype} of shape {values.shape} for an array of shape "
            f"{t.shape}; {hint}, returning real numbers of the same shape"
        )
    values = values.astype(float)
    bad = ~np.isfinite(values)
    if np.any(bad):
        where, value = float(t[bad].ravel()[0]), float(values[bad].ravel()[0])
        raise ValueError(
            f"{prefix} is not finite at t = {where!r} ({value!r}); it must be "
            "finite wherever the Gaussian integrals evaluate it (|t| up to "
            f"{float(np.max(np.abs(t))):.0f})"
        )
    return values


def _check_elementwise(act: Activation, label: str) -> None:
    """fn on a 2-d array equals fn on each element alone."""
    t = _PROBES[:64].reshape(8, 8)
    whole = _evaluate(act, label, t)
    alone = np.array([_evaluate(act, label, t.ravel()[i : i + 1])[0] for i in (0, 21, 42, 63)])
    if not np.allclose(whole.ravel()[[0, 21, 42, 63]], alone, rtol=1e-12, atol=0.0):
        raise ValueError(
            f"activation {act.name!r}: {label} of an array differs from {label} of its elements; "
            "the activation must accept numpy arrays elementwise"
        )


def _finite_difference(act: Activation, t: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Fourth-order central difference of sigma at t with steps h."""
    s = lambda x: _evaluate(act, "sigma", x)  # noqa: E731
    return (8.0 * (s(t + h) - s(t - h)) - (s(t + 2 * h) - s(t - 2 * h))) / (12.0 * h)


def _check_derivative(act: Activation) -> None:
    """sigma' against finite differences of sigma on generic probes away from declared kinks."""
    kinks = np.asarray(act.kinks)
    t = _PROBES
    if kinks.size:
        t = t[np.min(np.abs(t[:, None] - kinks[None, :]), axis=1) > 0.05]
    d = _evaluate(act, "derivative", t)
    scale = 1.0 + np.abs(t)
    errors = [np.abs(d - _finite_difference(act, t, h * scale)) for h in (1e-3, 1e-4, 1e-5)]
    best = np.min(errors, axis=0)
    fd = _finite_difference(act, t, 1e-3 * scale)
    tol = DERIVATIVE_TOL * max(float(np.max(np.abs(d))), float(np.max(np.abs(fd))), 1e-300)
    bad = np.flatnonzero(best > tol)
    if bad.size:
        i = int(np.argmax(best))
        jumps = _kinks_of_sigma(act, _jumps(act, "derivative", t[i] - 0.05, t[i] + 0.05))
        if jumps:
            raise ValueError(
                f"activation {act.name!r}: the derivative jumps at t = {jumps[0]!r}, a kink that "
                f"kinks= does not declare; pass kinks={_suggest(act, jumps)}"
            )
        raise ValueError(
            f"activation {act.name!r}: the derivative is not the derivative of sigma: at t = "
            f"{float(t[i])!r} it is {float(d[i])!r} but finite differences of sigma give "
            f"{float(fd[i])!r} ({bad.size} of {t.size} probe points in [-8, 8] disagree)"
        )


def _jumps(act: Activation, label: str, lo: float, hi: float, step: float = 0.005) -> list[float]:
    """Points in [lo, hi] where fn jumps (a jump survives bisection to 1e-12; a steep smooth
    function does not), away from the declared kinks."""
    t = np.linspace(lo, hi, max(5, int((hi - lo) / step) + 1)) + 0.0123 * step
    v = _evaluate(act, label, t)
    dv = np.abs(np.diff(v))
    floor = 1e-9 * max(float(np.max(np.abs(v))), 1e-300)
    # Compared with the differences two steps away (a node that hits the jump splits it in two).
    neighbours = np.maximum(np.r_[0.0, 0.0, dv[:-2]], np.r_[dv[2:], 0.0, 0.0])
    found: set[float] = set()
    for i in np.flatnonzero((dv > floor) & (dv > 10.0 * neighbours)):
        a, b, size = float(t[i]), float(t[i + 1]), float(dv[i])
        va, vb = v[i], v[i + 1]
        for _ in range(60):
            m = 0.5 * (a + b)
            vm = _evaluate(act, label, np.array([m]))[0]
            if abs(vm - va) > abs(vb - vm):
                b, vb = m, vm
            else:
                a, va = m, vm
            if b - a < 1e-12 * max(1.0, abs(m)):
                break
        if abs(vb - va) > 0.5 * size:
            point = round(0.5 * (a + b), 9) + 0.0
            if all(abs(point - k) > 1e-6 for k in act.kinks):
                found.add(point)
    return sorted(found)


def _kinks_of_sigma(act: Activation, jumps: list[float]) -> list[float]:
    """The jumps of sigma' where sigma itself kinks (its one-sided slopes differ by the jump)."""
    out = []
    for p in jumps:
        h = 1e-6 * max(1.0, abs(p))
        s = _evaluate(act, "sigma", np.array([p - h, p, p + h]))
        d = _evaluate(act, "derivative", np.array([p - h, p + h]))
        if abs((s[2] - s[1]) - (s[1] - s[0])) / h > 0.5 * abs(d[1] - d[0]):
            out.append(p)
    return out


def _suggest(act: Activation, jumps: list[float]) -> str:
    return repr(sorted({*act.kinks, *jumps}))


def _moments_by(act: Activation, factor: float) -> tuple[np.ndarray, float, float]:
    """[mu0, mu1, mu_star^2, nu^2] by the rule with `factor` times the nodes, E sigma^2 and
    E sigma'^2 (the scales of the cancellations)."""
    t, w = quadrature_rule(act.kinks, factor)
    s = _evaluate(act, "sigma", t)
    ds = _evaluate(act, "derivative", t)
    with np.errstate(all="ignore"):
        mu0, mu1 = np.dot(w, s), np.dot(w, t * s)
        second, dsecond = np.dot(w, s * s), np.dot(w, ds * ds)
        values = np.array([mu0, mu1, second - mu0 * mu0 - mu1 * mu1, dsecond - mu1 * mu1])
    return values, float(second), float(dsecond)


def _checked_moments(act: Activation) -> GaussianMoments:
    """The moments of `act` after every check of the module docstring."""
    name = act.name
    for label in ("sigma", "derivative"):
        _check_elementwise(act, label)
    fine, fine_second, fine_dsecond = _moments_by(act, CHECK_NODES_FACTOR)
    values, second, dsecond = _moments_by(act, 1.0)
    largest = float(np.max(np.abs(_evaluate(act, "sigma", quadrature_rule(act.kinks)[0]))))
    low, high = SCALE_RANGE
    if not low <= largest <= high:
        raise ValueError(
            f"activation {name!r}: the largest |sigma| on the quadrature nodes is {largest!r}, "
            f"outside [{low:g}, {high:g}]; rescale sigma"
        )
    if not (np.all(np.isfinite(values)) and math.isfinite(second) and math.isfinite(dsecond)):
        raise ValueError(
            f"activation {name!r}: its Gaussian moments overflow (E sigma(G)^2 = {second!r}, "
            f"E sigma'(G)^2 = {dsecond!r}); rescale sigma"
        )
    _check_derivative(act)
    scales = np.array([math.sqrt(second), math.sqrt(second), second, max(dsecond, second)])
    change = np.abs(values - fine) / scales
    if np.max(change) > QUADRATURE_TOL or abs(second - fine_second) > QUADRATURE_TOL * second:
        labels = ("mu0", "mu1", "mu_star^2", "nu^2")
        worst = int(np.argmax(change))
        what = (
            f"{labels[worst]} changes by {change[worst]:.2g} (relative) between "
            f"{len(quadrature_rule(act.kinks)[0])} and "
            f"{len(quadrature_rule(act.kinks, CHECK_NODES_FACTOR)[0])} quadrature nodes"
        )
        jumps = _jumps(act, "derivative", -GAUSSIAN_TAIL, GAUSSIAN_TAIL)
        kinks = _kinks_of_sigma(act, jumps)
        steps = _jumps(act, "sigma", -GAUSSIAN_TAIL, GAUSSIAN_TAIL)
        if steps:
            cause = f"sigma jumps at t = {steps[0]!r} (it must be continuous)"
        elif len(kinks) < len(jumps):
            wrong = sorted(set(jumps) - set(kinks))[0]
            cause = f"the derivative jumps at t = {wrong!r}, where sigma has no kink"
        elif kinks:
            cause = (
                f"the derivative jumps at t = {kinks[0]!r}, a kink that kinks= does not "
                f"declare; pass kinks={_suggest(act, kinks)}"
            )
        else:
            cause = "sigma grows too fast or oscillates too much for Gaussian quadrature"
        raise ValueError(f"activation {name!r}: its Gaussian moments are not resolved ({what}): "
                         f"{cause}")  # fmt: skip
    mu0, mu1, mu_star2, nu2 = (float(v) for v in values)
    # Round-off of the cancellations (linear activation: exactly 0, not 1e-15).
    mu0 = 0.0 if abs(mu0) <= ROUND_OFF * math.sqrt(second) else mu0
    mu1 = 0.0 if abs(mu1) <= ROUND_OFF * math.sqrt(second) else mu1
    mu_star2 = 0.0 if mu_star2 <= ROUND_OFF * second else mu_star2
    nu2 = 0.0 if nu2 <= ROUND_OFF * max(dsecond, second) else nu2
    if mu1 == 0.0 and mu_star2 == 0.0:
        raise ValueError(
            f"activation {name!r}: sigma is constant on the Gaussian (E sigma(G)^2 = {second!r} "
            f"is all mu0^2 = {mu0 * mu0!r}): random features of it carry no information"
        )
    if nu2 < 2.0 * mu_star2 * (1.0 - 1e-6):
        raise ValueError(
            f"activation {name!r}: nu^2 = {nu2!r} < 2 mu_star^2 = {2.0 * mu_star2!r}, impossible "
            "when the derivative is the weak derivative of a continuous sigma; check the "
            "derivative (and that sigma has no jump)"
        )
    return GaussianMoments(mu0 + 0.0, mu1 + 0.0, mu_star2, nu2)


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
    """A named activation, an `Activation` passed through, or "package.module:NAME": the
    `Activation` that the importable module defines at top level as NAME (made with `custom`)."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    if isinstance(activation, str) and ":" in activation:
        return _from_module(activation)
    raise ValueError(
        f"activation: unknown activation {activation!r}; choose one of "
        f"{', '.join(ACTIVATIONS)}, give package.module:NAME (an Activation defined in an "
        "importable module), or pass advrf.activations.custom(name, sigma, derivative)"
    )


def _from_module(target: str) -> Activation:
    module_name, _, attribute = target.partition(":")
    usage = (
        "package.module:NAME names an Activation defined at the top level of an importable "
        "module, e.g. NAME = advrf.custom('name', sigma, derivative, kinks=[...])"
    )
    if not module_name or not attribute.isidentifier():
        raise ValueError(f"activation: {target!r} is not of the form package.module:NAME; {usage}")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # importing user code may raise anything: say what and why
        raise ValueError(
            f"activation: cannot import {module_name!r} for {target!r} "
            f"({type(error).__name__}: {error}); {usage}"
        ) from None
    if not hasattr(module, attribute):
        raise ValueError(f"activation: module {module_name!r} has no {attribute!r}; {usage}")
    value = getattr(module, attribute)
    if not isinstance(value, Activation):
        raise ValueError(
            f"activation: {target!r} is a {type(value).__name__}, not an Activation (its "
            f"derivative and kinks are needed too); {usage}"
        )
    return value


def check_picklable(activation: Activation) -> Activation:
    """`activation` if it can travel to worker processes, else ValueError saying how to fix it
    (call before submitting work to workers > 1: an unpicklable one fails there, or hangs)."""
    try:
        pickle.dumps(activation)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            f"activation {activation.name!r} cannot be sent to worker processes ({error}): define "
            "sigma and its derivative as module-level functions of an importable module (no "
            "lambdas or nested functions) to use workers > 1, or use workers = 1"
        ) from None
    return activation


def custom(
    name: str, sigma: ArrayFn, derivative: ArrayFn, kinks: Sequence[float] = ()
) -> Activation:
    """A user activation: vectorised sigma, its weak derivative, and where it kinks; checked now
    (module docstring), a ValueError says what is wrong."""
    return Activation(name, sigma, derivative, kinks)  # type: ignore[arg-type]
