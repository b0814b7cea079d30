"""`advrf simulate`: finite-size adversarial training at one parameter point, seed-averaged."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from advrf.settings import ATTACKS, INPUTS, VARIANTS

# As simulate_seed; meets the d = 800 one-minute target (timings: docs/simulation.md).
DEFAULT_VARIANT = "exact"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="train random features adversarially at finite d and measure the test errors",
        description="Draw instances (Theta, beta, training and test data) for each seed, solve the "
        "first-order adversarial training program exactly (certified by a duality gap) and report "
        "seed means and standard errors of the robust and standard test errors and of the order "
        "parameters ||a||^2, ||w||^2, <beta, w>, a^T M a.",
    )
    parser.add_argument("--activation", default="relu_shifted", help="default: relu_shifted")
    parser.add_argument("--psi1", type=float, required=True, help="width ratio N/d")
    parser.add_argument("--psi2", type=float, required=True, help="sample ratio n/d")
    parser.add_argument("--eps", type=float, required=True, help="training attack radius")
    parser.add_argument("--eps-test", type=float, default=None, help="test radius (default eps)")
    parser.add_argument("--lam", type=float, default=0.0, help="ridge strength (default 0)")
    parser.add_argument("--signal", type=float, default=1.0, help="||beta|| = F1 (default 1)")
    parser.add_argument("--noise", type=float, default=0.0, help="noise std tau (default 0)")
    parser.add_argument("--d", type=int, required=True, help="input dimension")
    parser.add_argument(
        "--seeds",
        default="3",
        help="a count k (seeds 0..k-1) or a comma-separated list of seeds (default 3)",
    )
    parser.add_argument(
        "--n-test", type=int, default=None, help="test samples (default max(2000, 2n))"
    )
    parser.add_argument(
        "--variant",
        choices=VARIANTS,
        default=DEFAULT_VARIANT,
        help="gradient norm in training: per-sample exact, or concentrated sqrt(a^T M a) "
        f"(default {DEFAULT_VARIANT})",
    )
    parser.add_argument(
        "--attack",
        choices=ATTACKS,
        default="first-order",
        help="also measure the robust error under PGD on the nonlinear model (default: "
        "first-order attack only)",
    )
    parser.add_argument("--inputs", choices=INPUTS, default="gaussian")
    parser.add_argument(
        "--population",
        action="store_true",
        help="also report standard_error_exact (E_std of each trained model over the input "
        "distribution, no test set) and robust_error_cv (E_rob with it as control variate); "
        "Gaussian inputs only",
    )
    parser.add_argument(
        "--max-memory",
        default=None,
        help="refuse a run whose predicted peak memory (advrf.simulation.memory) exceeds this "
        "size, e.g. 4GB, 500MB, 2GiB (default: the memory the machine has available)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads of this run (default 1: the same numbers bit for bit on every "
        "machine and for every worker count; N > 1 uses N cores for one large run, whose "
        "numbers then differ at rounding level, about 1e-15)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def parse_seeds(text: str) -> int | list[int]:
    """'3' -> 3 (a count); '0,4,7' -> [0, 4, 7]."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ValueError(
            f"--seeds must be a count or a comma-separated list; got {text!r}"
        ) from None
    if len(values) == 1 and "," not in str(text):
        return values[0]
    return values


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run(args: argparse.Namespace) -> int:
    from advrf.problem import Problem
    from advrf.settings import SimulationSettings
    from advrf.simulation import simulate
    from advrf.simulation.instance import default_n_test, sizes
    from advrf.threads import blas_threads

    problem = Problem(
        psi1=args.psi1,
        psi2=args.psi2,
        eps=args.eps,
        eps_test=args.eps_test,
        lam=args.lam,
        signal=args.signal,
        noise=args.noise,
        activation=args.activation,
    )
    settings = SimulationSettings(
        d=args.d,
        seeds=parse_seeds(args.seeds),
        n_test=args.n_test,
        variant=args.variant,
        attack=args.attack,
        inputs=args.inputs,
        population=args.population,
    )
    if args.blas_threads < 1:
        raise ValueError(f"--blas-threads must be an integer >= 1; got {args.blas_threads}")
    limit = "available" if args.max_memory is None else args.max_memory
    start = time.perf_counter()
    with blas_threads(args.blas_threads):
        summary = simulate(problem, settings=settings, progress=True, max_memory=limit)
    seconds = time.perf_counter() - start
    n_test = args.n_test
    if n_test is None:
        n_test = default_n_test(sizes(problem, args.d)[1]) if args.d >= 1 else None
    out = {**problem.to_dict(), "inputs": args.inputs, "n_test": n_test}
    out.update(summary.to_dict())
    out["seconds"] = seconds
    out = {k: _clean(v) for k, v in out.items()}
    if args.json:
        print(json.dumps(out))
        return 0
    _print_table(out, summary)
    return 0


def _print_table(out: dict[str, Any], summary) -> None:
    inputs = ", ".join(
        f"{k}={out[k]}"
        for k in ("activation", "psi1", "psi2", "eps", "eps_test", "lam", "signal", "noise", "d")
    )
    lines = [
        f"advrf simulate: {inputs}",
        f"variant={out['variant']}, attack={out['attack']}, seeds={out['seeds']}, "
        f"converged={out['converged']}, largest |gap|={out['residual']:.2g}, "
        f"{out['seconds']:.1f} s",
        f"{'quantity':<26}{'mean':>14}{'sem':>14}",
    ]
    for name in summary.metrics:
        sem = out.get(f"{name}_sem")
        sem_text = "n/a" if sem is None else f"{sem:.6g}"
        lines.append(f"{name:<26}{out[name]:>14.6g}{sem_text:>14}")
    sys.stdout.write("\n".join(lines) + "\n")
