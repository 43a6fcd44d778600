"""Shared by the Slack tests: the app served over real HTTP (Slack POSTs clicks to it), the install through the
sandbox's consent page, and small readers of the sandbox's state."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.serving import make_server

from tests.conftest import consent


def slack_settings(url: str) -> dict[str, Any]:
    from sandbox.slack import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET

    return {"SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_BASE_URL": f"{url}/api", "SLACK_AUTHORIZE_URL": f"{url}/oauth/v2/authorize"}


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app on a loopback port, in a thread, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def install(browser: Any) -> Any:
    """An admin connects the workspace: our page, Slack's consent page, back to our callback."""
    start = browser.post("/admin/slack/install")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    back = urlsplit(consent(start.headers["Location"], "", decision="allow"))
    return browser.get(f"{back.path}?{back.query}")


def control(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.post(f"{url}/_sandbox/{path}", json=body or {}, timeout=10)
    answer.raise_for_status()
    return answer.json()


def messages(url: str, to: str | None = None) -> list[dict[str, Any]]:
    found = requests.get(f"{url}/_sandbox/posts", timeout=5).json()["posts"]
    return [m for m in found if to is None or m["to"] == to]


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by their label."""
    out = {}
    for block in message["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            out[element["text"]["text"]] = element
    return out


def shown_text(message: dict[str, Any]) -> str:
    """Everything the message shows, as one string."""
    parts = [message["text"]]
    for block in message["blocks"]:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        for element in block.get("elements", []):
            if "text" in element:
                parts.append(element["text"] if isinstance(element["text"], str) else element["text"]["text"])
    return "\n".join(parts)
