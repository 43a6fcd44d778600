"""Start sandbox networks on loopback ports in background threads (threaded werkzeug servers).

Each network is a module with ``create_app() -> Flask``; add a line to ``NETWORKS`` and ``start_all`` serves it too.
A sandbox that also speaks another protocol (the SMTP sandbox) gives its state object a ``listen(host)`` method: it
is started beside the web app, its addresses join ``SandboxServer.urls``, and the state's ``stop()`` ends it.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import persist

log = logging.getLogger(__name__)

# network name -> module holding its create_app()
NETWORKS: Mapping[str, str] = {
    "x": "sandbox.x",
    "linkedin": "sandbox.linkedin",
    "mastodon": "sandbox.mastodon",
    "bluesky": "sandbox.bluesky",
    "threads": "sandbox.threads",
    "teams": "sandbox.teams",  # not a network: Teams Workflows webhooks that receive announcement cards
    "webpush": "sandbox.webpush",  # not a network: a Web Push service and the browsers subscribed to it
    "slack": "sandbox.slack",  # not a network: the Slack workspace people get DMs in, with one-tap buttons
    "oidc": "sandbox.oidc",  # not a network: the company's identity provider, for single sign-on
    "smtp": "sandbox.smtp",  # not a network: a mail server that keeps the mails; its web app is the inbox
}


class SandboxServer:
    """One sandbox app served on ``url`` until ``stop()`` (also a context manager).

    With a ``state_file``, the state saved there is loaded before serving and saved again on ``stop()``.
    """

    def __init__(self, network: str, app: Flask, host: str = "127.0.0.1", port: int = 0,
                 state_file: Path | None = None) -> None:
        self.network = network
        self.app = app
        self.state_file = state_file
        if state_file is not None and persist.load(app, state_file):
            log.info("sandbox state loaded network=%s file=%s", network, state_file)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self.host = host
        self.port: int = self._server.server_port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(target=self._serve, name=f"sandbox-{network}", daemon=True)
        self.listeners: dict[str, str] = {}  # other protocols' addresses by name (``smtp_server``)

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # a short poll makes stop() quick

    @property
    def urls(self) -> dict[str, str]:
        """The web app's URL under the network's name, and any other listener's address under its own."""
        return {self.network: self.url, **self.listeners}

    def start(self) -> SandboxServer:
        listen = getattr(self.app.extensions.get(f"{self.network}_sandbox"), "listen", None)
        if listen is not None:
            self.listeners = listen(self.host)
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
        if self.state_file is not None:
            try:
                persist.save(self.app, self.state_file)
            except Exception:  # a state that cannot be saved must not keep the others from stopping and saving
                log.exception("sandbox state not saved network=%s", self.network)
            else:
                log.info("sandbox state saved network=%s file=%s", self.network, self.state_file)
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


def start(network: str = "x", host: str = "127.0.0.1", port: int = 0,
          state_file: Path | None = None) -> SandboxServer:
    """Serve one network's sandbox in a background thread.

    Args:
        network: a key of ``NETWORKS``.
        host: interface to bind; keep it on loopback.
        port: 0 for a free port.
        state_file: load the network's state from here and save it back on stop.
    """
    return SandboxServer(network, create_app(network), host, port, state_file).start()


def start_all(
    networks: Iterable[str] | None = None, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None,
    state_dir: Path | None = None,
) -> dict[str, SandboxServer]:
    """Serve several networks' sandboxes, each on its own port; stops those started if one fails.

    Args:
        networks: names to start; all of ``NETWORKS`` when None.
        host: interface to bind.
        ports: a fixed port per network; others get a free one (or, with ``state_dir``, last run's port).
        state_dir: keep each network's state (``<network>.state``) and port (``ports.json``) here across restarts.
    """
    servers: dict[str, SandboxServer] = {}
    previous = persist.read_ports(state_dir) if state_dir is not None else {}
    try:
        for name in networks if networks is not None else NETWORKS:
            state_file = state_dir / f"{name}.state" if state_dir is not None else None
            port = (ports or {}).get(name) or previous.get(name, 0)
            try:
                servers[name] = start(name, host, port, state_file)
            except OSError:
                if not previous.get(name) or (ports or {}).get(name):
                    raise
                log.warning("sandbox port %s of network=%s is taken; a new one (accounts connected to the old "
                            "URL need reconnecting)", port, name)
                servers[name] = start(name, host, 0, state_file)
        if state_dir is not None:
            persist.write_ports(state_dir, {name: server.port for name, server in servers.items()})
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
