"""Serve the explorer on http://localhost:PORT/ with a Bokeh server (BokehJS from this server)."""

from __future__ import annotations

import sys
from pathlib import Path

from bokeh.server.server import Server

from advrf.explore.page import app


def serve(port: int = 5006, results: str | Path | None = None, open_browser: bool = True) -> None:
    """Run the server until interrupted; it listens on localhost only."""
    if not 1 <= port <= 65535:
        raise ValueError(f"--port must be an integer from 1 to 65535; got {port}")
    application = app(results, url=True)  # reads the results store first: a bad DIR fails here
    origins = [f"localhost:{port}", f"127.0.0.1:{port}"]
    try:
        server = Server(
            {"/": application},
            port=port,
            address="localhost",
            allow_websocket_origin=origins,
            num_procs=1,
        )
    except OSError as error:
        raise ValueError(f"--port {port}: cannot listen on localhost ({error})") from None
    server.start()
    print(f"advrf explore: serving http://localhost:{server.port}/ (Ctrl-C stops)", flush=True)
    if open_browser:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        print("advrf explore: stopped", file=sys.stderr)
    finally:
        server.stop()
