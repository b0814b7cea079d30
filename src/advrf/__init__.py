"""advrf: exact theory and simulations of adversarially trained random-features regression."""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("advrf")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

# Public names, loaded on first use (so that `advrf --help` does not import scipy).
_EXPORTS = {
    "ACTIVATIONS": "activations",
    "Activation": "activations",
    "GaussianMoments": "activations",
    "custom": "activations",
    "get_activation": "activations",
    "Problem": "problem",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"advrf.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'advrf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
