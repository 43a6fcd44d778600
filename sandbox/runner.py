"""Start sandbox networks on loopback ports in background threads (threaded werkzeug servers).

Each network is a module with ``create_app() -> Flask``; add a line to ``NETWORKS`` and ``start_all`` serves it too.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)

# network name -> module holding its create_app()
NETWORKS: Mapping[str, str] = {
    "x": "sandbox.x",
    "linkedin": "sandbox.linkedin",
    "mastodon": "sandbox.mastodon",
    "bluesky": "sandbox.bluesky",
    "threads": "sandbox.threads",
    "oidc": "sandbox.oidc",  # not a network: the company's identity provider, for single sign-on
}


class SandboxServer:
    """One sandbox app served on ``url`` until ``stop()`` (also a context manager)."""

    def __init__(self, network: str, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.network = network
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port: int = self._server.server_port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(target=self._serve, name=f"sandbox-{network}", daemon=True)

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # a short poll makes stop() quick

    def start(self) -> SandboxServer:
        self._thread.start()
        log.info("sandbox started network=%s url=%s", self.network, self.url)
        return self

    def stop(self) -> None:
        """Stop serving, wake handlers sleeping on injected delays, close the socket and join the thread."""
        state = self.app.extensions.get(f"{self.network}_sandbox")
        if state is not None and hasattr(state, "stop"):
            state.stop()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
        log.info("sandbox stopped network=%s", self.network)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def create_app(network: str) -> Flask:
    """Build the sandbox app of one network.

    Args:
        network: a key of ``NETWORKS``.
    """
    try:
        module = importlib.import_module(NETWORKS[network])
    except KeyError:
        raise ValueError(f"no sandbox for network {network!r}; known: {sorted(NETWORKS)}") from None
    app: Flask = module.create_app()
    return app


def start(network: str = "x", host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """Serve one network's sandbox in a background thread.

    Args:
        network: a key of ``NETWORKS``.
        host: interface to bind; keep it on loopback.
        port: 0 for a free port.
    """
    return SandboxServer(network, create_app(network), host, port).start()


def start_all(
    networks: Iterable[str] | None = None, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None
) -> dict[str, SandboxServer]:
    """Serve several networks' sandboxes, each on its own port; stops those started if one fails.

    Args:
        networks: names to start; all of ``NETWORKS`` when None.
        host: interface to bind.
        ports: a fixed port per network; others get a free one.
    """
    servers: dict[str, SandboxServer] = {}
    try:
        for name in networks if networks is not None else NETWORKS:
            servers[name] = start(name, host, (ports or {}).get(name, 0))
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: Mapping[str, SandboxServer]) -> None:
    """Stop every server of a ``start_all`` answer.

    Args:
        servers: what ``start_all`` returned.
    """
    for server in servers.values():
        server.stop()
