"""Finite-size instances of spec section 1, fully determined by (problem, d, seed).

    N = round(psi1 d),  n = round(psi2 d),
    theta_j uniform on the sphere of radius sqrt(d)  (rows of Theta, N x d),
    beta uniform on the sphere of radius signal (= F1),
    x ~ N(0, I_d)  (or uniform on the sphere of radius sqrt(d) with inputs="sphere"),
    y = <beta, x> + noise * g,  g ~ N(0, 1),
    phi(x) = sigma(Theta x / sqrt(d)).

Every random quantity has its own numpy Generator stream spawned from `SeedSequence(seed)`
(Theta, beta, training inputs, training noise, test inputs, test noise), so an instance is
reproducible bit for bit, and two problems that differ only in eps, lam, noise or the activation
share the same Theta, beta and inputs (common random numbers). The rows are drawn one after the
other, so a larger psi1 (psi2) extends Theta (the training set) of a smaller one.

The test set has `n_test` fresh samples, by default max(MIN_TEST_SAMPLES, TEST_PER_TRAIN * n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from advrf.problem import Problem
from advrf.settings import INPUTS as INPUTS  # re-exported: the name's old home
from advrf.settings import SimulationSettings

MIN_TEST_SAMPLES = 2000
TEST_PER_TRAIN = 2
_STREAMS = ("theta", "beta", "x_train", "noise_train", "x_test", "noise_test")


def default_n_test(n: int) -> int:
    """max(MIN_TEST_SAMPLES, TEST_PER_TRAIN * n)."""
    return max(MIN_TEST_SAMPLES, TEST_PER_TRAIN * n)


def sizes(problem: Problem, d: int) -> tuple[int, int]:
    """(N, n) = (round(psi1 d), round(psi2 d)), each at least 1 (psi1 = inf has no simulation)."""
    if math.isinf(problem.psi1):
        raise ValueError("psi1 = inf (infinite width) has a theory but no simulation")
    return max(1, round(problem.psi1 * d)), max(1, round(problem.psi2 * d))


def _sphere(rng: np.random.Generator, rows: int, dim: int, radius: float) -> np.ndarray:
    g = rng.standard_normal((rows, dim))
    return g * (radius / np.linalg.norm(g, axis=1, keepdims=True))


@dataclass(frozen=True, eq=False)
class Instance:
    """One draw of (Theta, beta, training set, test set); features are computed on demand."""

    problem: Problem
    d: int
    seed: int
    inputs: str
    theta: np.ndarray = field(repr=False)
    beta: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)

    @classmethod
    def draw(
        cls,
        problem: Problem,
        d: int,
        seed: int,
        *,
        n_test: int | None = None,
        inputs: str = "gaussian",
    ) -> Instance:
        """Draw the instance determined by (problem, d, seed, n_test, inputs), validated by
        `SimulationSettings`."""
        settings = SimulationSettings(d=d, seeds=(seed,), n_test=n_test, inputs=inputs)
        return cls._draw(problem, settings.d, settings.seeds[0], settings.n_test, settings.inputs)

    @classmethod
    def _draw(
        cls, problem: Problem, d: int, seed: int, n_test: int | None, inputs: str
    ) -> Instance:
        """`draw` with validated arguments."""
        big_n, n = sizes(problem, d)
        if n_test is None:
            n_test = default_n_test(n)
        streams = dict(
            zip(
                _STREAMS,
                map(np.random.default_rng, np.random.SeedSequence(seed).spawn(6)),
                strict=True,
            )
        )
        theta = _sphere(streams["theta"], big_n, d, np.sqrt(d))
        beta = _sphere(streams["beta"], 1, d, problem.signal)[0]

        def inputs_of(rng: np.random.Generator, rows: int) -> np.ndarray:
            if inputs == "sphere":
                return _sphere(rng, rows, d, np.sqrt(d))
            return rng.standard_normal((rows, d))

        x = inputs_of(streams["x_train"], n)
        x_test = inputs_of(streams["x_test"], int(n_test))
        y = x @ beta + problem.noise * streams["noise_train"].standard_normal(n)
        y_test = x_test @ beta + problem.noise * streams["noise_test"].standard_normal(int(n_test))
        return cls(problem, d, seed, inputs, theta, beta, x, y, x_test, y_test)

    @property
    def big_n(self) -> int:
        """N, the number of random features."""
        return self.theta.shape[0]

    @property
    def n(self) -> int:
        """n, the number of training samples."""
        return self.x.shape[0]

    @property
    def n_test(self) -> int:
        return self.x_test.shape[0]

    def preactivations(self, x: np.ndarray) -> np.ndarray:
        """x Theta^T / sqrt(d): row i holds Theta x_i / sqrt(d)."""
        return x @ self.theta.T / np.sqrt(self.d)

    def features(self, x: np.ndarray) -> np.ndarray:
        """phi(x) = sigma(Theta x / sqrt(d)), one row per input."""
        return self.problem.activation(self.preactivations(x))

    @cached_property
    def phi(self) -> np.ndarray:
        """Training features Phi (n x N)."""
        return self.features(self.x)

    @cached_property
    def m_matrix(self) -> np.ndarray:
        """M = mu1^2 Theta Theta^T / d + nu^2 I_N (spec 3.2)."""
        mom = self.problem.moments
        m = (mom.mu1**2 / self.d) * (self.theta @ self.theta.T)
        m[np.diag_indices_from(m)] += mom.nu2
        return m

    def w(self, a: np.ndarray) -> np.ndarray:
        """w = Theta^T a / sqrt(d)."""
        return self.theta.T @ a / np.sqrt(self.d)
