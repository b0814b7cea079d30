"""`advrf front`: the robustness-accuracy front (E_std, E_rob at eps_test) of a setting.

Rows of three kinds, each the Pareto-optimal part of its set (docs/theory.md, section 15):
"finite" (adversarial training with the recipes (eps, lam) at the setting's psi1, psi2; rows
carry eps and lam, lam = inf being the zero predictor), "infinite_samples" (psi2 -> inf at the
same width: the predictors (K + rho M)^-1 K a*; rows carry rho) and "population" (every linear
predictor, psi1, psi2 -> inf: v = c beta; rows carry c). Every option takes one value, or a list
or range as in `advrf theory` (one front per point); --figure draws one setting's fronts with the
recipes of `advrf optimize` marked.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from advrf.cli.optimize import SETTING_OPTIONS, add_setting_arguments
from advrf.grid import grid_size, parse_names, parse_values, points

TABLE_COLUMNS = (
    ("kind", "kind", "s"),
    ("E_std", "standard_error", ".6g"),
    ("E_rob", "robust_error", ".6g"),
    ("eps", "eps", ".4g"),
    ("lam", "lam", ".4g"),
    ("rho", "rho", ".4g"),
    ("c", "c", ".4g"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "front",
        help="the (E_std, E_rob) front: finite, infinite samples, population",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_arguments(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per row and line")
    parser.add_argument(
        "--figure", metavar="PATH", help="write the figure of the fronts (one setting only)"
    )
    parser.set_defaults(run=run)


def _table(rows: list[dict[str, Any]]) -> str:
    header = [title for title, _, _ in TABLE_COLUMNS]
    body = [
        [format(row[key], fmt) if row.get(key) is not None else "" for _, key, fmt in TABLE_COLUMNS]
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        for cells in [header, *body]
    )


def run(args: argparse.Namespace) -> int:
    from advrf.problem import Problem
    from advrf.theory.front import front
    from advrf.theory.optimize import best_recipe

    axes = [parse_names("activation", args.activation)]
    axes += [parse_values(name, getattr(args, name)) for name in SETTING_OPTIONS]
    if grid_size(axes) == 0:
        raise ValueError("empty grid")
    if args.figure and grid_size(axes) != 1:
        raise ValueError("--figure draws one setting: give one value of every option")
    for point in points(axes):
        eps_test = point.pop("eps_test")
        setting = Problem(eps=0.0, eps_test=eps_test, **point)
        fronts = front(setting, eps_test)
        rows = fronts.rows()
        if args.json:
            for row in rows:
                print(json.dumps(row))
        else:
            s = fronts.setting
            print(
                f"# {s.activation.name} psi1={s.psi1:g} psi2={s.psi2:g} signal={s.signal:g} "
                f"noise={s.noise:g} eps_test={eps_test:g} ({fronts.evaluations} theory calls, "
                f"{fronts.failures} failed and skipped)"
            )
            print(_table(rows))
        if args.figure:
            from advrf.experiments.front_figure import plot_front

            plot_front(fronts, recipes=best_recipe(setting, eps_test), out=args.figure)
    return 0
