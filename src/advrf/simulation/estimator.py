"""A scikit-learn-like estimator over `advrf.simulation.train` (a thin wrapper).

    AdversarialRandomFeatures(n_features, eps=0, lam=0, variant="concentrated",
                              activation="relu_shifted", random_state=0).fit(X, y)

draws Theta (n_features rows uniform on the sphere of radius sqrt(d), d = X.shape[1]) unless
`theta` is given, and solves the first-order adversarial training program with ridge
c = psi1 * lam, psi1 = n_features / d (conventions 2).
"""

from __future__ import annotations

import numpy as np

from advrf.activations import get_activation
from advrf.problem import check_number
from advrf.settings import VARIANTS, SolverSettings, check_choice
from advrf.simulation._linalg import m_operator
from advrf.simulation.result import TrainingError
from advrf.simulation.train_concentrated import solve_concentrated
from advrf.simulation.train_exact import solve_exact


class AdversarialRandomFeatures:
    """Random-features regression trained against an l2 adversary of radius eps."""

    def __init__(
        self,
        n_features: int,
        *,
        eps: float = 0.0,
        lam: float = 0.0,
        variant: str = "concentrated",
        activation="relu_shifted",
        random_state: int = 0,
        theta: np.ndarray | None = None,
        solver: SolverSettings | None = None,
    ):
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features must be an integer >= 1; got {n_features!r}")
        self.n_features = n_features
        self.eps = check_number("eps", eps)
        self.lam = check_number("lam", lam)
        self.variant = check_choice("variant", variant, VARIANTS)
        self.activation = get_activation(activation)
        self.random_state = random_state
        self.theta = theta
        self.solver = solver

    def _features(self, x: np.ndarray) -> np.ndarray:
        return self.activation(x @ self.theta_.T / np.sqrt(self.theta_.shape[1]))

    def fit(self, x, y) -> AdversarialRandomFeatures:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise ValueError(f"X must be (n, d) and y (n,); got {x.shape} and {y.shape}")
        d = x.shape[1]
        if self.theta is None:
            g = np.random.default_rng(self.random_state).standard_normal((self.n_features, d))
            self.theta_ = g * (np.sqrt(d) / np.linalg.norm(g, axis=1, keepdims=True))
        else:
            self.theta_ = np.asarray(self.theta, dtype=float)
            if self.theta_.shape != (self.n_features, d):
                raise ValueError(f"theta must be ({self.n_features}, {d}); got {self.theta_.shape}")
        mom = self.activation.moments
        phi = self._features(x)
        c = self.n_features / d * self.lam
        point = f"variant={self.variant}, eps={self.eps!r}, lam={self.lam!r}, N={self.n_features}"
        try:
            mop = m_operator(self.theta_, mom.mu1, mom.nu2, len(y))
            if self.variant == "concentrated":
                result = solve_concentrated(phi, y, mop, eps=self.eps, c=c, solver=self.solver)
            else:
                sprime = self.activation.derivative(x @ self.theta_.T / np.sqrt(d))
                result = solve_exact(
                    phi, y, self.theta_, sprime, mop, eps=self.eps, c=c, solver=self.solver
                )
        except (ValueError, ArithmeticError) as error:  # LinAlgError, NaN in LAPACK, overflow
            raise TrainingError(
                f"training failed: {point}, d={d}: {type(error).__name__}: {error}"
            ) from error
        if not result.converged:
            raise TrainingError(
                f"training did not converge: {point}, d={d}, relative duality "
                f"gap={result.residual:.3g}: {result.message}"
            )
        self.result_ = result
        self.coef_ = result.a
        self.n_features_in_ = d
        return self

    def predict(self, x) -> np.ndarray:
        return self._features(np.asarray(x, dtype=float)) @ self.coef_
