"""Exact asymptotic theory of adversarially trained random-features regression.

The theory sees an activation only through its Gaussian moments (mu1, mu_star^2, nu^2) and the
random first layer only through Marchenko-Pastur transforms (`spectrum`). `equations` holds the
three scalar equations in (gam, Q, s); `solve` finds and certifies their solution (`solve_curve`
along a sequence with warm starts); `batch.solve_batch` solves many points together, vectorised
in numpy, and `table.solve_grid` returns a grid of them as a DataFrame; `reference` is an
independent transcription of the published special case. Derivation: docs/theory.md.
"""

from advrf.theory.batch import solve_batch
from advrf.theory.solve import (
    TheoryError,
    TheoryResult,
    interpolator_limit,
    solve,
    solve_curve,
)
from advrf.theory.table import solve_grid

__all__ = [
    "TheoryError",
    "TheoryResult",
    "interpolator_limit",
    "solve",
    "solve_batch",
    "solve_curve",
    "solve_grid",
]
