"""Linear algebra of the training solver: the gradient-norm matrix M and the Newton systems.

Two representations of the N x N positive definite matrix M of the program

    min_a (1/n) sum_i (|y_i - phi_i^T a| + eps omega_i sqrt(a^T M a))^2 + c ||a||^2:

- `SpectralM`: M = nu^2 I + U diag(m) U^T with U (N x r) orthonormal, from one thin SVD of Theta
  (conventions 3.2: M = mu1^2 Theta Theta^T / d + nu^2 I, m_j = mu1^2 s_j^2 / d).
  (kappa M + c I)^{-1} is then closed form for every kappa.
- `DenseM`: any M, factorised by Cholesky for each kappa (used by the exact variant, whose
  reweighted M' has no structure).

`NewtonSystem` solves (G + n D) x = b with G = Phi (kappa M + c I)^{-1} Phi^T and D the 0/1
diagonal of active samples, either in sample space (n x n Cholesky, when N >= n) or in weight
space (N x N Cholesky of K + Phi_A^T Phi_A / n plus a Schur complement on the inactive samples,
when N < n).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.linalg import blas, lapack

# Relative jitter added to a Schur complement that is numerically singular (more inactive
# samples than weights during an early Newton step): a Levenberg-Marquardt safeguard.
SINGULAR_JITTER = 1e-12
DENSE_CACHE = 3  # Cholesky factors of kappa M + c I kept by a DenseM (least recently used dropped)
# M is numerically singular when its smallest eigenvalue is below RANK_TOL times its largest: the
# linear activation's nu^2 comes out of quadrature at about 1e-14 instead of exactly 0, and
# M = mu1^2 Theta Theta^T / d + nu^2 I then has rank d < N up to that rounding.
RANK_TOL = 1e-12
GRAM_BLOCK = 512  # columns of Phi U scaled and added into the Gram at a time (no n x r copy)


# The hot paths call LAPACK directly (potrf, potrs, trtrs): scipy.linalg's wrappers validate
# their inputs on every call, which costs as much as the factorisation itself at N ~ 200.


def _cholesky(matrix: np.ndarray) -> tuple[tuple[np.ndarray, bool], bool]:
    """Cholesky factor (lower, in cho_factor's (c, lower) form) and whether no jitter was needed;
    retried once with a relative diagonal jitter if not positive definite."""
    fac, info = lapack.dpotrf(matrix, lower=1, clean=1)
    if info == 0:
        return (fac, True), True
    if info < 0:
        raise ValueError(f"potrf: illegal argument {-info}")
    scale = max(float(np.max(np.abs(np.diag(matrix)))), np.finfo(float).tiny)
    jittered = matrix.copy()
    jittered[np.diag_indices_from(jittered)] += SINGULAR_JITTER * scale
    return linalg.cho_factor(jittered, lower=True, check_finite=False), False


def _add_outer(
    w: np.ndarray,
    b: np.ndarray,
    alpha: float,
    scale: np.ndarray | None = None,
    *,
    lower: bool = True,
) -> None:
    """w += alpha (b S)(b S)^T, S = diag(scale) (default I), on one triangle (lower or upper) of
    the Fortran-ordered n x n array w, in place (BLAS syrk; the other triangle is not touched),
    b (n x k) taken in column blocks of GRAM_BLOCK (no scaled copy of b is held)."""
    for lo in range(0, b.shape[1], GRAM_BLOCK):
        block = b[:, lo : lo + GRAM_BLOCK]
        block = (
            np.ascontiguousarray(block) if scale is None else block * scale[lo : lo + GRAM_BLOCK]
        )
        out = blas.dsyrk(alpha, block.T, beta=1.0, c=w, trans=1, lower=int(lower), overwrite_c=1)
        if not np.shares_memory(out, w):  # not updated in place (never for Fortran order)
            w[...] = out


def _lower_from_upper(w: np.ndarray, scale: float, diagonal: np.ndarray | None) -> None:
    """Lower triangle of the Fortran-ordered w := scale * (its strict upper triangle)^T with
    scale * diagonal on the diagonal, in blocks; diagonal None (no perpendicular Gram): zero."""
    n = w.shape[0]
    for lo in range(0, n, GRAM_BLOCK):
        hi = min(lo + GRAM_BLOCK, n)
        block = w[lo:hi, lo:hi]
        below = np.tril_indices(hi - lo, -1)
        if diagonal is None:
            w[hi:, lo:hi] = 0.0
            block[below] = 0.0
            block[np.diag_indices(hi - lo)] = 0.0
            continue
        np.multiply(w[lo:hi, hi:].T, scale, out=w[hi:, lo:hi])
        block[below] = block.T[below] * scale
        block[np.diag_indices(hi - lo)] = diagonal[lo:hi] * scale


def _cho_solve(fac: tuple[np.ndarray, bool], b: np.ndarray) -> np.ndarray:
    """(L L^T)^{-1} b from a lower Cholesky factor."""
    x, info = lapack.dpotrs(fac[0], b, lower=1)
    if info != 0:
        raise ValueError(f"potrs: illegal argument {-info}")
    return x


def _tri_solve(lower: np.ndarray, b: np.ndarray, transpose: bool = False) -> np.ndarray:
    """L^{-1} b, or L^{-T} b when transpose, for a lower triangular L."""
    x, info = lapack.dtrtrs(lower, b, lower=1, trans=int(transpose))
    if info != 0:
        raise linalg.LinAlgError(f"trtrs: info {info}")
    return x


class SpectralM:
    """M = nu2 I + U diag(m) U^T, U (N x r) with orthonormal columns, held as U = left @ right.

    For N > d, left = Theta and right = V diag(lam)^{-1/2} (d x r) from the eigendecomposition
    Theta^T Theta = V diag(lam) V^T, so the N x r matrix U is never formed; for N <= d, left = U
    (N x N) and right = None.
    """

    def __init__(
        self, left: np.ndarray, m: np.ndarray, nu2: float, right: np.ndarray | None = None
    ):
        self.left, self.right, self.m, self.nu2 = left, right, m, float(nu2)
        self.size = left.shape[0]
        self.full_rank = m.shape[0] == self.size

    @classmethod
    def from_theta(cls, theta: np.ndarray, mu1: float, nu2: float) -> SpectralM:
        """M = mu1^2 Theta Theta^T / d + nu2 I from an eigendecomposition of the smaller Gram."""
        big_n, d = theta.shape
        if big_n <= d:
            lam, u = np.linalg.eigh(theta @ theta.T)
            return cls(u, mu1**2 * np.maximum(lam, 0.0) / d, nu2)
        lam, v = np.linalg.eigh(theta.T @ theta)
        lam = np.maximum(lam, 0.0)
        keep = lam > lam.max() * np.finfo(float).eps * d
        lam, v = lam[keep], v[:, keep]
        return cls(theta, mu1**2 * lam / d, nu2, right=v / np.sqrt(lam))

    def project(self, v: np.ndarray) -> np.ndarray:
        """U^T v."""
        p = self.left.T @ v
        return p if self.right is None else self.right.T @ p

    def lift(self, z: np.ndarray) -> np.ndarray:
        """U z."""
        return self.left @ (z if self.right is None else self.right @ z)

    def rows_in_basis(self, phi: np.ndarray) -> np.ndarray:
        """Phi U (n x r), through Phi Theta (n x d) when U = Theta right."""
        p = phi @ self.left
        return p if self.right is None else p @ self.right

    def apply(self, v: np.ndarray) -> np.ndarray:
        m = self.m[:, None] if v.ndim == 2 else self.m
        return self.nu2 * v + self.lift(m * self.project(v))

    def is_singular(self, c: float) -> bool:
        """c = 0 and M numerically singular (smallest eigenvalue <= RANK_TOL * largest)."""
        if c != 0.0:
            return False
        largest = self.nu2 + (float(self.m.max()) if self.m.size else 0.0)
        smallest = self.nu2 + (float(self.m.min()) if self.full_rank and self.m.size else 0.0)
        return smallest <= RANK_TOL * largest

    def pinv(self, v: np.ndarray) -> np.ndarray:
        """M^+ v on the numerically nonsingular eigenspaces (eigenvalue > RANK_TOL * largest):
        for a singular M (`is_singular(0)`), the component of v outside them is dropped."""
        values = self.nu2 + self.m
        keep = values > RANK_TOL * (float(values.max()) if values.size else 0.0)
        scale = np.divide(1.0, values, out=np.zeros_like(values), where=keep)
        return self.lift((scale[:, None] if v.ndim == 2 else scale) * self.project(v))

    def kinv(self, kappa: float, c: float, v: np.ndarray) -> np.ndarray:
        """(kappa M + c I)^{-1} v."""
        alpha0 = kappa * self.nu2 + c
        proj = self.project(v)
        scale = 1.0 / (alpha0 + kappa * self.m)
        out = self.lift(scale[:, None] * proj if v.ndim == 2 else scale * proj)
        if not self.full_rank:
            out += (v - self.lift(proj)) / alpha0
        return out

    def dense(self) -> np.ndarray:
        u = self.left if self.right is None else self.left @ self.right
        out = (u * self.m) @ u.T
        out[np.diag_indices_from(out)] += self.nu2
        return out


class DenseM:
    """A general symmetric positive definite M, factorised per kappa."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self.size = matrix.shape[0]
        self._factors: dict[tuple[float, float], tuple] = {}

    def apply(self, v: np.ndarray) -> np.ndarray:
        return self.matrix @ v

    def is_singular(self, c: float) -> bool:
        return False

    def factor(self, kappa: float, c: float):
        """Cholesky factor of kappa M + c I (the DENSE_CACHE most recently used ones are kept)."""
        key = (float(kappa), float(c))
        fac = self._factors.pop(key, None)
        if fac is None:
            if len(self._factors) >= DENSE_CACHE:
                self._factors.pop(next(iter(self._factors)))
            k = kappa * self.matrix
            k[np.diag_indices_from(k)] += c
            fac = _cholesky(k)[0]
        self._factors[key] = fac  # re-inserted last: the dict is in order of use
        return fac

    def kinv(self, kappa: float, c: float, v: np.ndarray) -> np.ndarray:
        """(kappa M + c I)^{-1} v; for c = 0 the one factor of M serves every kappa."""
        if c == 0.0:
            return _cho_solve(self.factor(1.0, 0.0), v) / kappa
        return _cho_solve(self.factor(kappa, c), v)

    def dense(self) -> np.ndarray:
        return self.matrix


class NewtonSystem:
    """Solves (Phi (kappa M + c I)^{-1} Phi^T + n D) x = b for the active pattern D.

    Precomputations depend only on (Phi, M): for a SpectralM in sample space, Phi U and the
    perpendicular Gram Phi (I - U U^T) Phi^T (when N > d), kept in the strict upper triangle of
    one Fortran-ordered n x n workspace (its diagonal beside it) whose lower triangle receives each
    Newton Gram and is factorised there in place: one n x n array in all. Phi^T Phi and the dense
    M in weight space.
    """

    def __init__(self, phi: np.ndarray, mop: SpectralM | DenseM, c: float):
        self.phi, self.mop, self.c = phi, mop, float(c)
        self.n, self.big_n = phi.shape
        self.sample_space = self.big_n >= self.n
        self._gram_unit = None  # Phi M^{-1} Phi^T, for a DenseM with c = 0
        if self.sample_space:
            if isinstance(mop, SpectralM):
                self.phi_u = mop.rows_in_basis(phi)
                self.perp_diagonal = None
                if mop.full_rank:
                    self.workspace = np.zeros((self.n, self.n), order="F")
                else:
                    self.workspace = (phi @ phi.T).T  # symmetric: its Fortran-ordered view
                    _add_outer(self.workspace, self.phi_u, -1.0, lower=False)
                    self.perp_diagonal = self.workspace.diagonal().copy()
        else:
            self.phitphi = phi.T @ phi
            self.m_dense = mop.dense()

    def gram(self, kappa: float) -> np.ndarray:
        """G = Phi (kappa M + c I)^{-1} Phi^T (sample space only).

        For a SpectralM: G = perp / alpha0 + (Phi U) diag(1 / (alpha0 + kappa m)) (Phi U)^T,
        alpha0 = kappa nu2 + c, written into the lower triangle of the shared workspace (only that
        triangle is set; it is valid until the next call of gram or factor)."""
        mop = self.mop
        if isinstance(mop, SpectralM):
            alpha0 = kappa * mop.nu2 + self.c
            g = self.workspace
            _lower_from_upper(g, 1.0 / alpha0, self.perp_diagonal)
            _add_outer(g, self.phi_u, 1.0, np.sqrt(1.0 / (alpha0 + kappa * mop.m)))
            return g
        if self.c == 0.0:
            if self._gram_unit is None:
                z = linalg.solve_triangular(
                    mop.factor(1.0, 0.0)[0], self.phi.T, lower=True, check_finite=False
                )
                self._gram_unit = z.T @ z
            return self._gram_unit / kappa
        z = linalg.solve_triangular(
            mop.factor(kappa, self.c)[0], self.phi.T, lower=True, check_finite=False
        )
        return z.T @ z

    def ridge_weights(self, kappa: float, y: np.ndarray) -> np.ndarray:
        """(Phi^T Phi / n + kappa M + c I)^{-1} Phi^T y / n by one N x N Cholesky (weight space)."""
        p = self.phitphi / self.n + kappa * self.m_dense
        p[np.diag_indices_from(p)] += self.c
        return _cho_solve(_cholesky(p)[0], self.phi.T @ y / self.n)

    def factor(self, kappa: float, active: np.ndarray):
        """Return solve(b) for (G + n D) x = b, and whether the factorisation needed jitter
        (in sample space with a SpectralM, solve is valid until the next call of gram or
        factor)."""
        n = self.n
        if self.sample_space:

            def shifted() -> np.ndarray:
                h = self.gram(kappa)
                h[np.diag_indices_from(h)] += n * active
                return h

            # factorised in place (the strict upper triangle, not referenced, is kept); a matrix
            # that is not positive definite is rebuilt for the jittered retry
            fac, info = lapack.dpotrf(shifted(), lower=1, clean=0, overwrite_a=1)
            if info < 0:
                raise ValueError(f"potrf: illegal argument {-info}")
            fac, clean = ((fac, True), True) if info == 0 else _cholesky(shifted())
            return (lambda b: _cho_solve(fac, b)), clean
        inactive = ~active
        phi0 = self.phi[inactive]
        p = self.phitphi - phi0.T @ phi0
        p *= 1.0 / n
        p += kappa * self.m_dense
        p[np.diag_indices_from(p)] += self.c
        pfac, clean = _cholesky(p)
        lower = pfac[0]
        if phi0.shape[0]:
            # P = L L^T; W = L^{-1} Phi_0^T, so the Schur complement Phi_0 P^{-1} Phi_0^T = W^T W
            w = _tri_solve(lower, phi0.T)
            sfac, clean_s = _cholesky(w.T @ w)
            clean = clean and clean_s
        mask = active[:, None] if active.ndim == 1 else active
        phi = self.phi

        def solve(b: np.ndarray) -> np.ndarray:
            mask_b = mask if b.ndim == 2 else active
            v = _tri_solve(lower, phi.T @ (b * mask_b) / n)
            x = np.empty_like(b)
            if phi0.shape[0]:
                x0 = _cho_solve(sfac, b[inactive] - w.T @ v)
                v = v + w @ x0
                x[inactive] = x0
            z = _tri_solve(lower, v, transpose=True)
            x[active] = (b[active] - (phi @ z)[active]) / n
            return x

        return solve, clean


def m_operator(theta: np.ndarray, mu1: float, nu2: float, n: int) -> SpectralM | DenseM:
    """M = mu1^2 Theta Theta^T / d + nu2 I in the form the solver needs for n samples.

    Sample space (N >= n) uses the closed-form inverse of a `SpectralM` for every kappa; weight
    space (N < n) factorises N x N matrices anyway, so M is kept dense (no eigendecomposition),
    unless nu2 <= RANK_TOL mu1^2: then the spectrum shows whether M is singular (N > d).
    """
    big_n, d = theta.shape
    if big_n >= n or nu2 <= RANK_TOL * mu1**2:
        return SpectralM.from_theta(theta, mu1, nu2)
    m = (mu1**2 / d) * (theta @ theta.T)
    m[np.diag_indices_from(m)] += nu2
    return DenseM(m)
