"""Parameter grids: the list / range syntax shared by `advrf theory` and `advrf sweep`.

A value is one number `0.5`, a list `0.5,1,2`, a linear range `lin:START:STOP:COUNT` or a
logarithmic range `log:START:STOP:COUNT` (both ends included). A grid is the Cartesian product of
the values of every parameter, in the order the parameters are given (the last varies fastest).
A range has at most MAX_VALUES values and a grid at most MAX_POINTS points; -0 is read as 0 (one
point, one key).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_VALUES = 1_000_000  # values of one parameter
MAX_POINTS = 1_000_000  # points of a grid (the product over the parameters)


@dataclass(frozen=True)
class Axis:
    """The values of one parameter, and whether they were given as a logarithmic range."""

    name: str
    values: tuple[Any, ...]
    log: bool = False


def parse_values(name: str, text: str) -> Axis:
    """Parse `text` (number, list, lin:/log: range) into an Axis; errors name the parameter."""
    text = str(text).strip()
    if not text:
        raise ValueError(f"{name}: empty value")
    kind, _, rest = text.partition(":")
    if kind in ("lin", "log"):
        parts = rest.split(":")
        if len(parts) != 3:
            raise ValueError(f"{name}: a range is {kind}:START:STOP:COUNT; got {text!r}")
        start, stop = (_number(name, p) for p in parts[:2])
        try:
            count = int(parts[2])
        except ValueError:
            raise ValueError(f"{name}: COUNT in {text!r} must be an integer >= 1") from None
        if count < 1 or count > MAX_VALUES:
            raise ValueError(f"{name}: COUNT in {text!r} must be an integer in [1, {MAX_VALUES}]")
        if kind == "log":
            if start <= 0 or stop <= 0:
                raise ValueError(f"{name}: a log range needs START, STOP > 0; got {text!r}")
            values = np.geomspace(start, stop, count)
        else:
            values = np.linspace(start, stop, count)
        return Axis(name, tuple(float(v) + 0.0 for v in values), log=kind == "log" and count > 1)
    parts = text.split(",")
    if len(parts) > MAX_VALUES:
        raise ValueError(f"{name}: {len(parts)} values; at most {MAX_VALUES}")
    return Axis(name, tuple(_number(name, p) for p in parts))


def parse_names(name: str, text: str) -> Axis:
    """A comma-separated list of names (e.g. activations)."""
    values = tuple(v.strip() for v in str(text).split(",") if v.strip())
    if not values:
        raise ValueError(f"{name}: empty value")
    return Axis(name, values)


def _number(name: str, text: str) -> float:
    try:
        return float(text) + 0.0  # -0 -> 0
    except ValueError:
        raise ValueError(
            f"{name}: {text!r} is not a number (use 0.5, 0.5,1,2, lin:START:STOP:COUNT or "
            "log:START:STOP:COUNT)"
        ) from None


def points(axes: Sequence[Axis]) -> Iterator[dict[str, Any]]:
    """The Cartesian product of the axes, in grid order (the last axis varies fastest); a grid of
    more than MAX_POINTS points is refused here, before any point is made."""
    grid_size(axes)
    names = [axis.name for axis in axes]
    return (
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(axis.values for axis in axes))
    )


def grid_size(axes: Sequence[Axis]) -> int:
    """The number of points; ValueError naming the axes when it exceeds MAX_POINTS."""
    size = math.prod(len(axis.values) for axis in axes)
    if size > MAX_POINTS:
        counts = " x ".join(f"{axis.name} {len(axis.values)}" for axis in axes)
        raise ValueError(
            f"grid: {counts} is {size} points, more than {MAX_POINTS}; split it into several runs"
        )
    return size


def axes_from_mapping(spec: Mapping[str, Any]) -> list[Axis]:
    """Axes from {name: value-text or sequence}; names of strings are kept as names."""
    axes = []
    for name, value in spec.items():
        if isinstance(value, str) and name == "activation":
            axes.append(parse_names(name, value))
        elif isinstance(value, str):
            axes.append(parse_values(name, value))
        elif isinstance(value, Sequence):
            axes.append(Axis(name, tuple(_zero(v) for v in value)))
        else:
            axes.append(Axis(name, (_zero(value),)))
    grid_size(axes)
    return axes


def _zero(value: Any) -> Any:
    """-0.0 -> 0.0; anything else as it is."""
    return value + 0.0 if isinstance(value, float) else value
