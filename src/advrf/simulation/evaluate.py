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
from advrf.progress import progress as progress_policy
from advrf.settings import ATTACKS, SimulationSettings, SolverSettings, check_bool, check_choice
from advrf.simulation.attack import pgd_attack
from advrf.simulation.instance import Instance
from advrf.simulation.memory import check_fits, chunk_rows, memory_limit
from advrf.simulation.population import population_standard_error
from advrf.simulation.result import TrainingError
from advrf.simulation.train import _train, describe_point

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
    attack = check_choice("attack", attack, ATTACKS)
    if check_bool("population", population) and instance.inputs != "gaussian":
        raise ValueError(
            "population=True needs inputs='gaussian' (exact Gaussian kernel); "
            f"got {instance.inputs!r}"
        )
    eps_test = instance.problem.eps_test if eps_test is None else float(eps_test)
    return _metrics(instance, a, eps_test, attack, population)


def evaluation_losses(
    theta, activation, a, x, y, eps: float, *, keep_delta: bool = False, rows: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(y - f_a(x))^2, (|r| + eps ||grad||)^2, (y - f_a(x + delta))^2 per sample, delta the
    first-order attack (`attack.first_order_attack`), and delta itself if keep_delta.

    One pass in chunks of `rows` samples (default `memory.chunk_rows`): per chunk, one product for
    the preactivations, one for the gradients, one for the attacked preactivations; no
    N x n_test matrix is held.
    """
    big_n, d = theta.shape
    rows = chunk_rows(big_n, d) if rows is None else int(rows)
    root = np.sqrt(d)
    standard, linear, attacked = np.empty(len(y)), np.empty(len(y)), np.empty(len(y))
    deltas = np.empty_like(x) if keep_delta else None
    for lo in range(0, len(y), rows):
        sl = slice(lo, lo + rows)
        pre = x[sl] @ theta.T
        np.divide(pre, root, out=pre)
        r = y[sl] - activation(pre) @ a
        slope = activation.derivative(pre)
        del pre
        slope *= a
        grad = slope @ theta
        del slope
        np.divide(grad, root, out=grad)
        norm = np.linalg.norm(grad, axis=1)
        direction = np.divide(grad, norm[:, None], out=grad, where=norm[:, None] > 0)
        direction[norm == 0] = 0.0
        delta = -eps * np.where(r >= 0, 1.0, -1.0)[:, None] * direction
        standard[sl] = r**2
        linear[sl] = (np.abs(r) + eps * norm) ** 2
        shifted = x[sl] + delta
        if deltas is not None:
            deltas[sl] = delta
        del delta, direction, grad
        pre = shifted @ theta.T
        del shifted
        np.divide(pre, root, out=pre)
        attacked[sl] = (y[sl] - activation(pre) @ a) ** 2
    return standard, linear, attacked, deltas


def _metrics(
    instance: Instance, a: np.ndarray, eps_test: float, attack: str, population: bool
) -> dict[str, float]:
    """`evaluate` with validated options."""
    problem = instance.problem
    theta, act = instance.theta, problem.activation
    losses = [
        evaluation_losses(theta, act, a, x, y, eps_test, keep_delta=attack == "pgd")
        for x, y in instance.test_batches()
    ]
    standard, linear, attacked = (np.concatenate([b[k] for b in losses]) for k in range(3))
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
        x, y = _held_test_set(instance)
        delta = np.concatenate([b[3] for b in losses])
        _, loss = pgd_attack(theta, act, a, x, y, eps_test, start=delta, seed=instance.seed)
        out["robust_error_pgd"] = float(loss.mean())
    return out


def _held_test_set(instance: Instance) -> tuple[np.ndarray, np.ndarray]:
    """The whole test set (x_test, y_test), drawn from its streams for a lazy instance."""
    if instance.x_test is not None:
        return instance.x_test, instance.y_test
    batches = list(instance.test_batches())
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _short(value: float | None) -> str:
    return "None" if value is None else f"{value:.6g}"


@dataclass(frozen=True, repr=False)
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

    def __repr__(self) -> str:
        return (
            f"SimulationRecord({_problem_text(self.problem)}, d={self.d}, seed={self.seed}, "
            f"variant={self.variant}, robust_error={_short(self.robust_error)}, "
            f"standard_error={_short(self.standard_error)}, phase={self.phase}, "
            f"gap={self.residual:.2g})"
        )


def _problem_text(problem: Problem) -> str:
    p = problem.to_dict()
    return ", ".join(f"{k}={p[k]}" for k in p if p[k] is not None)


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
    solver: SolverSettings | None = None,
) -> SimulationRecord:
    """Draw the instance (problem, d, seed), train it (raises TrainingError if uncertified),
    evaluate it (population=True: also the exact E_std and the control-variate E_rob).

    The options are validated once, by `SimulationSettings`; solver: the training solver's
    `SolverSettings`.
    """
    settings = SimulationSettings(
        d=d, seeds=(seed,), n_test=n_test, variant=variant, attack=attack, inputs=inputs,
        population=population,
    )  # fmt: skip
    return _simulate_one(problem, settings, settings.seeds[0], solver)


def _simulate_one(
    problem: Problem, settings: SimulationSettings, seed: int, solver: SolverSettings | None
) -> SimulationRecord:
    """simulate_seed with validated settings. A numerical failure of the evaluation (after a
    certified training) is a TrainingError naming the point, as one of the training itself."""
    start = time.perf_counter()
    instance = Instance._draw(
        problem, settings.d, seed, settings.n_test, settings.inputs, lazy_test=True
    )
    result = _train(instance, settings.variant, None, None, True, solver)
    try:
        metrics = _metrics(
            instance, result.a, problem.eps_test, settings.attack, settings.population
        )
    except (ValueError, ArithmeticError) as error:
        point = describe_point(instance, settings.variant, problem.eps, problem.lam)
        raise TrainingError(
            f"evaluation failed: {point}: {type(error).__name__}: {error}"
        ) from error
    return SimulationRecord(
        problem=problem,
        d=instance.d,
        seed=instance.seed,
        variant=settings.variant,
        attack=settings.attack,
        train_objective=result.objective,
        converged=result.converged,
        iterations=result.iterations,
        residual=result.residual,
        phase=result.phase,
        seconds=time.perf_counter() - start,
        **metrics,
    )


@dataclass(frozen=True, repr=False)
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
        """True iff every seed is certified."""
        return all(r.converged for r in self.records)

    @property
    def residual(self) -> float:
        """The seeds' relative duality gap of largest absolute value (sign kept: a negative gap
        is not hidden by a positive one)."""
        gaps = self._column("residual")
        return float(gaps[np.argmax(np.abs(gaps))])

    @property
    def seconds(self) -> float:
        return float(sum(r.seconds for r in self.records))

    def to_dict(self) -> dict[str, Any]:
        """Means, `NAME_sem`, and the run: d, seeds, variant, attack, converged, iterations,
        residual (the gap of largest absolute value), seconds."""
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
            residual=self.residual,
            seconds=self.seconds,
        )
        return out

    def to_frame(self):
        """One row per seed: the problem's parameters, then `SimulationRecord.to_dict()` and the
        variant and attack (a pandas DataFrame; pandas is imported here)."""
        import pandas as pd

        base = {**self.problem.to_dict(), "variant": self.variant, "attack": self.attack}
        return pd.DataFrame([{**base, **r.to_dict()} for r in self.records])

    def __repr__(self) -> str:
        def pm(name: str) -> str:
            return f"{self.mean(name):.6g} +- {self.sem(name):.2g}"

        seeds = [r.seed for r in self.records]
        return (
            f"SimulationSummary({_problem_text(self.problem)}, d={self.d}, variant={self.variant},"
            f" attack={self.attack}, seeds={seeds}, robust_error={pm('robust_error')}, "
            f"standard_error={pm('standard_error')}, converged={self.converged})"
        )


_OPTION_DEFAULTS = dict(
    n_test=None, variant="exact", attack="first-order", inputs="gaussian", population=False
)


def simulate(
    problem: Problem,
    d: int | None = None,
    seeds: int | Iterable[int] | None = None,
    *,
    n_test: int | None = None,
    variant: str = "exact",
    attack: str = "first-order",
    inputs: str = "gaussian",
    population: bool = False,
    progress: bool = False,
    settings: SimulationSettings | None = None,
    solver: SolverSettings | None = None,
    max_memory: int | str | None = "available",
) -> SimulationSummary:
    """simulate_seed over the seeds (a count k means 0..k-1); progress=True: advrf.progress's
    policy on stderr (a bar on a terminal or in a notebook, a line every few seconds in a log).

    Either d, seeds and the options, or settings=SimulationSettings(...) alone (validated once
    there either way); solver: the training solver's `SolverSettings`. Before anything runs, the
    predicted peak memory of a seed (`memory.peak_bytes`) is checked against max_memory: bytes,
    a size such as "4GB", "available" (the machine's available memory, the default) or None (no
    check); a run that would not fit raises ValueError naming its sizes.
    """
    options = dict(
        n_test=n_test, variant=variant, attack=attack, inputs=inputs, population=population
    )
    if settings is None:
        if d is None or seeds is None:
            raise ValueError("simulate needs d and seeds, or settings=SimulationSettings(...)")
        settings = SimulationSettings(d=d, seeds=seeds, **options)
    elif d is not None or seeds is not None or options != _OPTION_DEFAULTS:
        raise ValueError("simulate takes either settings= or d, seeds and options, not both")
    check_fits(problem, settings, memory_limit(max_memory))
    records = []
    with progress_policy(len(settings.seeds), "advrf simulate", "seeds", enabled=progress) as bar:
        for seed in settings.seeds:
            records.append(_simulate_one(problem, settings, seed, solver))
            bar.update(1)
    records = tuple(records)
    return SimulationSummary(problem, settings.d, settings.variant, settings.attack, records)
