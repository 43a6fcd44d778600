"""Build a connector for a network from this app's settings: the one place settings meet ``connectors``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from flask import current_app

import connectors
from advocacy import outbound
from advocacy.accounts import threads
from connectors import intents
from connectors.base import (
    AppCredentials,
    AuthRequest,
    AuthRevoked,
    ConfigurationError,
    Connector,
    Media,
    PostMetrics,
    Profile,
    PublishedPost,
    Token,
)

if TYPE_CHECKING:  # the clients load when first used (``connectors.connector_class``), not with this module
    from connectors.bluesky_oauth import AtprotoOAuth, Client
    from connectors.mastodon import MastodonConnector

LABELS = {"x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon", "bluesky": "Bluesky", "threads": "Threads"}
# networks whose own share dialog the feed can open (no account, no token): Facebook has no personal posting API
INTENT_LABELS = {"x": "X", "linkedin": "LinkedIn", "facebook": "Facebook"}


def _settings(network: str) -> dict[str, Any]:
    c = current_app.config
    common = {"timeout": c["HTTP_TIMEOUT"]}
    if network == "x":
        return common | {
            "api_base_url": c["X_API_BASE_URL"], "authorize_url": c["X_AUTHORIZE_URL"], "token_url": c["X_TOKEN_URL"],
            "web_base_url": c["X_WEB_BASE_URL"], "client_id": c["X_CLIENT_ID"],
            "client_secret": c["X_CLIENT_SECRET"] or None,
        }
    if network == "linkedin":
        return common | {
            "api_base_url": c["LINKEDIN_API_BASE_URL"], "authorize_url": c["LINKEDIN_AUTHORIZE_URL"],
            "token_url": c["LINKEDIN_TOKEN_URL"], "web_base_url": c["LINKEDIN_WEB_BASE_URL"],
            "client_id": c["LINKEDIN_CLIENT_ID"], "client_secret": c["LINKEDIN_CLIENT_SECRET"] or None,
            "version": c["LINKEDIN_VERSION"], "scopes": tuple(c["LINKEDIN_SCOPES"].replace(",", " ").split()),
        }
    if network == "bluesky":
        key = bluesky_client_key()
        return common | {"pds_url": c["BLUESKY_PDS_URL"], "web_base_url": c["BLUESKY_WEB_BASE_URL"],
                         "oauth_client_key": json.dumps(key, sort_keys=True) if key else None}
    if network == "threads":  # containers kept per share, images served at PUBLIC_URL for Threads to fetch
        return common | {
            "api_base_url": c["THREADS_API_BASE_URL"], "authorize_url": c["THREADS_AUTHORIZE_URL"],
            "token_url": c["THREADS_TOKEN_URL"], "web_base_url": c["THREADS_WEB_BASE_URL"],
            "client_id": c["THREADS_CLIENT_ID"], "client_secret": c["THREADS_CLIENT_SECRET"] or None,
            "topic_tag": c["THREADS_TOPIC_TAG"] or None, "containers": threads.CONTAINERS,
            "image_url": threads.image_url,
        }
    if network == "mastodon":  # a server the person named: reached only through the outbound guard
        return common | {"client_name": c["MASTODON_CLIENT_NAME"], "website": c["PUBLIC_URL"],
                         "guard": outbound.guard()}
    raise KeyError(f"network {network!r} is not supported yet")


def connector_for(network: str) -> Connector:
    """A connector for ``network`` configured from the app's settings (for Mastodon, the router over servers); its
    module is imported on the first call for that network."""
    if network == "mastodon":
        return MastodonServers(**_settings(network))
    settings = _settings(network)
    return _built(connectors.connector_class(network), tuple(sorted(settings.items())))


@lru_cache(maxsize=16)
def _built(cls: type, settings: tuple[tuple[str, Any], ...]) -> Connector:
    """One connector per class and settings, kept: connectors hold no per-person state, and keeping them keeps their
    HTTP sessions (keep-alive) instead of building a client and a session for every call."""
    built: Connector = cls(**dict(settings))
    return built


def available_networks() -> list[str]:
    """Networks an employee can connect now: supported here, and configured (a client id, or switched on)."""
    c = current_app.config
    switched = {"mastodon": c.get("MASTODON_ENABLED"), "bluesky": c.get("BLUESKY_ENABLED")}
    return [n for n in LABELS if switched.get(n, c.get(f"{n.upper()}_CLIENT_ID"))]


# ------------------------------------------------------------------------------------------------------- Bluesky
def bluesky_oauth() -> AtprotoOAuth:
    """atproto OAuth from the settings: handles resolve on ``BLUESKY_PDS_URL``, ``did:plc`` documents come from
    ``BLUESKY_PLC_URL``; the servers a person's DID document names are reached through the outbound guard."""
    from connectors.bluesky_oauth import AtprotoOAuth

    c = current_app.config
    return AtprotoOAuth(resolver_url=c["BLUESKY_PDS_URL"], plc_url=c["BLUESKY_PLC_URL"], timeout=c["HTTP_TIMEOUT"],
                        guard=outbound.guard(), client_key=bluesky_client_key())


def bluesky_client() -> Client:
    """This app as an atproto OAuth client: its metadata document on an https ``PUBLIC_URL``, else (local
    development) a loopback client redirected to ``http://127.0.0.1``."""
    from connectors.bluesky_oauth import Client

    return Client.for_public_url(current_app.config["PUBLIC_URL"], signing_key=bluesky_client_key())


def bluesky_client_key() -> dict[str, Any] | None:
    """The app's OAuth client signing key (``BLUESKY_OAUTH_CLIENT_KEY``) as a private JWK, or None."""
    from connectors.bluesky_oauth import load_signing_key

    value = current_app.config.get("BLUESKY_OAUTH_CLIENT_KEY") or ""
    return load_signing_key(value) if value.strip() else None


# ------------------------------------------------------------------------------------------------------ Mastodon
def mastodon_credential(server_url: str, access_token: str) -> str:
    """What the app stores as a Mastodon account's access token: its server and the token, encrypted together.

    Args:
        server_url: the normalized server URL (``https://mastodon.social``).
        access_token: the token that server issued.
    """
    return f"{server_url} {access_token}"


def mastodon_connector(server_url: str, app: AppCredentials | None = None) -> MastodonConnector:
    """A connector for one Mastodon server, with this app's registration there when given.

    Args:
        server_url: the server.
        app: the client credentials the server issued (needed for the OAuth steps only).
    """
    from connectors.mastodon import MastodonConnector

    settings = _settings("mastodon")
    if app is not None:
        settings |= {"client_id": app.client_id, "client_secret": app.client_secret}
    return MastodonConnector(instance_url=server_url, **settings)


class MastodonServers:
    """Mastodon is many servers: this routes each call to the server the account lives on.

    The app stores a Mastodon account's access token as ``<server URL> <token>`` (see ``mastodon_credential``), so
    the delivery engine, the metrics job and the recall path call this like any other connector. Connecting goes
    through ``mastodon_connector`` with the server's stored registration instead (``accounts.services``).
    """

    name: ClassVar[str] = "mastodon"

    def __init__(self, **settings: Any) -> None:
        self._settings = settings

    def _on(self, credential: str) -> tuple[MastodonConnector, str]:
        server, _, token = (credential or "").partition(" ")
        if not server or not token:
            raise AuthRevoked("no Mastodon server is stored with this account's token: the person must reconnect")
        from connectors.mastodon import MastodonConnector

        return MastodonConnector(instance_url=server, **self._settings), token

    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        raise ConfigurationError("Mastodon connects per server: the connect form names the server first")

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> Token:
        raise ConfigurationError("Mastodon connects per server: the connect form names the server first")

    def refresh(self, token: Token) -> Token:
        raise AuthRevoked("Mastodon tokens cannot be refreshed: the person must reconnect")

    def profile(self, access_token: str) -> Profile:
        connector, token = self._on(access_token)
        return connector.profile(token)

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        connector, token = self._on(access_token)
        return connector.publish(token, text, link, idempotency_key=idempotency_key, media=media, link_title=link_title)

    def delete(self, access_token: str, post_id: str) -> None:
        connector, token = self._on(access_token)
        connector.delete(token, post_id)

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        connector, token = self._on(access_token)
        return connector.metrics(token, post_ids)

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None:
        """The account's status holding ``text`` since ``since``, on its server (``FindsPosts``): how the delivery
        engine checks an interrupted attempt once the server has forgotten its idempotency key."""
        connector, token = self._on(access_token)
        return connector.find_post(token, text, since)


def intent_url(network: str, text: str, link: str) -> str:
    """The URL of ``network``'s own share dialog for ``text`` and ``link``, at the configured addresses.

    Args:
        network: a key of ``INTENT_LABELS``.
        text: the suggested text (X prefills it; LinkedIn and Facebook take the link only).
        link: the share's tracked link.
    """
    c = current_app.config
    bases = {"x": c["X_INTENT_URL"], "linkedin": c["LINKEDIN_SHARE_URL"], "facebook": c["FACEBOOK_SHARER_URL"]}
    return intents.intent_url(network, text, link, bases)
