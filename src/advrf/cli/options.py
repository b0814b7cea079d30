"""Options shared by the commands that take a parameter grid (`advrf theory`, `advrf sweep`)."""

from __future__ import annotations

import argparse

from advrf.grid import Axis, parse_names, parse_values

GRID_HELP = "a number, a list 0.5,1,2, lin:START:STOP:COUNT or log:START:STOP:COUNT"

# option -> (default text or None when required, help); the grid order of the points.
GRID_OPTIONS: dict[str, tuple[str | None, str]] = {
    "psi1": (None, "width ratio N/d"),
    "psi2": (None, "sample ratio n/d"),
    "eps": (None, "training attack radius"),
    "eps_test": (None, "test attack radius (default: eps)"),
    "lam": ("0", "ridge strength, penalty psi1 lam ||a||^2 (default 0)"),
    "signal": ("1", "signal norm F1 = ||beta|| (default 1)"),
    "noise": ("0", "noise standard deviation tau (default 0)"),
}


def add_grid_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--activation (comma list) and every numeric parameter of Problem, each one a grid."""
    parser.add_argument(
        "--activation",
        default="relu_shifted",
        help="activation name(s), comma separated (default relu_shifted)",
    )
    for name, (default, text) in GRID_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=default,
            required=default is None and name != "eps_test",
            help=text,
        )


def grid_axes(args: argparse.Namespace) -> list[Axis]:
    """The axes of the grid in the order activation, psi1, psi2, eps, eps_test, lam, signal,
    noise (the last varies fastest); without --eps-test, eps_test follows eps."""
    axes = [parse_names("activation", args.activation)]
    for name in GRID_OPTIONS:
        text = getattr(args, name)
        if text is not None:
            axes.append(parse_values(name, text))
    return axes


WORKERS_MESSAGE = "--workers must be >= 1; use --workers N (N local processes; default: all cores)"


def workers_count(text: str) -> int:
    """The argparse type of --workers: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{WORKERS_MESSAGE}; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{WORKERS_MESSAGE}; got {value}")
    return value


def add_execution_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--workers, --scheduler, --quiet: how the jobs of a command are run (advrf.experiments
    .runner.Runner)."""
    parser.add_argument(
        "--workers",
        type=workers_count,
        default=None,
        help="local worker processes, an integer >= 1 (default: all cores available; 1: this "
        "process)",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        help="address of a Dask scheduler to use instead, e.g. tcp://127.0.0.1:8786",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (default: a bar on a terminal, a line every few seconds in a log)",
    )


def runner_from(args: argparse.Namespace):
    """The Runner of add_execution_arguments' options."""
    from advrf.experiments.parallel import default_workers
    from advrf.experiments.runner import Runner

    return Runner(
        workers=args.workers or default_workers(),
        scheduler=args.scheduler,
        progress=False if args.quiet else None,
    )
