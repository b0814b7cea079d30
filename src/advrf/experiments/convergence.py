"""Convergence of the simulation to the theory as d grows: the jobs, the gap table, the fitted rate.

    study = ConvergenceStudy(psi1=(1.0, 5.0, 30.0), d=(500, 1000), seeds=(6, 4))
    report = Runner(workers=1).run("results/convergence", study.jobs())   # or scheduler=...
    gaps = gap_table(report.to_frame())
    fits = fit_table(gaps)

At each psi1 of the headline setting (relu_shifted, psi2 = 2, eps = eps_test = 0.1, lam = 0,
signal 1, noise 0), one TheoryJob and, per d, `seeds[i]` SimulationJobs (seed indices 0..k-1,
concentrated variant, population=True: the test-set-free errors). For every simulated quantity q
and its theory value t (QUANTITIES):

    gap_s = q_s / t - 1                  per seed s,
    gap   = mean_s gap_s,   gap_se = std_s(gap_s, ddof=1) / sqrt(k),   gap_rms = sqrt(mean gap_s^2)

and, per (psi1, quantity) over d, the rate gap(d) = C d^(-alpha) fitted by weighted least squares
(weights 1 / gap_se^2), alpha's standard error from the fit's covariance (absolute weights: the
seed standard errors are taken as known), chi2 / dof the fit's goodness. Each seed draws its own
test set, so the test-set noise left in robust_error_cv is part of gap_se.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from advrf.experiments.jobs import Job, SimulationJob, TheoryJob
from advrf.experiments.methods import simulation_size
from advrf.experiments.units import OK, SIMULATION, THEORY
from advrf.problem import Problem
from advrf.settings import MAX_SEEDS, SimulationSettings, check_integer

ACTIVATION = "relu_shifted"
PSI2 = 2.0
EPS = 0.1  # = eps_test
LAM = 0.0
SIGNAL = 1.0
NOISE = 0.0
PSI1 = (1.0, 5.0, 30.0)  # before the peak (~2.2), at the E_rob minimum (~4.9), wide
D = (500, 1000, 2000, 4000, 8000)
SEEDS = (8, 6, 4, 3, 2)  # per d
N_TEST = 2000
VARIANT = "concentrated"
# simulated column -> the theory's column
QUANTITIES = {
    "robust_error_cv": "robust_error",
    "standard_error_exact": "standard_error",
    "norm_a2": "norm_a2",
    "norm_w2": "norm_w2",
    "beta_w": "beta_w",
    "grad_norm2": "grad_norm2",
}
ERRORS = ("robust_error_cv", "standard_error_exact")
ORDER_PARAMETERS = ("norm_a2", "norm_w2", "beta_w", "grad_norm2")
ALPHA_MAX = 4.0  # |alpha| bound of the fit: a fit that runs to it has found no power law
ZERO_P = 0.05  # above: the gaps are not told apart from 0 (RateFit.zero_p)
REJECT_P = 0.01  # below (the chi2 probability of the fit): the power law does not fit the gaps
GAP_COLUMNS = ("psi1", "d", "quantity", "theory", "simulation", "gap", "gap_se", "gap_rms",
               "seeds", "failed", "wall_time")  # fmt: skip


def _floats(name: str, values: Any) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    if not out or any(not math.isfinite(v) or v <= 0 for v in out):
        raise ValueError(f"{name} must be a non-empty list of finite numbers > 0; got {values!r}")
    return out


@dataclass(frozen=True)
class ConvergenceStudy:
    """Which points, sizes and seeds (module docstring): `seeds[i]` seeds at `d[i]` (one count:
    the same at every d), `n_test` test samples, the training `variant`."""

    psi1: tuple[float, ...] = PSI1
    d: tuple[int, ...] = D
    seeds: tuple[int, ...] = SEEDS
    n_test: int = N_TEST
    variant: str = VARIANT

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("psi1", _floats("psi1", self.psi1))
        set_("d", tuple(check_integer("d", v, 2, "input dimension") for v in self.d))
        if not self.d or len(set(self.d)) != len(self.d):
            raise ValueError(f"d must be a non-empty list of distinct sizes; got {self.d!r}")
        seeds = tuple(check_integer("seeds", v, 1, "seeds at one d", MAX_SEEDS) for v in self.seeds)
        if len(seeds) == 1:
            seeds *= len(self.d)
        if len(seeds) != len(self.d):
            raise ValueError(
                f"seeds must be one count or one count per d ({len(self.d)}); got {self.seeds!r}"
            )
        set_("seeds", seeds)
        self.settings(self.d[0], 0)  # validates n_test and variant once, in SimulationSettings

    def problem(self, psi1: float) -> Problem:
        return Problem(
            psi1=psi1, psi2=PSI2, eps=EPS, eps_test=EPS, lam=LAM, signal=SIGNAL, noise=NOISE,
            activation=ACTIVATION,
        )  # fmt: skip

    def settings(self, d: int, seed: int) -> SimulationSettings:
        return SimulationSettings(
            d=d, seeds=(seed,), n_test=self.n_test, variant=self.variant, population=True
        )

    def jobs(self) -> list[Job]:
        """One TheoryJob per psi1, then a SimulationJob per psi1, d and seed index."""
        jobs: list[Job] = [TheoryJob(self.problem(psi1)) for psi1 in self.psi1]
        for psi1 in self.psi1:
            for d, count in zip(self.d, self.seeds, strict=True):
                jobs += [
                    SimulationJob(self.problem(psi1), self.settings(d, s)) for s in range(count)
                ]
        return jobs

    def plan(self) -> pd.DataFrame:
        """psi1, d, N, n, seeds and the predicted peak bytes of one seed (memory.peak_bytes)."""
        rows = []
        for psi1 in self.psi1:
            problem = self.problem(psi1)
            for d, count in zip(self.d, self.seeds, strict=True):
                big_n, n, peak = simulation_size(problem, self.settings(d, 0))
                rows.append(dict(psi1=psi1, d=d, N=big_n, n=n, seeds=count, peak_bytes=peak))
        return pd.DataFrame(rows)


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The seed-mean relative gaps (module docstring) of a study's rows (theory and simulation),
    one row per (psi1, d, quantity): theory, simulation (seed mean), gap, gap_se, gap_rms, seeds
    (certified rows used), failed (rows left out), wall_time (seconds per seed, mean)."""
    if frame.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    theory = frame[(frame["method"] == THEORY) & (frame["status"] == OK)].set_index("psi1")
    sims = frame[frame["method"] == SIMULATION]
    rows = []
    for (psi1, d), group in sims.groupby(["psi1", "d"], sort=True):
        ok = group[group["status"] == OK].sort_values("seed")
        for quantity, name in QUANTITIES.items():
            t = float(theory.loc[psi1, name]) if psi1 in theory.index else math.nan
            gaps = ok[quantity].to_numpy(dtype=float) / t - 1.0
            k = gaps.size
            rows.append(
                dict(
                    psi1=float(psi1),
                    d=int(d),
                    quantity=quantity,
                    theory=t,
                    simulation=float(ok[quantity].mean()) if k else math.nan,
                    gap=float(gaps.mean()) if k else math.nan,
                    gap_se=float(gaps.std(ddof=1) / math.sqrt(k)) if k > 1 else math.nan,
                    gap_rms=float(np.sqrt(np.mean(gaps**2))) if k else math.nan,
                    seeds=k,
                    failed=len(group) - k,
                    wall_time=float(ok["wall_time"].mean()) if k else math.nan,
                )
            )
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


@dataclass(frozen=True)
class RateFit:
    """gap(d) = C d^(-alpha) by weighted least squares: C, alpha, their standard errors, chi2 /
    dof (nan for dof = 0), whether the fit converged, and why not; zero_p: the probability of a
    chi2 at least sum (gap / gap_se)^2 with one dof per size if every gap were 0 (above 0.05: the
    gaps are not distinguishable from 0, and alpha measures nothing); message: that, or that the
    power law is rejected (probability of its chi2 below REJECT_P), or why it did not converge."""

    C: float
    alpha: float
    C_se: float
    alpha_se: float
    chi2: float
    dof: int
    converged: bool
    zero_p: float = math.nan
    message: str = ""


def fit_rate(d: Any, gap: Any, gap_se: Any) -> RateFit:
    """Fit gap = C d^(-alpha) minimising sum ((gap - C d^-alpha) / gap_se)^2 (scipy curve_fit,
    absolute_sigma, |alpha| <= ALPHA_MAX); the start: a straight line through log |gap| against
    log d. Gaps that change sign drive alpha to its bound: not converged, with that message."""
    from scipy.optimize import OptimizeWarning, curve_fit
    from scipy.stats import chi2 as chi2_distribution

    d, gap, se = (np.asarray(v, dtype=float) for v in (d, gap, gap_se))
    keep = np.isfinite(gap) & np.isfinite(se) & (se > 0)
    d, gap, se = d[keep], gap[keep], se[keep]
    nan = math.nan
    if d.size < 2:
        message = f"{d.size} sizes with a standard error"
        return RateFit(nan, nan, nan, nan, nan, 0, False, message=message)
    dof = d.size - 2
    zero_p = float(chi2_distribution.sf(np.sum((gap / se) ** 2), d.size))
    x = np.log(d / d[0])  # C is the gap at the smallest d: a well-scaled unknown
    slope = np.polyfit(x, np.log(np.abs(gap)), 1)[0]
    model = lambda x, c, alpha: c * np.exp(-alpha * x)  # noqa: E731
    start = (gap[0], float(np.clip(-slope, -0.9 * ALPHA_MAX, 0.9 * ALPHA_MAX)))
    bounds = ([-np.inf, -ALPHA_MAX], [np.inf, ALPHA_MAX])
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)
        try:
            (c, alpha), cov = curve_fit(
                model, x, gap, p0=start, sigma=se, absolute_sigma=True, bounds=bounds,
                max_nfev=10000,
            )  # fmt: skip
        except (RuntimeError, OptimizeWarning) as error:
            return RateFit(nan, nan, nan, nan, nan, dof, False, zero_p, str(error))
    chi2 = float(np.sum(((gap - model(x, c, alpha)) / se) ** 2))
    zero = "gaps consistent with 0" if zero_p > ZERO_P else ""
    if abs(alpha) >= ALPHA_MAX * (1 - 1e-6):
        message = f"alpha ran to the bound {alpha:+g}: no power law C d^(-alpha) fits these gaps"
        message = f"{zero}; {message}" if zero else message
        return RateFit(nan, nan, nan, nan, chi2, dof, False, zero_p, message)
    errors = np.sqrt(np.diag(cov))
    if not np.all(np.isfinite(errors)):
        return RateFit(nan, nan, nan, nan, chi2, dof, False, zero_p, "singular covariance")
    scale = d[0] ** alpha  # C d^(-alpha) = c (d / d0)^(-alpha)
    gradient = np.array([scale, c * scale * math.log(d[0])])  # of C with respect to (c, alpha)
    c_se = float(np.sqrt(gradient @ cov @ gradient))
    message = zero
    if dof and chi2_distribution.sf(chi2, dof) < REJECT_P:
        message = f"the power law is rejected: chi2/dof = {chi2 / dof:.3g}"
    return RateFit(
        float(c * scale), float(alpha), c_se, float(errors[1]),
        chi2 / dof if dof else nan, dof, True, zero_p, message,
    )  # fmt: skip


def fit_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """`fit_rate` per (psi1, quantity) over the sizes of `gaps` (gap_table)."""
    rows = []
    for (psi1, quantity), group in gaps.groupby(["psi1", "quantity"], sort=False):
        fit = fit_rate(group["d"], group["gap"], group["gap_se"])
        rows.append(
            dict(
                psi1=psi1,
                quantity=quantity,
                d_min=int(group["d"].min()),
                d_max=int(group["d"].max()),
                sizes=int(fit.dof + 2) if fit.converged else int(len(group)),
                C=fit.C,
                C_se=fit.C_se,
                alpha=fit.alpha,
                alpha_se=fit.alpha_se,
                chi2_dof=fit.chi2,
                zero_p=fit.zero_p,
                converged=fit.converged,
                message=fit.message,
            )
        )
    return pd.DataFrame(rows)


def time_exponent(gaps: pd.DataFrame, psi1: float) -> tuple[float, float, int] | None:
    """(k, c, largest d) of wall_time ~ c d^k fitted on the two largest measured d of psi1 (the
    regime nearest the extrapolation); None with fewer than two."""
    rows = gaps[(gaps["psi1"] == psi1) & (gaps["quantity"] == ERRORS[0]) & (gaps["seeds"] > 0)]
    rows = rows.sort_values("d").tail(2)
    if len(rows) < 2:
        return None
    d, t = rows["d"].to_numpy(dtype=float), rows["wall_time"].to_numpy(dtype=float)
    k = float(np.log(t[1] / t[0]) / np.log(d[1] / d[0]))
    return k, float(t[1] / d[1] ** k), int(d[1])
