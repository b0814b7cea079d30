"""A frozen, validated parameter set (spec section 1).

psi1 = N/d > 0, psi2 = n/d > 0, eps >= 0 (training radius), eps_test >= 0 (test radius,
= eps unless given), lam >= 0 (ridge psi1 * lam * ||a||^2), signal = F1 > 0, noise = tau >= 0,
activation: a name of `advrf.ACTIVATIONS` or an `Activation`. Every number is at most 1e100, and
psi1, psi2, signal are at least 1e-100 (LARGEST, SMALLEST); psi1 may also be inf (the
infinite-width limit, `advrf.theory.wide`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from advrf.activations import Activation, GaussianMoments, get_activation

# (lower bound, whether the bound itself is allowed, what the parameter is)
_RANGES: dict[str, tuple[float, bool, str]] = {
    "psi1": (0.0, False, "width ratio N/d"),
    "psi2": (0.0, False, "sample ratio n/d"),
    "eps": (0.0, True, "training attack radius"),
    "eps_test": (0.0, True, "test attack radius"),
    "lam": (0.0, True, "ridge strength"),
    "signal": (0.0, False, "signal norm F1 = ||beta||"),
    "noise": (0.0, True, "noise standard deviation tau"),
}
NUMERIC_PARAMETERS = tuple(_RANGES)
# Every value is at most LARGEST, and one whose lower bound is excluded is at least SMALLEST:
# beyond, the errors (of order signal^2, eps_test^2 signal^2, ...) or the spectrum's transforms
# (psi1^2, psi1 / psi2) leave double precision.
LARGEST = 1e100
SMALLEST = 1e-100
# Parameters that may also be +inf (a limit the theory solves directly; simulations refuse it).
MAY_BE_INFINITE = frozenset({"psi1"})


def check_number(name: str, value: Any) -> float:
    """Return `value` as a float, or raise ValueError naming the parameter and its allowed range."""
    low, closed, meaning = _RANGES[name]
    bottom = f">= {low:g}" if closed else f"> {low:g}, at least {SMALLEST:g},"
    allowed = f"{name} ({meaning}) must be a finite number {bottom} and at most {LARGEST:g}"
    if name in MAY_BE_INFINITE:
        allowed += ", or inf"
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{allowed}; got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{allowed}; got {value!r}") from None
    if number == math.inf and name in MAY_BE_INFINITE:
        return number
    if not math.isfinite(number) or number < low or (number == low and not closed):
        raise ValueError(f"{allowed}; got {value!r}")
    if number > LARGEST or (not closed and number < SMALLEST):
        raise ValueError(f"{allowed}; got {value!r}")
    return number


@dataclass(frozen=True)
class Problem:
    """One point of parameter space, validated once at construction."""

    psi1: float
    psi2: float
    eps: float
    eps_test: float | None = None
    lam: float = 0.0
    signal: float = 1.0
    noise: float = 0.0
    activation: Activation = field(default="relu_shifted")  # type: ignore[assignment]

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        if self.eps_test is None:
            set_("eps_test", self.eps)
        for name in NUMERIC_PARAMETERS:
            set_(name, check_number(name, getattr(self, name)))
        set_("activation", get_activation(self.activation))

    @property
    def moments(self) -> GaussianMoments:
        return self.activation.moments

    @property
    def null_risk(self) -> float:
        """Risk of the zero predictor, F1^2 + tau^2."""
        return self.signal**2 + self.noise**2

    def with_(self, **changes: Any) -> Problem:
        """A copy with some parameters changed (validated again).

        eps_test follows a new eps when it was equal to the old one and is not itself changed.
        """
        if "eps" in changes and "eps_test" not in changes and self.eps_test == self.eps:
            changes["eps_test"] = None
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain parameters (the activation by name): what a result record carries."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["activation"] = self.activation.name
        return out
