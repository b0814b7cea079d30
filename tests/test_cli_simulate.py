"""`advrf simulate` through advrf.cli.main(argv)."""

import json

import pytest

from advrf.cli import main

BASE = ["simulate", "--psi1", "2", "--psi2", "1", "--eps", "0.2", "--d", "20", "--n-test", "300"]


def test_json_output_has_the_contract_fields(capsys):
    assert main([*BASE, "--seeds", "2", "--json", "--variant", "concentrated"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "robust_error",
        "robust_error_sem",
        "standard_error",
        "standard_error_sem",
        "norm_a2",
        "norm_w2",
        "beta_w",
        "grad_norm2",
        "train_objective",
        "seconds",
    ):
        assert isinstance(out[key], float)
    assert out["psi1"] == 2.0 and out["activation"] == "relu_shifted" and out["d"] == 20
    assert out["seeds"] == [0, 1] and out["variant"] == "concentrated" and out["converged"]
    assert out["n_test"] == 300
    assert out["robust_error"] >= out["standard_error"]


def test_seed_list_exact_variant_and_pgd(capsys):
    assert main([*BASE, "--seeds", "4,9", "--json", "--attack", "pgd", "--eps-test", "0.3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"] == [4, 9] and out["variant"] == "exact" and out["eps_test"] == 0.3
    assert out["robust_error_pgd"] >= out["robust_error"] * (1 - 1e-12)


def test_single_seed_sem_is_null_in_json(capsys):
    argv = [a for a in BASE if a not in ("--n-test", "300")]
    assert main([*argv, "--seeds", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["robust_error_sem"] is None and out["n_test"] == 2000  # max(2000, 2n)


def test_population_flag_adds_the_exact_standard_error(capsys):
    assert main([*BASE, "--seeds", "2", "--json", "--population"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["standard_error_exact"] > 0 and out["robust_error_cv"] >= out["standard_error_exact"]
    assert main([*BASE, "--seeds", "1", "--population", "--inputs", "sphere"]) == 2
    assert "inputs='gaussian'" in capsys.readouterr().err


def test_table_output(capsys):
    assert main([*BASE, "--seeds", "1", "--activation", "tanh", "--lam", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "robust_error" in out and "standard_error" in out and "activation=tanh" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--d", "0"], "d (input dimension)"),
        (["--seeds", "0"], "seeds"),
        (["--seeds", "a,b"], "--seeds"),
        (["--psi1", "-1"], "psi1"),
        (["--activation", "cubic"], "activation"),
        (["--n-test", "0"], "n_test"),
    ],
)
def test_bad_values_give_clean_errors(capsys, extra, fragment):
    assert main([*BASE, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("advrf simulate: error:") and fragment in err


@pytest.mark.parametrize("extra", [["--variant", "both"], ["--attack", "fgsm"]])
def test_bad_choices_are_rejected_by_argparse(capsys, extra):
    with pytest.raises(SystemExit) as info:
        main([*BASE, *extra])
    assert info.value.code == 2
    assert extra[0] in capsys.readouterr().err


def test_a_point_that_cannot_be_certified_is_named(capsys):
    """Issue 10: the exact variant at d = 5 (the old code reported a false trivial phase)."""
    argv = ["simulate", "--psi1", "1", "--psi2", "1", "--eps", "1", "--lam", "1", "--noise", "0.3"]
    code = main([*argv, "--d", "5", "--seeds", "1", "--n-test", "50"])
    err = capsys.readouterr().err
    assert code == 1 and "advrf simulate: failed: " in err  # exit 1: a point failed
    assert "variant=exact" in err and "d=5, seed=0" in err and "psi1=1.0" in err


def test_table_reports_the_largest_gap(capsys):
    assert main([*BASE, "--seeds", "2", "--variant", "concentrated"]) == 0
    assert "largest |gap|=" in capsys.readouterr().out


def test_progress_in_a_log_is_plain_lines_without_carriage_returns(monkeypatch, capsys):
    from advrf import progress as progress_module

    monkeypatch.setattr(progress_module, "PERIOD", 0.0)  # a line at every seed
    status = main(
        ["simulate", "--psi1", "1", "--psi2", "1", "--eps", "0.1", "--d", "10", "--seeds", "2"]
    )
    err = capsys.readouterr().err
    assert status == 0
    assert "\r" not in err
    assert "advrf simulate: 1/2 seeds" in err and "advrf simulate: 2/2 seeds" in err
