"""The `advrf` command line: one subcommand per task, JSON out with --json."""

from __future__ import annotations

import argparse
import sys

from advrf import __version__

# Modules of advrf.cli, each with `register(subparsers)`.
SUBCOMMANDS: list[str] = [
    "theory",
    "simulate",
    "sweep",
    "figure",
    "reproduce",
    "explore",
    "optimize",
    "front",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advrf",
        description="Exact theory and simulations of adversarially trained random-features "
        "regression. Run `advrf COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"advrf {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from importlib import import_module

    for module in SUBCOMMANDS:
        import_module(f"advrf.cli.{module}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ValueError as error:
        print(f"advrf {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
