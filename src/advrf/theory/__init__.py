"""Exact asymptotic theory of adversarially trained random-features regression.

The theory sees an activation only through its Gaussian moments (mu1, mu_star^2, nu^2) and the
random first layer only through Marchenko-Pastur transforms (`spectrum`). `equations` holds the
three scalar equations in (gam, Q, s); `solve` finds and certifies their solution; `reference`
is an independent transcription of the published special case. Derivation: docs/theory.md.
"""

from advrf.theory.solve import (
    TheoryError,
    TheoryResult,
    interpolator_limit,
    solve,
    solve_curve,
)

__all__ = ["TheoryError", "TheoryResult", "interpolator_limit", "solve", "solve_curve"]
