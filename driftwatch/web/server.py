"""Serving the app from a thread, so the main thread keeps the signal handlers.

``uvicorn.run`` in the main thread installs its own SIGTERM handler and, after its graceful
shutdown, re-raises the signal, so the process would end "killed by SIGTERM" instead of exiting
0. In a thread uvicorn leaves signals alone; the caller stops it with ``stop()``.
"""

from __future__ import annotations

import threading

import uvicorn
from fastapi import FastAPI


class WebServer:
    """A uvicorn server on ``host:port`` running in a daemon thread."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
