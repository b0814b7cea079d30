"""The convergence study's pieces: its jobs and plan, the gap table, the fitted rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from advrf.experiments.convergence import ConvergenceStudy, fit_rate, gap_table
from advrf.experiments.jobs import SimulationJob, TheoryJob
from advrf.simulation.memory import peak_bytes

D = np.array([250.0, 500.0, 1000.0, 2000.0])


def test_fit_recovers_an_exact_power_law_and_its_linearised_covariance():
    c, alpha = 0.4, 0.7
    gap = c * D**-alpha
    se = np.array([1e-4, 6e-5, 4e-5, 3e-5])  # gaps of 0.8 % to 0.2 %
    fit = fit_rate(D, gap, se)
    assert fit.converged and fit.dof == 2 and fit.chi2 == pytest.approx(0.0, abs=1e-12)
    assert fit.alpha == pytest.approx(alpha, rel=1e-8) and fit.C == pytest.approx(c, rel=1e-7)
    # the covariance of a weighted least-squares fit, (J^T W J)^-1, from the analytic Jacobian
    jacobian = np.column_stack([D**-alpha, -c * np.log(D) * D**-alpha])
    cov = np.linalg.inv(jacobian.T @ np.diag(se**-2) @ jacobian)
    assert fit.alpha_se == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-5)
    assert fit.C_se == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-5)
    assert fit.zero_p < 1e-6 and fit.message == ""


def test_fit_of_a_negative_gap_and_of_gaps_indistinguishable_from_zero():
    fit = fit_rate(D, -0.2 * D**-0.5, np.full(4, 1e-4))
    assert fit.alpha == pytest.approx(0.5, rel=1e-8) and fit.C == pytest.approx(-0.2, rel=1e-7)
    noise = fit_rate(D, [0.002, -0.001, 0.001, 0.0005], np.full(4, 0.01))
    assert noise.zero_p > 0.9 and noise.message.startswith("gaps consistent with 0")
    # gaps that change sign: alpha runs to its bound, or a power law far outside the errors
    runaway = fit_rate(D[:3], [0.0067, -0.0292, 0.0083], [0.018, 0.0086, 0.0038])
    assert not runaway.converged and math.isnan(runaway.alpha) and "bound" in runaway.message
    rejected = fit_rate(D[:3], [0.0067, -0.0292, 0.0083], [0.001, 0.001, 0.001])
    assert rejected.converged and rejected.chi2 > 100 and "rejected" in rejected.message
    short = fit_rate(D[:1], [0.1], [0.01])
    assert not short.converged and math.isnan(short.alpha) and "1 sizes" in short.message


def test_study_jobs_plan_and_validation():
    study = ConvergenceStudy(psi1=(1.0, 30.0), d=(100, 200), seeds=(3, 2), n_test=500)
    jobs = study.jobs()
    assert sum(isinstance(j, TheoryJob) for j in jobs) == 2
    sims = [j for j in jobs if isinstance(j, SimulationJob)]
    assert sorted((j.problem.psi1, j.settings.d, j.seed) for j in sims) == sorted(
        (p, d, s) for p in (1.0, 30.0) for d, k in ((100, 3), (200, 2)) for s in range(k)
    )
    job = sims[0]
    assert job.settings.population and job.settings.variant == "concentrated"
    assert job.problem.eps == job.problem.eps_test == 0.1 and job.problem.psi2 == 2.0
    plan = study.plan()
    assert list(plan["N"]) == [100, 200, 3000, 6000] and list(plan["n"]) == [200, 400] * 2
    wide = plan[(plan["psi1"] == 30.0) & (plan["d"] == 200)]["peak_bytes"].item()
    assert wide == peak_bytes(study.problem(30.0), study.settings(200, 0))
    assert ConvergenceStudy(d=(100, 200), seeds=(4,)).seeds == (4, 4)
    with pytest.raises(ValueError, match="one count per d"):
        ConvergenceStudy(d=(100, 200), seeds=(4, 3, 2))
    with pytest.raises(ValueError, match="n_test"):
        ConvergenceStudy(n_test=0)


def test_gap_table_of_known_rows():
    theory = {"robust_error": 0.8, "standard_error": 0.5, "norm_a2": 2.0, "norm_w2": 1.0,
              "beta_w": 0.5, "grad_norm2": 1.0}  # fmt: skip
    rows = [dict(method="theory", psi1=1.0, status="ok", **theory)]
    for seed, scale in enumerate((1.1, 0.95, 1.0)):
        rows.append(
            dict(
                method="simulation", psi1=1.0, d=100, seed=seed, status="ok", wall_time=2.0,
                robust_error_cv=0.8 * scale, standard_error_exact=0.5, norm_a2=2.0 * scale,
                norm_w2=1.0, beta_w=0.5, grad_norm2=1.0,
            )
        )  # fmt: skip
    rows.append(dict(method="simulation", psi1=1.0, d=100, seed=3, status="failed"))
    gaps = gap_table(pd.DataFrame(rows)).set_index("quantity")
    expected = np.array([0.1, -0.05, 0.0])
    for name in ("robust_error_cv", "norm_a2"):
        row = gaps.loc[name]
        assert row["gap"] == pytest.approx(expected.mean())
        assert row["gap_se"] == pytest.approx(expected.std(ddof=1) / math.sqrt(3))
        assert row["gap_rms"] == pytest.approx(math.sqrt(np.mean(expected**2)))
        assert row["seeds"] == 3 and row["failed"] == 1
    assert gaps.loc["standard_error_exact", "gap"] == 0.0
    assert gap_table(pd.DataFrame()).empty
