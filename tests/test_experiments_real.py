"""The experiment machinery on the real theory and a small real simulation (d = 40)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from advrf.cli import main
from advrf.experiments.convergence import QUANTITIES, ConvergenceStudy, gap_table
from advrf.experiments.reproductions.overparam import PSI1_MAX, Settings, reproduce_overparam
from advrf.experiments.runner import Runner
from advrf.experiments.sweep import read_results
from advrf.problem import Problem
from advrf.simulation import simulate_seed
from advrf.theory import solve
from advrf.threads import blas_threads

VOLATILE = ["wall_time", "seconds"]
SWEEP = ["--psi2", "2", "--eps", "0.1,0.2", "--noise", "0.5", "--theory", "--simulate"]
SWEEP += ["--d", "40", "--seeds", "2", "--quiet"]


def stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=[c for c in VOLATILE if c in table.columns])


def sweep(out, psi1="0.5,1.5,4", workers="1", *extra):
    return main(["sweep", "--psi1", psi1, *SWEEP, "--out", str(out), "--workers", workers, *extra])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("real")
    sweep(out)
    return read_results(out)


def test_rows_are_the_methods_results(reference):
    theory = reference[reference["method"] == "theory"]
    assert len(theory) == 6 and (theory["status"] == "ok").all()
    for row in theory.itertuples():
        expected = solve(Problem(row.psi1, row.psi2, row.eps, noise=row.noise))
        assert row.robust_error == pytest.approx(expected.robust_error, rel=1e-9)
        assert row.standard_error == pytest.approx(expected.standard_error, rel=1e-9)
        assert row.phase == expected.phase
    sims = reference[reference["method"] == "simulation"]
    assert len(sims) == 12 and sims["instance_seed"].is_unique
    for row in sims[sims["status"] == "ok"].itertuples():
        record = simulate_seed(Problem(row.psi1, 2.0, row.eps, noise=0.5), 40, row.instance_seed)
        assert row.robust_error == record.robust_error  # bit for bit: the seed is the instance
        assert row.standard_error == record.standard_error
    assert (sims["status"] == "ok").sum() >= 6


def test_two_workers_and_resume_give_the_same_table(reference, tmp_path):
    assert sweep(tmp_path / "two", "0.5,1.5,4", "2") in (0, 1)  # 1: some rows failed
    pd.testing.assert_frame_equal(stable(read_results(tmp_path / "two")), stable(reference))
    # a grown grid: psi1 = 1.5 was solved alone (cold start), then 0.5 and 4 were added; the
    # theory's iterations and residual depend on the start, its values only to solver tolerance
    sweep(tmp_path / "grown", "1.5")
    sweep(tmp_path / "grown", "0.5,1.5,4", "2", "--json")
    start_dependent = ["iterations", "residual"]
    pd.testing.assert_frame_equal(
        stable(read_results(tmp_path / "grown")).drop(columns=start_dependent),
        stable(reference).drop(columns=start_dependent),
        check_exact=False,
        rtol=1e-9,
    )


def test_dask_gives_the_same_table(reference, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        sweep(tmp_path, "0.5,1.5,4", "1", "--scheduler", cluster.scheduler_address, "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["computed"] == 18 and report["failed"] == len(
        reference[reference["status"] == "failed"]
    )
    pd.testing.assert_frame_equal(stable(read_results(tmp_path)), stable(reference))


def test_small_reproduction_agrees_with_the_theory(tmp_path):
    settings = Settings(
        theory_points=13, sim_psi1=(3.0,), sim_psi1_wide=(), d=40, seeds=1, ridge_points=3
    )
    summary = reproduce_overparam(tmp_path, settings=settings, progress=False)
    # theory: 4 eps under 3 eps_test, and eps = eps_test = 0; simulations: eps in {0, eps_test}
    assert summary["sweep"]["requested"] == 13 * 13 * 2 + 3 * 2 * 2
    for curve in summary["curves"]:
        problem = Problem(PSI1_MAX, 2.0, curve["eps"], noise=curve["noise"])
        assert curve["robust_error_at_psi1_max"] == pytest.approx(solve(problem).robust_error)
        standard = problem.with_(eps=0.0, eps_test=curve["eps"])
        assert curve["standard_training_robust_error_at_psi1_max"] == pytest.approx(
            solve(standard).robust_error
        )
        # the published statement: the interpolation peak sits near psi1 = psi2
        assert 1.5 < curve["peak_psi1"] < 4.0
        # the tuned ridge is never worse than no ridge (lam = 0 is one of the candidates)
        assert curve["ridge_robust_error_at_psi1_max"] <= curve["robust_error_at_psi1_max"]
    assert (tmp_path / "overparam_noise0.png").exists() and (
        tmp_path / "ridge_optimum.pdf"
    ).exists()


def test_convergence_study_on_a_dask_cluster_equals_local_processes(tmp_path):
    """The study of validation/convergence_at_scale.py, tiny: rows and gap table bit for bit."""
    distributed = pytest.importorskip("distributed")
    study = ConvergenceStudy(psi1=(1.0, 5.0), d=(30, 40), seeds=(2,), n_test=200)
    jobs = study.jobs()
    with blas_threads(1):  # the Dask workers' nannies pin BLAS to one thread as well
        local = Runner(workers=1, progress=False).run(tmp_path / "local", jobs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = Runner(scheduler=cluster.scheduler_address, progress=False).run(
            tmp_path / "dask", jobs
        )
    assert local.computed == remote.computed == len(jobs) == 2 + 2 * 2 * 2
    assert not local.failures and not remote.failures
    exact = {"check_exact": True}  # floats too: pandas compares them to rtol 1e-5 by default
    pd.testing.assert_frame_equal(stable(remote.to_frame()), stable(local.to_frame()), **exact)
    gaps = gap_table(local.to_frame()).drop(columns="wall_time")
    assert len(gaps) == 2 * 2 * len(QUANTITIES) and (gaps["seeds"] == 2).all()
    remote_gaps = gap_table(remote.to_frame()).drop(columns="wall_time")
    pd.testing.assert_frame_equal(remote_gaps, gaps, **exact)
