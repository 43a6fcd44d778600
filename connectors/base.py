"""What every network connector shares: value objects, the error taxonomy, the registry and the HTTP session factory.

A connector is a client of one network, usable on its own: nothing here (or in any connector module) imports
from ``advocacy``. The delivery engine decides what to retry from the exception class alone, so every connector
maps every failure of its network onto exactly one of the classes below.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable
from urllib.parse import urlsplit

if TYPE_CHECKING:  # requests loads with the first session (``http_session``)
    import requests


DEFAULT_TIMEOUT = 10.0
DEFAULT_USER_AGENT = "advocacy/0.1 (+self-hosted employee advocacy)"


# --------------------------------------------------------------------------------------------------- value objects
@dataclass(frozen=True)
class Token:
    """An OAuth token set as the network returned it (times are timezone-aware UTC)."""

    access_token: str
    refresh_token: str | None = None
    expires_at: dt.datetime | None = None
    scope: str = ""

    def __repr__(self) -> str:  # never let a token reach a log line through repr()
        refresh = "yes" if self.refresh_token else "no"
        return f"Token(expires_at={self.expires_at!r}, scope={self.scope!r}, refresh={refresh})"


@dataclass(frozen=True)
class AuthRequest:
    """Where to send the person to consent, and what the callback must be checked against."""

    url: str
    state: str
    code_verifier: str | None = None


@dataclass(frozen=True)
class AppCredentials:
    """The OAuth client one server issued to this app (Mastodon registers apps per instance)."""

    server_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str

    def __repr__(self) -> str:  # the secret never reaches a log line through repr()
        return f"AppCredentials(server_url={self.server_url!r}, client_id={self.client_id!r}, scopes={self.scopes!r})"


@dataclass(frozen=True)
class Profile:
    id: str
    handle: str
    followers: int | None = None  # None: the network does not tell us


@dataclass(frozen=True)
class Media:
    """An image to attach to a post, as bytes (the connector uploads it to the network first).

    ``content_type`` is one of ``IMAGE_TYPES``; ``alt`` is the description screen readers read out (every network
    here takes one). A network that refuses the image (too large, a type it does not take) raises ``Rejected``
    naming the limit.
    """

    data: bytes
    content_type: str
    alt: str = ""
    filename: str = "image"


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass(frozen=True)
class PublishedPost:
    id: str
    url: str


@dataclass(frozen=True)
class PostMetrics:
    """Counts for one post. ``None`` means the network does not provide the figure; it is never a zero.

    ``available`` is False when the network holds the post but will not give this app its figures at all (LinkedIn
    without the ``r_member_postAnalytics`` scope): every figure is then None, and asking again will not change it.
    """

    post_id: str
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    impressions: int | None = None
    extra: Mapping[str, int] = field(default_factory=dict)
    available: bool = True

    @classmethod
    def unavailable(cls, post_id: str) -> PostMetrics:
        """Figures this app may not read for ``post_id``: every count None, never a zero.

        Args:
            post_id: the network's id of the post.
        """
        return cls(post_id=post_id, available=False)


# ---------------------------------------------------------------------------------------------------------- errors
class ConnectorError(Exception):
    """Base of the taxonomy. ``status`` and ``raw`` keep what the network answered, for the operator."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, raw: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.raw = raw[:2000] if raw else raw


class RateLimited(ConnectorError):
    """Too many requests; ``reset_at`` (UTC) is when the network says the window frees, if it said (None: it did
    not, so try again after a short backoff). ``app_wide``: the limit is the app's, not this person's (LinkedIn's
    APPLICATION DAY limit), so nobody's posts to this network should go before ``reset_at``."""

    retryable = True

    def __init__(self, message: str, *, reset_at: dt.datetime | None = None, app_wide: bool = False,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reset_at = reset_at
        self.app_wide = app_wide


class AuthExpired(ConnectorError):
    """The access token expired: refresh it and try once more."""


class AuthRevoked(ConnectorError):
    """The person withdrew consent or the refresh token is dead: only the person can reconnect."""


class Duplicate(ConnectorError):
    """The network refused the post as a duplicate of one it already holds.

    ``existing`` is that post when the network's answer names it (LinkedIn's 422 does; X's 403 does not), so the
    delivery engine can record its id and URL instead of a share published without either.
    """

    def __init__(self, message: str, *, existing: PublishedPost | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.existing = existing


class Rejected(ConnectorError):
    """Permanent refusal of this request (bad text, forbidden, not found); retrying will not help."""


class Transient(ConnectorError):
    """5xx, timeouts, connection failures, unreadable bodies: worth retrying later; not before ``retry_at`` (UTC)
    when the network said when (a 503's ``Retry-After``)."""

    retryable = True

    def __init__(self, message: str, *, retry_at: dt.datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_at = retry_at


class ConfigurationError(ConnectorError):
    """Our side is misconfigured (a retired API version, a wrong client id): an operator must act."""


# ------------------------------------------------------------------------------------------------------- protocol
@runtime_checkable
class Connector(Protocol):
    """One network. Implementations take their URLs and credentials in ``__init__`` and hold no per-user state."""

    name: ClassVar[str]

    def authorization_url(self, redirect_uri: str) -> AuthRequest: ...

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> Token: ...

    def refresh(self, token: Token) -> Token: ...

    def profile(self, access_token: str) -> Profile: ...

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        """Post as the person. ``idempotency_key``: the same key for every attempt of one share, so a network that
        honours one (Mastodon's ``Idempotency-Key``) answers a retry with the post it already made; others ignore it.
        ``media``: images uploaded to the network and attached to the post (at most four). ``link_title``: the title
        of the page ``link`` leads to, for a network that shows a link card (LinkedIn's article); others ignore it,
        and a connector that reads it says so with a class attribute ``uses_link_title = True`` (callers then look
        the title up only for those).
        """
        ...

    def delete(self, access_token: str, post_id: str) -> None: ...

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]: ...


@runtime_checkable
class RegistersApps(Protocol):
    """A network where each server registers its own OAuth app (Mastodon): register once per server, keep it."""

    def register_app(self, redirect_uri: str) -> AppCredentials: ...


@runtime_checkable
class SignsInWithPassword(Protocol):
    """A network without third-party OAuth for posting (Bluesky): an app password is exchanged for a session."""

    def create_session(self, identifier: str, password: str) -> Token: ...


@runtime_checkable
class FindsPosts(Protocol):
    """A network where the person's recent posts can be searched: how the delivery engine learns whether an attempt
    whose answer was lost (a timeout, a dead worker) did post, before it tries again."""

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None: ...


@runtime_checkable
class RevokesTokens(Protocol):
    """A network that takes back a token it issued (X, Mastodon, LinkedIn: OAuth token revocation; Bluesky: the
    session deleted), so disconnecting ends this app's access at the network, not only here.

    Best effort for the caller: ``revoke`` raises the taxonomy's errors when the network cannot be reached
    (``Transient``), refuses our client (``ConfigurationError``) or the request (``Rejected``); a token the network
    no longer knows counts as revoked."""

    def revoke(self, token: Token) -> None: ...


# ------------------------------------------------------------------------------------------------------- registry
_REGISTRY: dict[str, type] = {}
C = TypeVar("C", bound=type)


def register(cls: C) -> C:
    """Class decorator: make a connector available under its ``name``."""
    _REGISTRY[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def connector_class(name: str) -> type:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no connector registered for network {name!r}; known: {sorted(_REGISTRY)}") from None


def registered_networks() -> list[str]:
    return sorted(_REGISTRY)


# ------------------------------------------------------------------------------------------------- HTTP sessions
@cache
def _timeout_adapter_class() -> Any:
    """The adapter that gives every request the session's timeout unless the caller set one. Made on first use, so
    importing this module does not import requests (with urllib3 and charset_normalizer, ~5 MiB): a web worker serving
    pages never opens a session."""
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def __init__(self, timeout: float, **kw: Any) -> None:
            self._timeout = timeout
            super().__init__(**kw)

        def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
            if kw.get("timeout") is None:
                kw["timeout"] = self._timeout
            return super().send(request, **kw)

    return TimeoutAdapter


def http_session(
    *, timeout: float = DEFAULT_TIMEOUT, user_agent: str = DEFAULT_USER_AGENT, session: requests.Session | None = None
) -> requests.Session:
    """The one place that builds HTTP sessions: user agent and a default timeout on every request.

    Args:
        timeout: seconds for connect and read when the caller gives none.
        user_agent: sent on every request.
        session: an existing session to configure (tweepy's, requests-oauthlib's) instead of a new one.
    """
    if session is None:
        import requests

        session = requests.Session()
    session.headers["User-Agent"] = user_agent
    adapter = _timeout_adapter_class()(timeout)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    _read_environment_once_per_host(session)
    return session


def _read_environment_once_per_host(s: requests.Session, limit: int = 256) -> None:
    """requests looks at the environment (every variable, for proxies and ``no_proxy``, and the CA bundle) before
    every request; a session kept for thousands of posts asks once per scheme, host and arguments instead. The
    environment of a running process does not change; a session whose ``trust_env`` is off is left alone."""
    merge: Callable[..., Any] = s.merge_environment_settings
    seen: dict[tuple[Any, ...], Any] = {}

    def cached(url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        if not s.trust_env:
            return merge(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify,
               cert if not isinstance(cert, list) else tuple(cert))
        settings = seen.get(key)
        if settings is None:
            if len(seen) >= limit:
                seen.clear()
            settings = seen[key] = merge(url, proxies, stream, verify, cert)
        return {**settings, "proxies": dict(settings["proxies"])}  # the caller's own copy

    s.merge_environment_settings = cached  # type: ignore[method-assign,assignment]


def utc_from_epoch(value: str | int | float | None) -> dt.datetime | None:
    """Parse an epoch-seconds header (X, Bluesky) into an aware UTC datetime; ``None`` when absent or junk."""
    if value is None or value == "":
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def retry_after(
    headers: Mapping[str, str], *also: dt.datetime | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the network lets us ask again: its ``Retry-After`` header (RFC 9110 §10.2.3: delay-seconds or an
    HTTP-date), or the latest of that and the network's own reset times passed in ``also`` (X's
    ``x-rate-limit-reset``, Mastodon's ``X-RateLimit-Reset``, Bluesky's ``RateLimit-Reset``), so we never come back
    before any of them says. ``None`` when none is given or readable.

    Args:
        headers: the answer's headers (``response.headers``; looked up case-insensitively by requests).
        also: reset times the caller read from the network's own headers (None where absent).
        now: the current time (aware; tests); defaults to now.
    """
    known = [t for t in also if t is not None]
    value = str(headers.get("Retry-After") or "").strip()
    if value.isdigit():  # delay-seconds = 1*DIGIT
        now = now or dt.datetime.now(dt.UTC)
        try:
            known.append(now + dt.timedelta(seconds=int(value)))
        except OverflowError:
            pass
    elif value:
        try:
            when = email.utils.parsedate_to_datetime(value)  # IMF-fixdate (and the obsolete forms RFC 9110 allows)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            known.append(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
    return max(known) if known else None


def utc_from_iso(value: str | None) -> dt.datetime | None:
    """Parse an ISO-8601 header (Mastodon's ``X-RateLimit-Reset``) into an aware UTC datetime."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def build(name: str, settings: Mapping[str, Any], factory: Callable[..., Any] | None = None) -> Any:
    """Instantiate the connector registered as ``name`` with keyword settings (see each connector's ``__init__``)."""
    cls = factory or connector_class(name)
    return cls(**settings)
