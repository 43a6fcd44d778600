"""The demo's sandbox networks keep their state across a restart: the same ports (connected accounts store the
sandbox URLs), the same apps, accounts, tokens and posts. Started exactly as `advocacy demo` starts them."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests

from advocacy.cli import start_sandbox

REDIRECT = "http://127.0.0.1:9/callback"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)  # what Ctrl-C on the demo does to it: the state is saved on the way out
    assert proc.wait(timeout=30) == 0


def _mastodon_token(base: str) -> tuple[dict[str, str], str]:
    registered = requests.post(f"{base}/api/v1/apps", json={"client_name": "advocacy", "redirect_uris": REDIRECT,
                                                            "scopes": "read write"}, timeout=10)
    registered.raise_for_status()
    app = registered.json()
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    decision = requests.post(f"{base}/oauth/authorize", data={
        "response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, "scope": "read write",
        "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256", "username": "emma_acme",
        "decision": "authorize"}, allow_redirects=False, timeout=10)
    assert decision.status_code in (302, 303), decision.text
    code = parse_qs(urlparse(decision.headers["Location"]).query)["code"][0]
    token = requests.post(f"{base}/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "code_verifier": verifier}, timeout=10)
    token.raise_for_status()
    return app, token.json()["access_token"]


def test_sandboxes_keep_ports_accounts_and_posts_across_a_demo_restart(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    state = tmp_path / "sandbox"
    env = dict(os.environ)
    proc, urls = start_sandbox(env, logs, state)
    try:
        mastodon, x = urls["mastodon"], urls["x"]
        app, token = _mastodon_token(mastodon)
        auth = {"Authorization": f"Bearer {token}"}
        posted = requests.post(f"{mastodon}/api/v1/statuses", json={"status": "We are hiring"}, headers=auth,
                               timeout=10)
        posted.raise_for_status()
        status_id = posted.json()["id"]
        requests.post(f"{x}/_sandbox/users", json={"handle": "emma_acme"}, timeout=10).raise_for_status()
    finally:
        _stop(proc)
    assert (state / "mastodon.state").exists() and (state / "ports.json").exists()

    proc, again = start_sandbox(env, logs, state)
    try:
        assert again == urls  # every network on the same port
        me = requests.get(f"{mastodon}/api/v1/accounts/verify_credentials", headers=auth, timeout=10)
        assert me.status_code == 200, me.text  # the token still works: the account stays connected
        assert me.json()["username"] == "emma_acme"
        assert requests.get(f"{mastodon}/api/v1/statuses/{status_id}", timeout=10).json()["content"]
        apps = requests.get(f"{mastodon}/_sandbox/apps", timeout=10).json()
        assert app["client_id"] in str(apps)  # the app registration survives (no "unreachable" after restart)
        handles = str(requests.get(f"{x}/_sandbox/users", timeout=10).json())
        assert "emma_acme" in handles
        again_post = requests.post(f"{mastodon}/api/v1/statuses", json={"status": "Still here"}, headers=auth,
                                   timeout=10)
        assert again_post.status_code == 200 and again_post.json()["id"] != status_id  # ids carry on
    finally:
        _stop(proc)


def test_without_a_state_dir_a_restart_starts_empty(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    proc, urls = start_sandbox(dict(os.environ), logs)
    try:
        requests.post(f"{urls['x']}/_sandbox/users", json={"handle": "emma_acme"}, timeout=10).raise_for_status()
    finally:
        _stop(proc)
    proc, urls = start_sandbox(dict(os.environ), logs)
    try:
        assert "emma_acme" not in str(requests.get(f"{urls['x']}/_sandbox/users", timeout=10).json())
    finally:
        _stop(proc)
