"""The one cvxpy + Clarabel formulation of the training programs: the independent reference that
tests, validation and benchmarks compare the solver against (cvxpy is imported on first use; it is
in the `dev` extra, not a dependency of advrf).

    concentrated:  min_a (1/n) sum_i (|y_i - phi_i^T a| + eps ||L^T a||)^2 + c ||a||^2,  M = L L^T
    exact:         min_a (1/n) sum_i (|y_i - phi_i^T a| + eps ||Theta^T (sigma'_i * a)|| / sqrt d)^2
                   + c ||a||^2

in epigraph form t_i >= |y_i - phi_i^T a| + eps s_i(a), objective multiplied by n (better scaled
for Clarabel). Clarabel stops at its default gap tolerances (1e-8 absolute and relative on that
scaled objective); tighter ones make it stop "optimal_inaccurate" on these problems (measured at
1e-9 to 1e-11). `objective_*` evaluate the programs at a given a with numpy, independently of the
solver, so that a solution can be judged by its value rather than by a solver's report.
"""

from __future__ import annotations

import numpy as np

from advrf.problem import Problem

# Only the public simulation API, so that this module also judges older versions of advrf
# (validation/fuzz_training.py --before).
from advrf.simulation import Instance, TrainingError, critical_eps, train

MAX_ITER = 400


def _solve(phi, y, a, bound, c) -> tuple[float, np.ndarray]:
    import cvxpy as cp

    n = len(y)
    t = cp.Variable(n)
    objective = cp.sum_squares(t) + (n * c * cp.sum_squares(a) if c > 0 else 0)
    problem = cp.Problem(cp.Minimize(objective), [t >= cp.abs(y - phi @ a) + bound])
    problem.solve(solver=cp.CLARABEL, max_iter=MAX_ITER)
    # "optimal_inaccurate" (Clarabel's reduced-accuracy stop) is accepted: callers compare the
    # objective at a (objective_*) at their own tolerance.
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy reference: status {problem.status}")
    return float(problem.value) / n, np.asarray(a.value, dtype=float)


def concentrated(phi, y, m, eps, c) -> tuple[float, np.ndarray]:
    """(optimal value, a) of the concentrated program with the dense M = m."""
    import cvxpy as cp

    a = cp.Variable(phi.shape[1])
    return _solve(phi, y, a, eps * cp.norm(np.linalg.cholesky(m).T @ a), c)


def exact(phi, y, theta, sprime, eps, c) -> tuple[float, np.ndarray]:
    """(optimal value, a) of the exact program (sprime: sigma'(Theta x_i / sqrt d), n x N)."""
    import cvxpy as cp

    n, big_n = phi.shape
    d = theta.shape[1]
    # rows i*d .. i*d + d - 1 of the stacked map: B_i = Theta^T diag(sigma'_i) / sqrt d
    stacked = (sprime[:, None, :] * theta.T[None, :, :]).reshape(n * d, big_n) / np.sqrt(d)
    a = cp.Variable(big_n)
    rows = cp.reshape(stacked @ a, (n, d), order="C")
    return _solve(phi, y, a, eps * cp.norm(rows, 2, axis=1), c)


def objective_concentrated(phi, y, m, eps, c, a) -> float:
    """(1/n) sum_i (|y_i - phi_i^T a| + eps sqrt(a^T M a))^2 + c ||a||^2."""
    s = np.sqrt(max(float(a @ m @ a), 0.0))
    return float(np.mean((np.abs(y - phi @ a) + eps * s) ** 2) + c * (a @ a))


def objective_exact(phi, y, theta, sprime, eps, c, a) -> float:
    """(1/n) sum_i (|y_i - phi_i^T a| + eps ||Theta^T (sigma'_i * a)|| / sqrt d)^2 + c ||a||^2."""
    s = np.linalg.norm((sprime * a) @ theta, axis=1) / np.sqrt(theta.shape[1])
    return float(np.mean((np.abs(y - phi @ a) + eps * s) ** 2) + c * (a @ a))


# The fuzz of the training solver against this reference (tests/test_training_fuzz.py,
# validation/fuzz_training.py): random small instances, each solve judged by `judge`.
FUZZ_ACTIVATIONS = ("relu_shifted", "relu", "tanh", "erf", "softplus", "linear")
REL_TOL = 1e-6  # agreement in objective asked of a certified solve
ABS_TOL = 1e-8  # Clarabel's absolute gap tolerance on the n-scaled objective: 1e-8 / n on ours


def fuzz_case(rng: np.random.Generator, index: int) -> dict:
    """A random point: d in 1..40, N < n or N > n, lam = 0 or 10^U(-4, 0), noise 0 / 0.3 / 1,
    eps = 0 (one case in ten) or eps_c * exp(U(log 0.01, log 2)) (eps_c: the concentrated
    critical radius of the drawn instance), seed = index."""
    psi2 = float(rng.uniform(0.3, 2.5))
    fewer = bool(rng.random() < 0.5)
    psi1 = psi2 * float(rng.uniform(0.25, 0.8) if fewer else rng.uniform(1.25, 4.0))
    return dict(
        index=index,
        d=int(rng.integers(1, 41)),
        psi1=psi1,
        psi2=psi2,
        lam=0.0 if rng.random() < 0.5 else float(10 ** rng.uniform(-4, 0)),
        activation=str(rng.choice(FUZZ_ACTIVATIONS)),
        noise=float(rng.choice([0.0, 0.3, 1.0])),
        eps_ratio=0.0
        if rng.random() < 0.1
        else float(np.exp(rng.uniform(np.log(0.01), np.log(2)))),
    )


def judge(case: dict, variant: str, stored: tuple[float, float] | None = None) -> dict:
    """Train the case with `advrf.simulation.train` and compare with the reference.

    outcome: "certified_ok" (|P - P_ref| <= REL_TOL P_ref + ABS_TOL / n, P = the program's value
    at the trained a, P_ref its value at cvxpy's a), "certified_worse" (P above that band: a wrong
    certificate), "certified_better" (P below it: cvxpy short of the optimum), "training_error"
    (TrainingError, whose message must name the point), "other_error" (any other exception),
    or "reference_failed" (cvxpy did not solve). P_ref is computed for every solve (reported as
    `reference`) unless `stored` = (eps, P_ref) of an earlier run holds it for the same eps
    (eps = eps_ratio eps_c depends on the version's critical_eps).
    """
    problem = Problem(
        psi1=case["psi1"], psi2=case["psi2"], eps=1.0, lam=case["lam"],
        activation=case["activation"], noise=case["noise"],
    )  # fmt: skip
    inst = Instance.draw(problem, case["d"], case["index"], n_test=1)
    eps = case["eps_ratio"] * critical_eps(inst)
    c = problem.psi1 * case["lam"]
    sprime = problem.activation.derivative(inst.preactivations(inst.x))
    if variant == "concentrated":
        program = (inst.phi, inst.y, inst.m_matrix, eps, c)
        solve, value_at = concentrated, objective_concentrated
    else:
        program = (inst.phi, inst.y, inst.theta, sprime, eps, c)
        solve, value_at = exact, objective_exact
    out = dict(case, variant=variant, eps=eps, n=inst.n, big_n=inst.big_n)
    reference = stored[1] if stored is not None and stored[0] == eps else None
    if reference is None:
        try:
            reference = value_at(*program, solve(*program)[1])
        except Exception as error:  # cvxpy failures are counted, not raised
            return dict(out, outcome="reference_failed", message=f"{type(error).__name__}: {error}")
    out["reference"] = reference
    try:
        res = train(inst, variant, eps=eps)
    except TrainingError as error:
        text = str(error)
        named = all(f"{k}=" in text for k in ("variant", "eps", "lam", "psi1", "psi2", "d", "seed"))
        return dict(out, outcome="training_error", named=named, message=text[:300])
    except Exception as error:  # any other failure is what the fuzz looks for
        return dict(out, outcome="other_error", message=f"{type(error).__name__}: {error}"[:300])
    value = value_at(*program, res.a)
    band = REL_TOL * reference + ABS_TOL / inst.n
    outcome = "certified_ok"
    if value > reference + band:
        outcome = "certified_worse"
    elif value < reference - band:
        outcome = "certified_better"
    return dict(
        out, outcome=outcome, objective=value, gap=float(res.residual), phase=res.phase,
        reported=float(res.objective),
    )  # fmt: skip
