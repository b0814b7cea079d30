"""`advrf figure`: robust and standard error against a swept parameter, from a results directory."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """\
examples:
  advrf figure --results results/my-sweep --x psi1 --by eps --where noise=0.5
  advrf figure --results results/my-sweep --x eps --by psi1 --row noise --out figs/eps
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figure",
        help="draw robust and standard error from a sweep's results",
        description="Draw the robust error E_rob and the standard error E_std (two panels) "
        "against --x, one line per value of --by: theory as lines, simulations as seed means "
        "with standard-error bars, the null risk F1^2 + tau^2 dashed. Writes OUT.png and OUT.pdf. "
        "The theory has no d (it is the limit d -> infinity): with --by d or --row d it is one "
        "dark line in every panel.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--results", required=True, help="results directory of `advrf sweep`")
    parser.add_argument("--x", default="psi1", help="swept parameter on the x axis (psi1)")
    parser.add_argument(
        "--by", default="eps", help="one line per value of this column (eps; none: one line)"
    )
    parser.add_argument(
        "--row", default=None, help="one row of panels per value of this column (default: none)"
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keep only rows with this value (repeatable), e.g. noise=0.5 or d=300",
    )
    parser.add_argument("--ymax", type=float, default=None, help="top of the y axes")
    parser.add_argument(
        "--out", default=None, help="output file name without suffix (default: RESULTS/figures/...)"
    )
    parser.set_defaults(run=run_figure)


def parse_where(items: list[str]) -> dict[str, object]:
    """NAME=VALUE items; a VALUE that reads as a number is compared as one."""
    where: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise ValueError(f"--where takes NAME=VALUE; got {item!r}")
        try:
            value: object = float(text)
        except ValueError:
            value = text.strip()
        where[name.strip().replace("-", "_")] = value
    return where


def run_figure(args: argparse.Namespace) -> int:
    from advrf.experiments.figures import plot_errors, save_figure
    from advrf.experiments.store import FIGURES
    from advrf.experiments.sweep import read_results

    table = read_results(args.results)
    if table.empty:
        raise ValueError(f"--results {args.results}: the store holds no rows yet")
    by = None if args.by in ("", "none") else args.by
    row = None if args.row in ("", "none") else args.row
    name = f"errors-vs-{args.x}" + (f"-by-{by}" if by else "") + (f"-row-{row}" if row else "")
    out = args.out or Path(args.results) / FIGURES / name
    fig = plot_errors(
        table, x=args.x, by=by, row=row, where=parse_where(args.where), ymax=args.ymax
    )
    paths = save_figure(fig, out)
    failed = int((table["status"] == "failed").sum()) if "status" in table else 0
    for path in paths:
        print(path)
    if failed:
        print(f"advrf figure: {failed} failed row(s) not drawn")
    return 0
