"""Connectors load by name, on first use: importing the package (or ``connectors.base``, ``connectors.netguard``)
loads no client and none of their libraries, and ``connector_class``, the package's attributes and the app's
``connector_for`` import the one asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, settings_env

CLIENT_LIBRARIES = ("tweepy", "authlib", "joserfc", "oauthlib", "requests_oauthlib")
CLIENTS = tuple(f"connectors.{n}" for n in ("x", "linkedin", "mastodon", "bluesky", "threads", "bluesky_oauth"))
# the app imports connectors.threads at start (its text rules: screening, the composer), the others on first use
HEAVY = tuple(c for c in CLIENTS if c != "connectors.threads")


def _run(code: str, env: dict[str, str] | None = None) -> Any:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def loaded(names: tuple[str, ...]) -> str:
    return f"sorted(m for m in {names!r} if m in sys.modules)"


def test_the_package_loads_no_client_until_one_is_named() -> None:
    out = _run(f"""
import json, sys
import connectors, connectors.base, connectors.netguard, connectors.media
before = {loaded(CLIENT_LIBRARIES + CLIENTS)}
cls = connectors.connector_class("x")
after_x = {loaded(CLIENT_LIBRARIES + CLIENTS)}
from connectors.x import XConnector
try:
    connectors.connector_class("myspace")
    unknown = None
except KeyError as exc:
    unknown = str(exc)
print(json.dumps({{"before": before, "after_x": after_x, "same": cls is XConnector, "unknown": unknown,
                  "attribute": connectors.LinkedInConnector is sys.modules["connectors.linkedin"].LinkedInConnector,
                  "networks": connectors.registered_networks(), "built": type(connectors.build("threads",
                  {{}})).__name__}}))
""")
    assert out["before"] == []
    assert "tweepy" in out["after_x"] and "connectors.x" in out["after_x"]
    assert "connectors.bluesky" not in out["after_x"] and "joserfc" not in out["after_x"]
    assert out["same"] is True
    assert "myspace" in out["unknown"]
    assert out["attribute"] is True
    assert out["networks"] == ["bluesky", "linkedin", "mastodon", "threads", "x"]
    assert out["built"] == "ThreadsConnector"


def test_a_missing_attribute_is_still_an_attribute_error() -> None:
    import connectors

    with pytest.raises(AttributeError):
        connectors.Myspace  # noqa: B018


def test_the_app_starts_without_clients_and_builds_one_by_name(app: Any, settings: dict[str, Any]) -> None:
    out = _run(f"""
import json, sys
from advocacy import create_app
app = create_app()
start = {loaded(CLIENT_LIBRARIES + HEAVY)}
with app.app_context():
    from advocacy.accounts.networks import connector_for
    x, linkedin, mastodon = connector_for("x"), connector_for("linkedin"), connector_for("mastodon")
print(json.dumps({{"start": start, "x": type(x).__name__, "linkedin": type(linkedin).__name__,
                  "mastodon": type(mastodon).__name__, "again": connector_for.__module__,
                  "after": {loaded(CLIENTS)}}}))
""", settings_env(settings))
    assert out["start"] == []
    assert (out["x"], out["linkedin"], out["mastodon"]) == ("XConnector", "LinkedInConnector", "MastodonServers")
    assert "connectors.x" in out["after"] and "connectors.bluesky" not in out["after"]
