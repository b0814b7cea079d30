"""The answers on an explorer view: the best recipe along x, and the front at one x.

Best recipe (`advrf.theory.optimize.best_recipe`, `advrf optimize`): at each x of a coarse grid
(the view's range with `best_count` points, same log or linear spacing) the training recipe
(eps*, lam*) that minimises

    E_rob(eps, lam) at the point's eps_test,  for the point's activation, psi1, psi2, signal, noise,

and its errors E_rob*, E_std*. The view's own eps and lam do not enter; so where x is lam, or eps
with eps_test free, the answer does not depend on x: one point, drawn flat over the range.

Front (`advrf.theory.front.front`, `advrf front`): the robustness-accuracy fronts (E_std, E_rob at
eps_test) of the setting at x = `at` (the view's own value of the x parameter), with that
setting's best recipe and baselines, and the view's recipe (eps, lam) there (`advrf.theory.solve`).

A best recipe costs 0.07 to 0.17 s and a front 0.3 to 0.46 s (docs/benchmarks.md), about
a thousand times a curve point, so the page computes them in a worker process, one by one, and draws
them as they arrive. A point where the theory fails is a gap with its message, never a number.
"""

from __future__ import annotations

import math
import os
import shlex
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from advrf.explore.view import View
from advrf.problem import Problem
from advrf.theory import TheoryError, solve
from advrf.theory.front import front
from advrf.theory.optimize import best_recipe

# x-axes along which the best recipe moves (eps too when eps_test is tied to it)
MOVES_BEST = ("psi1", "psi2", "signal", "noise", "eps_test")
SETTING = ("psi1", "psi2", "signal", "noise")
MAX_BEST_COUNT = 200
FRONT_KINDS = ("finite", "infinite_samples", "population")
PENDING = "not computed yet when the CSV was made"
WORKER_NICE = 10  # the worker yields the CPU to the server, which draws the curve
Key = tuple[str, float, float, float, float, float]


def key(problem: Problem) -> Key:
    """What a best recipe and a front depend on: activation, psi1, psi2, signal, noise,
    eps_test."""
    p = problem
    return (p.activation.name, p.psi1, p.psi2, p.signal, p.noise, float(p.eps_test or 0.0))


@dataclass(frozen=True)
class Answer:
    """The best recipe at one setting and eps_test (`BestRecipe`, flattened to send it between
    processes). eps, lam: None for the zero predictor (lam = inf). error: the theory's message
    where it failed (then the errors are NaN)."""

    eps: float | None
    lam: float | None
    robust_error: float
    standard_error: float
    regime: str
    standard_training_robust_error: float
    standard_training_lam: float | None
    standard_training_standard_error: float
    adversarial_training_robust_error: float | None
    adversarial_training_standard_error: float | None
    evaluations: int
    converged: bool
    message: str
    seconds: float
    error: str | None = None

    @property
    def zero_predictor(self) -> bool:
        return self.error is None and self.lam is None

    @classmethod
    def failed(cls, message: str, seconds: float = 0.0) -> Answer:
        nan = math.nan
        return cls(None, None, nan, nan, "failed", nan, None, nan, None, None, 0, False, message,
                   seconds, error=message)  # fmt: skip


def solve_best(problem: Problem) -> Answer:
    """best_recipe(problem, problem.eps_test) as an Answer (a TheoryError becomes its message)."""
    tic = time.perf_counter()
    try:
        found = best_recipe(problem, problem.eps_test)
    except TheoryError as error:
        return Answer.failed(str(error), time.perf_counter() - tic)
    b, st, adv = found.best, found.standard_training, found.adversarial_training
    return Answer(
        eps=b.eps,
        lam=b.lam,
        robust_error=b.robust_error,
        standard_error=b.standard_error,
        regime=b.result.regime if b.result is not None else "zero_predictor",
        standard_training_robust_error=st.robust_error,
        standard_training_lam=st.lam,
        standard_training_standard_error=st.standard_error,
        adversarial_training_robust_error=adv.robust_error if adv else None,
        adversarial_training_standard_error=adv.standard_error if adv else None,
        evaluations=found.evaluations,
        converged=found.converged,
        message=found.message,
        seconds=time.perf_counter() - tic,
    )


@dataclass(frozen=True)
class FrontAnswer:
    """The fronts at one setting and eps_test (`Front.rows()`), and its best recipe."""

    rows: tuple[dict[str, Any], ...]
    best: Answer
    evaluations: int
    failures: int
    seconds: float
    error: str | None = None

    def kind(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["kind"] == name]


def solve_front(problem: Problem) -> FrontAnswer:
    """front(problem, problem.eps_test) and solve_best(problem)."""
    tic = time.perf_counter()
    best = solve_best(problem)
    try:
        fronts = front(problem, problem.eps_test)
    except TheoryError as error:
        return FrontAnswer((), best, 0, 0, time.perf_counter() - tic, error=str(error))
    return FrontAnswer(
        tuple(fronts.rows()),
        best,
        fronts.evaluations,
        fronts.failures,
        time.perf_counter() - tic,
    )


# The view's points ----------------------------------------------------------------------------
def moves_best(view: View) -> bool:
    """Whether the best recipe depends on the view's x (module docstring)."""
    return view.x in MOVES_BEST or (view.x == "eps" and view.tied)


def best_view(view: View) -> View:
    """The view whose curve points are the best-recipe points (validates best_count)."""
    if not 1 <= view.best_count <= MAX_BEST_COUNT:
        raise ValueError(
            f"best recipe points: an integer from 1 to {MAX_BEST_COUNT}; got {view.best_count}"
        )
    return view.with_(count=view.best_count if moves_best(view) else 1)


def best_problems(view: View) -> list[Problem]:
    """The settings (with their eps_test) of the best-recipe curve."""
    return best_view(view).problems()


def at_problem(view: View) -> Problem:
    """The view's setting and recipe at x = at (the view's value of the x parameter)."""
    values = {**view.fixed(), view.x: getattr(view, view.x)}
    if view.x == "eps_test" and values["eps_test"] is None:
        values["eps_test"] = view.eps
    return Problem(**values)


@dataclass(frozen=True)
class BestCurve:
    """The best recipes along the view's x: answers None where not computed yet."""

    view: View
    problems: tuple[Problem, ...]
    answers: tuple[Answer | None, ...]

    @property
    def flat(self) -> bool:
        return not moves_best(self.view)

    @property
    def x(self) -> np.ndarray:
        if self.flat:
            return np.array(sorted((self.view.lo, self.view.hi)), dtype=float)
        return np.array([getattr(p, self.view.x) for p in self.problems], dtype=float)

    def values(self, name: str) -> np.ndarray:
        """An Answer field along x; NaN where pending or failed (None, the zero predictor's
        eps and lam, is inf for lam and NaN for eps)."""
        out = []
        for a in self.answers:
            value = math.nan if a is None or a.error is not None else getattr(a, name)
            if value is None:
                value = math.inf if name == "lam" else math.nan
            out.append(float(value))
        return np.array(out * 2 if self.flat else out, dtype=float)

    @property
    def pending(self) -> int:
        return sum(a is None for a in self.answers)

    def failures(self) -> list[tuple[float, str]]:
        xs = self.x if not self.flat else self.x[:1]
        return [
            (float(x), a.error)
            for x, a in zip(xs, self.answers, strict=True)
            if a is not None and a.error is not None
        ]

    def seconds(self) -> float:
        return sum(a.seconds for a in self.answers if a is not None)


def best_curve(view: View, found: Mapping[Key, Answer]) -> BestCurve:
    """The best-recipe curve of the view with the answers already in `found`."""
    problems = best_problems(view)
    return BestCurve(view, tuple(problems), tuple(found.get(key(p)) for p in problems))


# Commands and CSV ------------------------------------------------------------------------------
def _setting_arguments(view: View, grid: View | None) -> list[str]:
    """--activation, the SETTING options and --eps-test; the x option a range when grid given."""
    args = ["--activation", view.activation]
    x = view.x if view.x != "eps" or not view.tied else "eps_test"
    for name in (*SETTING, "eps_test"):
        if grid is not None and name == x:
            text = grid.range_text
        elif name == "eps_test":
            value = view.eps if view.eps_test is None or view.x == "eps" else view.eps_test
            text = repr(float(value))
        else:
            text = repr(float(getattr(view, name)))
        args += ["--" + name.replace("_", "-"), text]
    return args


def optimize_command(view: View) -> str:
    """`advrf optimize` for the best-recipe curve (one point when it does not depend on x)."""
    grid = best_view(view) if moves_best(view) else None
    single = view if grid is not None else view.with_(**{view.x: view.lo})
    return shlex.join(["advrf", "optimize", *_setting_arguments(single, grid)])


def front_command(view: View) -> str:
    """`advrf front` for the setting at x = at."""
    p = at_problem(view)
    args = ["--activation", view.activation]
    for name in (*SETTING, "eps_test"):
        args += ["--" + name.replace("_", "-"), repr(float(getattr(p, name)))]
    return shlex.join(["advrf", "front", *args])


def _answer_row(problem: Problem, a: Answer, curve: str) -> dict[str, Any]:
    row = problem.to_dict()
    if a.error is not None:
        return row | {"curve": curve, "converged": False, "error": a.error, "eps": "", "lam": ""}
    return row | {
        "curve": curve,
        "eps": a.eps if a.eps is not None else 0.0,
        "lam": a.lam if a.lam is not None else math.inf,
        "robust_error": a.robust_error,
        "standard_error": a.standard_error,
        "regime": a.regime,
        "converged": a.converged,
        "message": a.message,
    }


def csv_rows(
    best: BestCurve | None, fronts: FrontAnswer | None, at: Problem | None, current: Any
) -> list[dict[str, Any]]:
    """Rows for the view's CSV: "best_recipe" (computed points), "front_KIND", and at x = at
    "front_best_recipe" and "front_current" (the view's recipe; `current` a TheoryResult or a
    message)."""
    rows: list[dict[str, Any]] = []
    if best is not None:
        for problem, a in zip(best.problems, best.answers, strict=True):
            rows.append(_answer_row(problem, a or Answer.failed(PENDING), "best_recipe"))
    if fronts is not None and at is not None:
        for r in fronts.rows:
            rows.append({**r, "curve": "front_" + r["kind"]})
        rows.append(_answer_row(at, fronts.best, "front_best_recipe"))
    if at is not None and current is not None:
        row = at.to_dict() | {"curve": "front_current"}
        if isinstance(current, str):
            row |= {"converged": False, "error": current}
        else:
            row |= current.to_dict()
        rows.append(row)
    return rows


def current_recipe(view: View) -> Any:
    """The theory at x = at with the view's recipe, or the theory's message; None when x = at
    is out of range (at_problem's ValueError, which the page says)."""
    try:
        problem = at_problem(view)
    except ValueError:
        return None
    try:
        return solve(problem)
    except TheoryError as error:
        return str(error)


def start_worker(parent: int) -> None:
    """Initializer of the page's worker process (here, not beside the page: the worker then
    never imports Bokeh): a lower priority than the server's, and an end with the server's
    process `parent` (even killed)."""
    os.nice(WORKER_NICE)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
