"""Finite-size instances of conventions 1, fully determined by (problem, d, seed).

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

The test set has `n_test` fresh samples, by default max(MIN_TEST_SAMPLES, TEST_PER_TRAIN * n),
drawn in batches of TEST_BATCH rows (y = x beta + noise g batch by batch). An instance drawn with
`lazy_test=True` (what `simulate` does) holds no test set: `test_batches` draws the same batches
again from their streams, so the n_test x d inputs are never held whole.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from advrf.problem import Problem
from advrf.settings import INPUTS as INPUTS  # re-exported: the name's old home
from advrf.settings import SimulationSettings
from advrf.simulation.memory import TEST_BATCH, chunk_rows

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


def _inputs(rng: np.random.Generator, rows: int, d: int, inputs: str) -> np.ndarray:
    """rows inputs: N(0, I_d), or uniform on the sphere of radius sqrt(d) (inputs="sphere")."""
    if inputs == "sphere":
        return _sphere(rng, rows, d, np.sqrt(d))
    return rng.standard_normal((rows, d))


@dataclass(frozen=True)
class TestStreams:
    """What determines a test set: its size and the seeds of its input and noise streams."""

    rows: int
    x_seed: np.random.SeedSequence
    noise_seed: np.random.SeedSequence

    def batches(
        self, beta: np.ndarray, noise: float, inputs: str
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(x, y) in batches of TEST_BATCH rows, y = x beta + noise g, drawn afresh."""
        x_rng = np.random.default_rng(self.x_seed)
        noise_rng = np.random.default_rng(self.noise_seed)
        for lo in range(0, self.rows, TEST_BATCH):
            k = min(TEST_BATCH, self.rows - lo)
            x = _inputs(x_rng, k, len(beta), inputs)
            yield x, x @ beta + noise * noise_rng.standard_normal(k)


@dataclass(frozen=True, eq=False)
class Instance:
    """One draw of (Theta, beta, training set, test set); features are computed on demand.

    x_test and y_test are None for an instance drawn with lazy_test=True (see `test_batches`).
    """

    problem: Problem
    d: int
    seed: int
    inputs: str
    theta: np.ndarray = field(repr=False)
    beta: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    x_test: np.ndarray | None = field(repr=False)
    y_test: np.ndarray | None = field(repr=False)
    test_streams: TestStreams = field(repr=False)

    @classmethod
    def draw(
        cls,
        problem: Problem,
        d: int,
        seed: int,
        *,
        n_test: int | None = None,
        inputs: str = "gaussian",
        lazy_test: bool = False,
    ) -> Instance:
        """Draw the instance determined by (problem, d, seed, n_test, inputs), validated by
        `SimulationSettings`; lazy_test=True: hold no test set (`test_batches` draws it)."""
        settings = SimulationSettings(d=d, seeds=(seed,), n_test=n_test, inputs=inputs)
        return cls._draw(
            problem, settings.d, settings.seeds[0], settings.n_test, settings.inputs,
            lazy_test=bool(lazy_test),
        )  # fmt: skip

    @classmethod
    def _draw(
        cls,
        problem: Problem,
        d: int,
        seed: int,
        n_test: int | None,
        inputs: str,
        *,
        lazy_test: bool = False,
    ) -> Instance:
        """`draw` with validated arguments."""
        big_n, n = sizes(problem, d)
        if n_test is None:
            n_test = default_n_test(n)
        seeds = dict(zip(_STREAMS, np.random.SeedSequence(seed).spawn(6), strict=True))
        streams = {name: np.random.default_rng(seeds[name]) for name in _STREAMS[:4]}
        theta = _sphere(streams["theta"], big_n, d, np.sqrt(d))
        beta = _sphere(streams["beta"], 1, d, problem.signal)[0]
        x = _inputs(streams["x_train"], n, d, inputs)
        y = x @ beta + problem.noise * streams["noise_train"].standard_normal(n)
        test = TestStreams(int(n_test), seeds["x_test"], seeds["noise_test"])
        x_test = y_test = None
        if not lazy_test:
            batches = list(test.batches(beta, problem.noise, inputs))
            x_test = np.concatenate([b[0] for b in batches]).reshape(test.rows, d)
            y_test = np.concatenate([b[1] for b in batches])
        return cls(problem, d, seed, inputs, theta, beta, x, y, x_test, y_test, test)

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
        return self.test_streams.rows if self.x_test is None else self.x_test.shape[0]

    def test_batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The test set (x, y) in batches of TEST_BATCH rows: slices of x_test and y_test, or
        for a lazy instance the same batches drawn again from their streams."""
        if self.x_test is None:
            yield from self.test_streams.batches(self.beta, self.problem.noise, self.inputs)
            return
        for lo in range(0, self.n_test, TEST_BATCH):
            yield self.x_test[lo : lo + TEST_BATCH], self.y_test[lo : lo + TEST_BATCH]

    def preactivations(self, x: np.ndarray) -> np.ndarray:
        """x Theta^T / sqrt(d): row i holds Theta x_i / sqrt(d)."""
        return x @ self.theta.T / np.sqrt(self.d)

    def features(self, x: np.ndarray) -> np.ndarray:
        """phi(x) = sigma(Theta x / sqrt(d)), one row per input."""
        return self._map_rows(x, self.problem.activation)

    def feature_derivatives(self, x: np.ndarray) -> np.ndarray:
        """sigma'(Theta x / sqrt(d)), one row per input (the exact variant's gradient rows)."""
        return self._map_rows(x, self.problem.activation.derivative)

    def _map_rows(self, x: np.ndarray, fn) -> np.ndarray:
        """fn(x Theta^T / sqrt(d)) written into one len(x) x N array, in chunks of rows sized by
        `memory.chunk_rows`: the full preactivation matrix is never held beside the result."""
        out = np.empty((x.shape[0], self.big_n))
        step = chunk_rows(self.big_n, self.d)
        for lo in range(0, x.shape[0], step):
            pre = x[lo : lo + step] @ self.theta.T
            np.divide(pre, np.sqrt(self.d), out=pre)
            out[lo : lo + step] = fn(pre)
        return out

    @cached_property
    def phi(self) -> np.ndarray:
        """Training features Phi (n x N)."""
        return self.features(self.x)

    @cached_property
    def m_matrix(self) -> np.ndarray:
        """M = mu1^2 Theta Theta^T / d + nu^2 I_N (conventions 3.2)."""
        mom = self.problem.moments
        m = (mom.mu1**2 / self.d) * (self.theta @ self.theta.T)
        m[np.diag_indices_from(m)] += mom.nu2
        return m

    def w(self, a: np.ndarray) -> np.ndarray:
        """w = Theta^T a / sqrt(d)."""
        return self.theta.T @ a / np.sqrt(self.d)
