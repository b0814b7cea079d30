"""Cost of the explorer's answers: one best recipe and one front per call, against one curve.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_explore_answers.py [--repeats 3]

For the page's default setting (relu_shifted, psi2 = 2, noise = 0.5) at eps_test = 0.1 and 0.55,
and psi1 in 0.1, 1, 10, 100: `advrf.explore.answers.solve_best` (`best_recipe`) and
`solve_front` (`front` and the best recipe, what the page's front asks for), each best of
REPEATS, interleaved; and the 200-point curve `advrf.explore.view.compute` draws (cache cleared)
for scale. Prints one JSON object per setting and a summary line.
"""

from __future__ import annotations

import argparse
import json
import time

from advrf.explore import answers
from advrf.explore.view import View, _compute, compute
from advrf.problem import Problem

PSI1 = (0.1, 1.0, 10.0, 100.0)
EPS_TEST = (0.1, 0.55)


def best_of(repeats: int, function, *args) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        tic = time.perf_counter()
        value = function(*args)
        times.append(time.perf_counter() - tic)
    return min(times), value


def curve() -> None:
    _compute.cache_clear()
    compute(View(psi2=2.0, eps=0.1, noise=0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    best_s, front_s, curve_s = [], [], []
    for eps_test in EPS_TEST:
        for psi1 in PSI1:
            problem = Problem(psi1=psi1, psi2=2.0, eps=0.0, eps_test=eps_test, noise=0.5)
            tb, best = best_of(repeats, answers.solve_best, problem)
            tf, fronts = best_of(repeats, answers.solve_front, problem)
            tc, _ = best_of(repeats, curve)
            best_s.append(tb)
            front_s.append(tf)
            curve_s.append(tc)
            row = {
                "psi1": psi1,
                "eps_test": eps_test,
                "best_recipe_s": round(tb, 4),
                "best_evaluations": best.evaluations,
                "front_s": round(tf, 4),
                "front_evaluations": fronts.evaluations,
                "curve_200_s": round(tc, 4),
            }
            print(json.dumps(row), flush=True)
    summary = {
        "best_recipe_s": [round(min(best_s), 3), round(max(best_s), 3)],
        "front_s": [round(min(front_s), 3), round(max(front_s), 3)],
        "curve_200_s": [round(min(curve_s), 3), round(max(curve_s), 3)],
    }
    print(json.dumps({"summary (min, max)": summary}))


if __name__ == "__main__":
    main()
