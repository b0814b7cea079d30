"""Many points solved together: the Newton path of `solve`, vectorised across points in numpy.

`solve_batch(problems)` returns, for each problem in order, what `solve(problem)` (cold) returns
or raises: a TheoryResult, or the TheoryError instance. The points of the generic case (module
docstring of `solve`, case 5: a nonlinear or ridge-regularised point that is not trivial and not a
closed-form limit), the interpolation limits (cases 2 and 4) and the trivial phase are solved
together, one numpy operation for all points at each step of the same algorithm: the same
default start, damped Newton with the same step cap, Armijo line search, tolerance and polishing
step, the same certificate (forward error bound and inertia of the analytic saddle Hessian).
The points of all activations of one structure (`_Points`: mu_star^2 and nu^2 both positive, or
the linear activation) share the numpy calls, their moments being arrays. The lam-continuation
of a point whose Newton fails is batched too (`_continuations`). The last few points still
iterating (STRAGGLERS), and the continuation of a few points, go on in `solve.newton` and
`solve._continuation`; the exact-recovery phase is decided by `solve._exact_recovery`; every
other point (constant precision, extreme scales, a point whose batched solve or certificate
fails) goes through `solve` itself, which also writes the error message. Equal to `solve` point
by point to rounding (tests: 1e-12 relative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special

from advrf.problem import Problem
from advrf.theory.equations import MOMENT_ZERO, Coefficients, b2_terms, residual, th1_terms
from advrf.theory.solve import (
    ARMIJO,
    CONTINUATION_FACTOR,
    CONTINUATION_LAM_FLOOR,
    CONTINUATION_LAM_START,
    CONTINUATION_MIN_FACTOR,
    DEFAULT_S,
    EPS,
    ERROR_BOUND_MAX,
    HESSIAN_TINY,
    INTERPOLATOR_LOG_RANGE,
    LINE_SEARCH_MIN,
    NEWTON_MAX_ITER,
    NEWTON_MAX_STEP,
    NEWTON_TOL,
    POLISH_STEP,
    RESIDUAL_ROUNDING,
    ROOT_LOG_LIMIT,
    ROOT_MAX_ITER,
    ROOT_TOL,
    SQRT_2_OVER_PI,
    UNIT_RANGE,
    Z_INTERPOLATING,
    RootResult,
    TheoryError,
    TheoryResult,
    _continuation,
    _exact_recovery,
    _interpolating_gam,
    newton,
    solve,
)

STRAGGLERS = 8  # Newton stops in numpy once this few points still iterate
# Step fractions of the line search: 1, 1/2, ..., down to the last one >= LINE_SEARCH_MIN (as
# `solve.newton`); after the full step, LINE_SEARCH_BLOCK of them (more when few points are
# pending: up to LINE_SEARCH_ROWS evaluations) are tried in one call.
LINE_SEARCH_TRIES = 1 + int(math.floor(-math.log2(LINE_SEARCH_MIN)))
LINE_SEARCH_BLOCK = 8
LINE_SEARCH_ROWS = 1024
SQRT_2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _present(c: Any) -> bool:
    """Whether a coefficient is not the structural zero 0.0 (an array is present)."""
    return isinstance(c, np.ndarray) or c != 0.0


def _prod(*factors: Any) -> Any:
    """The product, or the structural zero 0.0 when a factor is one (so that the terms it
    multiplies are skipped, as the scalar code skips them, whatever the other factors hold)."""
    if not all(_present(f) for f in factors):
        return 0.0
    out = factors[0]
    for f in factors[1:]:
        out = out * f
    return out


@dataclass(frozen=True)
class _Points:
    """The parameters of points whose activations share one structure: mu1 > 0 always,
    mu_star^2 and nu^2 either positive for every point or the structural zero 0.0 for all.
    The moments are arrays, one per point (the points of several activations are solved in the
    same numpy calls)."""

    psi1: np.ndarray
    psi2: np.ndarray
    eps: np.ndarray
    lam: np.ndarray
    signal: np.ndarray
    noise: np.ndarray
    mu1: np.ndarray
    mu1sq: np.ndarray
    mustar2: np.ndarray | float
    nu2: np.ndarray | float

    def take(self, idx: np.ndarray) -> _Points:
        return _Points(
            self.psi1[idx], self.psi2[idx], self.eps[idx], self.lam[idx], self.signal[idx],
            self.noise[idx], self.mu1[idx], self.mu1sq[idx], _at(self.mustar2, idx),
            _at(self.nu2, idx),
        )  # fmt: skip

    @property
    def has_ms(self) -> bool:
        return _present(self.mustar2)

    @property
    def linear(self) -> bool:
        return not _present(self.mustar2) and not _present(self.nu2)

    @cached_property
    def p12(self) -> np.ndarray:
        return self.psi1 / self.psi2

    @cached_property
    def Q0(self) -> np.ndarray:  # noqa: N802 - the symbol of docs/theory.md
        return self.signal**2 + self.noise**2

    @cached_property
    def P(self) -> np.ndarray:  # noqa: N802 - the symbol of docs/theory.md
        return self.psi1 * self.signal**2 * self.mu1sq


def _at(v: np.ndarray | float, idx: np.ndarray) -> np.ndarray | float:
    return v[idx] if isinstance(v, np.ndarray) else v


def _basis(psi1: np.ndarray, x: np.ndarray, with_atom: bool) -> dict[str, np.ndarray]:
    """`spectrum.basis` for arrays (x >= 0)."""
    s = 1.0 + psi1 + x
    rp = np.sqrt(psi1)
    r = np.sqrt(((1.0 - rp) ** 2 + x) * ((1.0 + rp) ** 2 + x))
    h1 = 2.0 / (s + r)
    out = {"x": x, "h1": h1, "t1": h1 * (1.0 + psi1 * (1.0 - h1))}
    out["h2"] = h2 = h1 / r
    out["h3"] = h3 = 1.0 / (r * r * r)
    # x = 0 (linear activation without ridge): int l^2/l^p over the nonzero eigenvalues, exactly
    zero = x == 0.0
    out["t2"] = np.where(
        zero, h1, h1 * ((1.0 - psi1) ** 2 + 2.0 * (1.0 + psi1) * x) / (r * (r + x))
    )
    out["t3"] = np.where(zero, h2, h2 - x * h3)
    if with_atom:
        b = 1.0 - psi1 + x
        t = np.sqrt(b * b + 4.0 * psi1 * x)
        m1 = np.where(b >= 0.0, 2.0 / (b + t), (t - b) / (2.0 * psi1 * x))
        m2 = m1 * (1.0 + psi1 * m1) / t
        out["m1"], out["m2"] = m1, m2
        out["m3"] = 0.5 * (m2 * (1.0 + 2.0 * psi1 * m1) / t + m2 * (b + 2.0 * psi1) / (t * t))
    return out


def _value(b: dict[str, np.ndarray], a1: Any, poly: tuple[float, float, float], power: int) -> Any:
    """int poly / A^power (`Spectrum.integrate_with_derivatives(...)[0]` for arrays)."""
    c0, c1, c2 = poly
    if power == 1:
        f = c1 * b["h1"] + c2 * b["t1"]
        if _present(c0):
            f = f + c0 * b["m1"]
    else:
        f = c1 * b["h2"] + c2 * b["t2"]
        if _present(c0):
            f = f + c0 * b["m2"]
    return a1**-power * f


def _eps_c(pts: _Points) -> np.ndarray:
    """`Coefficients.eps_c` for arrays."""
    m1s, ms = pts.mu1sq, pts.mustar2
    b = _basis(pts.psi1, pts.nu2 / m1s, pts.has_ms)
    q0 = pts.Q0
    total = q0 * pts.p12 * _value(b, m1s, (ms, m1s, 0.0), 1)
    total = total + pts.P * _value(b, m1s, (0.0, 1.0, 0.0), 1)
    return np.sqrt(math.pi / (2.0 * q0) * total)


def _loss_terms(gam: np.ndarray, Q: np.ndarray, s: np.ndarray, eps: np.ndarray) -> dict:  # noqa: N803
    """`equations.loss_terms` for arrays."""
    sq = np.sqrt(Q)
    c = eps * s
    z = 2.0 * gam * c / sq
    w = z / SQRT_2
    half = 0.5 * z * z
    p_in, p_out = special.erf(w), special.erfc(w)
    g2in, g2out = special.gammainc(1.5, half), special.gammaincc(1.5, half)
    phi = INV_SQRT_2PI * np.exp(-half)
    g1out = 2.0 * phi
    u = 1.0 + 2.0 * gam
    th1, dth1 = th1_terms(gam, z, p_in, p_out, phi, u)
    positive = eps > 0.0
    inner = sq * g1out / s + eps * p_out
    th2 = np.where(positive, 2.0 * eps * eps * p_in + 2.0 * eps * inner / u, 0.0)
    t = np.where(positive, eps * sq * g1out / (s * u), 0.0)
    dth2 = (np.where(positive, -4.0 * gam * eps * inner / (u * u), 0.0), t, -2.0 * t)
    b2, db2 = b2_terms(gam, Q, z, p_out, g2in, g2out, phi, u)
    return {"th1": th1, "th2": th2, "b2": b2, "dth1": dth1, "dth2": dth2, "db2": db2}


def _integrals(pts: _Points, a1: np.ndarray, a0: np.ndarray) -> tuple[dict, dict]:
    """`equations.integrals` for arrays: (the six (I, dI/dth1, dI/dth2), the basis)."""
    m1s, ms, nu2 = pts.mu1sq, pts.mustar2, pts.nu2
    b = _basis(pts.psi1, a0 / a1, pts.has_ms)
    x = b["x"]
    scale1 = a1**-1
    scale2 = a1**-2
    r1 = scale1 / a1
    r2 = scale2 / a1

    # x = 0: linear activation without ridge, a0 = 0 stays 0 (x > 0 when mu_star^2 > 0)
    positive = None if pts.has_ms else x > 0.0

    def combine(*terms: tuple[float, Any]) -> Any:
        """sum of c * f over the terms of nonzero c (the others may diverge at x = 0)."""
        out = 0.0
        for c, f in terms:
            if _present(c):
                out = out + c * f
        return out

    def derivatives(first: Any, df: Any, r: Any) -> tuple:
        """(dI/dth1, dI/dth2) from dI/da1 = -r (first + x F'), dI/da0 = r F'."""
        da1 = -r * (first + (x * df if positive is None else np.where(positive, x * df, 0.0)))
        da0 = r * df
        return (
            m1s * da1 + _prod(ms, da0),
            m1s * da1 + _prod(nu2, da0),
        )

    def power1(c0: float, c1: float, c2: float) -> tuple:
        f = combine((c1, b["h1"]), (c2, b["t1"]), (c0, b.get("m1")))
        df = -combine((c1, b["h2"]), (c2, b["t2"]), (c0, b.get("m2")))
        return (scale1 * f, *derivatives(f, df, r1))

    def power2(c0: float, c1: float, c2: float) -> tuple:
        f = combine((c1, b["h2"]), (c2, b["t2"]), (c0, b.get("m2")))
        df = -2.0 * combine((c1, b["h3"]), (c2, b["t3"]))
        if _present(c0):
            df = df - 2.0 * c0 * b["m3"]
        return (scale2 * f, *derivatives(2.0 * f, df, r2))

    ints = {
        "g": power1(ms, m1s, 0.0),
        "q1": power1(0.0, 1.0, 0.0),
        "q2": power2(0.0, ms, m1s),
        "q3": power2(_prod(ms, ms), _prod(2.0, m1s, ms), m1s * m1s),
        "s1": power2(0.0, nu2, m1s),
        "s2": power2(_prod(ms, nu2), _prod(m1s, ms + nu2), m1s * m1s),
    }
    if pts.linear:  # linear activation: what `q_rhs` needs
        ints["j1"], ints["j2"] = power2(0.0, 1.0, 0.0), power2(0.0, 0.0, 1.0)
        ridge = pts.lam > 0.0
        g0, dg0 = _nonzero_inverse_square(pts.psi1, x)
        da1 = -r2 * (2.0 * g0 + x * dg0)
        zero = np.zeros_like(x)
        ints["j0"] = tuple(np.where(ridge, v, zero) for v in (scale2 * g0, m1s * da1, m1s * da1))
    return ints, b


def _nonzero_inverse_square(psi1: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`equations.nonzero_inverse_square` for arrays."""
    big = psi1 > 1.0
    b = _basis(np.where(big, 1.0 / psi1, psi1), np.where(big, x / psi1, x), True)
    g = np.where(big, b["m2"] / psi1**3, b["m2"])
    dg = np.where(big, -2.0 * b["m3"] / psi1**4, -2.0 * b["m3"])
    return g, dg


def _q_rhs(pts: _Points, th1: Any, th2: Any, b2: Any, ints: dict) -> tuple:
    """`equations.q_rhs` for arrays."""
    P, p12 = pts.P, pts.p12  # noqa: N806
    q3 = ints["q3"]
    if "j2" not in ints:
        q1, q2 = ints["q1"], ints["q2"]
        qf = pts.Q0 - 2.0 * th1 * P * q1[0] + th1 * th1 * P * q2[0] + b2 * p12 * q3[0]
        dq_th1 = P * (-2.0 * q1[0] - 2.0 * th1 * q1[1] + 2.0 * th1 * q2[0] + th1 * th1 * q2[1])
        dq_th1 = dq_th1 + b2 * p12 * q3[1]
        dq_th2 = P * (-2.0 * th1 * q1[2] + th1 * th1 * q2[2]) + b2 * p12 * q3[2]
        return qf, dq_th1, dq_th2, p12 * q3[0]
    f2 = pts.signal**2
    sigma2 = pts.noise**2 + np.where(pts.psi1 < 1.0, f2 * (1.0 - pts.psi1), 0.0)
    c, d = 2.0 * pts.psi1 * pts.lam, pts.mu1sq * th2
    j0, j1, j2 = ints["j0"], ints["j1"], ints["j2"]
    weight = np.where(P > 0.0, pts.psi1 * f2, 0.0)
    squares, ds_th1, ds_th2 = d * d * j2[0], d * d * j2[1], d * d * j2[2]
    ds_th2 = ds_th2 + pts.mu1sq * 2.0 * d * j2[0]
    ridge = c > 0.0
    squares = squares + np.where(ridge, c * c * j0[0] + 2.0 * c * d * j1[0], 0.0)
    ds_th1 = ds_th1 + np.where(ridge, c * c * j0[1] + 2.0 * c * d * j1[1], 0.0)
    ds_th2 = ds_th2 + np.where(
        ridge, c * c * j0[2] + 2.0 * c * d * j1[2] + pts.mu1sq * 2.0 * c * j1[0], 0.0
    )
    qf = sigma2 + weight * squares + b2 * p12 * q3[0]
    return qf, weight * ds_th1 + b2 * p12 * q3[1], weight * ds_th2 + b2 * p12 * q3[2], p12 * q3[0]


def _residual(pts: _Points, u: np.ndarray) -> dict:
    """`equations.residual` for arrays: F (n, 3), J (n, 3, 3) and the pieces (nan outside)."""
    gam, Q, s = np.exp(u[:, 0]), np.exp(u[:, 1]), np.exp(u[:, 2])  # noqa: N806
    lt = _loss_terms(gam, Q, s, pts.eps)
    th1, th2, b2 = lt["th1"], lt["th2"], lt["b2"]
    a1 = pts.mu1sq * (th1 + th2)
    a0 = 2.0 * pts.psi1 * pts.lam + th1 * pts.mustar2 + th2 * pts.nu2
    ints, base = _integrals(pts, a1, a0)
    P, p12 = pts.P, pts.p12  # noqa: N806
    t1, t2, db2 = lt["dth1"], lt["dth2"], lt["db2"]
    g, q3, s1, s2 = (ints[k] for k in ("g", "q3", "s1", "s2"))
    n = len(gam)
    F = np.empty((n, 3))  # noqa: N806
    J = np.empty((n, 3, 3))  # noqa: N806
    F[:, 0] = np.log(gam / (p12 * g[0]))
    gi = 1.0 / g[0]
    J[:, 0, 0] = 1.0 - (g[1] * t1[0] + g[2] * t2[0]) * gi
    J[:, 0, 1] = -(g[1] * t1[1] + g[2] * t2[1]) * gi
    J[:, 0, 2] = -(g[1] * t1[2] + g[2] * t2[2]) * gi
    qf, dq_th1, dq_th2, dq_b2 = _q_rhs(pts, th1, th2, b2, ints)
    valid = qf > 0.0
    F[:, 1] = np.log(Q / np.where(valid, qf, np.nan))
    qi = 1.0 / qf
    J[:, 1, 0] = -(dq_th1 * t1[0] + dq_th2 * t2[0] + dq_b2 * db2[0]) * qi
    J[:, 1, 1] = 1.0 - (dq_th1 * t1[1] + dq_th2 * t2[1] + dq_b2 * db2[1]) * qi
    J[:, 1, 2] = -(dq_th1 * t1[2] + dq_th2 * t2[2] + dq_b2 * db2[2]) * qi
    sf = th1 * th1 * P * s1[0] + b2 * p12 * s2[0]
    F[:, 2] = 2.0 * np.log(s / np.sqrt(sf))
    ds_th1 = P * (2.0 * th1 * s1[0] + th1 * th1 * s1[1]) + b2 * p12 * s2[1]
    ds_th2 = P * th1 * th1 * s1[2] + b2 * p12 * s2[2]
    ds_b2 = p12 * s2[0]
    si = 1.0 / sf
    J[:, 2, 0] = -(ds_th1 * t1[0] + ds_th2 * t2[0] + ds_b2 * db2[0]) * si
    J[:, 2, 1] = -(ds_th1 * t1[1] + ds_th2 * t2[1] + ds_b2 * db2[1]) * si
    J[:, 2, 2] = 2.0 - (ds_th1 * t1[2] + ds_th2 * t2[2] + ds_b2 * db2[2]) * si
    F[~valid] = np.nan
    return {"F": F, "J": J, "gam": gam, "Q": Q, "s": s, "lt": lt, "ints": ints, "a1": a1,
            "a0": a0, "basis": base}  # fmt: skip


def _solve3(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`solve.linear_solve` for a stack of 3 x 3 systems: (x, ok); ok False where singular.

    The same operations in the same order: rows swapped to the first of largest |pivot|, a row
    updated only where its factor is nonzero."""
    r0, r1, r2 = (np.concatenate([a[:, i], b[:, i, None]], axis=1) for i in range(3))
    abs0, abs1, abs2 = np.abs(r0[:, 0]), np.abs(r1[:, 0]), np.abs(r2[:, 0])
    one = abs1 > abs0
    two = np.where(one, abs2 > abs1, abs2 > abs0)[:, None]
    one = (one & ~two[:, 0])[:, None]
    r0, r1, r2 = (
        np.where(one, r1, np.where(two, r2, r0)), np.where(one, r0, r1), np.where(two, r0, r2)
    )  # fmt: skip
    p = r0[:, 0]
    ok = (p != 0.0) & np.isfinite(p)
    p = np.where(ok, p, 1.0)
    f1, f2 = r1[:, 0] / p, r2[:, 0] / p
    r1 = np.where((f1 != 0.0)[:, None], r1 - f1[:, None] * r0, r1)
    r2 = np.where((f2 != 0.0)[:, None], r2 - f2[:, None] * r0, r2)
    swap = (np.abs(r2[:, 1]) > np.abs(r1[:, 1]))[:, None]
    r1, r2 = np.where(swap, r2, r1), np.where(swap, r1, r2)
    p = r1[:, 1]
    ok &= (p != 0.0) & np.isfinite(p)
    f2 = r2[:, 1] / np.where(ok, p, 1.0)
    r2 = np.where((f2 != 0.0)[:, None], r2 - f2[:, None] * r1, r2)
    p = r2[:, 2]
    ok &= (p != 0.0) & np.isfinite(p)
    x2 = r2[:, 3] / np.where(ok, p, 1.0)
    x1 = (r1[:, 3] - r1[:, 2] * x2) / np.where(ok, r1[:, 1], 1.0)
    x0 = (r0[:, 3] - r0[:, 1] * x1 - r0[:, 2] * x2) / np.where(ok, r0[:, 0], 1.0)
    return np.stack([x0, x1, x2], axis=1), ok


def _newton(
    pts: _Points, u0: np.ndarray, stragglers: int, polish: Any = True
) -> dict[str, np.ndarray]:
    """`solve.newton` on `_residual`, for all points at once (`polish`: for all, or an array).

    Returns u, converged, iterations (at convergence, or where the point failed), residual,
    and `straggler`: the last points still iterating (`stragglers` or fewer; none when it is 0),
    left where they are (their iterations so far in `iterations`) for `solve.newton` to go on
    from.
    """
    n = len(u0)
    x = u0.copy()
    converged = np.zeros(n, dtype=bool)
    straggler = np.zeros(n, dtype=bool)
    iterations = np.zeros(n, dtype=int)
    final = np.full(n, math.inf)
    cut = np.zeros(n, dtype=bool)  # whether the last step of a point was backtracked
    ev = _residual(pts, x)
    f = ev["F"]
    jac = ev["J"]
    merit = np.sum(f * f, axis=1)
    active = np.isfinite(merit)  # a start outside the domain fails here, after 0 iterations
    for it in range(NEWTON_MAX_ITER + 1):
        if not active.any():
            break
        res = np.max(np.abs(f), axis=1)
        done = active & np.isfinite(res) & (res < NEWTON_TOL)
        converged |= done
        final[done] = res[done]
        iterations[active] = it
        active &= np.isfinite(res) & ~done
        if it == NEWTON_MAX_ITER:
            break
        if active.sum() <= stragglers:
            straggler = active.copy()  # cheaper in `solve.newton` than in numpy calls
            break
        ia = np.flatnonzero(active)
        step, ok = _solve3(jac[ia], f[ia])
        step = -step
        size = np.max(np.abs(step), axis=1)
        ok &= np.isfinite(size)
        active[ia[~ok]] = False
        ia, step, size = ia[ok], step[ok], size[ok]
        big = size > NEWTON_MAX_STEP
        step[big] *= (NEWTON_MAX_STEP / size[big])[:, None]
        # backtracking: t = 1, 1/2, 1/4, ... (LINE_SEARCH_TRIES). Each call tries the next k
        # fractions of every pending point; each point takes the first (largest) t that passes,
        # as the one-at-a-time search of `solve.newton`. The first call tries the full step,
        # and with it, when they are few, the first fractions for the points whose last step
        # was cut (they are likely to need them).
        pending = np.arange(len(ia))
        tried = np.zeros(len(ia), dtype=int)
        cuts = int(cut[ia].sum())
        few = cuts * LINE_SEARCH_BLOCK <= LINE_SEARCH_ROWS
        k = np.where(cut[ia] & few, min(LINE_SEARCH_TRIES, _block(cuts)), 1)
        while len(pending):
            seg = np.repeat(np.arange(len(pending)), k)
            rows = pending[seg]
            j = tried[rows] + np.arange(len(rows)) - (np.cumsum(k) - k)[seg]
            who = ia[rows]
            t = 0.5**j
            candidate = x[who] + t[:, None] * step[rows]
            with np.errstate(all="ignore"):
                trial = _residual(pts.take(who), candidate)
            f_trial = trial["F"]
            merit_trial = np.sum(f_trial * f_trial, axis=1)
            accept = np.isfinite(merit_trial) & (
                merit_trial <= (1.0 - 2.0 * ARMIJO * t) * merit[who]
            )
            hit = np.flatnonzero(accept)  # rows in order: the first hit of each point is taken
            first = np.ones(len(hit), dtype=bool)
            first[1:] = seg[hit[1:]] != seg[hit[:-1]]
            pick = hit[first]
            owner = seg[pick]
            took = ia[pending[owner]]
            x[took] = candidate[pick]
            f[took] = f_trial[pick]
            jac[took] = trial["J"][pick]
            merit[took] = merit_trial[pick]
            cut[took] = j[pick] > 0
            tried[pending] += k
            passed = np.zeros(len(pending), dtype=bool)
            passed[owner] = True
            pending = pending[~passed]
            spent = tried[pending] >= LINE_SEARCH_TRIES
            active[ia[pending[spent]]] = False
            pending = pending[~spent]
            k = np.minimum(_block(len(pending)), LINE_SEARCH_TRIES - tried[pending])
    # every converged point polished at once (each from its own x, f, J, which stay as they
    # were at its convergence)
    idx = np.flatnonzero(converged & polish)
    if len(idx):
        _polish(pts, x, f, jac, final, idx)
    return {
        "u": x, "converged": converged, "iterations": iterations, "residual": final,
        "straggler": straggler,
    }  # fmt: skip


def _block(pending: int) -> int:
    """How many step fractions each of `pending` points tries in one call."""
    return max(LINE_SEARCH_BLOCK, LINE_SEARCH_ROWS // max(pending, 1))


def _polish(
    pts: _Points, x: np.ndarray, f: np.ndarray, jac: np.ndarray, res: np.ndarray, idx: np.ndarray
) -> None:
    """`solve._polish` at the converged points idx: x, f, jac and res updated in place."""
    step, ok = _solve3(jac[idx], f[idx])
    ok &= np.max(np.abs(step), axis=1) > POLISH_STEP
    idx, step = idx[ok], step[ok]
    if not len(idx):
        return
    candidate = x[idx] - step
    trial = _residual(pts.take(idx), candidate)
    res_trial = np.max(np.abs(trial["F"]), axis=1)
    take = res_trial <= res[idx]
    idx = idx[take]
    x[idx], f[idx], jac[idx], res[idx] = (
        candidate[take],
        trial["F"][take],
        trial["J"][take],
        res_trial[take],
    )


def _hessian(pts: _Points, ev: dict) -> np.ndarray:
    """`equations.saddle_hessian` at the stationary points of `ev` (n, 6, 6), log variables."""
    lt, ints = ev["lt"], ev["ints"]
    Q, s, gam = ev["Q"], ev["s"], ev["gam"]  # noqa: N806
    th1, th2, b2 = lt["th1"], lt["th2"], lt["b2"]
    P, p12 = pts.P, pts.p12  # noqa: N806
    d1 = (lt["dth1"][1], lt["dth1"][2], lt["dth1"][0])
    d2 = (lt["dth2"][1], lt["dth2"][2], lt["dth2"][0])
    db = (lt["db2"][1], lt["db2"][2], lt["db2"][0])
    g, q1, q2, q3, s1, s2 = (ints[k] for k in ("g", "q1", "q2", "q3", "s1", "s2"))
    _, dq1, dq2, _ = _q_rhs(pts, th1, th2, b2, ints)
    ds1 = b2 * p12 * s2[1] + P * (2.0 * th1 * s1[0] + th1 * th1 * s1[1])
    ds2 = b2 * p12 * s2[2] + P * th1 * th1 * s1[2]
    h = np.zeros((len(Q), 6, 6))
    h[:, 0, 0], h[:, 0, 1], h[:, 0, 2] = 0.5 * Q * d1[0], 0.5 * Q * d1[1], 0.5 * Q * d1[2]
    h[:, 0, 4] = -0.5 * Q * th1
    h[:, 1, 0], h[:, 1, 1], h[:, 1, 2] = (
        s * s * d2[0],
        s * s * (lt["th2"] - th2 + d2[1]),
        s * s * d2[2],
    )
    h[:, 1, 5] = -s * s * th2
    h[:, 2, 0], h[:, 2, 1], h[:, 2, 2] = -0.5 * gam * db[0], -0.5 * gam * db[1], -0.5 * gam * db[2]
    h[:, 2, 3] = 0.5 * gam * b2
    h[:, 3, 2] = 0.5 * b2 * gam
    h[:, 3, 4], h[:, 3, 5] = -0.5 * b2 * p12 * g[1] * th1, -0.5 * b2 * p12 * g[2] * th2
    h[:, 4, 0], h[:, 4, 3] = -0.5 * th1 * Q, 0.5 * th1 * b2 * p12 * q3[0]
    h[:, 4, 4], h[:, 4, 5] = 0.5 * th1 * th1 * dq1, 0.5 * th1 * th2 * dq2
    h[:, 5, 1], h[:, 5, 3] = -th2 * s * s, 0.5 * th2 * b2 * p12 * s2[0]
    h[:, 5, 4], h[:, 5, 5] = 0.5 * th2 * th1 * ds1, 0.5 * th2 * th2 * ds2
    return 0.5 * (h + np.transpose(h, (0, 2, 1)))


def _inertia_ok(hess: np.ndarray, eps_zero: np.ndarray) -> np.ndarray:
    """Whether each Hessian has the inertia of a min-max saddle (`solve.saddle_inertia`).

    Points whose (s, th2) rows underflow are not decided here (False): `solve` decides them.
    """
    ok = np.zeros(len(hess), dtype=bool)
    for mask, free in ((~eps_zero, [0, 1, 2, 3, 4, 5]), (eps_zero, [0, 2, 3, 4])):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        sub = hess[np.ix_(idx, free, free)]
        size = np.max(np.abs(sub), axis=2)
        fine = np.all((size > HESSIAN_TINY) & np.isfinite(size), axis=1)
        sub, size, idx = sub[fine], size[fine], idx[fine]
        scale = 1.0 / np.sqrt(size)
        eig = np.linalg.eigvalsh(sub * scale[:, :, None] * scale[:, None, :])
        half = len(free) // 2
        ok[idx] = (np.sum(eig > 0.0, axis=1) == half) & (np.sum(eig < 0.0, axis=1) == half)
    return ok


def _error_bound(ev: dict, eps_test: np.ndarray) -> np.ndarray:
    """`solve._error_bound` for arrays (inf where J is singular)."""
    j = ev["J"]
    (a, b, c), (d, e, f), (g, h, i) = (tuple(j[:, r, k] for k in range(3)) for r in range(3))
    c00, c10, c20 = e * i - f * h, f * g - d * i, d * h - e * g
    c11, c21 = a * i - c * g, b * g - a * h
    c12, c22 = c * d - a * f, a * e - b * d
    det = a * c00 + b * c10 + c * c20
    inv1 = np.stack([c10, c11, c12], axis=1) / det[:, None]
    inv2 = np.stack([c20, c21, c22], axis=1) / det[:, None]
    Q, s = ev["Q"], ev["s"]  # noqa: N806
    cross = 2.0 * SQRT_2_OVER_PI * eps_test * np.sqrt(Q) * s
    e_rob = Q + cross + (eps_test * s) ** 2
    d_log_q = (Q + 0.5 * cross) / e_rob
    d_log_s = (cross + 2.0 * (eps_test * s) ** 2) / e_rob
    row_q = np.sum(np.abs(inv1), axis=1)
    row_e = np.sum(np.abs(d_log_q[:, None] * inv1 + d_log_s[:, None] * inv2), axis=1)
    bound = RESIDUAL_ROUNDING * np.maximum(row_q, row_e)
    return np.where((det != 0.0) & np.isfinite(det), bound, math.inf)


def _outputs(pts: _Points, ev: dict) -> dict[str, np.ndarray]:
    """`equations.order_parameters` and `training_loss` for arrays."""
    lt, b, a1 = ev["lt"], ev["basis"], ev["a1"]
    m1s, ms = pts.mu1sq, pts.mustar2
    th1, b2 = lt["th1"], lt["b2"]
    P, p12 = pts.P, pts.p12  # noqa: N806
    t1 = th1 * th1 * P
    norm_a2 = t1 * _value(b, a1, (0.0, 1.0, 0.0), 2) + b2 * p12 * _value(b, a1, (ms, m1s, 0.0), 2)
    norm_w2 = t1 * _value(b, a1, (0.0, 0.0, 1.0), 2) + b2 * p12 * _value(b, a1, (0.0, ms, m1s), 2)
    beta_w = th1 * pts.mu1 * pts.psi1 * pts.signal**2 * _value(b, a1, (0.0, 1.0, 0.0), 1)
    gam, Q, s, eps = ev["gam"], ev["Q"], ev["s"], pts.eps  # noqa: N806
    sq = np.sqrt(Q)
    c = eps * s
    z = 2.0 * gam * c / sq
    w = z / SQRT_2
    p_in, p_out = special.erf(w), special.erfc(w)
    g2out = special.gammaincc(1.5, 0.5 * z * z)
    phi = INV_SQRT_2PI * np.exp(-0.5 * z * z)
    outside = Q * g2out + 4.0 * c * sq * phi + c * c * p_out
    loss = c * c * p_in + outside / (1.0 + 2.0 * gam) ** 2
    return {
        "norm_a2": norm_a2,
        "norm_w2": norm_w2,
        "beta_w": beta_w,
        "train_objective": loss + pts.psi1 * pts.lam * norm_a2,
    }


def _continuations(pts: _Points) -> dict[str, np.ndarray]:
    """`solve._continuation` for all points at once: Newton at lam = CONTINUATION_LAM_START from
    the heavy-ridge start, then down to each point's lam, every point with its own adaptive
    ratio. Returns u, converged, iterations (all Newton iterations) and residual."""
    target = pts.lam
    lam = np.maximum(CONTINUATION_LAM_START, target)
    a = 2.0 * pts.psi1 * lam
    gam = pts.p12 * (pts.mu1sq + pts.mustar2) / a
    s = 2.0 * np.sqrt(pts.P * (pts.mu1sq * (1.0 + pts.psi1) + pts.nu2) + pts.Q0 * pts.p12) / a
    start = np.stack([np.log(gam), np.log(pts.Q0), np.log(s)], axis=1)
    root = _newton(replace(pts, lam=lam), start, 0, lam == target)  # polished: the last solves
    x, converged, total, final = (root[k] for k in ("u", "converged", "iterations", "residual"))
    factor = np.full(len(lam), CONTINUATION_FACTOR)
    going = converged & (lam > target)
    while going.any():
        ig = np.flatnonzero(going)
        nxt = np.maximum(lam[ig] / factor[ig], target[ig])
        nxt = np.where((target[ig] == 0.0) & (nxt < CONTINUATION_LAM_FLOOR), target[ig], nxt)
        sub = pts.take(ig)
        trial = _newton(replace(sub, lam=nxt), x[ig], 0, nxt == target[ig])
        total[ig] += trial["iterations"]
        ok = trial["converged"]
        took = ig[ok]
        x[took], lam[took], final[took] = trial["u"][ok], nxt[ok], trial["residual"][ok]
        factor[took] = np.minimum(factor[took] * factor[took], CONTINUATION_FACTOR)
        failed = ig[~ok]
        factor[failed] = np.sqrt(factor[failed])
        lost = failed[factor[failed] < CONTINUATION_MIN_FACTOR]
        converged[lost] = False
        going = converged & (lam > target)
    return {"u": x, "converged": converged, "iterations": total, "residual": final}


def _go_on(problem: Problem, u: np.ndarray, iterations: int) -> RootResult:
    """Newton for a straggler of the batched Newton (stopped after `iterations`), gone on in
    `solve.newton` to the same iteration limit."""
    co = Coefficients.from_problem(problem)
    return newton(lambda v: residual(co, v), u.tolist(), max_iter=NEWTON_MAX_ITER - iterations)


def _generic(
    problems: list[Problem], pts: _Points, eps_c: np.ndarray, u0: np.ndarray | None = None
) -> list[Any]:
    """Newton (from `u0`, else the default start) and the certificate, as in case 5 of `solve`
    (None where `solve` must decide)."""
    default = u0 is None
    if default:
        p12, q0 = pts.p12, pts.Q0
        u0 = np.stack([np.log(p12), np.log(q0), np.full_like(p12, math.log(DEFAULT_S))], axis=1)
    with np.errstate(all="ignore"):
        root = _newton(pts, u0, STRAGGLERS)
        u, converged, iterations, residual = (
            root[k] for k in ("u", "converged", "iterations", "residual")
        )
        out: list[Any] = [None] * len(problems)
        for i in np.flatnonzero(root["straggler"]).tolist():
            found = _go_on(problems[i], u[i], int(iterations[i]))
            iterations[i] += found.iterations
            if found.converged:
                u[i], converged[i], residual[i] = found.x, True, found.residual
        if default:  # the rest of case 5 as `solve` does it, from where Newton stopped
            failed = np.flatnonzero(~converged)  # on to the continuation, as `solve.finish`
            if len(failed) <= STRAGGLERS:  # cheaper in `solve._continuation` than in numpy
                for i in failed.tolist():
                    found, used = _continuation(problems[i])
                    iterations[i] += used
                    if found.converged:
                        u[i], converged[i], residual[i] = found.x, True, found.residual
            else:
                cont = _continuations(pts.take(failed))
                u[failed] = cont["u"]
                converged[failed] = cont["converged"]
                iterations[failed] += cont["iterations"]
                residual[failed] = cont["residual"]
        idx = np.flatnonzero(converged)
        if not len(idx):
            return out
        sub = pts.take(idx)
        ev = _residual(sub, u[idx])
        eps_test = np.array([problems[i].eps_test for i in idx])
        certified = _error_bound(ev, eps_test) < ERROR_BOUND_MAX
        certified &= _inertia_ok(_hessian(sub, ev), sub.eps == 0.0)
        values = _outputs(sub, ev)
        certified &= np.all(np.isfinite([ev["Q"], ev["s"], *values.values()]), axis=0)
    cols = [
        ev["Q"], ev["s"], values["train_objective"], values["norm_a2"], values["norm_w2"],
        values["beta_w"], eps_c[idx], iterations[idx], residual[idx], ev["gam"], sub.eps > 0.0,
        certified,
    ]  # fmt: skip
    build = TheoryResult.build
    for i, (Q, s, obj, na2, nw2, bw, ec, its, res, gam, positive, ok) in zip(  # noqa: N806
        idx.tolist(), zip(*(c.tolist() for c in cols), strict=True), strict=True
    ):
        if ok:
            out[i] = build(
                problems[i], regime="adversarial" if positive else "ridge", Q=Q, s=s,
                train_objective=obj, norm_a2=na2, norm_w2=nw2, beta_w=bw, grad_norm2=s * s,
                eps_c=ec, iterations=its, residual=res, gam=gam,
                inertia=(3, 3) if positive else (2, 2),
            )  # fmt: skip
    return out


def _transform(b: dict, a1: Any, poly: tuple[float, float, float], power: int) -> tuple:
    """`Spectrum.integrate_with_derivatives` for arrays: (I, dI/da1, dI/da0), same operations."""
    c0, c1, c2 = poly
    if power == 1:
        f = c1 * b["h1"] + c2 * b["t1"]
        df = -(c1 * b["h2"] + c2 * b["t2"])
        if _present(c0):
            f = f + c0 * b["m1"]
            df = df - c0 * b["m2"]
    else:
        f = c1 * b["h2"] + c2 * b["t2"]
        df = -2.0 * (c1 * b["h3"] + c2 * b["t3"])
        if _present(c0):
            f = f + c0 * b["m2"]
            df = df - 2.0 * c0 * b["m3"]
    scale = a1**-power
    return scale * f, -scale / a1 * (power * f + b["x"] * df), scale / a1 * df


def _decreasing_root(fun: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`solve._decreasing_root` for n functions at once: (roots, found)."""
    lo, hi = np.full(n, -INTERPOLATOR_LOG_RANGE), np.full(n, INTERPOLATOR_LOG_RANGE)
    found = np.ones(n, dtype=bool)
    for end, sign in ((lo, -1.0), (hi, 1.0)):
        todo = np.arange(n)
        while len(todo):
            f = fun(todo, end[todo])[0]
            out_of = sign * f >= 0.0 if sign > 0 else f <= 0.0
            out_of |= ~np.isfinite(f)
            bad = out_of & ((np.abs(end[todo]) > ROOT_LOG_LIMIT) | ~np.isfinite(f))
            found[todo[bad]] = False
            todo = todo[out_of & ~bad]
            end[todo] *= 2.0
    y = np.where((lo < 0.0) & (0.0 < hi), 0.0, 0.5 * (lo + hi))
    done = ~found
    root = np.full(n, np.nan)
    for _ in range(ROOT_MAX_ITER):
        act = np.flatnonzero(~done)
        if not len(act):
            break
        f, df = fun(act, y[act])
        zero = f == 0.0
        root[act[zero]] = y[act[zero]]
        done[act[zero]] = True
        keep = ~zero
        act, f, df = act[keep], f[keep], df[keep]
        ya = y[act]
        lo[act] = np.where(f > 0.0, ya, lo[act])
        hi[act] = np.where(f > 0.0, hi[act], ya)
        nxt = np.where(df < 0.0, ya - f / np.where(df < 0.0, df, 1.0), np.nan)
        inside = (lo[act] < nxt) & (nxt < hi[act])
        nxt = np.where(inside, nxt, 0.5 * (lo[act] + hi[act]))
        stop = np.abs(nxt - ya) <= ROOT_TOL + 4.0 * EPS * np.abs(ya)
        root[act[stop]] = nxt[stop]
        done[act[stop]] = True
        y[act] = nxt
    found &= np.isfinite(root)
    return root, found


def _interpolators(pts: _Points, norm: str) -> dict[str, np.ndarray]:
    """`solve._interpolator` for arrays (every point overparametrised): t, Q, the order
    parameters, residual, and `ok` (False where `solve` must decide: no root, infinite limit)."""
    m1s, ms, nu2 = pts.mu1sq, pts.mustar2, pts.nu2

    def shape(t: np.ndarray, m1s: Any, ms: Any, nu2: Any) -> tuple[Any, np.ndarray]:
        if norm == "norm":
            return m1s, ms + t
        return m1s * (1.0 + t), ms + t * nu2

    def excess(idx: np.ndarray, log_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.exp(log_t)
        m1s, ms, nu2 = pts.mu1sq[idx], _at(pts.mustar2, idx), _at(pts.nu2, idx)
        a1, a0 = shape(t, m1s, ms, nu2)
        b = _basis(pts.psi1[idx], a0 / a1, pts.has_ms)
        value, d1, d0 = _transform(b, a1, (ms, m1s, 0.0), 1)
        slope = (0.0, 1.0) if norm == "norm" else (m1s, nu2)
        return np.log(pts.p12[idx] * value), t * (slope[0] * d1 + slope[1] * d0) / value

    n = len(pts.psi1)
    log_t, ok = _decreasing_root(excess, n)
    log_t = np.where(ok, log_t, 0.0)
    t = np.exp(log_t)
    a1, a0 = shape(t, m1s, ms, nu2)
    b = _basis(pts.psi1, a0 / a1, pts.has_ms)
    P, p12 = pts.P, pts.p12  # noqa: N806
    denom = 1.0 - p12 * _transform(b, a1, (_prod(ms, ms), _prod(2.0, m1s, ms), m1s * m1s), 2)[0]
    num = pts.Q0 + (
        -2.0 * P * _transform(b, a1, (0.0, 1.0, 0.0), 1)[0]
        + P * _transform(b, a1, (0.0, ms, m1s), 2)[0]
    )
    ok &= denom > 0.0
    Q = num / denom  # noqa: N806
    order = _order(pts, b, a1, 1.0, Q)
    ok &= (Q > 0.0) & np.all(np.isfinite([Q, *order.values()]), axis=0)
    return {"t": t, "Q": Q, "ok": ok, "residual": np.abs(excess(np.arange(n), log_t)[0]), **order}


def _order(pts: _Points, b: dict, a1: Any, th1: Any, b2: np.ndarray) -> dict[str, np.ndarray]:
    """`equations.order_parameters` for arrays."""
    m1s, ms, nu2 = pts.mu1sq, pts.mustar2, pts.nu2
    P, p12 = pts.P, pts.p12  # noqa: N806
    t1 = th1 * th1 * P
    return {
        "norm_a2": t1 * _value(b, a1, (0.0, 1.0, 0.0), 2)
        + b2 * p12 * _value(b, a1, (ms, m1s, 0.0), 2),
        "norm_w2": t1 * _value(b, a1, (0.0, 0.0, 1.0), 2)
        + b2 * p12 * _value(b, a1, (0.0, ms, m1s), 2),
        "beta_w": th1 * pts.mu1 * pts.psi1 * pts.signal**2 * _value(b, a1, (0.0, 1.0, 0.0), 1),
        "grad_norm2": t1 * _value(b, a1, (0.0, nu2, m1s), 2)
        + b2 * p12 * _value(b, a1, (_prod(ms, nu2), _prod(m1s, ms + nu2), m1s * m1s), 2),
    }


def _limits(problems: list[Problem], pts: _Points, eps_c: np.ndarray) -> list[Any]:
    """lam = 0, overparametrised (cases 2 and 4 of `solve`): the minimum-norm limit at eps = 0;
    at eps > 0 the minimum-||a||_M limit where it is exact in double precision, else Newton
    from it (None where `solve` must decide)."""
    out: list[Any] = [None] * len(problems)
    build = TheoryResult.build
    with np.errstate(all="ignore"):
        zero = pts.eps == 0.0
        for norm, members in (("norm", np.flatnonzero(zero)), ("M", np.flatnonzero(~zero))):
            if not len(members):
                continue
            sub = pts.take(members)
            lim = _interpolators(sub, norm)
            s = np.sqrt(lim["grad_norm2"])
            if norm == "M":
                z = lim["t"] * s / (sub.eps * np.sqrt(lim["Q"]))
                closed = lim["ok"] & (z >= Z_INTERPOLATING)
                newton = lim["ok"] & ~closed
                if newton.any():
                    guess = np.stack(
                        [np.log(0.5 * lim["t"]) - 2.0 * np.log(sub.eps), np.log(lim["Q"]),
                         np.log(s)], axis=1,
                    )[newton]  # fmt: skip
                    idx = members[newton]
                    found = _generic([problems[i] for i in idx], pts.take(idx), eps_c[idx], guess)
                    for i, result in zip(idx.tolist(), found, strict=True):
                        out[i] = result
            else:
                closed = lim["ok"]
            for k in np.flatnonzero(closed).tolist():
                i = int(members[k])
                eps = float(sub.eps[k])
                si = float(s[k])
                out[i] = build(
                    problems[i],
                    regime="min_norm" if norm == "norm" else "min_M_norm",
                    Q=float(lim["Q"][k]),
                    s=si,
                    train_objective=0.0 if norm == "norm" else (eps * si) ** 2,
                    norm_a2=float(lim["norm_a2"][k]),
                    norm_w2=float(lim["norm_w2"][k]),
                    beta_w=float(lim["beta_w"][k]),
                    grad_norm2=float(lim["grad_norm2"][k]),
                    eps_c=float(eps_c[i]),
                    residual=float(lim["residual"][k]),
                    gam=0.0 if norm == "norm" else _interpolating_gam(float(lim["t"][k]), eps),
                )
    return out


def _moments(problem: Problem) -> tuple[float, float, float] | None:
    """(mu1, mu_star^2, nu^2) as `Coefficients.from_problem` sets them (round-off to 0), or None
    for an activation left to `solve` (constant, or mu1 = 0: the moment formulas)."""
    mom = problem.moments
    mu1, mustar2, nu2 = mom.mu1, mom.mu_star2, mom.nu2
    scale = mu1 * mu1 + mustar2 + nu2
    if scale <= 0.0 or mu1 * mu1 <= MOMENT_ZERO * scale:
        return None
    mustar2 = 0.0 if mustar2 <= MOMENT_ZERO * scale else mustar2
    nu2 = 0.0 if nu2 <= MOMENT_ZERO * scale else nu2
    return mu1, mustar2, nu2


def _group(problems: list[Problem], moments: np.ndarray) -> list[Any]:
    """Points whose activations share one structure (`_Points`; `moments`: their (mu1,
    mu_star^2, nu^2), one row a point): trivial and generic points here, the rest by `solve`."""
    out: list[Any] = [None] * len(problems)
    cols = np.array(
        [(p.psi1, p.psi2, p.eps, p.lam, p.signal, p.noise) for p in problems], dtype=float
    )
    mu1, mustar2, nu2 = moments.T
    pts = _Points(
        *cols.T, mu1=mu1, mu1sq=mu1 * mu1, mustar2=mustar2 if mustar2[0] > 0.0 else 0.0,
        nu2=nu2 if nu2[0] > 0.0 else 0.0,
    )  # fmt: skip
    with np.errstate(all="ignore"):
        eps_c = _eps_c(pts)
        trivial = (pts.eps > 0.0) & (pts.eps >= eps_c)
        linear = pts.linear
        mass = 1.0 if pts.has_ms else np.minimum(1.0, 1.0 / pts.psi1)
        over = pts.p12 * mass > 1.0
        limit = (pts.lam == 0.0) & over
        # exactly at the interpolation threshold without regularisation: an error
        special_case = (pts.eps == 0.0) & (pts.lam == 0.0) & (pts.p12 * mass == 1.0)
        special_case |= ~(pts.P > 0.0) | ~np.isfinite(eps_c)
        scale = np.hypot(pts.signal, pts.noise)  # `solve` rescales these (UNIT_RANGE)
        special_case |= (scale < UNIT_RANGE[0]) | (scale > UNIT_RANGE[1])
        # where the exact-recovery phase can occur (never at eps = 0, lam > 0): its condition
        recovery = np.zeros(len(problems), dtype=bool)
        if linear:
            recovery = (
                (pts.noise == 0.0) & (pts.psi1 >= 1.0) & (pts.psi2 > 1.0)
                & ((pts.eps > 0.0) | (pts.lam == 0.0)) & ~trivial & ~special_case
            )  # fmt: skip
    for i in np.flatnonzero(trivial):
        q0 = problems[i].null_risk
        out[i] = TheoryResult.build(
            problems[i], regime="trivial", Q=q0, s=0.0, train_objective=q0, norm_a2=0.0,
            norm_w2=0.0, beta_w=0.0, grad_norm2=0.0, eps_c=float(eps_c[i]),
        )  # fmt: skip
    for i in np.flatnonzero(recovery).tolist():
        try:  # the phase condition as `solve` tests it; outside the phase, a point as any other
            co = Coefficients.from_problem(problems[i])
            out[i] = _exact_recovery(co, problems[i], float(eps_c[i]))
            special_case[i] = out[i] is not None
        except (ArithmeticError, ValueError):
            special_case[i] = True  # left to `solve`
    rest = ~trivial & ~special_case
    for mask, method in ((rest & limit, _limits), (rest & ~limit, _generic)):
        idx = np.flatnonzero(mask)
        if len(idx):
            found = method([problems[i] for i in idx], pts.take(idx), eps_c[idx])
            for i, result in zip(idx.tolist(), found, strict=True):
                out[i] = result
    return out


def solve_batch(problems: Sequence[Problem]) -> list[TheoryResult | TheoryError]:
    """`solve(problem)` (cold) for every problem, the generic points vectorised (module
    docstring): a TheoryResult, or the TheoryError of a point that has no certified solution,
    in the order of `problems`."""
    problems = list(problems)
    out: list[Any] = [None] * len(problems)
    moments: dict[int, tuple[float, float, float] | None] = {}
    groups: dict[tuple[bool, bool], list[int]] = {}  # by (mu_star^2 > 0, nu^2 > 0)
    rows: list[tuple[float, float, float]] = []
    for i, p in enumerate(problems):
        key = id(p.activation)
        if key not in moments:
            moments[key] = _moments(p)
        mom = moments[key]
        rows.append(mom or (0.0, 0.0, 0.0))
        if mom is not None:
            groups.setdefault((mom[1] > 0.0, mom[2] > 0.0), []).append(i)
    table = np.array(rows, dtype=float).reshape(-1, 3)
    for members in groups.values():
        found = _group([problems[i] for i in members], table[members])
        for i, result in zip(members, found, strict=True):
            out[i] = result
    for i, result in enumerate(out):
        if result is None:
            try:
                out[i] = solve(problems[i])
            except TheoryError as error:
                out[i] = error
    return out
