"""`advrf theory`: the exact asymptotic errors on a grid of parameters.

Every numeric option takes a number, a list `0.5,1,2`, or a range `lin:START:STOP:COUNT` /
`log:START:STOP:COUNT`; --activation takes a comma list. The grid is the product of all values in
the order activation, psi1, psi2, eps, eps_test, lam, signal, noise (the last varies fastest).
Points are solved in grid order, each warm-started from the last solved one, and solved again cold
when the warm start fails (advrf's one warm-then-cold policy, the same as `advrf sweep --theory`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from advrf.cli.options import add_grid_arguments, grid_axes
from advrf.grid import Axis, grid_size, points

TABLE_COLUMNS = (
    ("activation", "activation", "s"),
    ("psi1", "psi1", "g"),
    ("psi2", "psi2", "g"),
    ("eps", "eps", "g"),
    ("eps_test", "eps_test", "g"),
    ("lam", "lam", "g"),
    ("signal", "signal", "g"),
    ("noise", "noise", "g"),
    ("E_rob", "robust_error", ".6g"),
    ("E_std", "standard_error", ".6g"),
    ("s^2", "grad_norm2", ".4g"),
    ("eps_c", "eps_c", ".4g"),
    ("phase", "phase", "s"),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "theory",
        help="exact asymptotic robust and standard test errors",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_grid_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per point and line, in grid order"
    )
    parser.set_defaults(run=run)


def records(grid: list[Axis], methods: Any = None) -> list[dict[str, Any]]:
    """Solve every grid point in grid order with the job runner (warm then cold along the grid;
    `methods`: advrf.experiments.methods.Methods, default the theory); failures become error
    records."""
    from advrf.experiments.jobs import TheoryJob
    from advrf.experiments.methods import DEFAULT_METHODS
    from advrf.experiments.runner import Runner
    from advrf.problem import Problem

    problems = [Problem(**point) for point in points(grid)]  # validates, naming the parameter
    runner = Runner(methods=DEFAULT_METHODS if methods is None else methods)
    rows: list[dict[str, Any]] = []
    for problem, outcome in zip(
        problems, runner.compute([TheoryJob(p) for p in problems]), strict=True
    ):
        if outcome.error is None:
            rows.append({**problem.to_dict(), **outcome.results})
        else:
            rows.append({**problem.to_dict(), "converged": False, "error": outcome.error})
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Aligned columns; a failed point shows `-` in its result columns and its error below."""
    header = [title for title, _, _ in TABLE_COLUMNS]
    body = []
    notes = []
    for row in rows:
        if "error" in row:
            body.append([format(row[key], fmt) if key in row and key != "phase" else "-"
                         for _, key, fmt in TABLE_COLUMNS[:-1]] + ["error"])  # fmt: skip
            notes.append(f"error: {row['error']}")
        else:
            body.append([format(row[key], fmt) for _, key, fmt in TABLE_COLUMNS])
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))
        for cells in [header, *body]
    ]
    return "\n".join(lines + notes)


def run(args: argparse.Namespace) -> int:
    grid = grid_axes(args)
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
        print(
            f"advrf theory: {failed} of {len(rows)} points failed (see the error lines)",
            file=sys.stderr,
        )
        return 1
    return 0
