"""advrf: exact theory and simulations of adversarially trained random-features regression."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("advrf")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from advrf.activations import ACTIVATIONS, Activation, GaussianMoments, custom, get_activation
from advrf.problem import Problem

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "GaussianMoments",
    "Problem",
    "__version__",
    "custom",
    "get_activation",
]
