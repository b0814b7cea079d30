"""The three scalar equations of the asymptotic theory (derivation: docs/theory.md).

Notation (conventions 3). l: an eigenvalue of Theta Theta^T / d (Marchenko-Pastur, ratio
psi1). k(l) = mu1^2 l + mu_star^2 (feature covariance K), m(l) = mu1^2 l + nu^2 (gradient
matrix M). P = psi1 F1^2 mu1^2, p12 = psi1 / psi2, Q0 = F1^2 + tau^2.

Unknowns: gam > 0 (Moreau parameter of the loss), Q (standard test error), s = sqrt(a^T M a).
Loss side, with c = eps s, q ~ N(0, Q), z = 2 gam c / sqrt(Q), P_in = P(|q| <= 2 gam c):

    th1 = P_in / gam + 2 P_out / (1 + 2 gam)                                  (E e''(q))
    th2 = (2 eps / s) [c P_in + (E[|q|; out] + c P_out) / (1 + 2 gam)]        (eps E d_c e(q))
    b2  = E[q^2; in] / gam^2 + 4 E[(|q| + c)^2; out] / (1 + 2 gam)^2          (E e'(q)^2)

Regularizer side: the precision A(l) = 2 psi1 lam + th1 k(l) + th2 m(l) = a1 l + a0 and

    gam = p12 int k/A
    Q   = Q0 - 2 th1 P int l/A + th1^2 P int l k/A^2 + b2 p12 int k^2/A^2
    s^2 = th1^2 P int l m/A^2 + b2 p12 int k m/A^2

`residual` returns these equations in logarithmic form, F(u) = 0 with u = (log gam, log Q, log s),
and their exact Jacobian. They are the stationarity conditions of the scalar function `psi`
(`saddle_gradient`), whose saddle structure `saddle_inertia` checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

from scipy import special

from advrf.problem import Problem
from advrf.theory.spectrum import Basis, Poly, Spectrum, basis

SQRT_2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# Moments below this fraction of mu1^2 + mu_star^2 + nu^2 are quadrature round-off: set to 0.
MOMENT_ZERO = 1e-12


@dataclass(frozen=True)
class Coefficients:
    """What the equations see of a Problem: ratios, moments, radii and the MP law."""

    psi1: float
    psi2: float
    eps: float
    lam: float
    signal: float
    noise: float
    mu1: float
    mu1sq: float
    mustar2: float
    nu2: float
    spectrum: Spectrum

    @classmethod
    def from_problem(cls, problem: Problem) -> Coefficients:
        mom = problem.moments
        mu1, mustar2, nu2 = mom.mu1, mom.mu_star2, mom.nu2
        scale = mu1 * mu1 + mustar2 + nu2
        if scale <= 0.0:
            raise ValueError(f"activation {problem.activation.name!r} is constant: no features")
        mu1 = 0.0 if mu1 * mu1 <= MOMENT_ZERO * scale else mu1
        mustar2 = 0.0 if mustar2 <= MOMENT_ZERO * scale else mustar2
        nu2 = 0.0 if nu2 <= MOMENT_ZERO * scale else nu2
        # the fields in one update of the instance dictionary, as `TheoryResult.build` (a frozen
        # dataclass's __init__ sets them one by one; this runs once a solve)
        out = object.__new__(cls)
        out.__dict__.update(
            psi1=problem.psi1,
            psi2=problem.psi2,
            eps=problem.eps,
            lam=problem.lam,
            signal=problem.signal,
            noise=problem.noise,
            mu1=mu1,
            mu1sq=mu1 * mu1,
            mustar2=mustar2,
            nu2=nu2,
            spectrum=Spectrum(problem.psi1),
        )
        out.__post_init__()
        return out

    # Derived once (the solver reads them in every evaluation).
    linear: bool = field(init=False)  # mu_star = nu = 0: the features span only the inputs
    p12: float = field(init=False)
    Q0: float = field(init=False)  # the symbol of docs/theory.md, F1^2 + tau^2
    P: float = field(init=False)  # the symbol of docs/theory.md, psi1 F1^2 mu1^2
    # Polynomials in l (c0, c1, c2) integrated against the MP law.
    k: Poly = field(init=False)  # mu1^2 l + mu_star^2
    lk: Poly = field(init=False)
    kk: Poly = field(init=False)
    lm: Poly = field(init=False)
    km: Poly = field(init=False)

    def __post_init__(self) -> None:
        m1s, ms, nu2 = self.mu1sq, self.mustar2, self.nu2
        self.__dict__.update(
            linear=ms == 0.0 and nu2 == 0.0,
            p12=self.psi1 / self.psi2,
            Q0=self.signal**2 + self.noise**2,
            P=self.psi1 * self.signal**2 * m1s,
            k=(ms, m1s, 0.0),
            lk=(0.0, ms, m1s),
            kk=(ms**2, 2.0 * m1s * ms, m1s**2),
            lm=(0.0, nu2, m1s),
            km=(ms * nu2, m1s * (ms + nu2), m1s**2),
        )

    def precision(self, th1: float, th2: float) -> tuple[float, float]:
        """(a1, a0) with A(l) = 2 psi1 lam + th1 k(l) + th2 m(l) = a1 l + a0."""
        return (
            self.mu1sq * (th1 + th2),
            2.0 * self.psi1 * self.lam + th1 * self.mustar2 + th2 * self.nu2,
        )

    def sigma2(self) -> float:
        """Residual variance of the best linear predictor: Q0 - P int l/k."""
        if self.mu1sq == 0.0:
            return self.Q0
        return self.Q0 - self.P * self.spectrum.integrate(L, self.mu1sq, self.mustar2, 1)

    def eps_c(self) -> float:
        """eps_c = sqrt(pi / (2 Q0)) sqrt(P int l/m + Q0 p12 int k/m) (conventions 3.5)."""
        sp = self.spectrum
        a1, a0 = self.mu1sq, self.nu2
        base = basis(self.psi1, a0 / a1, with_atom=self.mustar2 > 0.0) if a1 > 0.0 else None
        total = self.Q0 * self.p12 * sp.integrate_with_derivatives(self.k, a1, a0, 1, base)[0]
        if self.mu1sq > 0.0:
            total += self.P * sp.integrate_with_derivatives(L, a1, a0, 1, base)[0]
        return math.sqrt(math.pi / (2.0 * self.Q0) * total)


L: Poly = (0.0, 1.0, 0.0)
LL: Poly = (0.0, 0.0, 1.0)


class LossTerms(NamedTuple):
    """th1, th2, b2 and their derivatives with respect to (log gam, log Q, log s)."""

    th1: float
    th2: float
    b2: float
    dth1: tuple[float, float, float]
    dth2: tuple[float, float, float]
    db2: tuple[float, float, float]
    p_in: float
    p_out: float
    z: float


def gaussian_pieces(z: float) -> tuple[float, float, float, float, float]:
    """For Z ~ N(0,1): P(|Z| <= z), P(|Z| > z), E[Z^2; |Z| <= z], E[Z^2; |Z| > z], phi(z).

    The tails use erfc and the regularised incomplete gamma (no 1 - x cancellation):
    E[Z^2; |Z| <= z] = P(chi2_3 <= z^2) = gammainc(3/2, z^2/2).
    """
    w = z / SQRT_2
    half = 0.5 * z * z
    return (
        math.erf(w),
        math.erfc(w),
        float(special.gammainc(1.5, half)),
        float(special.gammaincc(1.5, half)),
        INV_SQRT_2PI * math.exp(-half),
    )


def th1_terms(gam, z, p_in, p_out, phi, u):
    """th1 = P(|Z| <= z) / gam + 2 P(|Z| > z) / (1 + 2 gam) and its derivatives in (log gam,
    log Q, log s); plain arithmetic, so floats and numpy arrays alike (advrf.theory.batch)."""
    th1 = p_in / gam + 2.0 * p_out / u
    dth1_dz = 2.0 * phi / (gam * u)
    dth1 = (
        -p_in / gam - 4.0 * gam * p_out / (u * u) + dth1_dz * z,
        -0.5 * z * dth1_dz,
        z * dth1_dz,
    )
    return th1, dth1


def b2_terms(gam, Q, z, p_out, g2in, g2out, phi, u):  # noqa: N803
    """b2 = Q B(gam, z) and its derivatives in (log gam, log Q, log s); floats or arrays."""
    g1out = 2.0 * phi  # E[|Z|; |Z| > z]
    ig = 1.0 / gam
    out = 4.0 * g2out + 4.0 * z * g1out * ig + z * z * p_out * ig * ig
    bf = g2in * ig * ig + out / (u * u)
    dbf_dz = 2.0 * z * z * phi * ig * ig + (
        -8.0 * z * z * phi
        + 4.0 * ig * (g1out - 2.0 * z * z * phi)
        + (2.0 * z * p_out - 2.0 * z * z * phi) * ig * ig
    ) / (u * u)
    dbf_dgam = (
        -2.0 * g2in * ig**3
        - (4.0 * z * g1out * ig * ig + 2.0 * z * z * p_out * ig**3) / (u * u)
        - 4.0 * out / u**3
    )
    db2 = (
        Q * (gam * dbf_dgam + z * dbf_dz),
        Q * (bf - 0.5 * z * dbf_dz),
        Q * z * dbf_dz,
    )
    return Q * bf, db2


def loss_terms(gam: float, Q: float, s: float, eps: float) -> LossTerms:  # noqa: N803
    """Gaussian expectations of the Moreau envelope of (|r| + c)^2 (closed-form prox).

    prox(q) = 0 if |q| <= 2 gam c, else (q - 2 gam c sign q) / (1 + 2 gam); envelope
    c^2 + q^2 / (2 gam) inside, (|q| + c)^2 / (1 + 2 gam) outside.
    """
    sq = math.sqrt(Q)
    c = eps * s
    z = 2.0 * gam * c / sq
    p_in, p_out, g2in, g2out, phi = gaussian_pieces(z)
    g1out = 2.0 * phi  # E[|Z|; |Z| > z]
    u = 1.0 + 2.0 * gam
    th1, dth1 = th1_terms(gam, z, p_in, p_out, phi, u)
    # th2 (its z-derivative vanishes identically)
    if eps > 0.0:
        inner = sq * g1out / s + eps * p_out
        th2 = 2.0 * eps * eps * p_in + 2.0 * eps * inner / u
        t = eps * sq * g1out / (s * u)
        dth2 = (-4.0 * gam * eps * inner / (u * u), t, -2.0 * t)
    else:
        th2, dth2 = 0.0, (0.0, 0.0, 0.0)
    b2, db2 = b2_terms(gam, Q, z, p_out, g2in, g2out, phi, u)
    return LossTerms(th1, th2, b2, dth1, dth2, db2, p_in, p_out, z)


# One integral of the regulariser side with its derivatives: (I, dI/dth1, dI/dth2).
Triple = tuple[float, float, float]
ZERO3: Triple = (0.0, 0.0, 0.0)


class Integrals(NamedTuple):
    """The MP integrals of the equations at A = a1 l + a0, each as (I, dI/dth1, dI/dth2):

    g = int k/A, q1 = int l/A, q2 = int l k/A^2, q3 = int k^2/A^2, s1 = int l m/A^2,
    s2 = int k m/A^2 (q1, q2, s1 are 0 when P = 0: they are only used multiplied by P).
    Linear activation only (`q_rhs`): j0, j1, j2 = int_{l > 0} l^j / A^2 (j0 only when lam > 0).
    """

    g: Triple
    q1: Triple
    q2: Triple
    q3: Triple
    s1: Triple
    s2: Triple
    j0: Triple = ZERO3
    j1: Triple = ZERO3
    j2: Triple = ZERO3


def integrals(co: Coefficients, a1: float, a0: float, b: Basis | None = None) -> Integrals:
    """All integrals of `residual` from one `basis` call (section 5 of docs/theory.md).

    With x = a0 / a1 and F_p(x) = int poly / (l + x)^p: I = a1^-p F_p, dI/da0 = a1^(-p-1) F_p',
    dI/da1 = -a1^(-p-1) (p F_p + x F_p'); a1 = mu1^2 (th1 + th2), a0 = 2 psi1 lam + th1 mu_star^2
    + th2 nu^2 give dI/dth1 = mu1^2 dI/da1 + mu_star^2 dI/da0, dI/dth2 = mu1^2 dI/da1 + nu^2 dI/da0.
    `b`: the basis at a0 / a1 when already computed (`_basis`).
    """
    m1s, ms, nu2 = co.mu1sq, co.mustar2, co.nu2
    with_p = co.P > 0.0
    if a1 == 0.0:  # constant A (mu1 = 0): moment formulas
        sp = co.spectrum

        def moment(poly: Poly, power: int) -> Triple:
            value, d1, d0 = sp.integrate_with_derivatives(poly, a1, a0, power)
            return value, m1s * d1 + ms * d0, m1s * d1 + nu2 * d0

        return Integrals(
            moment(co.k, 1),
            moment(L, 1) if with_p else ZERO3,
            moment(co.lk, 2) if with_p else ZERO3,
            moment(co.kk, 2),
            moment(co.lm, 2) if with_p else ZERO3,
            moment(co.km, 2),
        )
    if b is None:
        b = basis(co.psi1, a0 / a1, with_atom=ms > 0.0)
    x = b.x
    # the same operations as Spectrum.integrate_with_derivatives, so the values are bit-identical
    scale1 = a1**-1
    scale2 = a1**-2
    r1 = scale1 / a1
    r2 = scale2 / a1

    def power1(c0: float, c1: float, c2: float) -> Triple:
        f = c1 * b.h1 + c2 * b.t1
        df = -(c1 * b.h2 + c2 * b.t2)
        if c0 != 0.0:
            f += c0 * b.m1
            df -= c0 * b.m2
        da1, da0 = -r1 * (f + x * df), r1 * df
        return scale1 * f, m1s * da1 + ms * da0, m1s * da1 + nu2 * da0

    def power2(c0: float, c1: float, c2: float) -> Triple:
        f = c1 * b.h2 + c2 * b.t2
        df = -2.0 * (c1 * b.h3 + c2 * b.t3)
        if c0 != 0.0:
            f += c0 * b.m2
            df -= 2.0 * c0 * b.m3
        da1, da0 = -r2 * (2.0 * f + x * df), r2 * df
        return scale2 * f, m1s * da1 + ms * da0, m1s * da1 + nu2 * da0

    if x == 0.0:
        # Linear activation without ridge: a0 = 0 stays 0, so only d/da1 enters; the terms of
        # zero coefficient are skipped (their transforms diverge at psi1 = 1).
        def power1(c0: float, c1: float, c2: float) -> Triple:
            f = (c1 * b.h1 if c1 else 0.0) + (c2 * b.t1 if c2 else 0.0)
            d = m1s * (-r1 * f)
            return scale1 * f, d, d

        def power2(c0: float, c1: float, c2: float) -> Triple:
            f = (c1 * b.h2 if c1 else 0.0) + (c2 * b.t2 if c2 else 0.0)
            d = m1s * (-r2 * (2.0 * f))
            return scale2 * f, d, d

    base = (
        power1(ms, m1s, 0.0),
        power1(0.0, 1.0, 0.0) if with_p else ZERO3,
        power2(0.0, ms, m1s) if with_p else ZERO3,
        power2(ms * ms, 2.0 * m1s * ms, m1s * m1s),
        power2(0.0, nu2, m1s) if with_p else ZERO3,
        power2(ms * nu2, m1s * (ms + nu2), m1s * m1s),
    )
    if not co.linear:
        return Integrals(*base)
    j0 = ZERO3
    if co.lam > 0.0:  # a0 = 2 psi1 lam does not depend on th1, th2
        g0, dg0 = nonzero_inverse_square(co.psi1, x)
        da1 = -r2 * (2.0 * g0 + x * dg0)
        j0 = (scale2 * g0, m1s * da1, m1s * da1)
    return Integrals(*base, j0, power2(0.0, 1.0, 0.0), power2(0.0, 0.0, 1.0))


def nonzero_inverse_square(psi1: float, x: float) -> tuple[float, float]:
    """(G, G') with G(x) = int_{l > 0} dmu(l) / (l + x)^2, x > 0: the law without its atom.

    For psi1 > 1 the nonzero eigenvalues of Theta Theta^T / d are psi1 times those of
    Theta^T Theta / N, whose law is Marchenko-Pastur of ratio 1 / psi1 (no atom), with weight
    1 / psi1: G(x) = psi1^-3 m2'(x / psi1), G'(x) = -2 psi1^-4 m3'(x / psi1). For psi1 <= 1
    there is no atom: G = m2, G' = -2 m3 (`spectrum.basis`).
    """
    if psi1 > 1.0:
        b = basis(1.0 / psi1, x / psi1)
        return b.m2 / psi1**3, -2.0 * b.m3 / psi1**4
    b = basis(psi1, x)
    return b.m2, -2.0 * b.m3


def q_rhs(
    co: Coefficients, th1: float, th2: float, b2: float, ints: Integrals
) -> tuple[float, float, float, float]:
    """Q_rhs = Q0 - 2 th1 P int l/A + th1^2 P int l k/A^2 + b2 p12 int k^2/A^2 (the right side
    of (E2)) and its derivatives in th1, th2, b2.

    Linear activation: written without the cancellation of Q0 against the th1 terms, which
    leaves no digit of Q when E_std << F1^2 (noiseless, near exact recovery). With
    Q0 - P int_{l>0} l/k = sigma2 (= tau^2 for psi1 >= 1, F1^2 (1 - psi1) + tau^2 otherwise),
    A - th1 k = 2 psi1 lam + th2 mu1^2 l = c + d l and l/k = 1/mu1^2 on l > 0:
    Q_rhs = sigma2 + psi1 F1^2 (c^2 j0 + 2 c d j1 + d^2 j2) + b2 p12 int k^2/A^2.
    """
    P, p12 = co.P, co.p12  # noqa: N806
    q3 = ints.q3
    if not co.linear:
        q1, q2 = ints.q1, ints.q2
        qf = co.Q0 - 2.0 * th1 * P * q1[0] + th1 * th1 * P * q2[0] + b2 * p12 * q3[0]
        dq_th1 = P * (-2.0 * q1[0] - 2.0 * th1 * q1[1] + 2.0 * th1 * q2[0] + th1 * th1 * q2[1])
        dq_th1 += b2 * p12 * q3[1]
        dq_th2 = P * (-2.0 * th1 * q1[2] + th1 * th1 * q2[2]) + b2 * p12 * q3[2]
        return qf, dq_th1, dq_th2, p12 * q3[0]
    f2 = co.signal**2
    sigma2 = co.noise**2 + (f2 * (1.0 - co.psi1) if co.psi1 < 1.0 else 0.0)
    c, d = 2.0 * co.psi1 * co.lam, co.mu1sq * th2
    j0, j1, j2 = ints.j0, ints.j1, ints.j2
    weight = co.psi1 * f2 if P > 0.0 else 0.0  # P / mu1^2
    squares, ds_th1, ds_th2 = d * d * j2[0], d * d * j2[1], d * d * j2[2]
    ds_th2 += co.mu1sq * 2.0 * d * j2[0]
    if c > 0.0:  # (j0, j1 diverge at psi1 = 1 without ridge)
        squares += c * c * j0[0] + 2.0 * c * d * j1[0]
        ds_th1 += c * c * j0[1] + 2.0 * c * d * j1[1]
        ds_th2 += c * c * j0[2] + 2.0 * c * d * j1[2] + co.mu1sq * 2.0 * c * j1[0]
    qf = sigma2 + weight * squares + b2 * p12 * q3[0]
    return qf, weight * ds_th1 + b2 * p12 * q3[1], weight * ds_th2 + b2 * p12 * q3[2], p12 * q3[0]


class Evaluation(NamedTuple):
    """Residual F(u), Jacobian dF/du, and what the outputs and the Hessian need, at one point u."""

    F: tuple[float, float, float]
    J: tuple[tuple[float, float, float], ...]
    gam: float
    Q: float
    s: float
    loss: LossTerms
    a1: float
    a0: float
    integrals: Integrals
    basis: Basis | None  # the MP transforms at a0 / a1 (None when a1 = 0)


def residual(co: Coefficients, u: tuple[float, float, float]) -> Evaluation:
    """F(u) and its Jacobian for u = (log gam, log Q, log s) (module docstring equations)."""
    gam, Q, s = math.exp(u[0]), math.exp(u[1]), math.exp(u[2])  # noqa: N806
    lt = loss_terms(gam, Q, s, co.eps)
    th1, th2, b2 = lt.th1, lt.th2, lt.b2
    a1, a0 = co.precision(th1, th2)
    base = _basis(co, a1, a0)
    ints = integrals(co, a1, a0, base)
    P, p12 = co.P, co.p12  # noqa: N806
    t1, t2, db2 = lt.dth1, lt.dth2, lt.db2  # d(th1, th2, b2)/du

    g = ints.g
    F1 = math.log(gam / (p12 * g[0]))  # noqa: N806
    gi = 1.0 / g[0]
    row1 = (
        1.0 - (g[1] * t1[0] + g[2] * t2[0]) * gi,
        -(g[1] * t1[1] + g[2] * t2[1]) * gi,
        -(g[1] * t1[2] + g[2] * t2[2]) * gi,
    )
    # Q_rhs and its derivatives in th1 (explicit and through A), th2 (through A) and b2
    qf, dq_th1, dq_th2, dq_b2 = q_rhs(co, th1, th2, b2, ints)
    if not qf > 0.0:
        raise FloatingPointError("Q equation left its domain (Q <= 0)")
    F2 = math.log(Q / qf)  # noqa: N806
    qi = 1.0 / qf
    row2 = (
        -(dq_th1 * t1[0] + dq_th2 * t2[0] + dq_b2 * db2[0]) * qi,
        1.0 - (dq_th1 * t1[1] + dq_th2 * t2[1] + dq_b2 * db2[1]) * qi,
        -(dq_th1 * t1[2] + dq_th2 * t2[2] + dq_b2 * db2[2]) * qi,
    )
    s1, s2 = ints.s1, ints.s2
    sf = th1 * th1 * P * s1[0] + b2 * p12 * s2[0]
    F3 = 2.0 * math.log(s / math.sqrt(sf))  # noqa: N806
    ds_th1 = P * (2.0 * th1 * s1[0] + th1 * th1 * s1[1]) + b2 * p12 * s2[1]
    ds_th2 = P * th1 * th1 * s1[2] + b2 * p12 * s2[2]
    ds_b2 = p12 * s2[0]
    si = 1.0 / sf
    row3 = (
        -(ds_th1 * t1[0] + ds_th2 * t2[0] + ds_b2 * db2[0]) * si,
        -(ds_th1 * t1[1] + ds_th2 * t2[1] + ds_b2 * db2[1]) * si,
        2.0 - (ds_th1 * t1[2] + ds_th2 * t2[2] + ds_b2 * db2[2]) * si,
    )
    return Evaluation((F1, F2, F3), (row1, row2, row3), gam, Q, s, lt, a1, a0, ints, base)


def _basis(co: Coefficients, a1: float, a0: float) -> Basis | None:
    """The MP transforms at x = a0 / a1 (None when A is constant, a1 = 0)."""
    return basis(co.psi1, a0 / a1, with_atom=co.mustar2 > 0.0) if a1 > 0.0 else None


class OrderParameters(NamedTuple):
    """Limits of ||a||^2, ||w||^2, <beta, w> (w = Theta^T a / sqrt d) and s^2 = a^T M a."""

    norm_a2: float
    norm_w2: float
    beta_w: float
    grad_norm2: float


def order_parameters(
    co: Coefficients, th1: float, b2: float, a1: float, a0: float, base: Basis | None = None
) -> OrderParameters:
    """a = A^-1 (th1 mu1 F beta + b K^{1/2} h / sqrt(n)) gives, with A = a1 l + a0,

    ||a||^2 = th1^2 P int l/A^2 + b2 p12 int k/A^2,
    ||w||^2 = th1^2 P int l^2/A^2 + b2 p12 int l k/A^2,
    <beta, w> = th1 mu1 psi1 F1^2 int l/A,
    s^2 = th1^2 P int l m/A^2 + b2 p12 int k m/A^2.

    Homogeneous of degree 0 in (th1, b2^(1/2), a1, a0): the eps = 0 limits call it with th1 = 1.
    `base`: the basis at a0 / a1 when already computed.
    """
    sp, P, p12 = co.spectrum, co.P, co.p12  # noqa: N806
    if base is None:
        base = _basis(co, a1, a0)

    if base is None:  # constant A: moment formulas

        def integral(poly: Poly, power: int) -> float:
            if poly == (0.0, 0.0, 0.0):
                return 0.0
            return sp.integrate_with_derivatives(poly, a1, a0, power, base)[0]

    else:  # the operations of Spectrum.integrate_with_derivatives(...)[0], inline
        b = base
        scales = (1.0, a1**-1, a1**-2)

        def integral(poly: Poly, power: int) -> float:
            c0, c1, c2 = poly
            if power == 1:
                f = c1 * b.h1 + c2 * b.t1
                if c0 != 0.0:
                    f += c0 * b.m1
            elif c1 == 0.0:  # int l^2/A^2 alone: finite where int l/A^2 is not (x = 0, psi1 = 1)
                f = c2 * b.t2
            else:
                f = c1 * b.h2 + c2 * b.t2
                if c0 != 0.0:
                    f += c0 * b.m2
            return scales[power] * f

    t1 = th1 * th1 * P
    return OrderParameters(
        norm_a2=(t1 * integral(L, 2) if P > 0.0 else 0.0) + b2 * p12 * integral(co.k, 2),
        norm_w2=(t1 * integral(LL, 2) if P > 0.0 else 0.0) + b2 * p12 * integral(co.lk, 2),
        beta_w=th1 * co.mu1 * co.psi1 * co.signal**2 * integral(L, 1) if P > 0.0 else 0.0,
        grad_norm2=(t1 * integral(co.lm, 2) if P > 0.0 else 0.0) + b2 * p12 * integral(co.km, 2),
    )


def training_loss(gam: float, Q: float, s: float, eps: float) -> float:  # noqa: N803
    """E (|prox(q)| + c)^2 for q ~ N(0, Q): the limit of (1/n) sum_i (|r_i| + eps s)^2.

    The training residuals are distributed as prox(q): zero inside, (|q| + c) / (1 + 2 gam) - c
    in absolute value outside, so (|r| + c)^2 = c^2 inside and (|q| + c)^2 / (1 + 2 gam)^2 outside.
    """
    sq = math.sqrt(Q)
    c = eps * s
    z = 2.0 * gam * c / sq
    p_in, p_out, _, g2out, phi = gaussian_pieces(z)
    outside = Q * g2out + 4.0 * c * sq * phi + c * c * p_out
    return c * c * p_in + outside / (1.0 + 2.0 * gam) ** 2


def envelope_mean(gam: float, Q: float, s: float, eps: float) -> float:  # noqa: N803
    """E e(q; gam) for q ~ N(0, Q): c^2 + q^2/(2 gam) inside, (|q| + c)^2/(1 + 2 gam) outside."""
    sq = math.sqrt(Q)
    c = eps * s
    z = 2.0 * gam * c / sq
    p_in, p_out, g2in, g2out, phi = gaussian_pieces(z)
    outside = Q * g2out + 4.0 * c * sq * phi + c * c * p_out
    return c * c * p_in + Q * g2in / (2.0 * gam) + outside / (1.0 + 2.0 * gam)


def saddle_value(co: Coefficients, v: tuple[float, ...]) -> float:
    """The scalar saddle function psi(Q, s, gam, b2, th1, th2) (docs/theory.md, section 2):

    psi = E e(q; gam, eps s) + gam b2/2 - th1 (Q - sigma2)/2 - th2 s^2/2
          + th1 P int l/k / 2 - th1^2 P int l/A / 2 - b2 p12 int k/A / 2,

    minimised over (Q, s, gam), maximised over (b2, th1, th2). Its value at the saddle is the
    limit of the training objective.
    """
    Q, s, gam, b2, th1, th2 = v  # noqa: N806
    a1, a0 = co.precision(th1, th2)
    sp = co.spectrum
    sig2 = co.sigma2()
    value = envelope_mean(gam, Q, s, co.eps) + 0.5 * gam * b2 - 0.5 * th1 * (Q - sig2)
    value += -0.5 * th2 * s * s - 0.5 * b2 * co.p12 * sp.integrate(co.k, a1, a0, 1)
    if co.P > 0.0:
        value += 0.5 * th1 * (co.Q0 - sig2) - 0.5 * th1 * th1 * co.P * sp.integrate(L, a1, a0, 1)
    return value


def saddle_gradient(co: Coefficients, v: tuple[float, ...]) -> tuple[float, ...]:
    """Gradient of `saddle_value` in (Q, s, gam, b2, th1, th2):

    d/dQ = (th1_loss - th1)/2, d/ds = s (th2_loss - th2), d/dgam = (b2 - b2_loss)/2,
    d/db2 = (gam - p12 int k/A)/2, d/dth1 = (Q_rhs - Q)/2, d/dth2 = (s2_rhs - s^2)/2,

    where *_loss are the loss-side expressions of `loss_terms` and *_rhs the right-hand sides of
    the Q and s^2 equations: its zeros are exactly the solutions of `residual`.
    """
    Q, s, gam, b2, th1, th2 = v  # noqa: N806
    lt = loss_terms(gam, Q, s, co.eps)
    a1, a0 = co.precision(th1, th2)
    sp, P, p12 = co.spectrum, co.P, co.p12  # noqa: N806
    base = _basis(co, a1, a0)

    def integral(poly: Poly, power: int) -> float:
        return sp.integrate_with_derivatives(poly, a1, a0, power, base)[0]

    q_rhs = co.Q0 + b2 * p12 * integral(co.kk, 2)
    s_rhs = b2 * p12 * integral(co.km, 2)
    if P > 0.0:
        q_rhs += -2.0 * th1 * P * integral(L, 1) + th1 * th1 * P * integral(co.lk, 2)
        s_rhs += th1 * th1 * P * integral(co.lm, 2)
    return (
        0.5 * (lt.th1 - th1),
        s * (lt.th2 - th2),
        0.5 * (b2 - lt.b2),
        0.5 * (gam - p12 * integral(co.k, 1)),
        0.5 * (q_rhs - Q),
        0.5 * (s_rhs - s * s),
    )


def saddle_hessian(
    co: Coefficients,
    v: tuple[float, ...],
    lt: LossTerms | None = None,
    ints: Integrals | None = None,
) -> list[list[float]]:
    """Hessian of `saddle_value` in the logarithms of v = (Q, s, gam, b2, th1, th2), analytic:

    H[i][j] = v_i v_j d^2 psi / dv_i dv_j = v_i d g_i / d log v_j (g = `saddle_gradient`), from
    the log-derivatives of th1, th2, b2 (`loss_terms`) on the loss side and the th1, th2
    derivatives of the MP integrals (`integrals`) on the regulariser side. `lt` and `ints` may be
    passed when already computed at v (the last Newton evaluation). Symmetrised, as psi's
    Hessian is.
    """
    Q, s, gam, b2, th1, th2 = v  # noqa: N806
    if lt is None:
        lt = loss_terms(gam, Q, s, co.eps)
    if ints is None:
        ints = integrals(co, *co.precision(th1, th2))
    P, p12 = co.P, co.p12  # noqa: N806
    # loss-side derivatives in (log Q, log s, log gam) order
    d1 = (lt.dth1[1], lt.dth1[2], lt.dth1[0])
    d2 = (lt.dth2[1], lt.dth2[2], lt.dth2[0])
    db = (lt.db2[1], lt.db2[2], lt.db2[0])
    g, q3, s1, s2 = ints.g, ints.q3, ints.s1, ints.s2
    # d Q_rhs / d th1, th2 and d s2_rhs / d th1, th2 (Q_rhs, s2_rhs: right sides of (E2), (E3))
    _, dq1, dq2, _ = q_rhs(co, th1, th2, b2, ints)
    ds1 = b2 * p12 * s2[1] + P * (2.0 * th1 * s1[0] + th1 * th1 * s1[1])
    ds2 = b2 * p12 * s2[2] + P * th1 * th1 * s1[2]
    h = [
        # Q: g = (th1_loss - th1) / 2
        [0.5 * Q * d1[0], 0.5 * Q * d1[1], 0.5 * Q * d1[2], 0.0, -0.5 * Q * th1, 0.0],
        # s: g = s (th2_loss - th2)
        [
            s * s * d2[0],
            s * s * (lt.th2 - th2 + d2[1]),
            s * s * d2[2],
            0.0,
            0.0,
            -s * s * th2,
        ],
        # gam: g = (b2 - b2_loss) / 2
        [-0.5 * gam * db[0], -0.5 * gam * db[1], -0.5 * gam * db[2], 0.5 * gam * b2, 0.0, 0.0],
        # b2: g = (gam - p12 int k/A) / 2
        [0.0, 0.0, 0.5 * b2 * gam, 0.0, -0.5 * b2 * p12 * g[1] * th1, -0.5 * b2 * p12 * g[2] * th2],
        # th1: g = (Q_rhs - Q) / 2
        [
            -0.5 * th1 * Q,
            0.0,
            0.0,
            0.5 * th1 * b2 * p12 * q3[0],
            0.5 * th1 * th1 * dq1,
            0.5 * th1 * th2 * dq2,
        ],  # fmt: skip
        # th2: g = (s2_rhs - s^2) / 2
        [
            0.0,
            -th2 * s * s,
            0.0,
            0.5 * th2 * b2 * p12 * s2[0],
            0.5 * th2 * th1 * ds1,
            0.5 * th2 * th2 * ds2,
        ],  # fmt: skip
    ]
    return [[0.5 * (h[i][j] + h[j][i]) for j in range(6)] for i in range(6)]
