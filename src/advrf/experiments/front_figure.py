"""Figure of the robustness-accuracy fronts (`advrf.theory.front`), with the recipes marked.

`plot_front(front, recipes=None, ax=None, out=None)` draws E_rob at eps_test against E_std for the
three fronts (finite: the recipes (eps, lam) at the setting's psi1, psi2; infinite samples:
psi2 -> inf at the same width; population: every linear predictor), and marks the best recipe of
`advrf.theory.optimize.best_recipe` and its baselines (standard training with a tuned ridge,
adversarial training at eps = eps_test without ridge, the zero predictor). It takes the objects
as they are (no theory call), builds a `matplotlib.figure.Figure` when no axes are given (no
pyplot, no backend switch), and writes a file only when `out` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STYLES = {
    "finite": dict(color="C0", marker=".", label="finite: recipes (eps, lam)"),
    "infinite_samples": dict(
        color="C1", marker="", label=r"infinite samples ($\psi_2 \to \infty$)"
    ),
    "population": dict(color="C2", marker="", label="population: linear predictors"),
}
FIGURE_SIZE = (5.5, 4.2)  # inches


def plot_front(
    front: Any, recipes: Any = None, ax: Any = None, out: str | Path | None = None
) -> Figure:
    """Draw the three fronts of `front` (a `Front`) on `ax` (a new Figure when None) and, when
    `recipes` (a `BestRecipe`) is given, mark its best recipe and baselines. Returns the Figure;
    saves it to `out` when given."""
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=FIGURE_SIZE, layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    for kind in ("population", "infinite_samples", "finite"):
        points = getattr(front, kind)
        style = STYLES[kind]
        ax.plot(
            [p.standard_error for p in points],
            [p.robust_error for p in points],
            color=style["color"],
            marker=style["marker"],
            label=style["label"],
        )
    q0 = front.setting.null_risk
    ax.plot([q0], [q0], "kx", label="zero predictor")
    if recipes is not None:
        marks = [
            (recipes.best, "*", "best recipe"),
            (recipes.standard_training, "s", "standard training, tuned ridge"),
            (
                recipes.adversarial_training,
                "^",
                r"adversarial training, $\varepsilon = \varepsilon_{test}$, $\lambda = 0$",
            ),
        ]
        for recipe, marker, name in marks:
            if recipe is not None:
                ax.plot([recipe.standard_error], [recipe.robust_error], marker, color="k",
                        markerfacecolor="none", markersize=9, label=name)  # fmt: skip
    s = front.setting
    ax.set_xlabel(r"standard error $E_{std}$")
    ax.set_ylabel(rf"robust error $E_{{rob}}$ at $\varepsilon_{{test}} = {front.eps_test:g}$")
    ax.set_title(
        f"{s.activation.name}, psi1 = {s.psi1:g}, psi2 = {s.psi2:g}, F1 = {s.signal:g}, "
        f"tau = {s.noise:g}",
        fontsize="medium",
    )
    ax.legend(fontsize="small")
    if out is not None:
        fig.savefig(out, dpi=150)
    return fig
