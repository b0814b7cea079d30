"""The robustness-accuracy fronts (advrf.theory.front, `advrf front`, the figure)."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from advrf import Problem
from advrf.cli import main
from advrf.experiments.front_figure import plot_front
from advrf.theory import solve
from advrf.theory.front import front, infinite_sample_errors, population_errors
from advrf.theory.optimize import best_recipe

SETTINGS = [
    (Problem(1.0, 2.0, 0.0, noise=0.5), 0.2),
    (Problem(3.0, 1.5, 0.0, noise=0.3, signal=1.2, activation="tanh"), 0.3),
    (Problem(math.inf, 0.8, 0.0, noise=0.4, activation="erf"), 0.25),
]


@pytest.fixture(scope="module", params=range(len(SETTINGS)))
def fronts(request):
    setting, eps_test = SETTINGS[request.param]
    return front(setting, eps_test)


def quadrature_robust_error(e_std: float, s: float, eps_test: float) -> float:
    """E (|r| + eps_test s)^2 for r ~ N(0, e_std), by adaptive quadrature."""
    sd = math.sqrt(e_std)
    density = lambda r: math.exp(-0.5 * (r / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
    value, _ = integrate.quad(lambda r: 2 * (r + eps_test * s) ** 2 * density(r), 0, np.inf,
                              epsabs=1e-13, epsrel=1e-13)  # fmt: skip
    return value


def test_population_rows_satisfy_the_closed_form(fronts):
    s, t = fronts.setting, fronts.eps_test
    for row in fronts.population:
        e_std = (1 - row.c) ** 2 * s.signal**2 + s.noise**2
        assert row.standard_error == pytest.approx(e_std, rel=1e-12)
        e_rob = quadrature_robust_error(e_std, row.c * s.signal, t)
        assert row.robust_error == pytest.approx(e_rob, rel=1e-8)
    # the front runs from the best E_std (c = 1, E_std = tau^2) to the best E_rob over c
    cs = np.linspace(0, 1, 20001)
    best = min(population_errors(s, t, c)[1] for c in cs)
    assert fronts.population[0].c == 1.0 and fronts.population[0].standard_error == s.noise**2
    assert fronts.population[-1].robust_error <= best * (1 + 1e-10)


def _errors_at_std(errors, lo: float, hi: float, e_std: float) -> float:
    """E_rob of the one-parameter front at E_std = e_std (parameter between lo and hi, where
    E_std runs from its smallest value to the value at the E_rob minimum)."""
    q_lo, q_hi = errors(lo)[0], errors(hi)[0]
    assert e_std >= q_lo * (1 - 1e-12)
    if e_std >= q_hi:
        return errors(hi)[1]
    if e_std <= q_lo:
        return errors(lo)[1]
    x = optimize.brentq(lambda v: errors(v)[0] - e_std, lo, hi, xtol=1e-14, rtol=1e-14)
    return errors(x)[1]


def test_every_finite_point_is_dominated_by_an_infinite_sample_point(fronts):
    s, t = fronts.setting, fronts.eps_test
    rho_star = fronts.infinite_samples[-1].rho
    for row in fronts.finite:
        bound = _errors_at_std(
            lambda rho: infinite_sample_errors(s, t, rho), 0.0, rho_star, row.standard_error
        )
        assert bound <= row.robust_error * (1 + 1e-10)
        # and by one of the listed rows
        assert any(
            p.standard_error <= row.standard_error and p.robust_error <= row.robust_error
            for p in fronts.infinite_samples
        )


def test_every_infinite_sample_point_is_dominated_by_a_population_point(fronts):
    s, t = fronts.setting, fronts.eps_test
    c_star = fronts.population[-1].c
    for row in fronts.infinite_samples:
        bound = _errors_at_std(
            lambda u: population_errors(s, t, 1 - u), 0.0, 1 - c_star, row.standard_error
        )
        assert bound <= row.robust_error * (1 + 1e-10)
        assert any(
            p.standard_error <= row.standard_error and p.robust_error <= row.robust_error
            for p in fronts.population
        )


def test_finite_points_match_direct_theory_calls(fronts):
    s = fronts.setting
    assert len(fronts.finite) >= 5
    for row in fronts.finite:
        if row.lam == math.inf:
            assert row.standard_error == row.robust_error == s.null_risk
            continue
        direct = solve(s.with_(eps=row.eps, lam=row.lam, eps_test=fronts.eps_test))
        assert direct.standard_error == pytest.approx(row.standard_error, rel=1e-8, abs=0)
        assert direct.robust_error == pytest.approx(row.robust_error, rel=1e-8, abs=0)
    std = [p.standard_error for p in fronts.finite]
    rob = [p.robust_error for p in fronts.finite]
    assert std == sorted(std) and rob == sorted(rob, reverse=True)  # a Pareto front


@pytest.mark.parametrize("eps", [0.1, 0.4])
def test_infinite_sample_path_is_the_large_psi2_limit_of_the_theory(eps):
    """Adversarial training at psi2 = 1e3, 1e4 lands on the path (K + rho M)^-1 K a*: at its
    E_std the path's E_rob is lower by O(1/psi2) (measured: 2.6e-3, 2.7e-4 at eps = 0.1)."""
    setting, t = Problem(2.0, 1.0, 0.0, noise=0.5, activation="tanh"), 0.3

    def path_at(e_std: float) -> float:
        rho = optimize.brentq(lambda v: infinite_sample_errors(setting, t, v)[0] - e_std, 0, 1e3)
        return infinite_sample_errors(setting, t, rho)[1]

    gaps = []
    for psi2 in (1e3, 1e4):
        r = solve(setting.with_(psi2=psi2, eps=eps, eps_test=t))
        gaps.append((r.robust_error - path_at(r.standard_error)) * psi2)
    assert 0 < gaps[1] < 3.0 and gaps[1] == pytest.approx(gaps[0], rel=0.1)


def test_infinite_width_infinite_samples_is_the_population():
    s, t = Problem(math.inf, 2.0, 0.0, noise=0.5), 0.2
    for rho in (0.0, 0.3, 4.0):
        assert infinite_sample_errors(s, t, rho) == population_errors(s, t, 1 / (1 + rho))
    finite = infinite_sample_errors(s.with_(psi1=1e6), t, 0.3)
    assert finite == pytest.approx(infinite_sample_errors(s, t, 0.3), rel=1e-5)


def test_figure_writes_only_when_asked(fronts, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    f = fronts
    monkeypatch.chdir(tmp_path)
    fig = plot_front(f, recipes=best_recipe(f.setting, f.eps_test))
    assert isinstance(fig, Figure) and list(tmp_path.iterdir()) == []
    ax = Figure().subplots()
    assert plot_front(f, ax=ax) is ax.figure
    plot_front(f, ax=ax, out=tmp_path / "front.png")
    assert (tmp_path / "front.png").stat().st_size > 0


def test_cli_json(capsys):
    argv = ["front", "--psi1", "1", "--psi2", "2", "--noise", "0.5", "--eps-test", "0.2"]
    assert main([*argv, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {row["kind"] for row in rows}
    assert kinds == {"finite", "infinite_samples", "population"}
    for row in rows:
        assert {"standard_error", "robust_error", "psi1", "eps_test"} <= set(row)
        assert ("eps" in row and "lam" in row) == (row["kind"] == "finite")
    with pytest.raises(SystemExit):
        main([*argv[:-2]])  # --eps-test is required
