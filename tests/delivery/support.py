"""Helpers shared by the delivery and fault tests: people with connected sandbox accounts, approved talking points,
and the sandbox's control API."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from advocacy.extensions import db
from tests.conftest import PASSWORD, consent

REDIRECT = "http://advocacy.test/accounts/callback/x"


def connect(user: Any, handle: str) -> Any:
    """Connect ``user``'s X account through the real OAuth flow against the sandbox (no browser)."""
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import finish_connect

    start = connector_for("x").authorization_url(REDIRECT)
    code = parse_qs(urlsplit(consent(start.url, handle)).query)["code"][0]
    return finish_connect(user, "x", code, REDIRECT, start.code_verifier)


def employee(email: str, handle: str | None = None, **prefs: Any) -> Any:
    """An opted-in employee who acknowledged the current policy and (with ``handle``) connected X."""
    from advocacy.people.services import acknowledge_policy, create_user, current_policy, opt_in

    user = create_user(email, email.split("@")[0].title(), PASSWORD, "employee")
    for key, value in prefs.items():
        setattr(user, key, value)
    db.session.commit()
    policy = current_policy()
    if policy is not None:
        acknowledge_policy(user, policy.version)
    opt_in(user)
    db.session.commit()
    if handle:
        connect(user, handle)
    return user


def approved(title: str = "We are hiring", text: str | None = "Come build the platform with us.", **fields: Any) -> Any:
    """A talking point written by one comms person and approved by another."""
    from sqlalchemy import select

    from advocacy.content import workflow
    from advocacy.people.models import User
    from advocacy.people.services import create_user

    def staff(email: str) -> Any:
        found = db.session.scalar(select(User).where(User.email == email))
        return found or create_user(email, email.split("@")[0].title(), PASSWORD, "comms")

    author, reviewer = staff("author@acme.test"), staff("reviewer@acme.test")
    db.session.commit()
    tp = workflow.create_talking_point(author, title=title, link="https://acme.test/jobs", text=text,
                                      hashtags="#hiring", disclosure="#iworkforacme", **fields)
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    return tp


class Sandbox:
    """The X sandbox's control API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def posts(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_sandbox/posts", timeout=10).json()["posts"])

    def requests(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_sandbox/requests", timeout=10).json()["requests"])

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_sandbox/faults", timeout=5).raise_for_status()

    def configure(self, **config: Any) -> None:
        requests.post(f"{self.url}/_sandbox/config", json=config, timeout=5).raise_for_status()

    def expire(self, handle: str | None = None) -> None:
        body = {"handle": handle} if handle else {}
        requests.post(f"{self.url}/_sandbox/tokens/expire", json=body, timeout=5).raise_for_status()

    def revoke(self, handle: str) -> None:
        requests.post(f"{self.url}/_sandbox/tokens/revoke", json={"handle": handle}, timeout=5).raise_for_status()


def posts_by_code(posts: list[dict[str, Any]]) -> dict[str, int]:
    """How many live posts carry each tracked link code."""
    counts: dict[str, int] = {}
    for post in posts:
        if post.get("deleted"):
            continue
        for word in post["text"].split():
            if "/r/" in word:
                code = word.rsplit("/r/", 1)[1]
                counts[code] = counts.get(code, 0) + 1
    return counts
