"""`advrf sweep`: theory and/or simulations over a product of parameter grids, stored by row."""

from __future__ import annotations

import argparse
import json
import sys

from advrf.cli.options import GRID_HELP, add_grid_arguments, grid_axes
from advrf.grid import parse_names, parse_values

MAX_LISTED_FAILURES = 20

EPILOG = """\
Every point (and seed, and method) is one row of the results directory --out, written atomically
as it finishes; running the same command again computes only what is missing, and a grid with new
values computes only the new points. Read the table with advrf.experiments.read_results(DIR) or
--csv (DIR/results.csv). A point that does not converge is stored as a row with status "failed"
and its message; it is listed at the end, the exit status is then 1, and --retry-failed computes
it again on the next run.

example:
  advrf sweep --psi1 log:0.1:100:61 --psi2 2 --eps 0.1,0.2,0.5 --noise 0,0.5 --theory \\
      --simulate --d 300 --seeds 3 --out results/my-sweep --workers 2
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="theory and/or simulations over a grid, stored and resumable",
        description="Compute the theory (--theory) and/or simulations (--simulate) on the "
        "product of the parameter grids, and store one row per point, seed and method under "
        "--out. Every numeric parameter takes " + GRID_HELP + ".",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grid = parser.add_argument_group("parameters (each one a grid)")
    add_grid_arguments(grid)
    methods = parser.add_argument_group("methods")
    methods.add_argument("--theory", action="store_true", help="the asymptotic theory")
    methods.add_argument("--simulate", action="store_true", help="finite-size simulations")
    methods.add_argument("--d", default=None, help="input dimension(s) of the simulations")
    methods.add_argument("--seeds", type=int, default=3, help="seeds per point (default 3)")
    methods.add_argument("--n-test", type=int, default=None, help="test samples per seed")
    methods.add_argument(
        "--variant", default="exact", help="training variant(s): exact, concentrated"
    )
    run = parser.add_argument_group("storage and execution")
    run.add_argument("--out", required=True, help="results directory (created if needed)")
    run.add_argument("--csv", action="store_true", help="also write OUT/results.csv")
    run.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    run.add_argument("--scheduler", default=None, help="address of a Dask scheduler to use")
    run.add_argument("--retry-failed", action="store_true", help="compute failed rows again")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(run=run_sweep_command)


def _dimensions(text: str | None) -> list[int]:
    if text is None:
        return []
    values = parse_values("d", text).values
    for value in values:
        if value != int(value) or value < 1:
            raise ValueError(f"d: the input dimension must be an integer >= 1; got {value:g}")
    return [int(value) for value in values]


def run_sweep_command(args: argparse.Namespace) -> int:
    from advrf.experiments.parallel import default_workers
    from advrf.experiments.sweep import run_sweep, sweep_units

    if not (args.theory or args.simulate):
        raise ValueError("choose --theory and/or --simulate")
    if args.simulate and args.d is None:
        raise ValueError("--simulate needs --d (input dimension, e.g. --d 300)")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1; got {args.workers}")
    units = sweep_units(
        grid_axes(args),
        theory=args.theory,
        simulate=args.simulate,
        d=_dimensions(args.d),
        seeds=args.seeds,
        n_test=args.n_test,
        variants=parse_names("variant", args.variant).values,
    )
    report = run_sweep(
        args.out,
        units,
        workers=args.workers or default_workers(),
        scheduler=args.scheduler,
        retry_failed=args.retry_failed,
        progress=False if args.quiet else None,
        csv=args.csv,
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"{report.requested} rows: {report.computed} computed, {report.skipped} already "
            f"stored, {len(report.failures)} failed; {report.seconds:.1f} s -> {report.out}"
        )
    if report.failures:
        print(f"advrf sweep: {len(report.failures)} failed row(s):", file=sys.stderr)
        for failure in report.failures[:MAX_LISTED_FAILURES]:
            point = ", ".join(
                f"{k}={v}" for k, v in failure.items() if k != "error" and v is not None
            )
            print(f"  {point}: {failure['error']}", file=sys.stderr)
        if len(report.failures) > MAX_LISTED_FAILURES:
            more = len(report.failures) - MAX_LISTED_FAILURES
            print(f"  ... and {more} more (status/error columns of the table)", file=sys.stderr)
        return 1
    return 0
