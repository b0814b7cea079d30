"""Marchenko-Pastur transforms of the spectrum of Theta Theta^T / d (docs/theory.md, section 5).

The eigenvalues l of Theta Theta^T / d (N x N, N = psi1 d) follow, as d -> infinity, the
Marchenko-Pastur law mu of ratio psi1: a density on [(1 - sqrt psi1)^2, (1 + sqrt psi1)^2] of mass
min(1, 1/psi1), plus an atom 1 - 1/psi1 at l = 0 when psi1 > 1. Its mean is 1 and its second
moment 1 + psi1.

The theory only ever integrates polynomials of degree <= 2 in l against (l + x)^-p, p = 1, 2
(the precision A(l) = a1 (l + x) is linear in l). Everything reduces to two Stieltjes transforms,
both closed form:

    m(x) = int dmu(l) / (l + x)            (the whole law, atom included),
    h(x) = int l dmu(l) / (l + x)          (the law weighted by l: no atom),

    psi1 x m^2 + (1 - psi1 + x) m - 1 = 0,     psi1 h^2 - (1 + psi1 + x) h + 1 = 0.

Each root is written in the form that has no cancellation (docs/theory.md, section 5):
h = 2 / (S + r) with S = 1 + psi1 + x, r = sqrt(S^2 - 4 psi1); m = 2 / (B + t) when
B = 1 - psi1 + x >= 0, else (t - B) / (2 psi1 x), with t = sqrt(B^2 + 4 psi1 x). Derivatives
follow from the quadratics:

    int l/(l+x)^2 = h / r,     int l/(l+x)^3 = 1 / r^3,     int 1/(l+x)^2 = m (1 + psi1 m) / t,
    int l^2/(l+x)   = h (1 + psi1 (1 - h)),
    int l^2/(l+x)^2 = h ((1 - psi1)^2 + 2 (1 + psi1) x) / (r (r + x)).

A polynomial p(l) = c0 + c1 l + c2 l^2 is integrated by `Spectrum.integrate`. A coefficient c0
that is exactly zero skips m (so x = 0 is allowed for the atom-free integrals that the linear
activation needs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

# Polynomials in the eigenvalue l: (c0, c1, c2) means c0 + c1 l + c2 l^2.
Poly = tuple[float, float, float]


class Basis(NamedTuple):
    """Transforms of mu at one x >= 0: f_p = int l^j / (l + x)^p for j = 0, 1, 2 and p = 1, 2, 3.

    Names: m* integrate 1 (atom included), h* integrate l, t* integrate l^2; the digit is p.
    Entries that were not needed (the atom terms when `with_atom` is False) are nan.
    """

    x: float
    m1: float
    m2: float
    m3: float
    h1: float
    h2: float
    h3: float
    t1: float
    t2: float
    t3: float


def stieltjes(psi1: float, x: float) -> float:
    """m(x) = int dmu(l) / (l + x) for x > 0 (cancellation-free root of the MP quadratic)."""
    b = 1.0 - psi1 + x
    t = math.sqrt(b * b + 4.0 * psi1 * x)
    return 2.0 / (b + t) if b >= 0.0 else (t - b) / (2.0 * psi1 * x)


def weighted_stieltjes(psi1: float, x: float) -> float:
    """h(x) = int l dmu(l) / (l + x) = 1 - x m(x) for x >= 0, without the cancellation."""
    rp = math.sqrt(psi1)
    s = 1.0 + psi1 + x
    return 2.0 / (s + math.sqrt(((1.0 - rp) ** 2 + x) * ((1.0 + rp) ** 2 + x)))


def basis(psi1: float, x: float, with_atom: bool = True) -> Basis:
    """All transforms needed at x (and their x-derivatives, through the p = 3 entries)."""
    s = 1.0 + psi1 + x
    rp = math.sqrt(psi1)
    # r^2 = S^2 - 4 psi1 = ((1 - sqrt psi1)^2 + x) ((1 + sqrt psi1)^2 + x), factored for accuracy
    r = math.sqrt(((1.0 - rp) ** 2 + x) * ((1.0 + rp) ** 2 + x))
    h1 = 2.0 / (s + r)
    t1 = h1 * (1.0 + psi1 * (1.0 - h1))
    if x == 0.0:
        # Atom-free integrals at x = 0 (linear activation without ridge). int dmu / l over the
        # nonzero eigenvalues, h2 = h1 / r, diverges at psi1 = 1 (r = 0).
        h2 = h1 / r if r > 0.0 else math.inf
        h3 = 1.0 / r**3 if r > 0.0 else math.inf
        t2, t3 = h1, h2
    else:
        h2 = h1 / r
        h3 = 1.0 / (r * r * r)
        t2 = h1 * ((1.0 - psi1) ** 2 + 2.0 * (1.0 + psi1) * x) / (r * (r + x))
        t3 = h2 - x * h3
    if not with_atom:
        nan = math.nan
        return Basis(x, nan, nan, nan, h1, h2, h3, t1, t2, t3)
    b = 1.0 - psi1 + x
    t = math.sqrt(b * b + 4.0 * psi1 * x)
    m1 = 2.0 / (b + t) if b >= 0.0 else (t - b) / (2.0 * psi1 * x)
    m2 = m1 * (1.0 + psi1 * m1) / t
    # m'' / 2 from differentiating m' = -m (1 + psi1 m) / t, with t' = (B + 2 psi1) / t.
    m3 = 0.5 * (m2 * (1.0 + 2.0 * psi1 * m1) / t + m2 * (b + 2.0 * psi1) / (t * t))
    return Basis(x, m1, m2, m3, h1, h2, h3, t1, t2, t3)


@dataclass(frozen=True)
class Spectrum:
    """The Marchenko-Pastur law of ratio psi1, seen through integrals of p(l) / A(l)^k.

    A(l) = a1 l + a0 with a1 >= 0, a0 >= 0, a1 + a0 > 0. When a1 = 0 (an activation with
    mu1 = 0) A is constant and the integrals are moments: E l = 1, E l^2 = 1 + psi1,
    E l^3 = 1 + 3 psi1 + psi1^2.
    """

    psi1: float

    @property
    def nonzero_mass(self) -> float:
        """mu((0, inf)) = min(1, 1/psi1): what remains once the atom is dropped."""
        return min(1.0, 1.0 / self.psi1)

    def moment(self, j: int) -> float:
        p = self.psi1
        return (1.0, 1.0, 1.0 + p, 1.0 + 3.0 * p + p * p)[j]

    def integrate(self, poly: Poly, a1: float, a0: float, power: int) -> float:
        """int p(l) / (a1 l + a0)^power dmu(l), power in {0, 1, 2}."""
        return self.integrate_with_derivatives(poly, a1, a0, power)[0]

    def integrate_with_derivatives(
        self, poly: Poly, a1: float, a0: float, power: int, base: Basis | None = None
    ) -> tuple[float, float, float]:
        """(I, dI/da1, dI/da0) for I = int p(l) / (a1 l + a0)^power dmu(l).

        With x = a0 / a1 and F_k(x) = int p / (l + x)^k: I = a1^-k F_k(x),
        dI/da0 = a1^(-k-1) F_k'(x), dI/da1 = -a1^(-k-1) (k F_k + x F_k').
        """
        c0, c1, c2 = poly
        if power == 0:
            return c0 + c1 * self.moment(1) + c2 * self.moment(2), 0.0, 0.0
        if a1 == 0.0:
            num = c0 + c1 * self.moment(1) + c2 * self.moment(2)
            value = num / a0**power
            nxt = c0 * self.moment(1) + c1 * self.moment(2) + c2 * self.moment(3)
            return value, -power * nxt / a0 ** (power + 1), -power * value / a0
        if base is None:
            base = basis(self.psi1, a0 / a1, with_atom=c0 != 0.0)
        x = base.x
        f, df = _poly_transform(poly, base, power)
        scale = a1**-power
        x_df = x * df if x != 0.0 else 0.0  # x F_k'(x) -> 0 as x -> 0 even where F_k' diverges
        return scale * f, -scale / a1 * (power * f + x_df), scale / a1 * df


def _poly_transform(poly: Poly, b: Basis, power: int) -> tuple[float, float]:
    """F_k(x) = int p(l) / (l + x)^k and F_k'(x) = -k int p(l) / (l + x)^(k+1).

    A zero coefficient contributes nothing, also where its transform diverges (x = 0 at
    psi1 = 1: int dmu / l^j for j >= 1); otherwise the same operations."""
    c0, c1, c2 = poly
    if power == 1:
        f = (c1 * b.h1 if c1 else 0.0) + c2 * b.t1
        df = -((c1 * b.h2 if c1 else 0.0) + (c2 * b.t2 if c2 else 0.0))
        if c0 != 0.0:
            f += c0 * b.m1
            df -= c0 * b.m2
    else:
        f = (c1 * b.h2 if c1 else 0.0) + (c2 * b.t2 if c2 else 0.0)
        df = -2.0 * ((c1 * b.h3 if c1 else 0.0) + (c2 * b.t3 if c2 else 0.0))
        if c0 != 0.0:
            f += c0 * b.m2
            df -= 2.0 * c0 * b.m3
    return f, df
