"""`advrf reproduce NAME`: the project's headline experiments (a registry, one module each)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING, fields

from advrf.cli.options import add_execution_arguments, runner_from


def register(subparsers: argparse._SubParsersAction) -> None:
    from advrf.experiments import reproductions

    parser = subparsers.add_parser(
        "reproduce",
        help="reproduce a headline result (advrf reproduce --list)",
        description="Reproduce a headline result: figures, tables (Parquet, CSV) and "
        "summary.txt / summary.json under --out. Resumable: a rerun computes only what is "
        "missing. Failed rows are listed in summary.txt and on stderr; they do not change the "
        "exit status (0) as long as the figures are made. `advrf reproduce NAME --help`: the "
        "options of one reproduction.",
    )
    parser.add_argument("--list", action="store_true", help="list the reproductions and exit")
    names = parser.add_subparsers(dest="name", metavar="NAME")
    for name in reproductions.NAMES:
        module = reproductions.load(name)
        sub = names.add_parser(
            name,
            help=module.SUMMARY,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--out", required=True, help=f"output directory (e.g. results/{name}); not a store"
        )
        add_execution_arguments(sub)
        sub.add_argument("--json", action="store_true", help="print summary.json on stdout")
        smaller = sub.add_argument_group("smaller runs (defaults: the full reproduction)")
        for f in fields(module.Settings):
            if "help" in f.metadata and f.default is not MISSING:
                smaller.add_argument(
                    "--" + f.name.replace("_", "-"),
                    dest=f"setting_{f.name}",
                    metavar=f.name.upper(),
                    type=type(f.default),
                    default=f.default,
                    help=f"{f.metadata['help']} (default {f.default})",
                )
    parser.set_defaults(run=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    from advrf.experiments import reproductions

    if args.list:
        for name, summary in reproductions.available():
            print(f"{name}: {summary}")
        return 0
    if args.name is None:
        raise ValueError("choose a reproduction: advrf reproduce NAME (advrf reproduce --list)")
    module = reproductions.load(args.name)
    given = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_")
    }
    settings = module.Settings(**given)
    result = reproductions.reproduce(
        args.name, args.out, settings=settings, runner=runner_from(args)
    )
    if args.json:
        print(json.dumps(result.summary))
    else:
        print(result.text, end="")
    for warning in result.warnings:
        print(f"advrf reproduce: warning: {warning}", file=sys.stderr)
    return 0
