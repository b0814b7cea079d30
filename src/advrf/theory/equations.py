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
from dataclasses import dataclass

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
        return cls(
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

    @property
    def linear(self) -> bool:
        """mu_star = nu = 0: the features span only the d input directions."""
        return self.mustar2 == 0.0 and self.nu2 == 0.0

    @property
    def p12(self) -> float:
        return self.psi1 / self.psi2

    @property
    def Q0(self) -> float:  # noqa: N802 - the symbol of docs/theory.md
        return self.signal**2 + self.noise**2

    @property
    def P(self) -> float:  # noqa: N802 - the symbol of docs/theory.md
        return self.psi1 * self.signal**2 * self.mu1sq

    # Polynomials in l (c0, c1, c2) integrated against the MP law.
    @property
    def k(self) -> Poly:
        return (self.mustar2, self.mu1sq, 0.0)

    @property
    def lk(self) -> Poly:
        return (0.0, self.mustar2, self.mu1sq)

    @property
    def kk(self) -> Poly:
        return (self.mustar2**2, 2.0 * self.mu1sq * self.mustar2, self.mu1sq**2)

    @property
    def lm(self) -> Poly:
        return (0.0, self.nu2, self.mu1sq)

    @property
    def km(self) -> Poly:
        return (self.mustar2 * self.nu2, self.mu1sq * (self.mustar2 + self.nu2), self.mu1sq**2)

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
        total = self.Q0 * self.p12 * sp.integrate(self.k, a1, a0, 1)
        if self.mu1sq > 0.0:
            total += self.P * sp.integrate(L, a1, a0, 1)
        return math.sqrt(math.pi / (2.0 * self.Q0) * total)


L: Poly = (0.0, 1.0, 0.0)
LL: Poly = (0.0, 0.0, 1.0)


@dataclass(frozen=True)
class LossTerms:
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
    # th1
    th1 = p_in / gam + 2.0 * p_out / u
    dth1_dz = 2.0 * phi / (gam * u)
    dth1 = (
        -p_in / gam - 4.0 * gam * p_out / (u * u) + dth1_dz * z,
        -0.5 * z * dth1_dz,
        z * dth1_dz,
    )
    # th2 (its z-derivative vanishes identically)
    if eps > 0.0:
        inner = sq * g1out / s + eps * p_out
        th2 = 2.0 * eps * eps * p_in + 2.0 * eps * inner / u
        t = eps * sq * g1out / (s * u)
        dth2 = (-4.0 * gam * eps * inner / (u * u), t, -2.0 * t)
    else:
        th2, dth2 = 0.0, (0.0, 0.0, 0.0)
    # b2 = Q * B(gam, z)
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
    b2 = Q * bf
    db2 = (
        Q * (gam * dbf_dgam + z * dbf_dz),
        Q * (bf - 0.5 * z * dbf_dz),
        Q * z * dbf_dz,
    )
    return LossTerms(th1, th2, b2, dth1, dth2, db2, p_in, p_out, z)


@dataclass(frozen=True)
class Evaluation:
    """Residual F(u), Jacobian dF/du, and what the outputs need, at one point u."""

    F: tuple[float, float, float]
    J: tuple[tuple[float, float, float], ...]
    gam: float
    Q: float
    s: float
    loss: LossTerms
    a1: float
    a0: float


def residual(co: Coefficients, u: tuple[float, float, float]) -> Evaluation:
    """F(u) and its Jacobian for u = (log gam, log Q, log s) (module docstring equations)."""
    gam, Q, s = math.exp(u[0]), math.exp(u[1]), math.exp(u[2])  # noqa: N806
    lt = loss_terms(gam, Q, s, co.eps)
    a1, a0 = co.precision(lt.th1, lt.th2)
    sp = co.spectrum
    base = _basis(co, a1, a0)
    P, p12 = co.P, co.p12  # noqa: N806

    def integral(poly: Poly, power: int) -> tuple[float, float, float]:
        value, d1, d0 = sp.integrate_with_derivatives(poly, a1, a0, power, base)
        # derivatives with respect to th1 and th2
        return value, co.mu1sq * d1 + co.mustar2 * d0, co.mu1sq * d1 + co.nu2 * d0

    g = integral(co.k, 1)
    th1, b2 = lt.th1, lt.b2

    def total(part: tuple[float, float, float], j: int) -> float:
        # d(integral)/du_j through th1 and th2
        return part[1] * lt.dth1[j] + part[2] * lt.dth2[j]

    rows = []
    F1 = math.log(gam) - math.log(p12 * g[0])  # noqa: N806
    rows.append(tuple((1.0 if j == 0 else 0.0) - total(g, j) / g[0] for j in range(3)))

    if P > 0.0:
        q1 = integral(L, 1)
        q2 = integral(co.lk, 2)
    else:
        q1 = q2 = (0.0, 0.0, 0.0)
    q3 = integral(co.kk, 2)
    qf = co.Q0 - 2.0 * th1 * P * q1[0] + th1 * th1 * P * q2[0] + b2 * p12 * q3[0]
    if not qf > 0.0:
        raise FloatingPointError("Q equation left its domain (Q <= 0)")
    F2 = math.log(Q) - math.log(qf)  # noqa: N806
    row = []
    for j in range(3):
        dqf = (
            -2.0 * P * q1[0] * lt.dth1[j]
            - 2.0 * th1 * P * total(q1, j)
            + 2.0 * th1 * P * q2[0] * lt.dth1[j]
            + th1 * th1 * P * total(q2, j)
            + p12 * q3[0] * lt.db2[j]
            + b2 * p12 * total(q3, j)
        )
        row.append((1.0 if j == 1 else 0.0) - dqf / qf)
    rows.append(tuple(row))

    s1 = integral(co.lm, 2) if P > 0.0 else (0.0, 0.0, 0.0)
    s2 = integral(co.km, 2)
    sf = th1 * th1 * P * s1[0] + b2 * p12 * s2[0]
    F3 = 2.0 * math.log(s) - math.log(sf)  # noqa: N806
    row = []
    for j in range(3):
        dsf = (
            2.0 * th1 * P * s1[0] * lt.dth1[j]
            + th1 * th1 * P * total(s1, j)
            + p12 * s2[0] * lt.db2[j]
            + b2 * p12 * total(s2, j)
        )
        row.append((2.0 if j == 2 else 0.0) - dsf / sf)
    rows.append(tuple(row))
    return Evaluation((F1, F2, F3), tuple(rows), gam, Q, s, lt, a1, a0)


def _basis(co: Coefficients, a1: float, a0: float) -> Basis | None:
    """The MP transforms at x = a0 / a1 (None when A is constant, a1 = 0)."""
    return basis(co.psi1, a0 / a1, with_atom=co.mustar2 > 0.0) if a1 > 0.0 else None


@dataclass(frozen=True)
class OrderParameters:
    """Limits of ||a||^2, ||w||^2, <beta, w> (w = Theta^T a / sqrt d) and s^2 = a^T M a."""

    norm_a2: float
    norm_w2: float
    beta_w: float
    grad_norm2: float


def order_parameters(
    co: Coefficients, th1: float, b2: float, a1: float, a0: float
) -> OrderParameters:
    """a = A^-1 (th1 mu1 F beta + b K^{1/2} h / sqrt(n)) gives, with A = a1 l + a0,

    ||a||^2 = th1^2 P int l/A^2 + b2 p12 int k/A^2,
    ||w||^2 = th1^2 P int l^2/A^2 + b2 p12 int l k/A^2,
    <beta, w> = th1 mu1 psi1 F1^2 int l/A,
    s^2 = th1^2 P int l m/A^2 + b2 p12 int k m/A^2.

    Homogeneous of degree 0 in (th1, b2^(1/2), a1, a0): the eps = 0 limits call it with th1 = 1.
    """
    sp, P, p12 = co.spectrum, co.P, co.p12  # noqa: N806
    base = _basis(co, a1, a0)

    def integral(poly: Poly, power: int) -> float:
        if poly == (0.0, 0.0, 0.0):
            return 0.0
        return sp.integrate_with_derivatives(poly, a1, a0, power, base)[0]

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
