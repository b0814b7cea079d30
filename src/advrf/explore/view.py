"""The state of the explorer (one view), its URL form, its curve and its equivalent commands.

A view fixes every parameter of `advrf.problem.Problem` except one, the x-axis, which runs over a
range `lin:LO:HI:COUNT` or `log:LO:HI:COUNT` parsed by `advrf.grid.parse_values`, exactly as
`advrf theory` parses it; eps_test is either tied to eps (`eps_test = None`, as without
--eps-test on the command line) or free. The curve is solved point by point in x order, each
point warm-started from the previous one (`advrf.theory.solve`); a point where the theory fails
is a gap (NaN) with its message, never a number.
"""

from __future__ import annotations

import csv
import io
import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np

from advrf.activations import get_activation
from advrf.grid import Axis, parse_values
from advrf.problem import NUMERIC_PARAMETERS, Problem
from advrf.theory import TheoryError, TheoryResult, solve
from advrf.theory.equations import Coefficients

# x-axes: every numeric parameter of Problem.
X_AXES = NUMERIC_PARAMETERS
# default range of each x-axis: (from, to, logarithmic)
X_RANGES: dict[str, tuple[float, float, bool]] = {
    "psi1": (0.1, 100.0, True),
    "psi2": (0.1, 100.0, True),
    "eps": (0.0, 1.0, False),
    "eps_test": (0.0, 1.0, False),
    "lam": (1e-4, 10.0, True),
    "signal": (0.1, 3.0, False),
    "noise": (0.0, 2.0, False),
}
ORDER_PARAMETERS = ("norm_a2", "norm_w2", "beta_w", "grad_norm2")
CSV_COLUMNS = (
    "activation", *NUMERIC_PARAMETERS, "robust_error", "standard_error", *ORDER_PARAMETERS,
    "eps_c", "phase", "converged", "error", "curve", "regime", "rho", "c", "message",
)  # fmt: skip
UNTIE = "eps_test as the x-axis needs eps_test free (untie it from eps)"
MAX_COUNT = 2000  # points per curve (a view is computed while a slider moves)
DEFAULT_OUT = "results/explore"


@dataclass(frozen=True)
class View:
    """Every control of the page. The value of the x parameter itself is not used."""

    activation: str = "relu_shifted"
    psi1: float = 1.0
    psi2: float = 2.0
    eps: float = 0.1
    eps_test: float | None = None  # None: tied to eps
    lam: float = 0.0
    signal: float = 1.0
    noise: float = 0.0
    x: str = "psi1"
    lo: float = 0.1
    hi: float = 100.0
    count: int = 200
    log: bool = True
    order: bool = False  # show the order parameters
    best: bool = False  # the best recipe along x (advrf.explore.answers)
    front: bool = False  # the fronts at x = the view's value of the x parameter
    best_count: int = 20  # points of the best-recipe curve (a coarse grid: 0.07-0.17 s a point)

    @property
    def tied(self) -> bool:
        return self.eps_test is None

    @property
    def range_text(self) -> str:
        """The x range in the grid syntax of `advrf theory`, floats written exactly."""
        return f"{'log' if self.log else 'lin'}:{self.lo!r}:{self.hi!r}:{self.count}"

    def axis(self) -> Axis:
        """The x values, parsed by `advrf.grid.parse_values` (its messages on bad ranges)."""
        if self.x not in X_AXES:
            raise ValueError(f"x-axis: choose one of {', '.join(X_AXES)}; got {self.x!r}")
        if self.count > MAX_COUNT:
            raise ValueError(f"{self.x}: the explorer draws at most {MAX_COUNT} points a curve")
        return parse_values(self.x, self.range_text)

    def fixed(self) -> dict[str, Any]:
        """The parameters other than x, as Problem takes them (eps_test None when tied)."""
        out: dict[str, Any] = {"activation": self.activation}
        for name in NUMERIC_PARAMETERS:
            if name != self.x:
                out[name] = getattr(self, name)
        return out

    def problems(self) -> list[Problem]:
        """One validated Problem per x value; raises ValueError with the CLI's message."""
        get_activation(self.activation)
        if self.x == "eps_test" and self.tied:
            raise ValueError(UNTIE)
        axis = self.axis()
        base = self.fixed()
        return [Problem(**{**base, self.x: value}) for value in axis.values]

    def with_(self, **changes: Any) -> View:
        return replace(self, **changes)

    # URL form ---------------------------------------------------------------------------------
    def to_query(self, pins: Sequence[View] = ()) -> str:
        """The view (and pinned views) as a URL query string; `from_query` reads it back."""
        items = list(_items(self))
        items += [("pin", urlencode(_items(pin))) for pin in pins]
        return urlencode(items)

    @classmethod
    def from_query(cls, query: str | Mapping[str, str]) -> tuple[View, list[View]]:
        """(view, pins) from a query string or a mapping; unknown names are refused."""
        pairs = parse_qsl(query) if isinstance(query, str) else list(query.items())
        main = {k: v for k, v in pairs if k != "pin"}
        pins = [_from_items(dict(parse_qsl(v))) for k, v in pairs if k == "pin"]
        return _from_items(main), pins

    # Commands ---------------------------------------------------------------------------------
    def command_arguments(self) -> list[str]:
        """The grid options of `advrf theory` / `advrf sweep` that give this curve."""
        args = ["--activation", self.activation]
        for name in NUMERIC_PARAMETERS:
            if name == "eps_test" and self.tied and self.x != "eps_test":
                continue
            text = self.range_text if name == self.x else repr(float(getattr(self, name)))
            args += ["--" + name.replace("_", "-"), text]
        return args

    def theory_command(self) -> str:
        return shlex.join(["advrf", "theory", *self.command_arguments()])

    def sweep_command(self, out: str = DEFAULT_OUT) -> str:
        return shlex.join(["advrf", "sweep", *self.command_arguments(), "--theory", "--out", out])


def _items(view: View) -> list[tuple[str, str]]:
    out = []
    for f in fields(view):
        value = getattr(view, f.name)
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        out.append((f.name, repr(value) if isinstance(value, float) else str(value)))
    return out


def _from_items(items: Mapping[str, str]) -> View:
    known = {f.name: f for f in fields(View)}
    unknown = sorted(set(items) - set(known))
    if unknown:
        raise ValueError(
            f"unknown view parameter(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    values: dict[str, Any] = {}
    for name, text in items.items():
        if name in ("activation", "x"):
            values[name] = text
        elif name in ("count", "best_count"):
            values[name] = _integer(name, text)
        elif name in ("log", "order", "best", "front"):
            values[name] = _integer(name, text) != 0
        else:
            values[name] = one_number(name, text)
    return View(**values)


def _integer(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not an integer") from None


def one_number(name: str, text: str) -> float:
    """A control's number, parsed as `advrf theory` parses it (same messages); one value only."""
    axis = parse_values(name, text)
    if len(axis.values) != 1 or ":" in str(text):
        raise ValueError(f"{name}: the explorer takes one number here; got {text!r}")
    return float(axis.values[0])


# Curves -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Curve:
    """The theory along a view's x values: results (None where the point failed) and messages."""

    view: View
    problems: tuple[Problem, ...]
    results: tuple[TheoryResult | None, ...]
    errors: tuple[str | None, ...]

    @property
    def x(self) -> np.ndarray:
        return np.array([getattr(p, self.view.x) for p in self.problems])

    def values(self, name: str) -> np.ndarray:
        """A result field along the curve, NaN where the point failed."""
        return np.array([math.nan if r is None else getattr(r, name) for r in self.results])

    @property
    def trivial(self) -> np.ndarray:
        return np.array([r is not None and r.phase == "trivial" for r in self.results])

    @property
    def null_risk(self) -> np.ndarray:
        return np.array([p.null_risk for p in self.problems])

    def failures(self) -> list[tuple[float, str]]:
        return [(x, e) for x, e in zip(self.x, self.errors, strict=True) if e is not None]

    def interpolation_x(self) -> float | None:
        """x where the features that span directions equal the samples, psi1 m = psi2.

        m = 1 for a nonlinear activation (mu_star > 0) and min(1, 1/psi1) for linear features
        (p12 mu(k > 0) = 1). Only psi1 and psi2 move it; None when it is outside the range.
        """
        if self.view.x not in ("psi1", "psi2") or not self.problems:
            return None
        lo, hi = min(self.view.lo, self.view.hi), max(self.view.lo, self.view.hi)
        co = Coefficients.from_problem(self.problems[0])
        other = self.view.psi2 if self.view.x == "psi1" else self.view.psi1
        if co.mustar2 > 0.0:
            at = other
        elif self.view.x == "psi1":
            at = other if other < 1.0 else math.nan  # min(psi1, 1) = psi2 needs psi2 < 1
        else:
            at = min(other, 1.0)
        return at if lo <= at <= hi else None

    def csv_text(self, extra: Sequence[Mapping[str, Any]] = ()) -> str:
        """One row per point (curve "theory"): its parameters and results; a failed point has
        only its error. Then the `extra` rows (the answers: `advrf.explore.answers.csv_rows`)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for problem, result, error in zip(self.problems, self.results, self.errors, strict=True):
            row = problem.to_dict() | {"curve": "theory"}
            row |= result.to_dict() if result is not None else {"converged": False, "error": error}
            writer.writerow([_cell(row.get(name, "")) for name in CSV_COLUMNS])
        for row in extra:
            writer.writerow([_cell(row.get(name, "")) for name in CSV_COLUMNS])
        return buffer.getvalue()


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def compute(view: View) -> Curve:
    """Solve the view's curve (warm starts along x; a failure restarts cold at the next point).

    Raises ValueError (the CLI's message) when a control is out of range. Views that differ only
    in what does not change the curve (the toggles, the x parameter's own value) share one.
    """
    unused = {} if view.x == "eps_test" else {view.x: getattr(View(), view.x)}
    return _compute(
        view.with_(order=False, best=False, front=False, best_count=View.best_count, **unused)
    )


@lru_cache(maxsize=64)
def _compute(view: View) -> Curve:
    problems = view.problems()
    results: list[TheoryResult | None] = []
    errors: list[str | None] = []
    previous: TheoryResult | None = None
    for problem in problems:
        try:
            previous = solve(problem, start=previous)
        except TheoryError as error:
            previous = None
            results.append(None)
            errors.append(str(error))
            continue
        results.append(previous)
        errors.append(None)
    return Curve(view, tuple(problems), tuple(results), tuple(errors))
