"""`advrf theory`: the exact asymptotic errors on a grid of parameters.

Every numeric option takes a number, a list `0.5,1,2`, or a range `lin:START:STOP:COUNT` /
`log:START:STOP:COUNT`; --activation takes a comma list. The grid is the product of all values in
the order activation, psi1, psi2, eps, eps_test, lam, signal, noise (the last varies fastest).
Points are solved in grid order, each warm-started from the previous one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from advrf.cli.options import add_grid_arguments, grid_axes
from advrf.grid import Axis, grid_size, points

if TYPE_CHECKING:
    from advrf.theory import TheoryResult

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


def records(grid: list[Axis]) -> list[dict[str, Any]]:
    """Solve every grid point (warm starts along the grid); failures become error records."""
    from advrf.problem import Problem
    from advrf.theory import TheoryError, solve

    rows: list[dict[str, Any]] = []
    previous: TheoryResult | None = None
    for point in points(grid):
        problem = Problem(**point)  # validates every value, naming the parameter
        try:
            result = solve(problem, start=previous)
        except TheoryError as error:
            rows.append({**problem.to_dict(), "converged": False, "error": str(error)})
            previous = None
            continue
        previous = result
        rows.append({**problem.to_dict(), **result.to_dict()})
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
