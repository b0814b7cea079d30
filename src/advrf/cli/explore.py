"""`advrf explore`: the exact theory in a local web page whose curves follow its controls."""

from __future__ import annotations

import argparse

EPILOG = """\
The page shows E_rob and E_std of the theory along one parameter (the x-axis, any parameter, on a
log or linear axis), with every other parameter on a control; curves can be pinned for
comparison. With --results DIR, the simulations stored there (advrf sweep --simulate --out DIR)
whose parameters match the view are drawn as seed means with one standard error. The address
bar holds the view (a link reproduces it); the page exports CSV, PNG and the equivalent
`advrf theory` / `advrf sweep` command. Two toggles add the answers of `advrf optimize` and
`advrf front`: "best recipe" draws the errors of the (eps, lam) that minimise E_rob at eps_test
along x (on a coarse grid, "best recipe points": 0.07-0.17 s a point), "front" a plot of the
robustness-accuracy fronts at the x value in the x parameter's own box (0.3-0.5 s), both computed
in a worker process while the curve follows the controls. Needs the extra: pip install
'advrf[explore]'.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="a local web page that redraws the theory as its controls move",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=5006, help="local port (default 5006)")
    parser.add_argument(
        "--results", default=None, metavar="DIR", help="a results directory of advrf sweep"
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a browser, only serve"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from advrf.explore import serve
    except ImportError as error:
        raise ValueError(
            f"advrf explore needs Bokeh ({error}): pip install 'advrf[explore]'"
        ) from None
    serve(port=args.port, results=args.results, open_browser=not args.no_browser)
    return 0
