"""`advrf reproduce NAME`: the project's headline experiments, figures, tables and summary."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="reproduce a headline result (overparam: the curse of overparametrization)",
        description="overparam: robust and standard error of adversarially trained random "
        "features against psi1 = N/d in the paper's setting (relu_shifted, lam = 0, psi2 = 2, "
        "signal 1, noise 0 and 0.5, eps 0.1, 0.2, 0.5 beside standard training eps = 0): theory "
        "lines, simulations with error bars, the ridge that minimises robust error; figures, "
        "tables (Parquet, CSV) and summary.txt / summary.json under --out. Resumable: a rerun "
        "computes only what is missing. Failed rows are listed in summary.txt and on stderr; "
        "they do not change the exit status (0) as long as the figures are made.",
    )
    parser.add_argument("name", choices=["overparam"], help="which reproduction")
    parser.add_argument("--out", required=True, help="output directory (e.g. results/overparam)")
    parser.add_argument(
        "--workers", type=int, default=None, help="local processes (default: cores)"
    )
    parser.add_argument("--scheduler", default=None, help="address of a Dask scheduler to use")
    quick = parser.add_argument_group("smaller runs (defaults: the full reproduction)")
    quick.add_argument("--theory-points", type=int, default=None)
    quick.add_argument("--ridge-points", type=int, default=None)
    quick.add_argument("--d", type=int, default=None, help="dimension of the simulations")
    quick.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print summary.json on stdout")
    parser.set_defaults(run=run_reproduce)


def run_reproduce(args: argparse.Namespace) -> int:
    from advrf.experiments.parallel import default_workers
    from advrf.experiments.reproduce import Settings, reproduce_overparam

    given = {
        name: getattr(args, name)
        for name in ("theory_points", "ridge_points", "d", "seeds")
        if getattr(args, name) is not None
    }
    for name, value in given.items():
        if value < (3 if name.endswith("points") else 1):
            raise ValueError(f"--{name.replace('_', '-')} is too small: {value}")
    settings = Settings(**given)
    summary = reproduce_overparam(
        args.out,
        settings=settings,
        workers=args.workers or default_workers(),
        scheduler=args.scheduler,
        progress=False if args.quiet else None,
    )
    if args.json:
        print(json.dumps(summary))
    else:
        with open(f"{args.out}/summary.txt") as handle:
            print(handle.read(), end="")
    failed, ridge = summary["sweep"]["failed"], summary["ridge_failures"]
    if failed or ridge:
        print(
            f"advrf reproduce: warning: {failed} row(s) failed (listed in summary.txt), "
            f"{ridge} theory evaluation(s) of the ridge search failed; the figures leave them out",
            file=sys.stderr,
        )
    return 0
