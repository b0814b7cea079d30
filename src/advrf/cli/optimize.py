"""`advrf optimize`: the most robust training recipe (eps, lam) for a test radius.

For every point of the grid of settings (activation, psi1, psi2, signal, noise, eps_test; each
option a number, a list `0.5,1,2`, `lin:START:STOP:COUNT` or `log:START:STOP:COUNT`; psi1 may be
inf), the training radius eps in [0, inf) and ridge lam in {0} U (0, inf) U {inf: the zero
predictor} that minimise the robust error at eps_test, from the certified theory, beside the
baselines: standard training (eps = 0, lam tuned), adversarial training (eps = eps_test, lam = 0)
and the null risk. --eps fixes eps (the best lam is searched), --lam fixes lam (the best eps).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from advrf.grid import Axis, grid_size, parse_names, parse_values, points

SETTING_OPTIONS: dict[str, tuple[str | None, str]] = {
    "psi1": (None, "width ratio N/d (inf: the infinite-width limit)"),
    "psi2": (None, "sample ratio n/d"),
    "signal": ("1", "signal norm F1 (default 1)"),
    "noise": ("0", "noise standard deviation tau (default 0)"),
    "eps_test": (None, "test attack radius"),
}


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """--activation and the SETTING_OPTIONS (each a grid, as in `advrf theory`): the setting that
    `advrf optimize` and `advrf front` answer for."""
    parser.add_argument("--activation", default="relu_shifted", help="activation name(s)")
    for name, (default, text) in SETTING_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=default,
            required=default is None,
            help=text,
        )


TABLE_COLUMNS = (
    ("activation", "activation", "s"),
    ("psi1", "psi1", "g"),
    ("psi2", "psi2", "g"),
    ("signal", "signal", "g"),
    ("noise", "noise", "g"),
    ("eps_test", "eps_test", "g"),
    ("eps*", "eps", ".4g"),
    ("lam*", "lam", ".4g"),
    ("E_rob*", "robust_error", ".6g"),
    ("E_std*", "standard_error", ".6g"),
    ("E_rob(std)", "standard_training_robust_error", ".6g"),
    ("lam(std)", "standard_training_lam", ".4g"),
    ("E_rob(adv)", "adversarial_training_robust_error", ".6g"),
    ("null", "null_risk", ".4g"),
    ("regime", "regime", "s"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optimize",
        help="the training radius and ridge that minimise the robust error at eps_test",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_setting_arguments(parser)
    parser.add_argument("--eps", help="fix the training radius (grid): search lam only")
    parser.add_argument("--lam", help="fix the ridge (grid, inf allowed): search eps only")
    parser.add_argument("--json", action="store_true", help="one JSON object per point and line")
    parser.set_defaults(run=run)


def axes(args: argparse.Namespace) -> list[Axis]:
    """activation, psi1, psi2, signal, noise, eps_test[, eps][, lam]; the last varies fastest."""
    out = [parse_names("activation", args.activation)]
    out += [parse_values(name, getattr(args, name)) for name in SETTING_OPTIONS]
    for name in ("eps", "lam"):
        if getattr(args, name) is not None:
            out.append(parse_values(name, getattr(args, name)))
    return out


def records(grid: list[Axis]) -> list[dict[str, Any]]:
    """One record per grid point (BestRecipe.to_dict); a failure becomes an error record."""
    from advrf.problem import Problem
    from advrf.theory import TheoryError
    from advrf.theory.optimize import best_recipe

    rows = []
    for point in points(grid):
        eps, lam = point.pop("eps", None), point.pop("lam", None)
        eps_test = point.pop("eps_test")
        setting = Problem(eps=0.0, eps_test=eps_test, **point)  # validates, naming the parameter
        if eps is not None:
            setting.with_(eps=eps)  # validates eps
        if lam is not None and lam != float("inf"):
            setting.with_(lam=lam)  # validates lam
        try:
            rows.append(best_recipe(setting, eps_test, eps=eps, lam=lam).to_dict())
        except TheoryError as error:
            rows.append({**point, "eps_test": eps_test, "eps": eps, "lam": lam,
                         "converged": False, "error": str(error)})  # fmt: skip
    return rows


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None:
        return "-" if key != "lam" or "error" in row else "inf"
    return format(value, fmt)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Aligned columns (lam* = inf: the zero predictor is best); errors listed below."""
    header = [title for title, _, _ in TABLE_COLUMNS]
    body = [[_cell(row, key, fmt) for _, key, fmt in TABLE_COLUMNS] for row in rows]
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        for cells in [header, *body]
    ]
    notes = [f"error: {row['error']}" for row in rows if "error" in row]
    notes += [
        f"note: {row['message']}" for row in rows if "error" not in row and not row["converged"]
    ]
    return "\n".join(lines + notes)


def run(args: argparse.Namespace) -> int:
    grid = axes(args)
    if grid_size(grid) == 0:
        raise ValueError("empty grid")
    rows = records(grid)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows))
    failed = sum("error" in row for row in rows)
    if failed:
        print(f"advrf optimize: {failed} of {len(rows)} points failed", file=sys.stderr)
        return 1
    return 0
