"""Evaluation of a trained a on fresh test data, one seed and seed-averaged.

standard_error          E_std = mean_test (y - f_a(x))^2                      (noise included)
robust_error            mean_test (y - f_a(x + delta))^2, delta the first-order attack
                        (per-sample exact gradient) at radius eps_test
robust_error_linearized mean_test (|y - f_a(x)| + eps_test ||grad_x f_a(x)||)^2
robust_error_pgd        mean_test of the PGD maximum (attack="pgd" only)
norm_a2 = ||a||^2,  norm_w2 = ||w||^2,  beta_w = <beta, w>,  w = Theta^T a / sqrt(d),
grad_norm2 = a^T M a = mu1^2 ||w||^2 + nu^2 ||a||^2                             (spec 3.2)
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


def evaluate(
    instance: Instance, a: np.ndarray, *, eps_test: float | None = None, attack: str = "first-order"
) -> dict[str, float]:
    """Test errors and order parameters of a (module docstring) on the instance's test set."""
    attack = check_attack(attack)
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

    def to_dict(self) -> dict[str, Any]:
        """The result fields (+ d, seed, phase, robust_error_linearized): one table row."""
        skip = {"problem", "variant", "attack"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        if self.robust_error_pgd is None:
            del out["robust_error_pgd"]
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
) -> SimulationRecord:
    """Draw the instance (problem, d, seed), train it (raises TrainingError if uncertified),
    evaluate it."""
    variant, attack = check_variant(variant), check_attack(attack)
    start = time.perf_counter()
    instance = Instance.draw(problem, d, seed, n_test=n_test, inputs=inputs)
    result = train(instance, variant)
    metrics = evaluate(instance, result.a, attack=attack)
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
        extra = ("robust_error_pgd",) if self.attack == "pgd" else ()
        return METRICS + extra

    def __getattr__(self, name: str) -> float:
        """`summary.robust_error`, `summary.robust_error_sem`, ... for every metric."""
        base = name.removesuffix("_sem")
        if base in METRICS or (base == "robust_error_pgd" and self.__dict__.get("attack") == "pgd"):
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
        simulate_seed(problem, d, s, n_test=n_test, variant=variant, attack=attack, inputs=inputs)
        for s in iterator
    )
    return SimulationSummary(problem, d, variant, attack, records)
