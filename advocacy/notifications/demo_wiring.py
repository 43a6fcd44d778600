"""``make demo``: the demo employee's Teams chat and browser, set up in the Teams and Web Push sandboxes (over their
control APIs: production code never imports ``sandbox``), so an announcement shows where it went at once."""

from __future__ import annotations

import requests
from flask import current_app
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.notifications.destinations import (
    add_subscription,
    set_teams_webhook,
    subscriptions,
    teams_webhook_for,
)
from advocacy.people.models import User

EMPLOYEE = "employee@example.com"


def _known(url: str, path: str, key: str) -> set[str]:
    answer = requests.get(f"{url}/_sandbox/{path}", timeout=5)
    answer.raise_for_status()
    return {item[key] for item in answer.json()[path] if not item.get("deleted")}


def wire(urls: dict[str, str], allow: str) -> list[str]:
    """Give the demo employee a Teams chat and a subscribed browser (again when the sandbox forgot them); new
    talking points go to Teams first, then push, then e-mail, unless they chose otherwise. Returns banner lines.

    Args:
        urls: the sandboxes' URLs by name.
        allow: ``OUTBOUND_ALLOW`` as the web app and worker get it (the sandboxes listen on loopback).
    """
    from advocacy.notifications.push import public_key

    user = db.session.scalar(select(User).where(User.email == EMPLOYEE))
    if user is None:
        return []
    current_app.config["OUTBOUND_ALLOW"] = allow
    lines = []
    if "teams" in urls:
        hook = teams_webhook_for(user_id=user.id)
        if hook is None or hook.url not in _known(urls["teams"], "webhooks", "url"):
            made = requests.post(f"{urls['teams']}/_sandbox/webhooks", json={"name": f"{EMPLOYEE} (Teams chat)"},
                                 timeout=5)
            made.raise_for_status()
            set_teams_webhook(made.json()["webhook"]["url"], user_id=user.id)
        lines.append(f"  Teams cards     {urls['teams']}  ({EMPLOYEE}'s chat and each team's channel)")
    if "webpush" in urls:
        endpoints = {s.info()["endpoint"] for s in subscriptions(user.id)}
        if not endpoints & _known(urls["webpush"], "subscriptions", "endpoint"):
            made = requests.post(f"{urls['webpush']}/_sandbox/subscriptions", timeout=5,
                                 json={"name": f"{EMPLOYEE} (browser)", "application_server_key": public_key()})
            made.raise_for_status()
            add_subscription(user.id, made.json()["subscription"], "Demo browser (sandbox)")
        lines.append(f"  push messages   {urls['webpush']}  (what each subscribed browser received, decrypted)")
    try:
        from advocacy.notifications import preferences
    except ImportError:  # the channel preferences are not in this build
        return lines
    if preferences.of(user)["default"]:
        preferences.update(user, {"channels": ["teams", "push", "email"]})
    return lines

