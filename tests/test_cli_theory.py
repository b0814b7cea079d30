"""`advrf theory`: grids, JSON lines, table, errors."""

import json

import pytest

from advrf import Problem
from advrf.cli import main
from advrf.experiments.methods import Methods, PointFailure
from advrf.theory import solve

RESULT_FIELDS = [
    "robust_error", "standard_error", "train_objective", "norm_a2", "norm_w2", "beta_w",
    "grad_norm2", "eps_c", "phase", "converged", "iterations", "residual",
]  # fmt: skip
INPUTS = ["psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise", "activation"]


def run_json(capsys, argv):
    assert main(["theory", *argv, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_single_point_json_has_inputs_and_every_result_field(capsys):
    (row,) = run_json(capsys, ["--psi1", "2", "--psi2", "1", "--eps", "0.2", "--noise", "0.5"])
    assert set(INPUTS + RESULT_FIELDS) <= set(row)
    expected = solve(Problem(2.0, 1.0, 0.2, noise=0.5))
    assert row["robust_error"] == expected.robust_error
    assert row["eps_test"] == 0.2 and row["activation"] == "relu_shifted"


def test_grid_order_and_syntax(capsys):
    rows = run_json(
        capsys,
        ["--activation", "relu,tanh", "--psi1", "log:0.5:8:5", "--psi2", "1,2", "--eps",
         "lin:0:0.2:2", "--eps-test", "0.3", "--lam", "0.01"],
    )  # fmt: skip
    assert len(rows) == 2 * 5 * 2 * 2
    assert [r["activation"] for r in rows[:20]] == ["relu"] * 20 and rows[20][
        "activation"
    ] == "tanh"
    assert [r["psi1"] for r in rows[:4]] == [0.5] * 4
    assert rows[4]["psi1"] == pytest.approx(1.0)
    assert [(r["psi2"], r["eps"]) for r in rows[:4]] == [(1, 0), (1, 0.2), (2, 0), (2, 0.2)]
    assert all(r["eps_test"] == 0.3 and r["lam"] == 0.01 for r in rows)
    # warm-started values equal cold solves
    for r in rows[::7]:
        cold = solve(Problem(**{k: r[k] for k in INPUTS}))
        assert r["robust_error"] == pytest.approx(cold.robust_error, rel=1e-10)


def test_table(capsys):
    assert main(["theory", "--psi1", "2,4", "--psi2", "1", "--eps", "0.1,3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["activation", "psi1", "psi2"]
    assert "E_rob" in out[0] and "E_std" in out[0]
    assert len(out) == 5
    assert out[2].split()[-1] == "trivial"


def test_failed_point_is_reported_and_the_rest_computed(capsys):
    assert main(["theory", "--psi1", "1,2", "--psi2", "1", "--eps", "0", "--json"]) == 1
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert rows[0]["converged"] is False and "infinite" in rows[0]["error"]
    assert rows[1]["converged"] is True
    assert "1 of 2 points failed" in captured.err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--psi1", "-1", "--psi2", "1", "--eps", "0"], "psi1"),
        (["--psi1", "1", "--psi2", "1", "--eps", "x"], "eps"),
        (["--psi1", "log:0:1:3", "--psi2", "1", "--eps", "0"], "log range"),
        (["--psi1", "1", "--psi2", "1", "--eps", "0.1", "--activation", "cosine"], "activation"),
        (["--psi1", "1", "--psi2", "1", "--eps", "0.1", "--lam", "-2"], "lam"),
    ],
)
def test_bad_input_is_a_clean_error(capsys, argv, message):
    assert main(["theory", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advrf theory: error:") and message in err


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["theory", "--help"])
    out = capsys.readouterr().out
    for option in ("--activation", "--psi1", "--psi2", "--eps", "--eps-test", "--lam", "--signal",
                   "--noise", "--json", "log:START:STOP:COUNT"):  # fmt: skip
        assert option in out


def warm_fails_above_3(problem, start=None):
    """A fake theory whose warm start fails above psi1 = 3 (a cold start succeeds)."""
    if start is not None and problem.psi1 > 3:
        raise PointFailure("warm start failed")
    return {"robust_error": problem.psi1, "standard_error": problem.psi1}, problem.psi1


def test_theory_command_retries_cold_when_the_warm_start_fails():
    from advrf.cli.theory import records
    from advrf.grid import axes_from_mapping

    grid = axes_from_mapping({"psi1": "1,2,4,8", "psi2": "1", "eps": "0.1"})
    rows = records(grid, Methods(theory=warm_fails_above_3))
    assert [r.get("error") for r in rows] == [None] * 4
    assert [r["robust_error"] for r in rows] == [1.0, 2.0, 4.0, 8.0]
