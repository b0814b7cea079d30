"""The training solver's linear algebra against dense numpy: SpectralM without its N x r basis,
and the sample-space Newton system built and factorised in one shared n x n workspace."""

from __future__ import annotations

import numpy as np
import pytest

from advrf.simulation._linalg import GRAM_BLOCK, NewtonSystem, SpectralM

MU1, NU2 = 0.8, 0.3


def _theta(big_n: int, d: int, seed: int = 0) -> np.ndarray:
    g = np.random.default_rng(seed).standard_normal((big_n, d))
    return g * (np.sqrt(d) / np.linalg.norm(g, axis=1, keepdims=True))


def _dense_m(theta: np.ndarray, nu2: float = NU2) -> np.ndarray:
    return MU1**2 * theta @ theta.T / theta.shape[1] + nu2 * np.eye(theta.shape[0])


@pytest.mark.parametrize("big_n, d", [(70, 30), (30, 70)])  # N > d (Theta times a factor), N <= d
def test_spectral_m_equals_the_dense_matrix(big_n, d):
    theta = _theta(big_n, d)
    mop, dense = SpectralM.from_theta(theta, MU1, NU2), _dense_m(theta)
    assert (mop.right is not None) == (big_n > d)
    v = np.random.default_rng(1).standard_normal((big_n, 3))
    np.testing.assert_allclose(mop.dense(), dense, rtol=0, atol=1e-12)
    np.testing.assert_allclose(mop.apply(v), dense @ v, rtol=0, atol=1e-11)
    for kappa, c in ((0.7, 0.0), (2.0, 0.05)):
        expected = np.linalg.solve(kappa * dense + c * np.eye(big_n), v)
        np.testing.assert_allclose(mop.kinv(kappa, c, v), expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mop.kinv(kappa, c, v[:, 0]), expected[:, 0], rtol=1e-10)


def test_pinv_of_a_singular_m_is_the_pseudo_inverse():
    theta = _theta(60, 20)
    mop, dense = SpectralM.from_theta(theta, MU1, 0.0), _dense_m(theta, 0.0)
    assert mop.is_singular(0.0)
    v = np.random.default_rng(2).standard_normal(60)
    np.testing.assert_allclose(mop.pinv(v), np.linalg.pinv(dense, rcond=1e-10) @ v, atol=1e-10)


@pytest.mark.parametrize("big_n, d, n", [(1200, 500, 700), (300, 400, 200)])
def test_newton_system_reuses_one_workspace(big_n, d, n):
    """Successive factorisations (other kappa, other active set) in the shared workspace solve
    the dense system; n > GRAM_BLOCK exercises the blocked triangle copies."""
    assert n > GRAM_BLOCK or big_n <= d
    rng = np.random.default_rng(3)
    theta = _theta(big_n, d)
    phi = np.maximum(rng.standard_normal((n, big_n)), 0.0)
    mop, dense = SpectralM.from_theta(theta, MU1, NU2), _dense_m(theta)
    system = NewtonSystem(phi, mop, c=0.01)
    b = rng.standard_normal((n, 2))
    for kappa, share in ((0.5, 0.3), (3.0, 0.9), (0.5, 0.0)):
        active = rng.random(n) < share
        k = kappa * dense + 0.01 * np.eye(big_n)
        gram = phi @ np.linalg.solve(k, phi.T)
        got = system.gram(kappa)
        np.testing.assert_allclose(
            np.tril(got), np.tril(gram), rtol=0, atol=1e-9 * np.abs(gram).max()
        )
        solve, clean = system.factor(kappa, active)
        assert clean
        expected = np.linalg.solve(gram + n * np.diag(active.astype(float)), b)
        np.testing.assert_allclose(solve(b), expected, rtol=1e-8, atol=1e-10)
    big = [name for name, value in vars(system).items()
           if isinstance(value, np.ndarray) and value.shape == (n, n)]  # fmt: skip
    assert big == ["workspace"], big
