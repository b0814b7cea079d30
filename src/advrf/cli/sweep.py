"""`advrf sweep`: theory and/or simulations over a product of parameter grids, stored by row."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

from advrf.cli.options import GRID_HELP, add_execution_arguments, add_grid_arguments, grid_axes
from advrf.grid import Axis, parse_names, parse_values
from advrf.settings import ATTACKS, INPUTS, VARIANTS, SimulationSettings

MAX_LISTED_FAILURES = 20
# SimulationSettings fields that are not a comma list of values of this command
_NOT_OPTIONS = ("d", "seeds")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
# what the known options mean (an option added to SimulationSettings later is an axis too)
_MEANING = {
    "n_test": "test samples per seed",
    "variant": f"training variant ({', '.join(VARIANTS)})",
    "attack": f"test attack ({', '.join(ATTACKS)})",
    "inputs": f"input distribution ({', '.join(INPUTS)})",
    "population": "true/false: also the test-set-free errors (Gaussian inputs only)",
}

EPILOG = """\
Every point (and seed, and method) is one row of the results directory --out, written atomically
as it finishes; running the same command again computes only what is missing, and a grid with new
values computes only the new points. Read the table with advrf.experiments.read_results(DIR) or
--csv (DIR/results.csv). A point that fails (no convergence, or any error while computing it) is
stored as a row with status "failed" and its message; it is listed at the end, the exit status is
then 1, and --retry-failed computes it again on the next run.

Simulation options (every field of advrf.settings.SimulationSettings) are grid axes like the
parameters: --variant exact,concentrated --attack first-order,pgd --population true,false.

example:
  advrf sweep --psi1 log:0.1:100:61 --psi2 2 --eps 0.1,0.2,0.5 --noise 0,0.5 --theory \\
      --simulate --d 300 --seeds 3 --out results/my-sweep --workers 2
"""


def _options() -> list:
    """The SimulationSettings fields taken as comma lists (all but d and seeds)."""
    return [f for f in fields(SimulationSettings) if f.name not in _NOT_OPTIONS]


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
    options = parser.add_argument_group(
        "simulation options (advrf.settings.SimulationSettings; each one a comma list, a grid)"
    )
    for f in _options():
        default = "none" if f.default is None else str(f.default).lower()
        options.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f"option_{f.name}",
            default=None,
            metavar=f.name.upper(),
            help=f"{_MEANING.get(f.name, f.name)}, a comma list (default {default})",
        )
    run = parser.add_argument_group("storage and execution")
    run.add_argument("--out", required=True, help="results directory (created if needed)")
    run.add_argument("--csv", action="store_true", help="also write OUT/results.csv")
    add_execution_arguments(run)
    run.add_argument("--retry-failed", action="store_true", help="compute failed rows again")
    run.add_argument(
        "--other-versions",
        choices=("keep", "recompute"),
        default="keep",
        help="rows stored by another advrf version: reuse them (keep, the default; the run says "
        "how many) or compute them again (recompute)",
    )
    run.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    parser.set_defaults(run=run_sweep_command)


def _option_value(name: str, text: str, default: object) -> object:
    """One value of a simulation option, typed like its default (bool, int, str)."""
    if isinstance(default, bool):
        if text.lower() not in _BOOLEANS:
            raise ValueError(f"--{name.replace('_', '-')}: {text!r} is not true or false")
        return _BOOLEANS[text.lower()]
    if default is None or isinstance(default, int):
        if text.lower() == "none":
            return None
        value = parse_values(name, text).values[0]
        return int(value) if value == int(value) else value
    return text


def option_axes(args: argparse.Namespace) -> list[Axis]:
    """The simulation options given on the command line, as grid axes (d first)."""
    axes = []
    if args.d is not None:
        axes.append(Axis("d", parse_values("d", args.d).values))
    for f in _options():
        text = getattr(args, f"option_{f.name}")
        if text is not None:
            values = parse_names(f.name, text).values
            axes.append(Axis(f.name, tuple(_option_value(f.name, v, f.default) for v in values)))
    return axes


def run_sweep_command(args: argparse.Namespace) -> int:
    from advrf.cli.options import runner_from
    from advrf.experiments.sweep import run_sweep, sweep_units

    if not (args.theory or args.simulate):
        raise ValueError("choose --theory and/or --simulate")
    if args.simulate and args.d is None:
        raise ValueError("--simulate needs --d (input dimension, e.g. --d 300)")
    options = option_axes(args) if args.simulate else []  # without --simulate: unused
    runner = runner_from(args)
    units = sweep_units(
        grid_axes(args) + options,
        theory=args.theory,
        simulate=args.simulate,
        seeds=args.seeds,
    )
    report = run_sweep(
        args.out,
        units,
        workers=runner.workers,
        scheduler=runner.scheduler,
        retry_failed=args.retry_failed,
        progress=runner.progress,
        csv=args.csv,
        other_versions=args.other_versions,
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(
            f"{report.requested} rows: {report.computed} computed, {report.skipped} already "
            f"stored, {len(report.failures)} failed; {report.seconds:.1f} s -> {report.out}"
        )
        if report.versions_message:
            hint = "" if args.other_versions == "recompute" else " (--other-versions recompute)"
            print(f"advrf sweep: {report.versions_message}{hint}", file=sys.stderr)
        if report.elsewhere:
            print(
                f"{report.elsewhere} rows were being computed by another process (its claim in "
                "the store): run the command again once it has finished to see them",
                file=sys.stderr,
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
