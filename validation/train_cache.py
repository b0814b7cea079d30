"""Trained weights of the simulator, cached on disk, for validation runs that evaluate them later.

Training (exact variant) is the expensive step of a theory-versus-simulation run; evaluating a
trained a (test set, attack, population errors) is cheap. `trained(problem, d, seed, cache)`
returns the trained a of the instance (problem, d, seed), training it at most once: the weights
and the training certificate are written atomically to `cache/<key>.npz`, so several processes
can fill one cache and a killed run loses at most the instance it was training.

Run as a script, it trains a grid ahead of time (the grid syntax of `advrf theory`), the largest
d first and the points with psi1 = psi2 last:

    PYTHONPATH=src OPENBLAS_NUM_THREADS=1 python validation/train_cache.py \\
        --cache results/weights --activation relu_shifted,relu --d 1000 --seeds 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from advrf.grid import parse_names, parse_values, points
from advrf.problem import Problem
from advrf.simulation import Instance, train

VARIANT = "exact"
GRID = {
    "activation": "relu_shifted,relu,tanh,erf",
    "eps": "0.1,0.25,0.5,1",
    "psi1": "0.5,2,5",
    "psi2": "1,2",
    "lam": "0,0.01,0.1",
    "d": "1000,500,250",
}


def cache_key(problem: Problem, d: int, seed: int) -> str:
    return (
        f"{problem.activation.name}_psi1={problem.psi1:.12g}_psi2={problem.psi2:.12g}"
        f"_eps={problem.eps:.12g}_lam={problem.lam:.12g}_signal={problem.signal:.12g}"
        f"_noise={problem.noise:.12g}_d={d}_seed={seed}_{VARIANT}"
    )


def trained(problem: Problem, d: int, seed: int, cache: Path) -> tuple[np.ndarray, dict]:
    """(a, info) for the instance (problem, d, seed), from the cache or trained and cached."""
    path = cache / f"{cache_key(problem, d, seed)}.npz"
    if path.exists():
        with np.load(path) as stored:
            return stored["a"], {k: float(stored[k]) for k in stored.files if k != "a"}
    instance = Instance.draw(problem, d, seed)
    start = time.perf_counter()
    result = train(instance, VARIANT)  # raises TrainingError unless certified
    info = {
        "objective": result.objective,
        "iterations": float(result.iterations),
        "residual": result.residual,
        "seconds": time.perf_counter() - start,
    }
    cache.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=cache, suffix=".tmp.npz")
    os.close(handle)
    np.savez(tmp, a=result.a, **info)
    os.replace(tmp, path)
    return result.a, info


def grid_parser(description: str) -> argparse.ArgumentParser:
    """The options shared by the validation runs: the grid (syntax of `advrf theory`), the
    seeds and the cache."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, default in GRID.items():
        parser.add_argument(f"--{name}", default=default)
    parser.add_argument("--signal", default="1")
    parser.add_argument("--noise", default="0")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds per point")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("results/weights"))
    return parser


def grid_points(args: argparse.Namespace) -> list[dict]:
    """The grid of a grid_parser's arguments, one dict per point (d included), in grid order."""
    axes = [parse_names("activation", args.activation)] + [
        parse_values(name, getattr(args, name))
        for name in ("psi1", "psi2", "eps", "lam", "signal", "noise", "d")
    ]
    return list(points(axes))


def main(argv: list[str] | None = None) -> int:
    args = grid_parser(__doc__.splitlines()[0]).parse_args(argv)
    todo = sorted(
        grid_points(args), key=lambda p: (p["psi1"] == p["psi2"], -p["d"], -p["psi1"] * p["psi2"])
    )
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for k, point in enumerate(todo):
        d = int(point.pop("d"))
        problem = Problem(**point)
        for seed in seeds:
            _, info = trained(problem, d, seed, args.cache)
        print(
            f"[{k + 1}/{len(todo)}] {problem.activation.name} psi1={problem.psi1:g} "
            f"psi2={problem.psi2:g} eps={problem.eps:g} lam={problem.lam:g} d={d}: "
            f"last seed {info['seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
