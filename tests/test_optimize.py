"""The best training recipe (advrf.theory.optimize, `advrf optimize`)."""

import json
import math

import numpy as np
import pytest

from advrf import Problem
from advrf.cli import main
from advrf.theory import TheoryError, interpolator_limit, solve
from advrf.theory.optimize import best_recipe, eps_upper

ACTIVATIONS = ("relu_shifted", "tanh", "relu", "erf")


def random_setting(rng: np.random.Generator) -> tuple[Problem, float]:
    setting = Problem(
        psi1=float(np.exp(rng.uniform(np.log(0.2), np.log(50.0)))),
        psi2=float(rng.uniform(0.5, 3.0)),
        eps=0.0,
        signal=float(rng.uniform(0.5, 1.5)),
        noise=float(rng.uniform(0.0, 1.0)),
        activation=str(rng.choice(ACTIVATIONS)),
    )
    return setting, float(rng.uniform(0.05, 1.0))


def dense_grid_minimum(setting: Problem, eps_test: float, size: int = 40) -> float:
    """min E_rob over {0} U log(1e-3 eps_c, eps_c) x {0} U log(1e-6, 1e3), by direct theory calls
    (points where the theory fails are skipped); the zero predictor (Q0) included."""
    eps_hi = eps_upper(setting)
    eps_values = np.r_[0.0, np.geomspace(1e-3 * eps_hi, eps_hi, size - 1)]
    lam_values = np.r_[np.geomspace(1e3, 1e-6, size - 1), 0.0]
    best = setting.null_risk
    for eps in eps_values:
        previous = None
        for lam in lam_values:
            try:
                previous = solve(setting.with_(eps=eps, lam=lam, eps_test=eps_test), previous)
            except TheoryError:
                previous = None
                continue
            best = min(best, previous.robust_error)
    return best


def check_against_grid_and_baselines(setting: Problem, eps_test: float) -> None:
    found = best_recipe(setting, eps_test)
    best = found.best
    grid = dense_grid_minimum(setting, eps_test)
    assert best.robust_error <= grid * (1.0 + 1e-6), (setting, eps_test)
    assert best.robust_error <= found.standard_training.robust_error
    if found.adversarial_training is not None:
        assert best.robust_error <= found.adversarial_training.robust_error
    assert best.robust_error <= found.null_risk
    if best.zero_predictor:
        assert best.eps is None and best.lam is None and best.robust_error == setting.null_risk
    else:  # the returned recipe, re-evaluated from a cold start
        again = solve(setting.with_(eps=best.eps, lam=best.lam, eps_test=eps_test))
        assert again.robust_error == pytest.approx(best.robust_error, rel=1e-8, abs=0.0)
        assert again.standard_error == pytest.approx(best.standard_error, rel=1e-8, abs=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_worse_than_a_dense_grid_nor_any_baseline(seed):
    check_against_grid_and_baselines(*random_setting(np.random.default_rng(seed)))


@pytest.mark.slow
def test_twenty_random_settings_against_a_dense_grid():
    rng = np.random.default_rng(20261201)
    for _ in range(20):
        check_against_grid_and_baselines(*random_setting(rng))


def test_interior_optimum_is_a_local_minimum():
    """psi1 = 1, psi2 = 2, noise 0.5, eps_test = 0.2: both eps and lam are interior."""
    setting = Problem(1.0, 2.0, 0.0, noise=0.5)
    best = best_recipe(setting, 0.2).best
    assert 0.0 < best.eps < 1.0 and 0.0 < best.lam < 10.0
    for de, dl in ((1.01, 1), (0.99, 1), (1, 1.01), (1, 0.99)):
        nearby = solve(setting.with_(eps=best.eps * de, lam=best.lam * dl, eps_test=0.2))
        assert nearby.robust_error > best.robust_error


def test_standard_training_with_ridge_wins_when_wide():
    """psi1 = 5: the optimum sits on the boundary eps = 0 and is the standard-training baseline."""
    found = best_recipe(Problem(5.0, 2.0, 0.0, noise=0.5), 0.2)
    assert found.best.eps == 0.0 and found.best.lam > 0.0
    assert found.best.robust_error == found.standard_training.robust_error
    assert found.best.robust_error < 0.7 * found.adversarial_training.robust_error


def test_corner_optimum_minimum_norm_interpolation():
    """psi1 = 25, psi2 = 0.5, noise 0.2: E_rob still falls as lam -> 0+ (the best ridge would be
    negative), so the optimum is the corner eps = lam = 0, the minimum-norm interpolator."""
    setting = Problem(25.0, 0.5, 0.0, noise=0.2, activation="relu")
    best = best_recipe(setting, 0.15).best
    assert (best.eps, best.lam) == (0.0, 0.0) and best.result.regime == "min_norm"
    for eps, lam in ((0.0, 1e-4), (1e-3, 0.0), (1e-3, 1e-4)):
        assert (
            solve(setting.with_(eps=eps, lam=lam, eps_test=0.15)).robust_error > best.robust_error
        )


def test_flat_regime_without_ridge():
    """lam = 0, N > n: small eps > 0 all give the minimum-||a||_M interpolator."""
    setting = Problem(20.0, 2.0, 0.0, noise=0.5)
    found = best_recipe(setting, 0.2, lam=0.0)
    limit = interpolator_limit(setting.with_(eps=1e-3, eps_test=0.2), "M")
    flat = [solve(setting.with_(eps=e, eps_test=0.2)).robust_error for e in (1e-3, 1e-2, 3e-2)]
    assert flat[0] == flat[1] == flat[2] == limit.robust_error
    assert found.best.robust_error <= limit.robust_error
    assert found.best.lam == 0.0
    assert found.best.flat == (found.best.result.regime == "min_M_norm")
    assert found.standard_training.robust_error < found.best.robust_error


def test_zero_predictor_when_every_recipe_is_worse():
    """A large test radius: every nonzero predictor has E_rob > Q0; so lam = inf."""
    setting = Problem(2.0, 1.0, 0.0, noise=0.2)
    found = best_recipe(setting, 5.0)
    assert found.best.zero_predictor and found.best.robust_error == setting.null_risk
    assert found.to_dict()["lam"] is None and found.to_dict()["eps"] is None
    # at a fixed eps above eps_c (the kink) the trivial phase gives the same value
    above = best_recipe(setting, 5.0, eps=1.5 * eps_upper(setting))
    assert above.best.robust_error == setting.null_risk


def test_best_lam_at_fixed_eps_and_best_eps_at_fixed_lam():
    setting = Problem(1.0, 2.0, 0.0, noise=0.5)
    at_eps = best_recipe(setting, 0.2, eps=0.2)
    at_lam = best_recipe(setting, 0.2, lam=0.3)
    both = best_recipe(setting, 0.2)
    assert at_eps.best.eps == 0.2 and at_lam.best.lam == 0.3
    for one in (at_eps, at_lam):
        assert both.best.robust_error <= one.best.robust_error
        assert one.best.robust_error <= one.adversarial_training.robust_error or one.fixed == "lam"
    lams = np.geomspace(1e-3, 10, 200)
    values = [solve(setting.with_(eps=0.2, lam=v, eps_test=0.2)).robust_error for v in lams]
    assert at_eps.best.robust_error <= min(values) * (1 + 1e-9)


def test_infinite_width():
    found = best_recipe(Problem(math.inf, 2.0, 0.0, noise=0.5), 0.2)
    assert found.adversarial_training.robust_error == 1.25  # lam = 0, eps > 0: the null risk
    assert found.best.robust_error < 0.7


def test_cli_json(capsys):
    argv = ["optimize", "--psi1", "1", "--psi2", "2", "--noise", "0.5", "--eps-test", "0.2"]
    assert main([*argv, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["psi1"] for row in rows] == [1.0]
    required = {
        "activation", "psi1", "psi2", "signal", "noise", "eps_test", "eps", "lam",
        "robust_error", "standard_error", "standard_training_robust_error",
        "adversarial_training_robust_error", "null_risk",
    }  # fmt: skip
    assert all(required <= set(row) for row in rows)
    direct = best_recipe(Problem(1.0, 2.0, 0.0, noise=0.5), 0.2).to_dict()
    assert rows[0] == json.loads(json.dumps(direct))
    # `advrf theory` at the returned recipe reproduces its robust error
    recipe = ["--eps", repr(rows[0]["eps"]), "--lam", repr(rows[0]["lam"]), "--eps-test", "0.2"]
    assert main(["theory", "--psi1", "1", "--psi2", "2", "--noise", "0.5", *recipe, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["robust_error"] == pytest.approx(rows[0]["robust_error"], rel=1e-8, abs=0)
    assert main([*argv, "--lam", "inf"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[7] == "inf" and "zero_predictor" in table[1]  # lam* = inf
    assert main([*argv, "--eps", "-1"]) == 2  # a bad value names its parameter
