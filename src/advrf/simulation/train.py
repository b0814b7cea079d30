"""Exact adversarial training of random-features regression (conventions 2), first-order inner max.

With the inner maximum in closed form (conventions 3.1), training solves the convex program

    min_a  (1/n) sum_i ( |y_i - phi_i^T a| + eps * s_i(a) )^2  +  c ||a||^2,    c = psi1 * lam,

in two variants:
- "concentrated" (b): s_i(a) = sqrt(a^T M a), M = mu1^2 Theta Theta^T / d + nu^2 I,
  solved in `advrf.simulation.train_concentrated`;
- "exact" (a): s_i(a) = ||grad_x f_a(x_i)|| = ||Theta^T diag(sigma'(Theta x_i / sqrt d)) a||
  / sqrt d, solved in `advrf.simulation.train_exact`.

Both are certified by the relative duality gap of their cone forms (`advrf.simulation.certificate`).
The solver's tolerances and caps are an `advrf.settings.SolverSettings`.
"""

from __future__ import annotations

from advrf.settings import VARIANTS, SolverSettings, check_choice
from advrf.simulation._linalg import m_operator
from advrf.simulation.result import NewtonState, TrainingError, TrainingResult
from advrf.simulation.train_concentrated import critical_eps, solve_concentrated
from advrf.simulation.train_exact import solve_exact, solve_sample_norms

__all__ = [
    "VARIANTS",
    "NewtonState",
    "TrainingError",
    "TrainingResult",
    "critical_eps",
    "solve_concentrated",
    "solve_exact",
    "solve_sample_norms",
    "train",
]


def train(
    instance,
    variant: str = "concentrated",
    *,
    eps: float | None = None,
    lam: float | None = None,
    raise_on_failure: bool = True,
    solver: SolverSettings | None = None,
) -> TrainingResult:
    """Adversarially train a on an `Instance` (eps, lam default to its problem's; c = psi1 lam).

    Raises `TrainingError` (naming the parameters and the final gap) when the solver does not
    certify its optimum, unless raise_on_failure=False (then converged=False is returned).
    """
    return _train(
        instance, check_choice("variant", variant, VARIANTS), eps, lam, raise_on_failure, solver
    )


def _train(instance, variant, eps, lam, raise_on_failure, solver) -> TrainingResult:
    """`train` with a variant already validated (by `train` or `SimulationSettings`)."""
    solver = SolverSettings() if solver is None else solver
    problem = instance.problem
    eps = problem.eps if eps is None else float(eps)
    lam = problem.lam if lam is None else float(lam)
    mom = problem.moments
    c = problem.psi1 * lam
    try:
        mop = m_operator(instance.theta, mom.mu1, mom.nu2, instance.n)
        if variant == "concentrated":
            result = solve_concentrated(instance.phi, instance.y, mop, eps=eps, c=c, solver=solver)
        else:
            sprime = instance.feature_derivatives(instance.x)
            result = solve_exact(
                instance.phi, instance.y, instance.theta, sprime, mop, eps=eps, c=c, solver=solver
            )
    except (ValueError, ArithmeticError) as error:  # LinAlgError, NaN in LAPACK, overflow
        raise TrainingError(
            f"training failed: {describe_point(instance, variant, eps, lam)}: "
            f"{type(error).__name__}: {error}"
        ) from error
    if raise_on_failure and not result.converged:
        raise TrainingError(
            f"training did not converge: {describe_point(instance, variant, eps, lam)}, "
            f"phase={result.phase}, iterations={result.iterations}, relative duality "
            f"gap={result.residual:.3g} (tolerance {solver.gap_tol:g}): {result.message}"
        )
    return result


def describe_point(instance, variant: str, eps: float, lam: float) -> str:
    """The parameters that identify a training run, for messages (numbers in full precision)."""
    p = instance.problem
    return (
        f"variant={variant}, eps={float(eps)!r}, lam={float(lam)!r}, psi1={p.psi1!r}, "
        f"psi2={p.psi2!r}, noise={p.noise!r}, signal={p.signal!r}, d={instance.d}, "
        f"seed={instance.seed}, activation={p.activation.name}"
    )
