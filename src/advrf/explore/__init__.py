"""`advrf explore`: a local web page that redraws the exact theory as its controls move.

    advrf explore [--port PORT] [--results DIR] [--no-browser]   # http://localhost:PORT/

In Jupyter: `from bokeh.io import output_notebook, show; output_notebook(); show(app())`.
Needs the optional extra `advrf[explore]` (Bokeh); `advrf.explore.view` (the state, the curves,
the commands) and `advrf.explore.answers` (the best recipe and the front on a view) need only
advrf itself. The public names below are loaded on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {"app": "page", "serve": "server", "View": "view", "compute": "view"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"advrf.explore.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'advrf.explore' has no attribute {name!r}")
