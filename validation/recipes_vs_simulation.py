"""Best recipe and fronts against simulation (issue 9, "How it is checked", Simulation bullet).

(a) At three settings of the recipe map, the best recipe of `best_recipe` and the two baselines
(standard training: eps = 0 with its tuned lam; adversarial training: eps = eps_test, lam = 0) are
simulated (exact variant, population estimator: robust_error_cv, standard_error_exact) and
compared with their theory: within = |sim - theory| <= max(2 % theory, 3 s.e.).
(b) At psi2 = 20 and 50 the best recipe's simulated (E_std, E_rob) is compared with the finite-psi2
theory at the same (eps, lam) and with the infinite-sample front at the same E_std.

Writes docs/data/recipes_vs_simulation.csv (one row per recipe; rows already there are kept, so
an interrupted run resumes). Run: python validation/recipes_vs_simulation.py
"""

import csv
import math
import sys
from pathlib import Path

from advrf.problem import Problem
from advrf.simulation import simulate
from advrf.theory.front import front
from advrf.theory.optimize import best_recipe

OUT = Path(__file__).resolve().parents[1] / "docs" / "data" / "recipes_vs_simulation.csv"
SETTINGS = (  # (psi1, psi2, noise, eps_test); signal 1, relu_shifted
    (1.0, 2.0, 0.5, 0.2),
    (5.0, 2.0, 0.5, 0.2),
    (3.0, 0.5, 0.0, 0.3),
)
D, SEEDS = 400, 16
FRONT_SETTINGS, FRONT_D, FRONT_SEEDS = ((2.0, 20.0, 0.5, 0.2), (2.0, 50.0, 0.5, 0.2)), 100, 8
COLUMNS = (
    "check", "psi1", "psi2", "noise", "eps_test", "recipe", "eps", "lam", "d", "seeds",
    "theory_robust_error", "sim_robust_error", "sem_robust_error",
    "theory_standard_error", "sim_standard_error", "sem_standard_error",
    "gap_robust_error", "tolerance", "within", "infinite_front_robust_error",
)  # fmt: skip


def recipes(psi1: float, psi2: float, noise: float, eps_test: float) -> list[tuple]:
    """(name, eps, lam, theory E_rob, theory E_std) of the best recipe and the two baselines."""
    setting = Problem(psi1=psi1, psi2=psi2, eps=0.0, noise=noise)
    best = best_recipe(setting, eps_test)
    standard = best_recipe(setting, eps_test, eps=0.0).best
    adversarial = best.adversarial_training
    out = [("best", best.best), ("standard", standard)]
    if adversarial is not None:
        out.append(("adversarial", adversarial))
    return [(name, r.eps, r.lam, r.robust_error, r.standard_error) for name, r in out]


def simulated(psi1, psi2, noise, eps_test, eps, lam, d, seeds) -> tuple[float, ...]:
    """Mean and s.e. over the seeds of robust_error_cv and standard_error_exact."""
    problem = Problem(psi1=psi1, psi2=psi2, eps=eps, eps_test=eps_test, lam=lam, noise=noise)
    s = simulate(problem, d, seeds, population=True, variant="exact")
    return (
        s.mean("robust_error_cv"),
        s.sem("robust_error_cv"),
        s.mean("standard_error_exact"),
        s.sem("standard_error_exact"),
    )


def infinite_front_at(setting: tuple, standard_error: float) -> float:
    """The infinite-sample front's best E_rob among its points with E_std <= standard_error
    (nan if none): a point above the front has E_rob at least this."""
    psi1, psi2, noise, eps_test = setting
    f = front(Problem(psi1=psi1, psi2=psi2, eps=0.0, noise=noise), eps_test)
    below = [p.robust_error for p in f.infinite_samples if p.standard_error <= standard_error]
    return min(below) if below else math.nan


def row(check, setting, name, eps, lam, th_rob, th_std, d, seeds) -> dict:
    sim_rob, sem_rob, sim_std, sem_std = simulated(*setting, eps, lam, d, seeds)
    tolerance = max(0.02 * th_rob, 3.0 * sem_rob)
    gap = sim_rob - th_rob
    inf_rob = infinite_front_at(setting, sim_std) if check == "front" else math.nan
    values = (
        check, *setting, name, eps, lam, d, seeds, th_rob, sim_rob, sem_rob, th_std, sim_std,
        sem_std, gap, tolerance, abs(gap) <= tolerance, inf_rob,
    )  # fmt: skip
    return dict(zip(COLUMNS, values, strict=True))


def main() -> int:
    done = set()
    if OUT.exists():
        with OUT.open() as f:
            done = {(r["check"], r["psi1"], r["psi2"], r["noise"], r["eps_test"], r["recipe"])
                    for r in csv.DictReader(f)}  # fmt: skip
    jobs = [("recipe", s, D, SEEDS) for s in SETTINGS]
    jobs += [("front", s, FRONT_D, FRONT_SEEDS) for s in FRONT_SETTINGS]
    new = not OUT.exists()
    with OUT.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        for check, setting, d, seeds in jobs:
            chosen = recipes(*setting)
            if check == "front":
                chosen = chosen[:1]
            for name, eps, lam, th_rob, th_std in chosen:
                key = (check, *map(str, setting), name)
                if key in done or lam is None:  # the zero predictor's errors are the null risk
                    continue
                r = row(check, setting, name, eps, lam, th_rob, th_std, d, seeds)
                writer.writerow(r)
                f.flush()
                verdict = "within" if r["within"] else "MISS"
                sim = f"sim {r['sim_robust_error']:.4f} +- {r['sem_robust_error']:.4f}"
                print(check, setting, name, f"theory {th_rob:.4f}", sim, verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
