"""The demo's Slack: the app's settings pointed at the Slack sandbox (its one app's client id and secrets), and the
sandbox told where the app's interactivity Request URL is, as a Slack app's settings page would be."""

from __future__ import annotations

import os

import requests

# the one app the Slack sandbox knows (sandbox.slack.state): the demo is its only user
SANDBOX_CLIENT_ID = "1111111111.2222222222"
SANDBOX_CLIENT_SECRET = "slack-sandbox-client-secret"
SANDBOX_SIGNING_SECRET = "slack-sandbox-signing-secret"


def sandbox_env(urls: dict[str, str]) -> dict[str, str]:
    """The Slack settings for the sandbox at ``urls["slack"]``, unless the operator configured a real Slack app."""
    url = urls.get("slack")
    if not url or os.environ.get("ADVOCACY_SLACK_CLIENT_ID"):
        return {}
    return {"ADVOCACY_SLACK_CLIENT_ID": SANDBOX_CLIENT_ID, "ADVOCACY_SLACK_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "ADVOCACY_SLACK_SIGNING_SECRET": SANDBOX_SIGNING_SECRET, "ADVOCACY_SLACK_API_BASE_URL": f"{url}/api",
            "ADVOCACY_SLACK_AUTHORIZE_URL": f"{url}/oauth/v2/authorize"}


def wire(urls: dict[str, str], public_url: str) -> list[str]:
    """Tell the sandbox the app's Request URL; returns the banner's Slack line (none without the sandbox)."""
    url = urls.get("slack")
    if not url or os.environ.get("ADVOCACY_SLACK_CLIENT_ID"):
        return []
    requests.post(f"{url}/_sandbox/config", json={"interactivity_url": f"{public_url}/slack/interactivity"},
                  timeout=10).raise_for_status()
    return [f"  Slack DMs       {url}/messages  (each person's DMs, with working buttons; connect it as admin: "
            f"{public_url}/admin/slack)"]
