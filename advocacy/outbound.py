"""Fetching URLs a person chose (their Mastodon server, a talking point's link): the guard and the one message.

Every such fetch goes through ``connectors.netguard`` with the allow-list of the ``OUTBOUND_ALLOW`` setting, and
every failure reads the same to the person (``UNREACHABLE``): which one it was (a private address, no such host, a
refused connection, a bad certificate) goes to the log only, so the form cannot be used to map the inside of the
network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:  # the guard (with requests, ~5 MiB) loads when a request first goes out
    import requests

    from connectors.netguard import Guard

UNREACHABLE = "could not reach that server; check the address or try again later"


@lru_cache(maxsize=8)
def _guard(entries: str) -> Guard:
    from connectors.netguard import Guard

    return Guard.from_entries(entries)


def guard() -> Guard:
    """The guard for the current app: public addresses, plus the hosts and networks of ``OUTBOUND_ALLOW``."""
    return _guard(current_app.config.get("OUTBOUND_ALLOW") or "")


def session(timeout: float, max_redirects: int) -> requests.Session:
    """An HTTP session (``connectors.base.http_session``: our user agent, ``timeout`` on every request) that reaches
    only what :func:`guard` allows, on every request and each of at most ``max_redirects`` redirects."""
    from connectors.base import http_session
    from connectors.netguard import protect

    return protect(http_session(timeout=timeout), guard(), timeout=timeout, max_redirects=max_redirects)
