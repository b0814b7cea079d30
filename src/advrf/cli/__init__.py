"""The `advrf` command line: one subcommand per task, JSON out with --json.

`main` owns what every command shares: BLAS on one thread (advrf.threads), and the exit status
(EPILOG): an error never ends in a traceback unless one is asked for.
"""

from __future__ import annotations

import argparse
import linecache
import os
import re
import sys
import traceback
from pathlib import Path

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

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a SIGPIPE: `advrf ... | head`

EPILOG = """\
exit status:
  0    done: every point computed
  1    some points failed (each is listed with its parameters and why)
  2    bad input: an option, a parameter or an activation that advrf refuses, or a file or
       directory it cannot use (the message names it)
  3    internal error: a bug in advrf; run again with --traceback (or ADVRF_TRACEBACK=1) to see
       the traceback, and report it
  130  interrupted (Ctrl-C); rows already stored by a sweep are kept

--activation also takes package.module:NAME, an Activation that an importable module defines at
top level (NAME = advrf.custom("name", sigma, derivative, kinks=[...])).
"""

TRACEBACK_HELP = "print the traceback of an error (also: environment variable ADVRF_TRACEBACK=1)"
_PACKAGE = Path(__file__).resolve().parent.parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advrf",
        description="Exact theory and simulations of adversarially trained random-features "
        "regression. Run `advrf COMMAND --help` for the options of each command.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"advrf {__version__}")
    parser.add_argument("--traceback", action="store_true", help=TRACEBACK_HELP)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from importlib import import_module

    for module in SUBCOMMANDS:
        import_module(f"advrf.cli.{module}").register(subparsers)
    for command in subparsers.choices.values():
        # SUPPRESS: an absent flag after the command keeps one given before it.
        command.add_argument(
            "--traceback", action="store_true", default=argparse.SUPPRESS, help=TRACEBACK_HELP
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit status follows EPILOG."""
    prefix = "advrf"
    wants_traceback = os.environ.get("ADVRF_TRACEBACK", "").strip() not in ("", "0")
    try:
        parser = build_parser()
        argv = _attach_dash_values(parser, sys.argv[1:] if argv is None else list(argv))
        args = parser.parse_args(argv)  # --help and --version exit here, before BLAS
        from advrf.threads import pin_blas

        pin_blas()
        prefix = f"advrf {args.command}"
        wants_traceback = wants_traceback or args.traceback
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"\n{prefix}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if wants_traceback:
            traceback.print_exc(file=sys.stderr)
        status, text = _classify(error, wants_traceback)
        print(f"{prefix}: {text}", file=sys.stderr)
        return status


def _attach_dash_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`--opt VALUE` as `--opt=VALUE` when VALUE starts with '-' and is no option of advrf.

    argparse takes such a VALUE ('-1e-3', '-inf', '-1,2') for an unknown option and answers
    "--opt: expected one argument" with the whole usage; attached, it reaches the option's own
    check, whose message names the parameter and what it accepts.
    """
    takes_value, known = set(), set()
    parsers = [parser]
    while parsers:
        for action in parsers.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
                continue
            known.update(action.option_strings)
            if action.nargs is None and action.option_strings:
                takes_value.update(s for s in action.option_strings if s.startswith("--"))
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if token in takes_value and nxt and nxt[0] == "-" and nxt != "--" and nxt not in known:
            out.append(f"{token}={nxt}")
            i += 2
        else:
            out.append(token)
            i += 1
    return out


def _classify(error: Exception, shown: bool) -> tuple[int, str]:
    """(exit status, message) for an error that reached `main`."""
    if _is_point_failure(error):
        return EXIT_FAILED, f"failed: {error}"
    if isinstance(error, ValueError) and _raised_by_advrf(error):
        return EXIT_BAD_INPUT, f"error: {error}"
    if isinstance(error, OSError):
        return EXIT_BAD_INPUT, f"error: {error}"
    if isinstance(error, MemoryError):
        return EXIT_BAD_INPUT, "error: out of memory; ask for a smaller grid, d or n_test"
    hint = "" if shown else " (run again with --traceback to see where)"
    return EXIT_INTERNAL, (
        f"internal error: {type(error).__name__}: {error}{hint}; this is a bug in advrf, please "
        "report it with the command"
    )


def _is_point_failure(error: Exception) -> bool:
    """The theory or the training did not converge at a point (the error names the point)."""
    from advrf.theory import TheoryError

    failures: tuple[type[Exception], ...] = (TheoryError,)
    if "advrf.simulation" in sys.modules:  # a TrainingError exists only once it is imported
        from advrf.simulation import TrainingError

        failures += (TrainingError,)
    return isinstance(error, failures)


def _raised_by_advrf(error: BaseException) -> bool:
    """Whether a `raise` statement of advrf raised `error` (a check that names what it refuses),
    rather than a library (numpy's LinAlgError, scipy's "array must not contain infs or NaNs") or
    a builtin inside advrf's code (math.sqrt's "math domain error")."""
    remote = getattr(error.__cause__, "tb", None)  # raised in a worker process
    if isinstance(remote, str):
        frames = re.findall(r'File "(.+?)", line \d+, in .*\n(.*)', remote)
        if not frames:
            return False
        filename, line = frames[-1]
    else:
        tb = error.__traceback__
        if tb is None:
            return False
        while tb.tb_next is not None:
            tb = tb.tb_next
        filename = tb.tb_frame.f_code.co_filename
        line = linecache.getline(filename, tb.tb_lineno)
    return Path(filename).resolve().is_relative_to(_PACKAGE) and line.lstrip().startswith("raise")


def _silence_stdout() -> None:
    """The reader of stdout went away: send the rest to /dev/null so that exit does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
