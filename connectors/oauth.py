"""What the OAuth 2 connectors (X, LinkedIn, Mastodon) share around requests-oauthlib: the session, the mapping of
its failures onto the error taxonomy, and plain http to the loopback sandboxes."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests_oauthlib import OAuth2Session

from connectors.base import ConfigurationError, ConnectorError, Transient, http_session
from connectors.netguard import Guard, protect

T = TypeVar("T")


@contextmanager
def oauth_session(client_id: str, *, timeout: float, user_agent: str, guard: Guard | None = None,
                  **kw: Any) -> Iterator[OAuth2Session]:
    """An ``OAuth2Session`` set up by the one HTTP session factory (user agent, default timeout), closed after use.

    Args:
        client_id: the app's client id at the network.
        timeout: seconds for connect and read.
        user_agent: sent on every request.
        guard: what may be reached (``connectors.netguard``); None: anything.
        kw: passed to ``OAuth2Session`` (scope, redirect_uri, state, pkce, token…).
    """
    oauth = OAuth2Session(client_id, **kw)
    protect(http_session(timeout=timeout, user_agent=user_agent, session=oauth), guard, timeout=timeout)
    try:
        yield oauth
    finally:
        oauth.close()


def oauth_call(network: str, url: str, call: Callable[[], T]) -> T:
    """Run one token-endpoint call, mapping every failure that is not already ours onto the taxonomy.

    Args:
        network: the network's name, for messages ("X", "LinkedIn", …).
        url: the endpoint called (checked for plain http).
        call: the call itself.
    """
    allow_plain_http_to_loopback(url)
    try:
        return call()
    except ConnectorError:
        raise
    except InsecureTransportError:
        raise ConfigurationError(
            f"{url} is not https; plain http is allowed only to loopback or with OAUTHLIB_INSECURE_TRANSPORT=1"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"{network} token endpoint unreachable: {type(exc).__name__}") from None
    except (OAuth2Error, ValueError, Warning) as exc:  # oauthlib could not read a 2xx answer
        raise Transient(f"{network} token endpoint answered something unreadable: {type(exc).__name__}") from None


def allow_plain_http_to_loopback(url: str) -> None:
    """oauthlib refuses http; the sandbox speaks http on loopback only, so allow exactly that case.

    oauthlib reads the switch from the environment of the process; it is set only when a loopback URL is used.

    Args:
        url: the URL about to be called.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or os.environ.get("OAUTHLIB_INSECURE_TRANSPORT"):
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
