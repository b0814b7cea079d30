"""The explorer page: Bokeh widgets and plots driven by `advrf.explore.view` on a Bokeh server.

Every control change schedules one redraw on the server's next tick (changes that arrive while a
curve is being solved are folded into the next redraw). A redraw reads all controls into a View;
a bad value shows the CLI's message and empties the plot. The view's query string is written
into the page's URL (history.replaceState), and a URL with a query string opens that view.

The answers ("best recipe", "front": `advrf.explore.answers`) cost 0.07 to 0.5 s each, so on a
server they are computed in one worker process (`Worker`, spawned on first use and shared by the
sessions of one application) and drawn as they arrive, while the curve keeps following the
controls; they are asked for once the controls have rested ASK_DELAY_MS, and a change of setting
cancels the points not started. Without a server (a document in a
test) they are computed at once.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import fields
from functools import partial
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.core.properties import Int, String
from bokeh.document import Document
from bokeh.events import DocumentReady
from bokeh.layouts import column, row
from bokeh.model import DataModel
from bokeh.models import (
    Button,
    Checkbox,
    ColumnDataSource,
    CustomJS,
    Div,
    HoverTool,
    Range1d,
    SaveTool,
    Select,
    Slider,
    Span,
    TextInput,
    Whisker,
)
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from advrf.activations import ACTIVATIONS
from advrf.explore import answers, simulations
from advrf.explore.answers import Answer, FrontAnswer
from advrf.explore.view import (
    ORDER_PARAMETERS,
    UNTIE,
    X_AXES,
    X_RANGES,
    Curve,
    View,
    compute,
    one_number,
)
from advrf.problem import NUMERIC_PARAMETERS

# parameter -> (slider start, end, step, logarithmic slider)
SLIDERS: dict[str, tuple[float, float, float, bool]] = {
    "psi1": (-2.0, 3.0, 0.01, True),
    "psi2": (-2.0, 3.0, 0.01, True),
    "eps": (0.0, 2.0, 0.005, False),
    "eps_test": (0.0, 2.0, 0.005, False),
    "lam": (-6.0, 2.0, 0.01, True),
    "signal": (0.01, 3.0, 0.01, False),
    "noise": (0.0, 2.0, 0.01, False),
}
LABELS = {
    "psi1": "psi1 = N/d",
    "psi2": "psi2 = n/d",
    "eps": "eps (training radius)",
    "eps_test": "eps_test (test radius)",
    "lam": "lam (ridge)",
    "signal": "signal F1",
    "noise": "noise tau",
}
ORDER_LABELS = {
    "norm_a2": "||a||^2",
    "norm_w2": "||w||^2",
    "beta_w": "beta.w",
    "grad_norm2": "s^2",
}
SLIDER_DIGITS = ".4g"  # a slider writes its value into the text box with this many digits
YMAX_NULL_RISKS = 2.5  # the y range stops at this many null risks (peaks may diverge)
MAX_PINS = len(Category10_10) - 1
MAX_LISTED_FAILURES = 3
PLOT_WIDTH, PLOT_HEIGHT = 900, 430
ERROR_STYLE = "color:#b00020; white-space:pre-wrap; font-family:monospace"
TEXT_STYLE = "white-space:pre-wrap; font-family:monospace"
NOTE = (
    "<small>dash-dot line: interpolation threshold psi1 m = psi2 (m = 1, or min(1, 1/psi1) for "
    "linear features); grey: trivial phase eps &gt;= eps_c (a = 0, error = null risk); red "
    "crosses: points where the theory failed (hover for the message). Best recipe (green): E_rob "
    "and E_std of the (eps, lam) that minimise E_rob at eps_test, on a coarse grid (circles); "
    "front: at the dotted vertical line (the x parameter's own box).</small>"
)
BEST_COLOR = "#2ca02c"
FRONT_STYLES = {  # kind -> (color, legend)
    "finite": (Category10_10[0], "finite: recipes (eps, lam)"),
    "infinite_samples": (Category10_10[1], "infinite samples (psi2 -> inf)"),
    "population": (Category10_10[2], "population: linear predictors"),
}
MARKS = ("name", "standard_error", "robust_error", "marker", "color", "eps", "lam")


class ViewState(DataModel):
    """What the browser needs besides the plots: the URL query, a redraw counter, and the CSV
    of the view (sent when asked for: `downloads` counts the requests)."""

    query = String(default="")
    revision = Int(default=0)
    csv = String(default="")
    downloads = Int(default=0)
    answers = Int(default=0)  # counts the redraws of the answers
    pending = Int(default=0)  # answers the view shows that have not arrived


URL_JS = "history.replaceState(null, '', state.query ? '?' + state.query : location.pathname);"
CSV_JS = """
const blob = new Blob([state.csv], {type: "text/csv"});
const link = document.createElement("a");
link.href = URL.createObjectURL(blob);
link.download = "advrf-explore.csv";
link.dispatchEvent(new MouseEvent("click"));
"""
PNG_JS = """
const view = Bokeh.index.find_one(plots);
view.export("png").to_blob().then((blob) => {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "advrf-explore.png";
  link.dispatchEvent(new MouseEvent("click"));
});
"""


def _position(name: str, value: float) -> float:
    start, end, _, log = SLIDERS[name]
    if log:
        value = math.log10(value) if value > 0 else start
    return min(max(value, start), end)


def _from_position(name: str, position: float) -> float:
    return 10.0**position if SLIDERS[name][3] else position


ASK_DELAY_MS = 300  # the answers are asked for once the controls have rested this long
KEPT_BEST, KEPT_FRONTS = 5000, 200  # answers the server keeps (a front holds ~250 rows)


class Kept(OrderedDict):
    """A dict that keeps its `size` most recently stored items."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Worker:
    """The process that computes the answers (spawned on first use) and what it returned,
    shared by the sessions of one application. background=False: computed in this process."""

    def __init__(self, background: bool = True) -> None:
        self.background = background
        self.best: Kept = Kept(KEPT_BEST)
        self.fronts: Kept = Kept(KEPT_FRONTS)
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        """function(*args) in the worker; a new worker when the last one died."""
        for _ in range(2):
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=answers.start_worker,
                    initargs=(os.getpid(),),
                )
            try:
                return self._pool.submit(function, *args)
            except BrokenProcessPool:
                self._pool = None
        raise BrokenProcessPool("the explorer's worker process cannot be started")

    def close(self) -> None:
        """End the worker process (the tasks not started are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class Explorer:
    """The widgets, plots and sources of one page (one Bokeh document)."""

    def __init__(
        self,
        doc: Document,
        sims: pd.DataFrame,
        view: View,
        pins: list[View],
        *,
        deferred: bool,
        url: bool,
        worker: Worker,
    ):
        self.doc = doc
        self.deferred = deferred
        self.sims = sims
        self.pins = pins[:MAX_PINS]
        self.worker = worker
        self._pending = False
        self._syncing = False
        self._asked: dict[tuple[str, answers.Key], Future] = {}  # answers not arrived
        self._ask_timer: Any = None  # the asking scheduled once the controls rest
        self._view: View | None = None  # the view drawn
        self._current: Any = None  # the theory at x = at with the view's recipe (or a message)
        self.state = ViewState(name="state")
        self._build_controls(view)
        self._build_plots()
        self.doc.add_root(self.layout)
        if deferred:  # a closed page's answers not started are not computed
            self.doc.on_session_destroyed(lambda context: self._cancel(set()))
        if url:  # the standalone page keeps its view in the address bar (not inside Jupyter)
            self.doc.js_on_event(DocumentReady, CustomJS(args={"state": self.state}, code=URL_JS))
            self.state.js_on_change("query", CustomJS(args={"state": self.state}, code=URL_JS))
        self.update()

    # Controls ---------------------------------------------------------------------------------
    def _build_controls(self, view: View) -> None:
        self.activation = Select(
            title="activation", value=view.activation, options=list(ACTIVATIONS), name="activation"
        )
        self.x_axis = Select(title="x-axis", value=view.x, options=list(X_AXES), name="x")
        self.lo = TextInput(title="from", value=repr(view.lo), name="lo", width=90)
        self.hi = TextInput(title="to", value=repr(view.hi), name="hi", width=90)
        self.count = TextInput(title="points", value=str(view.count), name="count", width=70)
        self.log = Checkbox(label="log x", active=view.log, name="log")
        self.tied = Checkbox(label="eps_test tied to eps", active=view.tied, name="tied")
        self.order = Checkbox(label="order parameters", active=view.order, name="order")
        self.best = Checkbox(label="best recipe", active=view.best, name="best")
        self.front = Checkbox(label="front", active=view.front, name="front")
        self.best_count = TextInput(
            title="best recipe points", value=str(view.best_count), name="best_count", width=110
        )
        self.texts: dict[str, TextInput] = {}
        self.sliders: dict[str, Slider] = {}
        rows = []
        for name in NUMERIC_PARAMETERS:
            value = getattr(view, name)
            value = view.eps if value is None else value
            start, end, step, log = SLIDERS[name]
            self.sliders[name] = Slider(
                title=("log10 " if log else "") + name,
                start=start,
                end=end,
                step=step,
                value=_position(name, value),
                show_value=False,
                name="slider_" + name,
                width=150,
            )
            self.texts[name] = TextInput(
                title=LABELS[name], value=repr(float(value)), name="text_" + name, width=130
            )
            self.sliders[name].on_change("value", self._slider_moved(name))
            self.texts[name].on_change("value", self._text_changed(name))
            rows.append(row(self.texts[name], self.sliders[name]))
            if name == "eps_test":
                rows.append(self.tied)
        for widget in (self.activation, self.lo, self.hi, self.count, self.best_count):
            widget.on_change("value", lambda attr, old, new: self.request_update())
        self.x_axis.on_change("value", self._x_changed)
        for box in (self.log, self.tied, self.order, self.best, self.front):
            box.on_change("active", lambda attr, old, new: self.request_update())
        for box in (self.tied, self.front):
            box.on_change("active", lambda attr, old, new: self._enable())
        self._enable()
        self.pin = Button(label="pin curve", name="pin", width=100)
        self.unpin = Button(label="clear pins", name="unpin", width=100)
        self.pin.on_click(self._pin)
        self.unpin.on_click(self._clear_pins)
        self.csv = Button(label="CSV", name="csv", width=70)
        self.csv.on_click(self._send_csv)
        self.state.js_on_change("downloads", CustomJS(args={"state": self.state}, code=CSV_JS))
        self.png = Button(label="PNG", name="png", width=70)
        self.controls = column(
            Div(text="<b>advrf explore</b>: exact asymptotic theory"),
            self.activation,
            self.x_axis,
            row(self.lo, self.hi, self.count),
            self.log,
            *rows,
            self.order,
            row(column(self.best, self.front), self.best_count),
            row(self.pin, self.unpin),
            row(self.csv, self.png),
            width=320,
        )

    def _slider_moved(self, name: str) -> Callable[[str, Any, Any], None]:
        """A slider writes its value into its text box (which triggers the redraw)."""

        def moved(attr: str, old: Any, new: Any) -> None:
            if self._syncing:
                return
            self._syncing = True
            try:
                self.texts[name].value = format(_from_position(name, new), SLIDER_DIGITS)
            finally:
                self._syncing = False

        return moved

    def _text_changed(self, name: str) -> Callable[[str, Any, Any], None]:
        """A typed value moves the slider (a bad one is reported by the redraw)."""

        def changed(attr: str, old: Any, new: Any) -> None:
            self.request_update()
            if self._syncing:
                return
            try:
                value = one_number(name, new)
            except ValueError:
                return
            self._syncing = True
            try:
                self.sliders[name].value = _position(name, value)
            finally:
                self._syncing = False

        return changed

    def _x_changed(self, attr: str, old: str, new: str) -> None:
        """A new x-axis gets its default range; eps_test as x-axis unties it from eps."""
        if new == "eps_test":
            self.tied.active = False
        if new in X_RANGES:
            lo, hi, log = X_RANGES[new]
            self.lo.value, self.hi.value, self.log.active = repr(lo), repr(hi), log
        self._enable()
        self.request_update()

    def _enable(self) -> None:
        """The x parameter's own controls are disabled, unless the front is shown (they place
        it); eps_test's are disabled when tied."""
        x = self.x_axis.value
        for name in NUMERIC_PARAMETERS:
            at = name == x and self.front.active
            off = (name == x and not at) or (name == "eps_test" and self.tied.active)
            self.texts[name].disabled = off
            self.sliders[name].disabled = off
            self.texts[name].title = LABELS[name] + (": front at" if at else "")

    def read_view(self) -> View:
        """The controls as a View; ValueError (the CLI's message) on a bad value."""
        x = self.x_axis.value
        if x == "eps_test" and self.tied.active:
            raise ValueError(UNTIE)
        values: dict[str, Any] = {"activation": self.activation.value, "x": x}
        values["lo"] = one_number(x, self.lo.value)
        values["hi"] = one_number(x, self.hi.value)
        try:
            values["count"] = int(self.count.value)
        except ValueError:
            raise ValueError(f"{x}: COUNT {self.count.value!r} must be an integer >= 1") from None
        values["log"] = self.log.active
        values["order"] = self.order.active
        values["best"] = self.best.active
        values["front"] = self.front.active
        try:
            values["best_count"] = int(self.best_count.value)
        except ValueError:
            raise ValueError(
                f"best recipe points: an integer from 1 to {answers.MAX_BEST_COUNT}; got "
                f"{self.best_count.value!r}"
            ) from None
        for name in NUMERIC_PARAMETERS:
            if name == "eps_test" and self.tied.active and x != "eps_test":
                values[name] = None
            elif name == x and not self.front.active:  # unused: keep the box's value
                try:
                    values[name] = one_number(name, self.texts[name].value)
                except ValueError:
                    values[name] = View().eps if name == "eps_test" else getattr(View(), name)
            else:
                values[name] = one_number(name, self.texts[name].value)
        return View(**values)

    # Plots ------------------------------------------------------------------------------------
    def _build_plots(self) -> None:
        self.curve = ColumnDataSource(name="curve", data=self._curve_data(None))
        self.trivial = ColumnDataSource(name="trivial", data={"left": [], "right": [], "top": []})
        self.failed = ColumnDataSource(name="failed", data={"x": [], "y": [], "message": []})
        self.sim = ColumnDataSource(name="simulation", data=self._sim_data(None))
        self.pinned = ColumnDataSource(
            name="pinned", data={"xs": [], "rob": [], "std": [], "color": []}
        )
        self.best_source = ColumnDataSource(name="best_curve", data=_best_data(None))
        self.best_failed = ColumnDataSource(
            name="best_failed", data={"x": [], "y": [], "message": []}
        )
        self.front_sources = {
            kind: ColumnDataSource(name="front_" + kind, data=_front_data(None, kind))
            for kind in answers.FRONT_KINDS
        }
        self.marks = ColumnDataSource(name="front_marks", data={m: [] for m in MARKS})
        self.x_range = Range1d(0.1, 100.0)
        self.y_range = Range1d(0.0, 1.0)
        self._log = True
        self.errors_plot = self._errors_figure(self._log)
        self.order_plot = self._order_figure(self._log)
        self.front_plot = self._front_figure()
        self.answers = Div(text="", name="answers", width=PLOT_WIDTH)
        self.message = Div(text="", name="message", styles={"color": "#b00020"}, width=PLOT_WIDTH)
        self.pins_div = Div(text="", name="pins", width=PLOT_WIDTH)
        self.commands = Div(text="", name="commands", width=PLOT_WIDTH)
        self.plots = column(self.errors_plot, self.order_plot, self.front_plot, name="plots")
        self.png.js_on_click(CustomJS(args={"plots": self.plots}, code=PNG_JS))
        self.layout = row(
            self.controls,
            column(self.plots, self.message, self.answers, self.pins_div, self.commands),
            tags=[self.state],  # keeps the ViewState in the document
        )

    def _errors_figure(self, log: bool) -> Any:
        fig = figure(
            width=PLOT_WIDTH,
            height=PLOT_HEIGHT,
            x_axis_type="log" if log else "linear",
            x_range=self.x_range,
            y_range=self.y_range,
            tools="pan,wheel_zoom,box_zoom,reset",
            name="errors_plot",
            x_axis_label="psi1",
            y_axis_label="test error",
        )
        fig.add_tools(SaveTool(filename="advrf-explore"))
        fig.quad(
            left="left",
            right="right",
            bottom=0.0,
            top="top",
            source=self.trivial,
            color="#dddddd",
            alpha=0.6,
            legend_label="trivial phase (a = 0)",
        )
        fig.multi_line(xs="xs", ys="rob", color="color", source=self.pinned, alpha=0.6, width=1.5)
        fig.multi_line(
            xs="xs",
            ys="std",
            color="color",
            source=self.pinned,
            alpha=0.6,
            width=1.5,
            line_dash="dashed",
        )
        fig.line(
            "x",
            "null_risk",
            source=self.curve,
            color="grey",
            line_dash="dotted",
            legend_label="null risk F1^2 + tau^2",
        )
        rob = fig.line(
            "x",
            "robust_error",
            source=self.curve,
            color=Category10_10[0],
            width=2.5,
            legend_label="E_rob (theory)",
        )
        fig.line(
            "x",
            "standard_error",
            source=self.curve,
            color=Category10_10[0],
            width=2.5,
            line_dash="dashed",
            legend_label="E_std (theory)",
        )
        sims = fig.scatter(
            "x",
            "robust_error_mean",
            source=self.sim,
            color="black",
            size=6,
            legend_label="E_rob (simulation)",
        )
        fig.scatter(
            "x",
            "standard_error_mean",
            source=self.sim,
            color="black",
            size=6,
            marker="square",
            fill_color="white",
            legend_label="E_std (simulation)",
        )
        for error in ("robust_error", "standard_error"):
            fig.add_layout(
                Whisker(source=self.sim, base="x", upper=f"{error}_hi", lower=f"{error}_lo")
            )
        best = fig.line(
            "x",
            "robust_error",
            source=self.best_source,
            color=BEST_COLOR,
            width=2,
            legend_label="E_rob, best recipe",
        )
        fig.scatter("x", "robust_error", source=self.best_source, color=BEST_COLOR, size=5,
                    legend_label="E_rob, best recipe")  # fmt: skip
        fig.line(
            "x",
            "standard_error",
            source=self.best_source,
            color=BEST_COLOR,
            width=2,
            line_dash="dashed",
            legend_label="E_std, best recipe",
        )
        fails = fig.scatter(
            "x",
            "y",
            source=self.failed,
            marker="x",
            color="#b00020",
            size=10,
            legend_label="failed point (no value)",
        )
        best_fails = fig.scatter(
            "x", "y", source=self.best_failed, marker="x", color="#b00020", size=10
        )
        self.interpolation = Span(
            dimension="height", location=1.0, visible=False, line_dash="dashdot", line_color="#666"
        )
        fig.add_layout(self.interpolation)
        self.at_span = Span(
            dimension="height", location=1.0, visible=False, line_dash="dotted", line_color="black"
        )
        fig.add_layout(self.at_span)
        fig.add_tools(
            HoverTool(
                renderers=[rob],
                tooltips=[
                    ("x", "@x{0.0000g}"),
                    ("E_rob", "@robust_error{0.000000g}"),
                    ("E_std", "@standard_error{0.000000g}"),
                    ("phase", "@phase"),
                ],
                mode="vline",
            ),
            HoverTool(renderers=[fails, best_fails], tooltips=[("x", "@x"), ("error", "@message")]),
            HoverTool(
                renderers=[best],
                tooltips=[
                    ("x", "@x{0.0000g}"),
                    ("best eps, lam", "@eps{0.0000g}, @lam{0.0000g}"),
                    ("E_rob, E_std", "@robust_error{0.000000g}, @standard_error{0.000000g}"),
                ],
            ),
            HoverTool(
                renderers=[sims],
                tooltips=[
                    ("x", "@x"),
                    ("E_rob", "@robust_error_mean{0.0000g} +- @robust_error_sem{0.0000g}"),
                    ("E_std", "@standard_error_mean{0.0000g} +- @standard_error_sem{0.0000g}"),
                    ("d, seeds", "@d, @seeds"),
                    ("variant, n_test", "@variant, @n_test"),
                ],
            ),
        )
        fig.legend.click_policy = "hide"
        fig.add_layout(fig.legend[0], "right")
        return fig

    def _order_figure(self, log: bool) -> Any:
        fig = figure(
            width=PLOT_WIDTH,
            height=300,
            x_axis_type="log" if log else "linear",
            x_range=self.x_range,
            tools="pan,wheel_zoom,box_zoom,reset,save",
            name="order_plot",
            y_axis_label="order parameters",
        )
        for i, name in enumerate(ORDER_PARAMETERS):
            fig.line(
                "x",
                name,
                source=self.curve,
                color=Category10_10[i + 1],
                width=2,
                legend_label=ORDER_LABELS[name],
            )
        fig.add_layout(fig.legend[0], "right")
        return fig

    def _front_figure(self) -> Any:
        fig = figure(
            width=PLOT_WIDTH,
            height=PLOT_HEIGHT,
            tools="pan,wheel_zoom,box_zoom,reset,save",
            name="front_plot",
            x_axis_label="standard error E_std",
            y_axis_label="robust error E_rob at eps_test",
            visible=False,
        )
        finite = None
        for kind, (color, label) in FRONT_STYLES.items():
            source = self.front_sources[kind]
            line = fig.line("standard_error", "robust_error", source=source, color=color,
                            width=2, legend_label=label)  # fmt: skip
            if kind == "finite":
                finite = line
                fig.scatter("standard_error", "robust_error", source=source, color=color,
                            size=4, legend_label=label)  # fmt: skip
        fig.scatter("standard_error", "robust_error", source=self.marks, marker="marker",
                    line_color="color", fill_color=None, size=12, line_width=2,
                    legend_field="name")  # fmt: skip
        fig.add_tools(
            HoverTool(
                renderers=[finite],
                tooltips=[
                    ("eps, lam", "@eps{0.0000g}, @lam{0.0000g}"),
                    ("E_std, E_rob", "@standard_error{0.000000g}, @robust_error{0.000000g}"),
                ],
            )
        )
        fig.add_layout(fig.legend[0], "right")
        return fig

    # Updates ----------------------------------------------------------------------------------
    def request_update(self) -> None:
        """Redraw on the next tick (at most one redraw pending); at once without a server."""
        if not self.deferred:
            self.update()
            return
        if not self._pending:
            self._pending = True
            self.doc.add_next_tick_callback(self._tick)

    def _tick(self) -> None:
        self._pending = False
        self.update()

    def _view_and_curve(self) -> tuple[View, Curve] | None:
        """The controls' view and its curve; None, with the message shown in the page, when a
        control holds a bad value."""
        try:
            view = self.read_view()
            return view, compute(view)
        except ValueError as error:
            self._show_error(str(error))
            return None

    def update(self) -> None:
        current = self._view_and_curve()
        if current is None:
            return
        view, curve = current
        self.doc.hold("combine")
        try:
            self._draw(view, curve)
        finally:
            self.doc.unhold()

    def _show_error(self, message: str) -> None:
        self.doc.hold("combine")
        try:
            self.curve.data = self._curve_data(None)
            self.trivial.data = {"left": [], "right": [], "top": []}
            self.failed.data = {"x": [], "y": [], "message": []}
            self.sim.data = self._sim_data(None)
            self.message.text = f"<div style='{ERROR_STYLE}'>error: {escape(message)}</div>"
            self.commands.text = ""
            self._view = None
            self._cancel(set())
            self._draw_answers(None)
            self.state.revision += 1
        finally:
            self.doc.unhold()

    def _draw(self, view: View, curve: Curve) -> None:
        """Every model of the page for this view; the browser receives the changes in this order
        (the query before the curve, the revision counter last)."""
        self.state.query = view.to_query(self.pins)
        if self._log != view.log:
            self._log = view.log
            self.errors_plot = self._errors_figure(view.log)
            self.order_plot = self._order_figure(view.log)
            self.plots.children = [self.errors_plot, self.order_plot, self.front_plot]
        self.errors_plot.xaxis.axis_label = LABELS[view.x]
        self.order_plot.xaxis.axis_label = LABELS[view.x]
        self.order_plot.visible = view.order
        self.curve.data = self._curve_data(curve)
        self.trivial.data = _trivial_runs(curve)
        x, fails = curve.x, curve.failures()
        self.failed.data = {
            "x": [f[0] for f in fails],
            "y": [0.0] * len(fails),
            "message": [f[1] for f in fails],
        }
        points = simulations.points(self.sims, view) if not self.sims.empty else None
        self.sim.data = self._sim_data(points)
        at = curve.interpolation_x()
        self.interpolation.visible = at is not None
        if at is not None:
            self.interpolation.location = at
        self.x_range.start, self.x_range.end = sorted((view.lo, view.hi))
        if self.x_range.start == self.x_range.end:
            self.x_range.end = self.x_range.start * 1.1 + 1e-3
        self.y_range.end = _y_end(curve, points)
        self._draw_pins(view)
        self.message.text = _failure_text(len(x), fails)
        commands = ["equivalent commands:", view.theory_command(), view.sweep_command()]
        self._view = view
        self._current = answers.current_recipe(view) if view.front else None
        self._ask(view)
        self._draw_answers(view)
        for shown, command in ((view.best, answers.optimize_command),
                               (view.front, answers.front_command)):  # fmt: skip
            try:
                commands += [command(view)] if shown else []
            except ValueError:  # said in the answers' text
                pass
        text = escape("\n".join(commands))
        self.commands.text = f"<pre style='white-space:pre-wrap'>{text}</pre>" + NOTE
        self.state.revision += 1

    # Answers ----------------------------------------------------------------------------------
    def _needed(self, view: View) -> list[tuple[str, Any]]:
        """(kind, Problem) of the answers the view shows; ValueError on a bad best_count or
        x = at."""
        out: list[tuple[str, Any]] = []
        if view.front:
            out.append(("front", answers.at_problem(view)))
        if view.best:
            out += [("best", p) for p in answers.best_problems(view)]
        return out

    def _ask(self, view: View) -> None:
        """Cancel the answers asked for that the view does not need (a running one finishes,
        and is kept), and ask for those it needs and does not have: at once without a server,
        else once the controls have rested ASK_DELAY_MS (a drag of a slider asks for nothing,
        and the worker leaves the cores to the curve)."""
        try:
            needed = self._needed(view)
        except ValueError:
            needed = []
        self._cancel({(kind, answers.key(p)) for kind, p in needed})
        if not self.deferred:
            self._submit(needed)
            return
        if self._ask_timer is not None:
            self.doc.remove_timeout_callback(self._ask_timer)
        self._ask_timer = self.doc.add_timeout_callback(
            partial(self._rested, view, needed), ASK_DELAY_MS
        )

    def _rested(self, view: View, needed: list[tuple[str, Any]]) -> None:
        self._ask_timer = None
        if view == self._view:
            self._submit(needed)

    def _submit(self, needed: list[tuple[str, Any]]) -> None:
        """Ask for the needed answers not at hand nor asked for."""
        for kind, problem in needed:
            k = (kind, answers.key(problem))
            found = self.worker.fronts if kind == "front" else self.worker.best
            if k[1] in found or k in self._asked:
                continue
            solve = answers.solve_front if kind == "front" else answers.solve_best
            if not self.worker.background:
                found[k[1]] = solve(problem)
                continue
            try:
                future = self.worker.submit(solve, problem)
            except BrokenProcessPool as error:
                failed = Answer.failed(f"the worker failed: {error}")
                found[k[1]] = failed if kind == "best" else _failed_front(failed)
                continue
            self._asked[k] = future
            future.add_done_callback(
                lambda f, k=k: self.doc.add_next_tick_callback(partial(self._arrived, k, f))
            )

    def _cancel(self, wanted: set[tuple[str, answers.Key]]) -> None:
        """Cancel the answers asked for and not wanted that have not started."""
        for asked in [k for k in self._asked if k not in wanted]:
            if self._asked[asked].cancel():
                del self._asked[asked]

    def _arrived(self, asked: tuple[str, answers.Key], future: Future) -> None:
        """An answer from the worker: kept, and the answers redrawn."""
        if self._asked.get(asked) is future:
            del self._asked[asked]
        if future.cancelled():
            return
        kind, k = asked
        try:
            value = future.result()
        except Exception as error:  # the worker's own failure (a broken pool, ...): said
            value = Answer.failed(f"the worker failed: {type(error).__name__}: {error}")
            value = value if kind == "best" else _failed_front(value)
        (self.worker.fronts if kind == "front" else self.worker.best)[k] = value
        self.doc.hold("combine")
        try:
            self._draw_answers(self._view)
        finally:
            self.doc.unhold()

    def _answers_of(self, view: View | None) -> tuple[Any, Any, Any, list[str]]:
        """(best-recipe curve, Problem at x = at, front answer, messages) from the answers at
        hand; None for what the view does not show, or could not place (its message listed)."""
        best = at = fronts = None
        errors = []
        if view is not None and view.best:
            try:
                best = answers.best_curve(view, self.worker.best)
            except ValueError as error:
                errors.append(str(error))
        if view is not None and view.front:
            try:
                at = answers.at_problem(view)
            except ValueError as error:
                errors.append(str(error))
            else:
                fronts = self.worker.fronts.get(answers.key(at))
        return best, at, fronts, errors

    def _draw_answers(self, view: View | None) -> None:
        """The best-recipe curve, the front and their text, from the answers at hand."""
        best, at, fronts, errors = self._answers_of(view)
        texts = [_pre([f"error: {error}"], ERROR_STYLE) for error in errors]
        _assign(self.best_source, _best_data(best))
        fails = best.failures() if best is not None else []
        _assign(
            self.best_failed,
            {"x": [f[0] for f in fails], "y": [0.0] * len(fails), "message": [f[1] for f in fails]},
        )
        if best is not None:
            texts.append(_best_text(best))
        self.front_plot.visible = view is not None and view.front
        self.at_span.visible = at is not None
        if at is not None and view is not None:
            self.at_span.location = getattr(at, view.x)
            texts.append(_front_text(view, at, fronts, self._current))
        for kind, source in self.front_sources.items():
            _assign(source, _front_data(fronts, kind))
        _assign(self.marks, _marks(at, fronts, self._current))
        self.answers.text = "".join(texts)
        missing = best.pending if best is not None else 0
        self.state.pending = missing + (at is not None and fronts is None)  # after the data
        self.state.answers += 1

    def _draw_pins(self, view: View) -> None:
        data: dict[str, list[Any]] = {"xs": [], "rob": [], "std": [], "color": []}
        items = []
        for i, pin in enumerate(self.pins):
            color = Category10_10[i + 1]
            label = _pin_label(pin)
            try:
                curve = compute(pin)
            except ValueError as error:
                items.append(
                    f"<span style='color:{color}'>pin {i + 1}</span>: {escape(str(error))}"
                )
                continue
            shown = "" if pin.x == view.x else f" (x-axis {pin.x}: not drawn)"
            items.append(f"<span style='color:{color}'>&#9632; pin {i + 1}</span>: {label}{shown}")
            if pin.x == view.x:
                data["xs"].append(curve.x)
                data["rob"].append(curve.values("robust_error"))
                data["std"].append(curve.values("standard_error"))
                data["color"].append(color)
        self.pinned.data = data
        self.pins_div.text = "<br>".join(items)

    def _pin(self) -> None:
        try:
            view = self.read_view()
        except ValueError as error:
            self._show_error(str(error))
            return
        if view not in self.pins:
            self.pins = [*self.pins, view][-MAX_PINS:]
        self.request_update()

    def _send_csv(self) -> None:
        """The CSV of the current view to the browser, which downloads it."""
        current = self._view_and_curve()
        if current is None:
            return
        view, curve = current
        best, at, fronts, _ = self._answers_of(view)
        current = answers.current_recipe(view) if at is not None else None
        self.state.csv = curve.csv_text(answers.csv_rows(best, fronts, at, current))
        self.state.downloads += 1

    def _clear_pins(self) -> None:
        self.pins = []
        self.request_update()

    @staticmethod
    def _curve_data(curve: Curve | None) -> dict[str, Any]:
        names = ("x", "robust_error", "standard_error", "null_risk", *ORDER_PARAMETERS, "eps_c")
        if curve is None:
            return {**{name: np.array([]) for name in names}, "phase": []}
        data = {name: curve.values(name) for name in names[1:] if name != "null_risk"}
        phases = ["failed" if r is None else r.phase for r in curve.results]
        return {"x": curve.x, "null_risk": curve.null_risk, **data, "phase": phases}

    @staticmethod
    def _sim_data(points: pd.DataFrame | None) -> dict[str, Any]:
        columns = list(simulations.COLUMNS) + [
            f"{e}_{side}" for e in ("robust_error", "standard_error") for side in ("lo", "hi")
        ]
        if points is None or points.empty:
            return {name: [] for name in columns}
        data = {name: points[name].to_numpy() for name in simulations.COLUMNS}
        for error in ("robust_error", "standard_error"):
            sem = np.nan_to_num(points[f"{error}_sem"].to_numpy(dtype=float))
            data[f"{error}_lo"] = points[f"{error}_mean"].to_numpy(dtype=float) - sem
            data[f"{error}_hi"] = points[f"{error}_mean"].to_numpy(dtype=float) + sem
        data["variant"] = [str(v) for v in data["variant"]]
        return data


def _failed_front(failed: Answer) -> FrontAnswer:
    return FrontAnswer((), failed, 0, 0, 0.0, error=failed.error)


def _assign(source: ColumnDataSource, data: dict[str, Any]) -> None:
    """source.data = data, unless it holds that already (nothing sent to the browser then: the
    answers are redrawn on every change of the view, mostly to the same data)."""
    old = source.data
    if old.keys() == data.keys() and all(_same(old[k], v) for k, v in data.items()):
        return
    source.data = data


def _same(a: Any, b: Any) -> bool:
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return False
    if x.dtype.kind in "fi" and y.dtype.kind in "fi":
        return bool(np.array_equal(x, y, equal_nan=True))
    return x.tolist() == y.tolist()


def _best_data(best: answers.BestCurve | None) -> dict[str, Any]:
    names = ("robust_error", "standard_error", "eps", "lam")
    if best is None:
        return {"x": np.array([]), **{name: np.array([]) for name in names}}
    return {"x": best.x, **{name: best.values(name) for name in names}}


def _front_data(fronts: FrontAnswer | None, kind: str) -> dict[str, Any]:
    names = ("standard_error", "robust_error", "eps", "lam", "rho", "c")
    rows = fronts.kind(kind) if fronts is not None else []
    return {
        name: np.array([math.nan if r.get(name) is None else r[name] for r in rows], dtype=float)
        for name in names
    }


def _marks(at: Any, fronts: FrontAnswer | None, current: Any) -> dict[str, list[Any]]:
    """The zero predictor, the best recipe and its baselines at x = at, and the view's recipe
    (a current that is a message, or a failed best recipe, is not drawn)."""
    data: dict[str, list[Any]] = {m: [] for m in MARKS}

    def mark(name: str, std: Any, rob: Any, marker: str, color: str, eps: Any, lam: Any) -> None:
        if std is None or rob is None or not (math.isfinite(std) and math.isfinite(rob)):
            return
        values = (name, std, rob, marker, color, eps, lam)
        for field, value in zip(MARKS, values, strict=True):
            data[field].append(math.nan if value is None and field in ("eps", "lam") else value)

    if at is None:
        return data
    q0 = at.null_risk
    mark("zero predictor", q0, q0, "x", "black", None, math.inf)
    if fronts is not None and fronts.best.error is None:
        b = fronts.best
        lam = math.inf if b.lam is None else b.lam
        mark("best recipe", b.standard_error, b.robust_error, "star", BEST_COLOR, b.eps, lam)
        mark("standard training, tuned ridge", b.standard_training_standard_error,
             b.standard_training_robust_error, "square", "black", 0.0,
             b.standard_training_lam)  # fmt: skip
        mark("adversarial training, eps = eps_test, lam = 0",
             b.adversarial_training_standard_error, b.adversarial_training_robust_error,
             "triangle", "black", at.eps_test, 0.0)  # fmt: skip
    if current is not None and not isinstance(current, str):
        mark("this view's recipe (eps, lam)", current.standard_error, current.robust_error,
             "circle", "#d62728", at.eps, at.lam)  # fmt: skip
    return data


def _recipe_text(a: Answer) -> str:
    if a.zero_predictor:
        return "the zero predictor (lam = inf)"
    return f"eps* = {a.eps:.4g}, lam* = {a.lam:.4g}"


def _best_text(best: answers.BestCurve) -> str:
    """What the best-recipe curve shows, its state (computing or done) and its failures."""
    view = best.view
    n = len(best.answers)
    if best.flat:
        where = f"one point (it does not depend on {view.x} here), drawn flat"
    else:
        where = f"{n} points of {view.x} (a coarse grid: set 'best recipe points')"
    if best.pending:
        state = f"computing in a worker process: {n - best.pending} of {n} done"
    else:
        state = f"done, {best.seconds():.1f} s of theory"
    lines = [f"best recipe (advrf optimize) at {where}: {state}"]
    if best.flat and best.answers[0] is not None and best.answers[0].error is None:
        a = best.answers[0]
        lines.append(f"  {_recipe_text(a)}: E_rob = {a.robust_error:.6g}, "
                     f"E_std = {a.standard_error:.6g}")  # fmt: skip
    notes = [a.message for a in best.answers if a is not None and a.error is None]
    unconverged = sum(not a.converged for a in best.answers if a is not None and a.error is None)
    if unconverged:
        lines.append(f"  {unconverged} point(s): a local refinement stopped before its tolerance"
                     " (the point is certified)")  # fmt: skip
    skipped = [m for m in notes if "the theory failed at" in m]
    if skipped:
        lines.append(f"  {len(skipped)} point(s) skipped failed theory calls, e.g. {skipped[0]}")
    fails = best.failures()
    for x, message in fails[:MAX_LISTED_FAILURES]:
        lines.append(f"  x = {x:.6g}: failed, drawn as a gap: {message}")
    return _pre(lines, ERROR_STYLE if fails else TEXT_STYLE)


def _front_text(view: View, at: Any, fronts: FrontAnswer | None, current: Any) -> str:
    """The front's state, the best recipe and the view's recipe at x = at."""
    head = f"front (advrf front) at {view.x} = {getattr(at, view.x):.6g}"
    head += f", eps_test = {at.eps_test:.6g}" if view.x != "eps_test" else ""
    if fronts is None:
        lines = [f"{head}: computing in a worker process"]
    elif fronts.error is not None:
        lines = [f"{head}: failed: {fronts.error}"]
    else:
        calls = f"{fronts.evaluations} theory calls, {fronts.failures} failed and skipped"
        lines = [f"{head}: {len(fronts.kind('finite'))} finite points ({calls}, "
                 f"{fronts.seconds:.1f} s)"]  # fmt: skip
        b = fronts.best
        if b.error is not None:
            lines.append(f"  best recipe there: failed: {b.error}")
        else:
            lines.append(f"  best recipe there: {_recipe_text(b)}: E_rob = "
                         f"{b.robust_error:.6g}, E_std = {b.standard_error:.6g}")  # fmt: skip
    if isinstance(current, str):
        lines.append(f"  this view's recipe eps = {at.eps:.4g}, lam = {at.lam:.4g}: failed, "
                     f"not drawn: {current}")  # fmt: skip
    elif current is not None:
        errors = f"E_rob = {current.robust_error:.6g}, E_std = {current.standard_error:.6g}"
        lines.append(f"  this view's recipe eps = {at.eps:.4g}, lam = {at.lam:.4g}: {errors}")
    return _pre(lines, TEXT_STYLE)


def _pre(lines: list[str], style: str) -> str:
    return f"<div style='{style}'>{escape(chr(10).join(lines))}</div>"


def _trivial_runs(curve: Curve) -> dict[str, list[float]]:
    """Shaded x intervals of the trivial phase, from midpoint to midpoint of the grid."""
    x, mask, top = curve.x, curve.trivial, curve.null_risk
    out: dict[str, list[float]] = {"left": [], "right": [], "top": []}
    if len(x) < 2:
        return out
    log = curve.view.log
    edges = np.sqrt(x[1:] * x[:-1]) if log else 0.5 * (x[1:] + x[:-1])
    edges = np.concatenate([[x[0]], edges, [x[-1]]])
    for i in np.flatnonzero(mask):
        out["left"].append(float(edges[i]))
        out["right"].append(float(edges[i + 1]))
        out["top"].append(float(top[i]))
    return out


def _y_end(curve: Curve, points: pd.DataFrame | None) -> float:
    null = float(np.max(curve.null_risk)) if len(curve.x) else 1.0
    values = [curve.values("robust_error"), curve.values("standard_error")]
    if points is not None and not points.empty:
        values.append(points["robust_error_mean"].to_numpy(dtype=float))
    finite = np.concatenate(values)
    finite = finite[np.isfinite(finite)]
    top = float(np.max(finite)) if finite.size else null
    return 1.05 * max(min(top, YMAX_NULL_RISKS * null), null)


def _failure_text(total: int, fails: list[tuple[float, str]]) -> str:
    if not fails:
        return ""
    listed = "\n".join(f"x = {x:.6g}: {message}" for x, message in fails[:MAX_LISTED_FAILURES])
    more = len(fails) - MAX_LISTED_FAILURES
    tail = f"\n... and {more} more (hover the red crosses)" if more > 0 else ""
    return (
        f"<div style='{ERROR_STYLE}'>{len(fails)} of {total} points failed and are drawn as "
        f"gaps:\n{escape(listed)}{escape(tail)}</div>"
    )


def _pin_label(view: View) -> str:
    names = [f.name for f in fields(View) if f.name in NUMERIC_PARAMETERS and f.name != view.x]
    parts = [view.activation]
    for name in names:
        value = getattr(view, name)
        if name == "eps_test" and value is None:
            parts.append("eps_test=eps")
        else:
            parts.append(f"{name}={value:g}")
    return escape(", ".join(parts))


def _query_of(doc: Document) -> str:
    context = doc.session_context
    request = getattr(context, "request", None) if context is not None else None
    arguments = getattr(request, "arguments", None) or {}
    pairs = [(k, v.decode()) for k, values in arguments.items() for v in values]
    return urlencode(pairs)


def populate(
    doc: Document,
    query: str = "",
    sims: pd.DataFrame | None = None,
    *,
    url: bool = True,
    worker: Worker | None = None,
) -> Explorer:
    """Fill `doc` with the explorer showing the view of `query` (a URL query string).

    url: write the view into the page's address bar as it changes.
    Redraws are deferred to the server's next tick when a server runs the document, else done
    at once (a document without a server, as in tests). worker: where the answers are computed
    (default: in this process).
    """
    doc.title = "advrf explore"
    problem = None
    try:
        view, pins = View.from_query(query)
    except ValueError as error:
        view, pins, problem = View(), [], str(error)
    sims = pd.DataFrame() if sims is None else sims
    deferred = doc.session_context is not None
    worker = Worker(background=False) if worker is None else worker
    explorer = Explorer(doc, sims, view, pins, deferred=deferred, url=url, worker=worker)
    if problem is not None:
        explorer.message.text = (
            f"<div style='{ERROR_STYLE}'>error in the link: {escape(problem)}</div>"
        )
    return explorer


def document_builder(
    results: str | Path | None = None, *, url: bool = True
) -> Callable[[Document], None]:
    """A function that fills a Bokeh document with the explorer (the view from the URL)."""
    sims = simulations.load(results) if results is not None else pd.DataFrame()
    worker = Worker()

    def build(doc: Document) -> None:
        background = doc.session_context is not None
        populate(doc, _query_of(doc), sims, url=url, worker=worker if background else None)

    return build


def app(results: str | Path | None = None, *, url: bool = False) -> Application:
    """The explorer as a Bokeh application (`bokeh.io.show(app())` in Jupyter).

    url: keep the view in the page's address bar (what `advrf explore` does; off by default so
    that a notebook's address is left alone).
    """
    return Application(FunctionHandler(document_builder(results, url=url)))
