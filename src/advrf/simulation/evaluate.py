"""Evaluation of a trained a on fresh test data, one seed and seed-averaged.

standard_error          E_std = mean_test (y - f_a(x))^2                      (noise included)
robust_error            mean_test (y - f_a(x + delta))^2, delta the first-order attack
                        (per-sample exact gradient) at radius eps_test
robust_error_linearized mean_test (|y - f_a(x)| + eps_test ||grad_x f_a(x)||)^2
robust_error_pgd        mean_test of the PGD maximum (attack="pgd" only)
standard_error_exact    E_std of a over the input distribution, exactly (population.py; no test
                        set; Gaussian inputs, population=True only)
robust_error_cv         standard_error_exact + mean_test [(y - f_a(x + delta))^2 - (y - f_a(x))^2]:
                        robust_error with the exact E_std as control variate (population=True)
norm_a2 = ||a||^2,  norm_w2 = ||w||^2,  beta_w = <beta, w>,  w = Theta^T a / sqrt(d),
grad_norm2 = a^T M a = mu1^2 ||w||^2 + nu^2 ||a||^2                             (conventions 3.2)
train_objective         the trained program's value at a
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from advrf.problem import Problem
from advrf.simulation.attack import (
    check_attack,
    first_order_attack,
    pgd_attack,
    squared_loss,
)
from advrf.simulation.instance import Instance, check_dimension, check_seed
from advrf.simulation.population import population_standard_error
from advrf.simulation.train import check_variant, train

METRICS = (
    "robust_error",
    "standard_error",
    "robust_error_linearized",
    "norm_a2",
    "norm_w2",
    "beta_w",
    "grad_norm2",
    "train_objective",
)
POPULATION_METRICS = ("standard_error_exact", "robust_error_cv")


def evaluate(
    instance: Instance,
    a: np.ndarray,
    *,
    eps_test: float | None = None,
    attack: str = "first-order",
    population: bool = False,
) -> dict[str, float]:
    """Test errors and order parameters of a (module docstring) on the instance's test set.

    population=True adds standard_error_exact and robust_error_cv (Gaussian inputs only): the
    test-set noise of E_std disappears and that of E_rob shrinks to the attack's increment.
    """
    attack = check_attack(attack)
    if population and instance.inputs != "gaussian":
        raise ValueError(
            "population=True needs inputs='gaussian' (exact Gaussian kernel); "
            f"got {instance.inputs!r}"
        )
    problem = instance.problem
    eps_test = problem.eps_test if eps_test is None else float(eps_test)
    theta, act = instance.theta, problem.activation
    x, y = instance.x_test, instance.y_test
    standard = squared_loss(theta, act, a, x, y)
    delta, linear = first_order_attack(theta, act, a, x, y, eps_test)
    attacked = squared_loss(theta, act, a, x + delta, y)
    w = instance.w(a)
    mom = problem.moments
    out = {
        "robust_error": float(attacked.mean()),
        "standard_error": float(standard.mean()),
        "robust_error_linearized": float(linear.mean()),
        "norm_a2": float(a @ a),
        "norm_w2": float(w @ w),
        "beta_w": float(instance.beta @ w),
        "grad_norm2": float(mom.mu1**2 * (w @ w) + mom.nu2 * (a @ a)),
    }
    if population:
        exact = population_standard_error(theta, instance.beta, problem.noise, act, a)
        out["standard_error_exact"] = exact
        out["robust_error_cv"] = exact + float((attacked - standard).mean())
    if attack == "pgd":
        _, loss = pgd_attack(theta, act, a, x, y, eps_test, start=delta, seed=instance.seed)
        out["robust_error_pgd"] = float(loss.mean())
    return out


@dataclass(frozen=True)
class SimulationRecord:
    """One instance (problem, d, seed), trained and evaluated."""

    problem: Problem
    d: int
    seed: int
    variant: str
    attack: str
    robust_error: float
    standard_error: float
    robust_error_linearized: float
    norm_a2: float
    norm_w2: float
    beta_w: float
    grad_norm2: float
    train_objective: float
    converged: bool
    iterations: int
    residual: float
    phase: str
    seconds: float
    robust_error_pgd: float | None = None
    standard_error_exact: float | None = None
    robust_error_cv: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result fields (+ d, seed, phase, robust_error_linearized): one table row."""
        skip = {"problem", "variant", "attack"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        for optional in ("robust_error_pgd", *POPULATION_METRICS):
            if out[optional] is None:
                del out[optional]
        return out


def simulate_seed(
    problem: Problem,
    d: int,
    seed: int,
    *,
    n_test: int | None = None,
    variant: str = "exact",
    attack: str = "first-order",
    inputs: str = "gaussian",
    population: bool = False,
) -> SimulationRecord:
    """Draw the instance (problem, d, seed), train it (raises TrainingError if uncertified),
    evaluate it (population=True: also the exact E_std and the control-variate E_rob)."""
    variant, attack = check_variant(variant), check_attack(attack)
    if population and inputs != "gaussian":
        raise ValueError(f"population=True needs inputs='gaussian'; got {inputs!r}")
    start = time.perf_counter()
    instance = Instance.draw(problem, d, seed, n_test=n_test, inputs=inputs)
    result = train(instance, variant)
    metrics = evaluate(instance, result.a, attack=attack, population=population)
    return SimulationRecord(
        problem=problem,
        d=instance.d,
        seed=instance.seed,
        variant=variant,
        attack=attack,
        train_objective=result.objective,
        converged=result.converged,
        iterations=result.iterations,
        residual=result.residual,
        phase=result.phase,
        seconds=time.perf_counter() - start,
        **metrics,
    )


def seed_list(seeds: int | Iterable[int]) -> list[int]:
    """A count k means seeds 0..k-1; otherwise the given non-negative integers, without repeats."""
    if isinstance(seeds, int | np.integer) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds must be a count >= 1 or a list of seeds; got {seeds!r}")
        return list(range(int(seeds)))
    if isinstance(seeds, str | bytes | bool) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a count >= 1 or a list of seeds; got {seeds!r}")
    out = [check_seed(s) for s in seeds]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"seeds must be a non-empty list of distinct seeds; got {seeds!r}")
    return out


@dataclass(frozen=True)
class SimulationSummary:
    """Seed means and standard errors of the mean (std with ddof=1 / sqrt(k); nan for k = 1)."""

    problem: Problem
    d: int
    variant: str
    attack: str
    records: tuple[SimulationRecord, ...]

    def _column(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.records], dtype=float)

    def mean(self, name: str) -> float:
        return float(self._column(name).mean())

    def sem(self, name: str) -> float:
        col = self._column(name)
        return float(col.std(ddof=1) / np.sqrt(len(col))) if len(col) > 1 else float("nan")

    @property
    def metrics(self) -> tuple[str, ...]:
        """METRICS, then robust_error_pgd and the population metrics where every seed has them."""
        optional = ("robust_error_pgd", *POPULATION_METRICS)
        records = self.__dict__.get("records", ())
        present = tuple(
            name
            for name in optional
            if records and all(getattr(r, name) is not None for r in records)
        )
        return METRICS + present

    def __getattr__(self, name: str) -> float:
        """`summary.robust_error`, `summary.robust_error_sem`, ... for every metric."""
        base = name.removesuffix("_sem")
        if base in self.metrics:
            return self.sem(base) if name.endswith("_sem") else self.mean(base)
        raise AttributeError(name)

    @property
    def converged(self) -> bool:
        return all(r.converged for r in self.records)

    @property
    def seconds(self) -> float:
        return float(sum(r.seconds for r in self.records))

    def to_dict(self) -> dict[str, Any]:
        """Means, `NAME_sem`, and the run: d, seeds, variant, attack, converged, seconds."""
        out: dict[str, Any] = {}
        for name in self.metrics:
            out[name] = self.mean(name)
            out[f"{name}_sem"] = self.sem(name)
        out.update(
            d=self.d,
            seeds=[r.seed for r in self.records],
            variant=self.variant,
            attack=self.attack,
            converged=self.converged,
            iterations=int(sum(r.iterations for r in self.records)),
            residual=float(max(r.residual for r in self.records)),
            seconds=self.seconds,
        )
        return out


def simulate(
    problem: Problem,
    d: int,
    seeds: int | Iterable[int],
    *,
    n_test: int | None = None,
    variant: str = "exact",
    attack: str = "first-order",
    inputs: str = "gaussian",
    population: bool = False,
    progress: bool = False,
) -> SimulationSummary:
    """simulate_seed over the seeds (a count k means 0..k-1); a tqdm bar on stderr if progress."""
    d = check_dimension(d)
    variant, attack = check_variant(variant), check_attack(attack)
    seeds = seed_list(seeds)
    iterator: Iterable[int] = seeds
    if progress:
        from tqdm import tqdm

        iterator = tqdm(seeds, desc="advrf simulate", unit="seed", delay=1.0)
    records = tuple(
        simulate_seed(
            problem,
            d,
            s,
            n_test=n_test,
            variant=variant,
            attack=attack,
            inputs=inputs,
            population=population,
        )
        for s in iterator
    )
    return SimulationSummary(problem, d, variant, attack, records)
