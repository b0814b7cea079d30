"""Marchenko-Pastur transforms against the eigenvalues of a sampled Theta Theta^T / d."""

import math

import numpy as np
import pytest

from advrf.theory.spectrum import Spectrum, basis, stieltjes, weighted_stieltjes

D = 800  # finite-size error of the spectral averages is O(1/d)
FINITE_D_TOL = 2e-2


def sampled_eigenvalues(psi1: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(psi1 * D))
    theta = rng.standard_normal((n, D))
    theta *= math.sqrt(D) / np.linalg.norm(theta, axis=1, keepdims=True)  # sphere of radius sqrt d
    return np.clip(np.linalg.eigvalsh(theta @ theta.T / D), 0.0, None)


@pytest.mark.parametrize("psi1", [0.4, 1.0, 2.5])
@pytest.mark.parametrize("x", [0.1, 1.0, 4.0])
def test_basis_matches_sampled_spectrum(psi1, x):
    lam = sampled_eigenvalues(psi1)
    b = basis(psi1, x)
    for name, (j, p) in {
        "m1": (0, 1), "m2": (0, 2), "m3": (0, 3),
        "h1": (1, 1), "h2": (1, 2), "h3": (1, 3),
        "t1": (2, 1), "t2": (2, 2), "t3": (2, 3),
    }.items():  # fmt: skip
        empirical = np.mean(lam**j / (lam + x) ** p)
        assert getattr(b, name) == pytest.approx(empirical, rel=FINITE_D_TOL), name


@pytest.mark.parametrize("psi1", [0.05, 0.5, 1.0, 3.0, 50.0])
def test_transforms_solve_their_quadratics_and_moments(psi1):
    for x in [1e-8, 1e-3, 0.3, 10.0, 1e4]:
        m = stieltjes(psi1, x)
        h = weighted_stieltjes(psi1, x)
        assert psi1 * x * m * m + (1 - psi1 + x) * m - 1 == pytest.approx(0, abs=1e-12 * (1 + m))
        assert psi1 * h * h - (1 + psi1 + x) * h + 1 == pytest.approx(0, abs=1e-12)
        assert h == pytest.approx(1 - x * m, rel=1e-9, abs=1e-12)
    # moments E l = 1, E l^2 = 1 + psi1, E l^3 = 1 + 3 psi1 + psi1^2 from x h(x) at large x
    x = 1e6
    expansion = 1 - (1 + psi1) / x + (1 + 3 * psi1 + psi1**2) / x**2
    assert x * weighted_stieltjes(psi1, x) == pytest.approx(expansion, rel=1e-12)


@pytest.mark.parametrize("psi1", [0.3, 2.0])
def test_x_derivatives_are_consistent(psi1):
    x, h = 0.7, 1e-6
    b, up, dn = basis(psi1, x), basis(psi1, x + h), basis(psi1, x - h)
    for f, df in [("m1", "m2"), ("h1", "h2"), ("t1", "t2")]:
        assert (getattr(up, f) - getattr(dn, f)) / (2 * h) == pytest.approx(
            -getattr(b, df), rel=1e-7
        )
    for f, df in [("m2", "m3"), ("h2", "h3"), ("t2", "t3")]:
        assert (getattr(up, f) - getattr(dn, f)) / (2 * h) == pytest.approx(
            -2 * getattr(b, df), rel=1e-7
        )


def test_atom_and_linear_limits():
    psi1 = 3.0
    sp = Spectrum(psi1)
    assert sp.nonzero_mass == pytest.approx(1 / 3)
    # The atom 1 - 1/psi1 at 0 dominates m(x) as x -> 0; h(0) is the nonzero mass.
    x = 1e-9
    assert x * stieltjes(psi1, x) == pytest.approx(1 - 1 / psi1, rel=1e-6)
    assert weighted_stieltjes(psi1, 0.0) == pytest.approx(1 / psi1)
    # atom-free integrals at x = 0: int l/l dmu = nonzero mass; int l / l^2 dmu = E[1/l; l > 0]
    b0 = basis(psi1, 0.0, with_atom=False)
    lam = sampled_eigenvalues(psi1)
    nz = lam[lam > 1e-8]
    assert b0.h1 == pytest.approx(len(nz) / len(lam), rel=1e-3)
    assert b0.h2 == pytest.approx(np.sum(1 / nz) / len(lam), rel=FINITE_D_TOL)


def test_integrate_derivatives_match_differences():
    sp = Spectrum(1.7)
    poly = (0.3, 0.25, 0.0625)
    for power in (1, 2):
        value, d1, d0 = sp.integrate_with_derivatives(poly, 0.8, 0.5, power)
        h = 1e-6
        num1 = (
            sp.integrate(poly, 0.8 + h, 0.5, power) - sp.integrate(poly, 0.8 - h, 0.5, power)
        ) / (2 * h)
        num0 = (
            sp.integrate(poly, 0.8, 0.5 + h, power) - sp.integrate(poly, 0.8, 0.5 - h, power)
        ) / (2 * h)
        assert d1 == pytest.approx(num1, rel=1e-7)
        assert d0 == pytest.approx(num0, rel=1e-7)
    # constant precision (mu1 = 0): moments
    assert sp.integrate((1.0, 1.0, 1.0), 0.0, 2.0, 1) == pytest.approx((1 + 1 + 2.7) / 2.0)
