"""`advrf explore` without a browser: the view, its curve against `advrf theory`, its messages,
the simulation points of a store, and the Bokeh document's controls (tests/test_explore_browser.py
drives the page in chromium)."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import shlex
import signal
import socket
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
from sweep_fakes import FAKE

from advrf.cli import main
from advrf.experiments.sweep import read_results, run_sweep, sweep_units
from advrf.explore import answers, simulations
from advrf.explore.view import View, compute
from advrf.grid import axes_from_mapping
from advrf.problem import Problem
from advrf.theory import TheoryError, solve
from advrf.theory.front import front
from advrf.theory.optimize import best_recipe

bokeh = pytest.importorskip("bokeh", reason="Bokeh is not installed: pip install 'advrf[explore]'")
from bokeh.document import Document  # noqa: E402
from bokeh.events import ButtonClick  # noqa: E402

from advrf.explore.page import populate  # noqa: E402


def cli_rows(capsys, view: View) -> list[dict]:
    main(["theory", *view.command_arguments(), "--json"])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def cli_error(capsys, argv: list[str]) -> str:
    assert main(["theory", *argv]) == 2
    prefix = "advrf theory: error: "
    err = capsys.readouterr().err.strip()
    assert err.startswith(prefix)
    return err[len(prefix) :]


def page(query: str = "", results=None) -> Document:
    doc = Document()
    populate(doc, query, simulations.load(results) if results is not None else None)
    return doc


def message(doc: Document) -> str:
    return html.unescape(doc.get_model_by_name("message").text)


def test_query_round_trip_with_pins():
    view = View(psi2=3.5, eps=0.25, eps_test=0.5, lam=1e-3, x="lam", lo=1e-4, hi=10.0,
                best=True, front=True, best_count=7)  # fmt: skip
    pins = [View(eps=0.1), View(activation="tanh", x="eps", lo=0.0, hi=1.0, log=False)]
    assert View.from_query(view.to_query(pins)) == (view, pins)
    with pytest.raises(ValueError, match="unknown view parameter"):
        View.from_query("psi3=1")


@pytest.mark.parametrize(
    "view",
    [
        View(psi2=2.0, eps=0.2, noise=0.5, lo=0.2, hi=20.0, count=25),
        View(psi1=3.0, psi2=1.5, x="eps", lo=0.0, hi=1.2, count=13, log=False, lam=1e-3),
        View(psi1=2.0, eps=0.2, eps_test=0.4, x="psi2", lo=0.5, hi=8.0, count=9),
    ],
)
def test_curve_equals_the_equivalent_theory_command(capsys, view):
    rows = cli_rows(capsys, view)
    curve = compute(view)
    assert [r[view.x] for r in rows] == list(curve.x)
    assert [r["robust_error"] for r in rows] == list(curve.values("robust_error"))
    assert [r["standard_error"] for r in rows] == list(curve.values("standard_error"))
    assert [r["eps_test"] for r in rows] == [p.eps_test for p in curve.problems]
    assert view.theory_command().startswith("advrf theory --activation relu_shifted --psi1 ")
    assert view.sweep_command().endswith(" --theory --out results/explore")


def test_a_failed_point_is_a_gap_with_its_message(capsys):
    view = View(psi2=2.0, eps=0.0, lam=0.0, lo=1.0, hi=3.0, count=3, log=False)
    curve = compute(view)
    main(["theory", *view.command_arguments(), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("error") for r in rows] == list(curve.errors)
    assert curve.errors[1] is not None and "interpolation threshold" in curve.errors[1]
    rob = curve.values("robust_error")
    assert math.isnan(rob[1]) and np.isfinite(rob[[0, 2]]).all()
    row = list(csv.DictReader(io.StringIO(curve.csv_text())))[1]
    assert row["psi1"] == "2.0" and row["robust_error"] == "" and row["converged"] == "False"
    assert row["error"] == curve.errors[1]
    doc = page("psi2=2.0&eps=0.0&lo=1.0&hi=3.0&count=3&log=0")
    assert "1 of 3 points failed" in message(doc) and curve.errors[1] in message(doc)
    assert list(doc.get_model_by_name("failed").data["x"]) == [2.0]


@pytest.mark.parametrize(
    ("control", "text", "argv"),
    [
        ("text_psi2", "-1", ["--psi1", "1", "--psi2", "-1", "--eps", "0.1"]),
        ("text_eps", "abc", ["--psi1", "1", "--psi2", "2", "--eps", "abc"]),
        ("text_noise", "nan", ["--psi1", "1", "--psi2", "2", "--eps", "0.1", "--noise", "nan"]),
        ("lo", "0", ["--psi1", "log:0.0:100.0:200", "--psi2", "2", "--eps", "0.1"]),
        ("count", "0", ["--psi1", "log:0.1:100.0:0", "--psi2", "2", "--eps", "0.1"]),
    ],
)
def test_a_bad_control_gets_the_cli_message_and_no_curve(capsys, control, text, argv):
    doc = page()
    assert len(doc.get_model_by_name("curve").data["x"]) == 200
    doc.get_model_by_name(control).value = text
    expected = cli_error(capsys, argv)
    assert f"error: {expected}" in message(doc)
    assert len(doc.get_model_by_name("curve").data["x"]) == 0


def test_interpolation_point_and_trivial_phase():
    assert compute(View(psi2=3.0)).interpolation_x() == 3.0
    assert compute(View(psi1=2.0, psi2=3.0, x="psi2")).interpolation_x() == 2.0
    linear = View(activation="linear", psi2=0.5, lo=0.1, hi=10.0, count=20)
    assert compute(linear).interpolation_x() == 0.5  # min(psi1, 1) = psi2
    assert compute(linear.with_(psi2=2.0)).interpolation_x() is None  # d < n: never
    assert compute(View(x="eps", lo=0.0, hi=1.0, log=False)).interpolation_x() is None
    view = View(psi2=2.0, eps=1.0, lo=0.1, hi=10.0, count=30)
    curve = compute(view)
    expected = [solve(p).phase == "trivial" for p in curve.problems]
    assert 0 < sum(expected) < len(expected)
    assert list(curve.trivial) == expected
    assert np.all(curve.values("robust_error")[curve.trivial] == curve.null_risk[curve.trivial])
    doc = page(view.to_query())
    assert len(doc.get_model_by_name("trivial").data["left"]) == sum(expected)


def test_simulation_points_are_seed_means_with_standard_errors(tmp_path):
    grid = {"psi1": "0.5,1,2", "psi2": "2", "eps": "0.1,0.2", "noise": "0.5"}
    units = sweep_units(axes_from_mapping(grid), theory=True, simulate=True, d=[30], seeds=3)
    run_sweep(tmp_path, units, methods=FAKE, progress=False)
    view = View(psi2=2.0, eps=0.2, noise=0.5, lo=0.5, hi=1.5)  # psi1 = 2 is outside the range
    got = simulations.points(simulations.load(tmp_path), view)
    table = read_results(tmp_path)
    rows = table[(table["method"] == "simulation") & (table["eps"] == 0.2)]
    assert list(got["x"]) == [0.5, 1.0]
    for x, point in zip((0.5, 1.0), got.itertuples(), strict=True):
        seeds = rows[rows["psi1"] == x]["robust_error"].to_numpy()
        assert len(seeds) == 3 == point.seeds
        assert point.robust_error_mean == pytest.approx(seeds.mean(), rel=1e-12)
        assert point.robust_error_sem == pytest.approx(seeds.std(ddof=1) / 3**0.5, rel=1e-12)
    assert simulations.points(simulations.load(tmp_path), view.with_(eps_test=0.3)).empty
    doc = page(view.to_query(), results=tmp_path)
    sim = doc.get_model_by_name("simulation").data
    assert list(sim["x"]) == [0.5, 1.0]
    assert list(sim["robust_error_hi"]) == list(got["robust_error_mean"] + got["robust_error_sem"])


def test_controls_pins_axes_and_the_url():
    doc = page("psi2=2.0&eps=0.1")
    state = doc.get_model_by_name("state")
    doc.get_model_by_name("slider_eps").value = 0.3
    assert doc.get_model_by_name("text_eps").value == "0.3"
    assert View.from_query(state.query)[0] == View(psi2=2.0, eps=0.3)
    rob = doc.get_model_by_name("curve").data["robust_error"]
    assert list(rob) == list(compute(View(psi2=2.0, eps=0.3)).values("robust_error"))
    click(doc, "pin")
    doc.get_model_by_name("text_eps").value = "0.2"
    assert doc.get_model_by_name("slider_eps").value == 0.2
    pinned = doc.get_model_by_name("pinned").data
    assert len(pinned["xs"]) == 1 and list(pinned["rob"][0]) == list(rob)
    assert View.from_query(state.query)[1] == [View(psi2=2.0, eps=0.3)]
    doc.get_model_by_name("x").value = "eps"  # the x-axis gets its default range
    view = View.from_query(state.query)[0]
    assert (view.x, view.lo, view.hi, view.log) == ("eps", 0.0, 1.0, False)
    assert doc.get_model_by_name("text_eps").disabled
    assert len(doc.get_model_by_name("pinned").data["xs"]) == 0  # pinned along psi1
    doc.get_model_by_name("x").value = "eps_test"  # unties eps_test
    assert not doc.get_model_by_name("tied").active
    doc.get_model_by_name("order").active = True
    assert doc.get_model_by_name("order_plot").visible
    click(doc, "unpin")
    assert View.from_query(state.query)[1] == []


def test_a_bad_link_says_so_and_opens_the_default_view():
    doc = page("psi3=1")
    assert "error in the link: unknown view parameter(s) psi3" in message(doc)
    assert View.from_query(doc.get_model_by_name("state").query)[0] == View()


def test_cli_refuses_a_missing_results_directory(tmp_path, capsys):
    missing = tmp_path / "nothing"
    assert main(["explore", "--no-browser", "--results", str(missing)]) == 2
    assert "advrf explore: error:" in capsys.readouterr().err
    assert not missing.exists()


def click(doc: Document, name: str) -> None:
    """A click on a button, delivered as the server delivers the browser's."""
    doc.callbacks.trigger_event(ButtonClick(doc.get_model_by_name(name)))


def test_app_is_a_bokeh_application_for_jupyter():
    from advrf.explore import app

    doc = app().create_document()  # what bokeh.io.show(app()) runs in a notebook
    assert doc.title == "advrf explore"
    curve = doc.get_model_by_name("curve").data
    assert list(curve["robust_error"]) == list(compute(View()).values("robust_error"))
    assert "change:query" not in doc.get_model_by_name("state").js_property_callbacks
    assert "change:query" in page().get_model_by_name("state").js_property_callbacks


def test_cli_refuses_a_port_in_use(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["explore", "--no-browser", "--port", str(port)]) == 2
    assert f"advrf explore: error: --port {port}: cannot listen" in capsys.readouterr().err


# The answers: best recipe and front ---------------------------------------------------------
def answers_text(doc: Document) -> str:
    return html.unescape(doc.get_model_by_name("answers").text)


def test_best_recipe_curve_equals_best_recipe_and_advrf_optimize(capsys):
    view = View(psi2=2.0, eps=0.2, noise=0.5, lo=0.5, hi=5.0, count=30, best=True, best_count=2)
    doc = page(view.to_query())
    best = doc.get_model_by_name("best_curve").data
    assert list(best["x"]) == [0.5, 5.0]
    found = [best_recipe(Problem(psi1=x, psi2=2.0, eps=0.2, noise=0.5), 0.2) for x in (0.5, 5.0)]
    assert list(best["robust_error"]) == [f.best.robust_error for f in found]
    assert list(best["standard_error"]) == [f.best.standard_error for f in found]
    assert list(best["lam"]) == [f.best.lam for f in found] and found[0].best.lam is not None
    assert "done" in answers_text(doc) and "2 points of psi1" in answers_text(doc)
    command = answers.optimize_command(view)
    assert command in html.unescape(doc.get_model_by_name("commands").text)
    assert main(shlex.split(command)[1:] + ["--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["robust_error"] for r in rows] == list(best["robust_error"])
    assert [(r["psi1"], r["eps_test"]) for r in rows] == [(0.5, 0.2), (5.0, 0.2)]


def test_best_recipe_is_one_flat_point_where_it_does_not_depend_on_x():
    view = View(psi1=2.0, psi2=2.0, eps=0.1, eps_test=0.3, x="lam", lo=1e-3, hi=1.0, best=True)
    curve = answers.best_curve(view, {})
    assert curve.flat and len(curve.problems) == 1 and curve.pending == 1
    assert answers.optimize_command(view) == (
        "advrf optimize --activation relu_shifted --psi1 2.0 --psi2 2.0 --signal 1.0 "
        "--noise 0.0 --eps-test 0.3"
    )
    doc = page(view.to_query())
    best = doc.get_model_by_name("best_curve").data
    expected = best_recipe(Problem(psi1=2.0, psi2=2.0, eps=0.0, eps_test=0.3), 0.3).best
    assert list(best["x"]) == [1e-3, 1.0]
    assert list(best["robust_error"]) == [expected.robust_error] * 2
    assert "one point (it does not depend on lam here)" in answers_text(doc)
    tied = View(psi1=2.0, x="eps", lo=0.0, hi=0.5, log=False, best=True, best_count=5)
    assert answers.moves_best(tied) and not answers.moves_best(tied.with_(eps_test=0.1))
    assert "--eps-test lin:0.0:0.5:5" in answers.optimize_command(tied)


def test_front_equals_front_and_advrf_front_with_the_recipes_marked(capsys):
    view = View(psi1=2.0, psi2=1.5, eps=0.2, eps_test=0.3, lam=0.01, noise=0.5, front=True)
    doc = page(view.to_query())
    assert not doc.get_model_by_name("text_psi1").disabled  # the x parameter's box places it
    assert doc.get_model_by_name("front_plot").visible
    setting = Problem(psi1=2.0, psi2=1.5, eps=0.0, eps_test=0.3, noise=0.5)
    fronts = front(setting, 0.3)
    for kind in answers.FRONT_KINDS:
        data = doc.get_model_by_name("front_" + kind).data
        rows = getattr(fronts, kind)
        assert list(data["robust_error"]) == [p.robust_error for p in rows]
        assert list(data["standard_error"]) == [p.standard_error for p in rows]
    data = doc.get_model_by_name("front_marks").data
    errors = zip(data["standard_error"], data["robust_error"], strict=True)
    marks = dict(zip(data["name"], errors, strict=True))
    best = best_recipe(setting, 0.3)
    assert marks["best recipe"] == (best.best.standard_error, best.best.robust_error)
    # the front's recipes (a grid) reach no lower E_rob than the optimiser's
    assert min(p.robust_error for p in fronts.finite) >= best.best.robust_error * (1 - 1e-12)
    current = solve(setting.with_(eps=0.2, lam=0.01))
    assert marks["this view's recipe (eps, lam)"] == (current.standard_error, current.robust_error)
    assert marks["zero predictor"] == (1.25, 1.25)
    command = answers.front_command(view)
    assert command in html.unescape(doc.get_model_by_name("commands").text)
    assert main(shlex.split(command)[1:] + ["--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [dict(r) for r in fronts.rows()]
    doc.get_model_by_name("text_psi1").value = "3"  # the front moves to psi1 = 3
    assert "front (advrf front) at psi1 = 3" in answers_text(doc)
    assert doc.get_model_by_name("front_marks").data["robust_error"][-1] == pytest.approx(
        solve(setting.with_(psi1=3.0, eps=0.2, lam=0.01)).robust_error, rel=1e-12
    )


def test_failed_answers_are_gaps_with_their_message(monkeypatch):
    def failing(setting, eps_test, **kwargs):
        if setting.psi1 == 2.0:
            raise TheoryError("a failure at psi1 = 2")
        return best_recipe(setting, eps_test, **kwargs)

    monkeypatch.setattr(answers, "best_recipe", failing)
    view = View(psi2=2.0, eps=0.0, psi1=2.0, lo=1.0, hi=3.0, count=3, log=False, best=True,
                best_count=3, front=True)  # fmt: skip
    doc = page(view.to_query())
    best = doc.get_model_by_name("best_curve").data
    assert math.isnan(best["robust_error"][1]) and np.isfinite(best["robust_error"][[0, 2]]).all()
    assert list(doc.get_model_by_name("best_failed").data["message"]) == ["a failure at psi1 = 2"]
    text = answers_text(doc)
    assert "x = 2: failed, drawn as a gap: a failure at psi1 = 2" in text
    assert "best recipe there: failed: a failure at psi1 = 2" in text
    with pytest.raises(TheoryError) as expected:  # the view's own recipe there fails too
        solve(Problem(psi1=2.0, psi2=2.0, eps=0.0))
    assert f"failed, not drawn: {expected.value}" in text
    marks = doc.get_model_by_name("front_marks").data["name"]
    assert list(marks) == ["zero predictor"]
    click(doc, "csv")
    rows = list(csv.DictReader(io.StringIO(doc.get_model_by_name("state").csv)))
    best_rows = [r for r in rows if r["curve"] == "best_recipe"]
    assert [r["error"] for r in best_rows] == ["", "a failure at psi1 = 2", ""]
    assert best_rows[1]["robust_error"] == ""
    assert [r["curve"] for r in rows[-2:]] == ["front_best_recipe", "front_current"]
    assert rows[-1]["error"] == str(expected.value) and rows[-1]["robust_error"] == ""


def test_a_front_out_of_range_is_said():
    doc = page("front=1&psi1=-1")
    with pytest.raises(ValueError) as expected:
        Problem(psi1=-1.0, psi2=2.0, eps=0.1)
    assert f"error: {expected.value}" in answers_text(doc)
    assert len(doc.get_model_by_name("curve").data["x"]) == 200  # the curve does not need it
    assert list(doc.get_model_by_name("front_marks").data["name"]) == []


def test_a_bad_number_of_best_recipe_points_is_said():
    doc = page("best=1&best_count=0")
    assert "error: best recipe points: an integer from 1 to 200; got 0" in answers_text(doc)
    assert len(doc.get_model_by_name("curve").data["x"]) == 200
    doc.get_model_by_name("best_count").value = "many"
    assert "best recipe points: an integer from 1 to 200; got 'many'" in message(doc)


def test_the_server_keeps_the_latest_answers():
    from advrf.explore.page import Kept

    kept = Kept(2)
    kept["a"], kept["b"], kept["a"], kept["c"] = 1, 2, 3, 4
    assert dict(kept) == {"a": 3, "c": 4}


def test_the_worker_process_computes_and_is_replaced_when_it_dies():
    from advrf.explore.page import Worker

    worker = Worker()
    problem = Problem(psi1=2.0, psi2=2.0, eps=0.0, eps_test=0.1, noise=0.5)
    try:
        first = worker.submit(os.getpid).result(timeout=60)
        assert first != os.getpid()
        # niced below the server, and without Bokeh (it starts in about a second)
        assert worker.submit(eval, "__import__('os').nice(0)").result() == answers.WORKER_NICE
        assert not worker.submit(eval, "'bokeh' in __import__('sys').modules").result()
        got = worker.submit(answers.solve_best, problem).result(timeout=60)
        expected = best_recipe(problem, 0.1).best
        assert (got.eps, got.lam) == (expected.eps, expected.lam)
        assert got.robust_error == expected.robust_error
        os.kill(first, signal.SIGKILL)
        pids = []
        for _ in range(3):  # a task sent as it died fails; the next submit starts a new worker
            try:
                pids.append(worker.submit(os.getpid).result(timeout=60))
                break
            except BrokenProcessPool:
                continue
        assert pids and pids[0] not in (first, os.getpid())
    finally:
        worker.close()
