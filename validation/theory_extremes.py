"""Holes and extremes of advrf.theory.solve (issue 10, items 7 and 8): counts of TheoryError.

Five scans, each point solved cold; a point gives a certified result, a TheoryError, or (a bug)
another exception, counted apart:

* ridge_ladder: eps = 0, lam = 1e-10, 1e-20, ..., 1e-320, on 9 settings (4 activations).
* wide_ladder: psi1 = inf, 4 activations x psi2 in {0.5, 2} x noise in {0, 0.3, 1e-20} x
  lam in {0, 1e-20, ..., 1e-320}, at eps = 0 and at eps in {1e-8, 0.1}.
* recovery_band: the noiseless linear model next to the exact-recovery boundary eps* (upper
  end; with a ridge also the lower end of the phase), eps = eps* (1 +- x), x = 1e-9 .. 1e-5.
* small_noise: 3 activations x 144 settings x noise in {1e-8, 1e-14, 1e-20, 1e-50, 1e-100}
  (signal 1); a failure is `legit` when the same point fails at noise 0 too.
* box: every parameter log-uniform in [1e-K, 1e+K] (eps as a fraction of eps_c in
  [1e-K, 1]; a share of exact zeros for eps, lam, noise), K = 6, 2000 points.
* random: every parameter log-uniform in [1e-100, 1e+100] (the whole range `Problem`
  accepts), seed 0, 2000 points; and the same with [1e-20, 1e+20].

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/theory_extremes.py [--out FILE]

Run with PYTHONPATH pointing at another checkout to count before a change.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterable

import numpy as np

from advrf import Problem
from advrf.theory import TheoryError, solve
from advrf.theory.equations import Coefficients
from advrf.theory.solve import _exact_recovery

ACTIVATIONS = ("relu_shifted", "tanh", "linear", "erf")
NAMES = ("psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise")


def outcome(problem: Problem) -> str:
    """'ok', 'TheoryError: <first words of the reason>' or 'BUG: <exception type>'."""
    try:
        solve(problem)
    except TheoryError as error:
        text = str(error)
        reason = re.sub(
            r"\s*(for )?activation=.*?noise=[^\s:]+( \(solved at unit scale\))?:?", "", text
        )
        reason = reason.split(" (")[0]
        return "TheoryError: " + " ".join(reason.split()[:8])
    except Exception as error:  # noqa: BLE001 - counted: any other exception is a bug
        return f"BUG: {type(error).__name__}"
    return "ok"


def count(problems: Iterable[Problem]) -> dict:
    outcomes = Counter(outcome(p) for p in problems)
    total = sum(outcomes.values())
    failed = sum(v for k, v in outcomes.items() if k != "ok")
    return {"points": total, "failed": failed, "outcomes": dict(outcomes.most_common())}


def ridge_ladder() -> list[Problem]:
    settings = [("relu_shifted", 4.0, 2.0, 0.0), ("relu_shifted", 0.5, 2.0, 0.3),
                ("tanh", 4.0, 2.0, 0.5), ("linear", 4.0, 2.0, 0.0), ("linear", 4.0, 2.0, 0.3),
                ("linear", 4.0, 8.0, 0.0), ("linear", 0.5, 2.0, 0.0), ("erf", 3.0, 0.5, 0.0),
                ("linear", 3.0, 0.5, 0.0)]  # fmt: skip
    return [
        Problem(psi1, psi2, 0.0, eps_test=0.2, lam=10.0**-e, noise=noise, activation=act)
        for act, psi1, psi2, noise in settings
        for e in range(10, 321, 10)
    ]


def wide_ladder() -> list[Problem]:
    """psi1 = inf: lam = 0, 1e-20, ..., 1e-320 at eps in {0, 1e-8, 0.1}."""
    return [
        Problem(
            math.inf,
            psi2,
            eps,
            eps_test=0.2,
            lam=0.0 if e == 0 else 10.0**-e,
            noise=noise,
            activation=act,
        )  # fmt: skip
        for act, psi2, eps, noise in itertools.product(
            ACTIVATIONS, (0.5, 2.0), (0.0, 1e-8, 0.1), (0.0, 0.3, 1e-20)
        )
        for e in range(0, 321, 20)
    ]


def _inside(problem: Problem, eps: float) -> bool:
    p = problem.with_(eps=eps)
    return _exact_recovery(Coefficients.from_problem(p), p, 1.0) is not None


def _edge(problem: Problem, inside: float, outside: float) -> float:
    for _ in range(200):
        mid = math.sqrt(inside * outside)
        inside, outside = (mid, outside) if _inside(problem, mid) else (inside, mid)
    return inside


def recovery_band() -> list[Problem]:
    out = []
    for (psi1, psi2), lam in itertools.product(
        [(3.0, 2.0), (1.5, 4.0), (10.0, 1.2), (1.0, 2.0), (2.0, 1.5), (5.0, 5.0)], (0.0, 1e-3)
    ):
        if lam > 0.0 and psi1 == 1.0:
            continue  # no phase: int l^-2 dmu diverges
        base = Problem(psi1, psi2, 0.1, eps_test=0.2, lam=lam, activation="linear")
        grid = np.geomspace(1e-6, 5.0, 400)
        inner = [e for e in grid if _inside(base, e)]
        edges = [(_edge(base, inner[-1], 5.0), 1.0)]
        if lam > 0.0:
            edges.append((_edge(base, inner[0], 1e-12), -1.0))
        for (edge, sign), x in itertools.product(edges, (1e-9, 3e-9, 1e-8, 3e-8, 1e-7, 3e-7,
                                                          1e-6, 1e-5)):  # fmt: skip
            out.append(base.with_(eps=edge * (1.0 + sign * x)))
    return out


def small_noise() -> tuple[list[Problem], list[Problem]]:
    """The points, and the same points at noise 0 (for `legit`)."""
    points, noiseless = [], []
    for act, psi1, psi2, eps, lam in itertools.product(
        ("linear", "relu_shifted", "tanh"), (0.5, 1.0, 2.0, 8.0), (0.5, 1.5, 4.0),
        (0.0, 1e-3, 0.1, 0.3), (0.0, 1e-6, 1e-2),
    ):  # fmt: skip
        base = Problem(psi1, psi2, eps, eps_test=0.2, lam=lam, activation=act)
        for noise in (1e-8, 1e-14, 1e-20, 1e-50, 1e-100):
            points.append(base.with_(noise=noise))
            noiseless.append(base)
    return points, noiseless


def box(k: float, n: int, seed: int = 0) -> list[Problem]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        v = dict(zip(NAMES, 10.0 ** rng.uniform(-k, k, size=7), strict=True))
        for name in ("eps", "lam", "noise"):
            if rng.random() < 0.2:
                v[name] = 0.0
        p = Problem(**{**v, "eps": 0.0}, activation=ACTIVATIONS[i % 4])
        if v["eps"] > 0.0:  # a fraction of eps_c in [1e-k, 1]
            eps_c = Coefficients.from_problem(p).eps_c()
            p = p.with_(eps=eps_c * 10.0 ** rng.uniform(-k, 0.0), eps_test=p.eps_test)
        out.append(p)
    return out


def random_points(k: float, n: int, seed: int = 0) -> list[Problem]:
    rng = np.random.default_rng(seed)
    return [
        Problem(
            **dict(zip(NAMES, 10.0 ** rng.uniform(-k, k, size=7), strict=True)),
            activation=ACTIVATIONS[i % 4],
        )  # fmt: skip
        for i in range(n)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000, help="points of box and random")
    parser.add_argument("--out", default=None, help="write the counts as JSON here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report: dict = {}
    report["ridge_ladder"] = count(ridge_ladder())
    wide = wide_ladder()
    for label, keep in (("wide_ladder_eps0", lambda p: p.eps == 0.0),
                        ("wide_ladder_eps_positive", lambda p: p.eps > 0.0)):  # fmt: skip
        report[label] = count(p for p in wide if keep(p))
    report["recovery_band"] = count(recovery_band())
    points, noiseless = small_noise()
    noisy = count(points)
    legit = sum(
        outcome(p) != "ok" and outcome(q) != "ok" for p, q in zip(points, noiseless, strict=True)
    )
    report["small_noise"] = {**noisy, "legit": legit}
    report["box_1e6"] = count(box(6.0, args.points))
    report["random_1e20"] = count(random_points(20.0, args.points))
    report["random_1e100"] = count(random_points(100.0, args.points))
    report["seconds"] = round(time.perf_counter() - started, 1)
    for name, value in report.items():
        if isinstance(value, dict):
            extra = f", legit {value['legit']}" if "legit" in value else ""
            print(f"{name}: {value['failed']} of {value['points']} failed{extra}")
            for reason, n in value["outcomes"].items():
                if reason != "ok":
                    print(f"    {n:5d}  {reason}")
    print(f"{report['seconds']} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
