"""A local emulation of one Mastodon server, faithful enough that requests-oauthlib and our connector cannot tell.

Endpoints: app registration (``POST /api/v1/apps``), the OAuth consent page and token endpoints (authorization code,
optional PKCE S256, client credentials, revocation; tokens do not expire, as on Mastodon),
``GET /api/v1/accounts/verify_credentials``, ``POST /api/v1/statuses`` (with ``Idempotency-Key`` and
``media_ids``), ``GET|DELETE /api/v1/statuses/<id>``, an account's statuses (``GET /api/v1/accounts/<id>/statuses``,
newest first, paged by ``max_id``/``since_id``/``min_id`` and ``limit`` with Mastodon's ``Link`` header), image
upload (``POST /api/v2/media``: 200 when processed at once, 202 while processing, then ``GET /api/v1/media/<id>``
answers 206 until done), a public page per status (``/@<username>/<id>``), and the JSON control API under
``/_sandbox/`` (the same endpoints and shapes as the X sandbox). Rate limits answer with Mastodon's
``X-RateLimit-*`` headers, the reset as an ISO-8601 timestamp. Run it with ``sandbox.runner``.
"""

from __future__ import annotations

import base64
import calendar
import dataclasses
import hashlib
import html
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jsonschema
import regex
from flask import Flask, Response, g, request

from sandbox.common import (
    ControlError,
    Fault,
    SandboxState,
    checked_counts,
    checked_metrics,
    control_body,
    e,
    install_control,
    install_faults,
    json_response,
    sniff_image,
    utc_iso,
)
from sandbox.schemas.mastodon import (
    ACCOUNT_STATUSES_NOT_EMULATED,
    ACCOUNT_STATUSES_PARAMS,
    APP_CREATE_REQUEST,
    DEFAULT_STATUSES_LIMIT,
    IMAGE_MIME_TYPES,
    IMAGE_SIZE_LIMIT,
    MAX_CHARACTERS,
    MAX_DESCRIPTION_LENGTH,
    MAX_MEDIA_ATTACHMENTS,
    MAX_STATUSES_LIMIT,
    MEDIA_CREATE_REQUEST,
    MEDIA_NOT_EMULATED,
    NOT_EMULATED,
    STATUS_CREATE_REQUEST,
    TOKEN_REQUEST,
    URL_LENGTH,
)

# Every scope Mastodon 4.7 knows (OAuthScope); "read" and "write" include their "read:…" and "write:…" parts.
SCOPES = frozenset(
    {
        "profile", "read", "write", "push", "follow", "admin:read", "admin:write",
        "read:accounts", "read:blocks", "read:bookmarks", "read:collections", "read:favourites", "read:filters",
        "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
        "write:accounts", "write:blocks", "write:bookmarks", "write:collections", "write:conversations",
        "write:favourites", "write:filters", "write:follows", "write:lists", "write:media", "write:mutes",
        "write:notifications", "write:reports", "write:statuses",
        "admin:read:accounts", "admin:read:canonical_email_blocks", "admin:read:domain_allows",
        "admin:read:domain_blocks", "admin:read:email_domain_blocks", "admin:read:ip_blocks", "admin:read:reports",
        "admin:write:accounts", "admin:write:canonical_email_blocks", "admin:write:domain_allows",
        "admin:write:domain_blocks", "admin:write:email_domain_blocks", "admin:write:ip_blocks",
        "admin:write:reports",
    }
)  # fmt: skip
# endpoint -> the scopes (any one of them) that allow it, as the spec's ``security`` lists them
ENDPOINT_SCOPES = {
    "GET /api/v1/accounts/verify_credentials": ("profile", "read:accounts"),
    "POST /api/v1/statuses": ("write:statuses",),
    "GET /api/v1/statuses/{id}": ("read:statuses",),
    "GET /api/v1/accounts/{id}/statuses": ("read:statuses",),
    "DELETE /api/v1/statuses/{id}": ("write:statuses",),
    "POST /api/v2/media": ("write:media",),
    "GET /api/v1/media/{id}": ("write:media",),
}
# name -> (limit, window seconds): Mastodon's rack-attack throttles and the status-posting limiter
DEFAULT_RATE_LIMITS = {
    "per_token": (300, 300),  # every authenticated API request, per access token
    "unauthenticated": (300, 300),  # API requests without a token, per IP
    "statuses": (300, 10800),  # posting statuses, per account
    "delete": (30, 1800),  # deleting statuses, per account
    "media": (30, 1800),  # uploading media, per account
}
METRIC_NAMES = ("favourites_count", "reblogs_count", "replies_count", "quotes_count")
OOB = "urn:ietf:wg:oauth:2.0:oob"
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,30}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the "
    "authorization request, or was issued to another client."
)
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, or unsupported "
    "authentication method."
)
_APP_SCHEMA = jsonschema.Draft202012Validator(APP_CREATE_REQUEST)
_STATUS_SCHEMA = jsonschema.Draft202012Validator(STATUS_CREATE_REQUEST)
_TOKEN_SCHEMA = jsonschema.Draft202012Validator(TOKEN_REQUEST)
_MEDIA_SCHEMA = jsonschema.Draft202012Validator(MEDIA_CREATE_REQUEST)
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"


def countable_length(text: str) -> int:
    """What Mastodon counts against the 500-character limit: grapheme clusters, each URL as 23.

    Args:
        text: status text plus content warning.
    """
    total, pos = 0, 0
    for match in URL_IN_TEXT.finditer(text):
        total += len(regex.findall(r"\X", text[pos : match.start()])) + URL_LENGTH
        pos = match.end()
    return total + len(regex.findall(r"\X", text[pos:]))


# ------------------------------------------------------------------------------------------------------ state
@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    code_lifetime: int = 600
    idempotency_ttl: int = 3600
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    max_characters: int = MAX_CHARACTERS
    latency_ms: int = 0
    metrics_growth: bool = True
    seed: int = 0
    title: str = "Mastodon sandbox"
    # Mastodon 4 processes images at once (200); a busy server, or video, answers 202 and processes in the background.
    # Images larger than this many bytes take that path here, and stay processing for this many status checks.
    media_async_over_bytes: int = 1024 * 1024
    media_processing_polls: int = 2


@dataclass
class App:
    id: str
    name: str
    website: str | None
    redirect_uris: list[str]
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str


@dataclass
class User:
    id: str
    username: str
    display_name: str
    followers: int
    following: int
    created_at: str


@dataclass
class Status:
    id: str
    author_id: str
    client_id: str
    text: str
    spoiler_text: str
    visibility: str
    sensitive: bool
    language: str | None
    created_at: str
    idempotency_key: str | None = None
    key_forgotten: bool = False  # the control API aged the key past the server's memory of it
    deleted: bool = False
    deleted_at: str | None = None
    metrics: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(METRIC_NAMES, 0))
    growth: bool = True
    lookups: int = 0
    media_ids: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    """An uploaded image: its owner's, attachable to one status once processed."""

    id: str
    owner_id: str
    content_type: str
    data: bytes
    description: str | None
    focus: tuple[float, float] | None
    created_at: str
    polls_left: int = 0  # status checks still answered 206 (processing)
    status_id: str | None = None

    @property
    def processed(self) -> bool:
        return self.polls_left <= 0


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    user_id: str
    challenge: str | None
    expires_at: float


@dataclass
class AccessToken:
    user_id: str | None  # None: an app token (client credentials)
    client_id: str
    scopes: tuple[str, ...]
    created_at: int
    revoked: bool = False
    expired: bool = False


class ApiError(Exception):
    """An answer other than success: Mastodon's ``{"error": …}`` body."""

    def __init__(self, status: int, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def error(status: int, message: str, description: str | None = None, **kw: Any) -> ApiError:
    body: dict[str, Any] = {"error": message}
    if description is not None:
        body["error_description"] = description
    return ApiError(status, body, **kw)


def reset_header(epoch: float) -> str:
    """Mastodon's ``X-RateLimit-Reset``: an ISO-8601 timestamp with microseconds."""
    return utc_iso(epoch, 6)


class MastodonState(SandboxState):
    """Everything the emulated server remembers. Every public method takes the lock."""

    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._next_status = (int(time.time() * 1000) << 16) + 1  # snowflake-like; survives reset
        self._next_app = 1
        super().__init__(config)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.apps: dict[str, App] = {}  # by client_id
            self.users: dict[str, User] = {}  # by lower-case username
            self.statuses: dict[str, Status] = {}
            self.attachments: dict[str, Attachment] = {}
            self.grants: dict[str, Grant] = {}
            self.tokens: dict[str, AccessToken] = {}
            self.clock_offset = 0.0  # seconds the control API moved this server's clock on (POST /_sandbox/clock)

    def now(self) -> float:
        """This server's clock: the wall clock, moved on by the control API (to let an hour pass in a test)."""
        with self.lock:
            return time.time() + self.clock_offset

    # ------------------------------------------------------------------------------------------------ users
    def user(self, username: str, followers: int | None = None, following: int | None = None) -> User:
        """The user with this username, created on first sight with a deterministic id and follower count."""
        with self.lock:
            key = username.lower()
            user = self.users.get(key)
            if user is None:
                digest = int.from_bytes(hashlib.sha256(b"mastodon:" + key.encode()).digest()[:8], "big")
                user = User(
                    id=str(10**17 + digest % (9 * 10**17)),
                    username=username,
                    display_name=username.replace("_", " ").title(),
                    followers=50 + digest % 2950,
                    following=20 + digest % 380,
                    created_at=time.strftime("%Y-%m-%dT00:00:00.000Z", time.gmtime()),
                )
                self.users[key] = user
            if followers is not None:
                user.followers = followers
            if following is not None:
                user.following = following
            return user

    def user_by_id(self, user_id: str | None) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.id == user_id), None)

    def user_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dataclasses.asdict(u) | {"handle": u.username} for u in self.users.values()]

    def upsert_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        handle = data.get("handle")
        if not isinstance(handle, str) or not USERNAME.match(handle):
            raise ControlError("handle: 1 to 30 letters, digits or _ (the username on this server)")
        checked_counts(data, ("followers", "following"))
        user = self.user(handle, data.get("followers"), data.get("following"))
        return dataclasses.asdict(user) | {"handle": user.username}

    # ------------------------------------------------------------------------------------------------- apps
    def register_app(self, name: str, redirect_uris: list[str], scopes: tuple[str, ...], website: str | None) -> App:
        with self.lock:
            app = App(
                id=str(self._next_app),
                name=name,
                website=website,
                redirect_uris=redirect_uris,
                scopes=scopes,
                client_id=secrets.token_urlsafe(32),
                client_secret=secrets.token_urlsafe(32),
            )
            self._next_app += 1
            self.apps[app.client_id] = app
            return app

    def app_for(self, client_id: str, secret: str | None) -> App:
        """The app authenticating on the token endpoints; 401 invalid_client otherwise."""
        with self.lock:
            app = self.apps.get(client_id)
            if app is None or secret is None or not secrets.compare_digest(app.client_secret, secret):
                raise error(401, "invalid_client", INVALID_CLIENT)
            return app

    # -------------------------------------------------------------------------------------------------- OAuth
    def issue_code(
        self, client_id: str, redirect_uri: str, scopes: tuple[str, ...], user: User, challenge: str | None
    ) -> str:
        with self.lock:
            code = secrets.token_urlsafe(32)
            expires = time.time() + self.config.code_lifetime
            self.grants[code] = Grant(client_id, redirect_uri, scopes, user.id, challenge, expires)
            return code

    def redeem_code(self, app: App, code: str, redirect_uri: str, verifier: str | None) -> dict[str, Any]:
        with self.lock:
            grant = self.grants.pop(code, None)  # single use: gone whatever happens next
            if grant is None or grant.expires_at < time.time() or grant.client_id != app.client_id:
                raise error(400, "invalid_grant", INVALID_GRANT)
            if grant.redirect_uri != redirect_uri:
                raise error(400, "invalid_grant", INVALID_GRANT)
            if grant.challenge is not None:
                if not verifier:
                    raise error(400, "invalid_request", "Missing required parameter: code_verifier.")
                digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                    raise error(400, "invalid_grant", INVALID_GRANT)
            return self._issue(grant.user_id, app.client_id, grant.scopes)

    def _issue(self, user_id: str | None, client_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        now = int(time.time())
        self.tokens[token] = AccessToken(user_id, client_id, scopes, now)
        return {"access_token": token, "token_type": "Bearer", "scope": " ".join(scopes), "created_at": now}

    def app_token(self, app: App, scope: str | None) -> dict[str, Any]:
        with self.lock:
            asked = tuple(dict.fromkeys((scope or "read").split()))
            if not set(asked) <= set(app.scopes):
                raise error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
            return self._issue(None, app.client_id, asked)

    def revoke(self, app: App, token: str) -> None:
        with self.lock:
            held = self.tokens.get(token)
            if held is not None and held.client_id != app.client_id:
                raise error(403, "unauthorized_client", "You are not authorized to revoke this token")
            if held is not None:
                held.revoked = True

    def authenticate(self, header: str | None, *, required: bool = True) -> AccessToken | None:
        with self.lock:
            scheme, _, value = (header or "").partition(" ")
            if not header and not required:
                return None
            token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                raise error(401, "The access token is invalid")
            if token.revoked:
                raise error(401, "The access token was revoked")
            if token.expired:
                raise error(401, "The access token expired")
            return token

    def _tokens_of(self, handle: str | None) -> list[AccessToken]:
        with self.lock:
            if handle is None:
                return list(self.tokens.values())
            user = self.users.get(handle.lower())
            if user is None:
                raise ControlError(f"no user with handle {handle!r}")
            return [t for t in self.tokens.values() if t.user_id == user.id]

    def expire_tokens(self, handle: str | None) -> int:
        with self.lock:
            tokens = self._tokens_of(handle)
            for token in tokens:
                token.expired = True
            return len(tokens)

    def revoke_tokens(self, handle: str) -> int:
        with self.lock:
            tokens = self._tokens_of(handle)
            for token in tokens:
                token.revoked = True
            return len(tokens)

    # ------------------------------------------------------------------------------------------- rate limits
    def rate_headers(self, checks: list[tuple[str, str, int]]) -> dict[str, str]:
        """Spend every (key, window name, cost); 429 with the exhausted window's headers, else the tightest's."""
        with self.lock:
            results = [(name, *self.take(key, name, cost, spend=False)) for key, name, cost in checks]
            for _name, allowed, window in results:
                if not allowed:
                    raise error(429, "Too many requests", headers=_x_headers(window, exhausted=True))
            spent = [self.take(key, name, cost)[1] for key, name, cost in checks]
            tightest = min(spent, key=lambda w: (w["remaining"], -w["reset"]))
            return _x_headers(tightest)

    # ------------------------------------------------------------------------------------------------ statuses
    def create_status(self, token: AccessToken, fields: Mapping[str, Any], key: str | None) -> tuple[Status, bool]:
        """A new status, or the one made earlier with the same ``Idempotency-Key`` (then ``False``).

        As Mastodon's PostStatusService: the key is kept per account (``idempotency:status:<account>:<key>``) for
        ``idempotency_ttl`` seconds (an hour) after the status is made, whatever app asks; a repeated key answers
        that status first (404 when it was deleted meanwhile: the account's statuses no longer hold it), then the
        media are checked: the caller's own, not yet attached, processed, at most four.
        """
        with self.lock:
            assert token.user_id is not None
            if key:
                horizon = self.now() - self.config.idempotency_ttl
                for status in self.statuses.values():
                    if (
                        status.author_id == token.user_id
                        and status.idempotency_key == key
                        and not status.key_forgotten
                        and _epoch(status.created_at) > horizon
                    ):
                        if status.deleted:
                            raise error(404, "Record not found")
                        return status, False
            attachments = self._attachable(token.user_id, [str(i) for i in fields.get("media_ids") or []])
            status = Status(
                id=str(self._next_status),
                author_id=token.user_id,
                client_id=token.client_id,
                text=fields.get("status", ""),
                spoiler_text=fields.get("spoiler_text", ""),
                visibility=fields.get("visibility", "public"),
                sensitive=bool(fields.get("sensitive", False)),
                language=fields.get("language"),
                created_at=utc_iso(self.now()),
                idempotency_key=key,
                growth=self.config.metrics_growth,
            )
            self._next_status += 1 + self.random.randrange(1 << 10)
            for attachment in attachments:
                attachment.status_id = status.id
                status.media_ids.append(attachment.id)
            self.statuses[status.id] = status
            return status, True

    def forget_idempotency_keys(self, handle: str | None) -> int:
        """Age every stored ``Idempotency-Key`` (of ``handle``'s statuses, or everyone's) past the server's memory, as
        an hour going by does: a repeat of the key then makes a new status. Returns how many keys were forgotten."""
        with self.lock:
            user = self.users.get(handle.lower()) if handle else None
            if handle and user is None:
                raise ControlError(f"no user {handle!r}")
            forgotten = 0
            for status in self.statuses.values():
                mine = user is None or status.author_id == user.id
                if status.idempotency_key and not status.key_forgotten and mine:
                    status.key_forgotten = True
                    forgotten += 1
            return forgotten

    def account_statuses(self, user: User, viewer: AccessToken | None, page: Mapping[str, Any]) -> list[Status]:
        """``user``'s live statuses the viewer may see, newest first, as ``GET /api/v1/accounts/:id/statuses`` pages
        them: ``max_id`` and ``since_id`` bound the ids, ``min_id`` takes those immediately newer than it, ``limit``
        caps the page; ``only_media`` and ``pinned`` filter (nothing is pinned here)."""
        with self.lock:
            own = viewer is not None and viewer.user_id == user.id
            shown = ("public", "unlisted", "private") if own else ("public", "unlisted")
            found = [s for s in self.statuses.values()
                     if s.author_id == user.id and not s.deleted and s.visibility in shown]
            if page["only_media"]:
                found = [s for s in found if s.media_ids]
            if page["pinned"]:
                found = []
            for name, keep in (("max_id", lambda i, b: i < b), ("since_id", lambda i, b: i > b),
                               ("min_id", lambda i, b: i > b)):
                bound = page[name]
                if bound is not None:
                    found = [s for s in found if keep(int(s.id), bound)]
            if page["min_id"] is not None:  # the page immediately newer than min_id, shown newest first
                oldest_first = sorted(found, key=lambda s: int(s.id))[: page["limit"]]
                return sorted(oldest_first, key=lambda s: int(s.id), reverse=True)
            return sorted(found, key=lambda s: int(s.id), reverse=True)[: page["limit"]]

    def _attachable(self, user_id: str, media_ids: list[str]) -> list[Attachment]:
        if len(media_ids) > MAX_MEDIA_ATTACHMENTS:
            raise error(422, f"Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files")
        found = {i: a for i in media_ids if (a := self.attachments.get(i)) is not None and a.owner_id == user_id
                 and a.status_id is None}  # Mastodon looks among the caller's unattached media only
        missing = [i for i in media_ids if i not in found]
        if missing:
            raise error(422, f"Media with ID(s) {', '.join(missing)} were not found")
        if not all(a.processed for a in found.values()):
            raise error(422, NOT_READY)
        return [found[i] for i in media_ids]

    # --------------------------------------------------------------------------------------------------- media
    def store_attachment(self, token: AccessToken, content_type: str, data: bytes, description: str | None,
                         focus: tuple[float, float] | None) -> Attachment:
        """Keep an uploaded image; one over ``media_async_over_bytes`` is processed in the background."""
        with self.lock:
            assert token.user_id is not None
            attachment = Attachment(str(self._next_status), token.user_id, content_type, data, description, focus,
                                    utc_iso(time.time()))
            self._next_status += 1 + self.random.randrange(1 << 10)
            if len(data) > self.config.media_async_over_bytes:
                attachment.polls_left = max(self.config.media_processing_polls, 1)
            self.attachments[attachment.id] = attachment
            return attachment

    def own_attachment(self, token: AccessToken, media_id: str) -> Attachment:
        """The caller's unattached media ``media_id`` (Mastodon's ``GET /api/v1/media/:id`` sees nothing else)."""
        with self.lock:
            attachment = self.attachments.get(media_id)
            if attachment is None or attachment.owner_id != token.user_id or attachment.status_id is not None:
                raise error(404, "Record not found")
            return attachment

    def attachment_record(self, attachment: Attachment) -> dict[str, Any]:
        """What ``/_sandbox/posts`` and ``/_sandbox/media`` show of an attachment."""
        return {"id": attachment.id, "type": "image", "content_type": attachment.content_type,
                "size": len(attachment.data), "description": attachment.description,
                "processed": attachment.processed, "status_id": attachment.status_id}

    def live_status(self, status_id: str) -> Status:
        with self.lock:
            status = self.statuses.get(status_id)
            if status is None or status.deleted:
                raise error(404, "Record not found")
            return status

    def delete_status(self, token: AccessToken, status_id: str) -> Status:
        with self.lock:
            status = self.statuses.get(status_id)
            if status is None or status.deleted or status.author_id != token.user_id:
                raise error(404, "Record not found")  # Mastodon looks among the caller's own statuses only
            status.deleted = True
            status.deleted_at = utc_iso(time.time())
            return status

    def look_up(self, status_id: str) -> Status:
        """A live status, its counts grown one deterministic step (unless frozen by the control API)."""
        with self.lock:
            status = self.live_status(status_id)
            if status.growth:
                step = status.lookups
                bump = {
                    "favourites_count": int(step % 2 == 0),
                    "reblogs_count": int(step % 3 == 0),
                    "replies_count": int(step % 5 == 0),
                    "quotes_count": int(step % 7 == 0),
                }
                for name, more in bump.items():
                    current = status.metrics.get(name)
                    if current is not None:
                        status.metrics[name] = current + more
            status.lookups += 1
            return status

    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            status = self.statuses.get(post_id)
            if status is None:
                raise ControlError(f"no post {post_id}")
            checked_metrics(values, METRIC_NAMES)
            status.growth = bool(values.get("growth", False))  # setting figures freezes them unless told otherwise
            status.metrics.update({k: v for k, v in values.items() if k != "growth"})
            return self.post_view(status)

    def post_view(self, status: Status) -> dict[str, Any]:
        with self.lock:
            author = self.user_by_id(status.author_id)
            return {
                "id": status.id,
                "author_id": status.author_id,
                "author_handle": author.username if author else None,
                "client_id": status.client_id,
                "text": status.text,
                "spoiler_text": status.spoiler_text,
                "visibility": status.visibility,
                "idempotency_key": status.idempotency_key,
                "idempotency_key_forgotten": status.key_forgotten,
                "created_at": status.created_at,
                "deleted": status.deleted,
                "deleted_at": status.deleted_at,
                "public_metrics": dict(status.metrics),
                "metrics_growth": status.growth,
                "media": [self.attachment_record(self.attachments[i]) for i in status.media_ids],
            }

    def post_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.post_view(s) for s in self.statuses.values()]


def _epoch(iso: str) -> float:
    return float(calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")))


def _x_headers(window: Mapping[str, int], *, exhausted: bool = False) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(window["limit"]),
        "X-RateLimit-Remaining": "0" if exhausted else str(window["remaining"]),
        "X-RateLimit-Reset": reset_header(window["reset"]),
    }


# ---------------------------------------------------------------------------------------------------- entities
def base_url() -> str:
    return request.host_url.rstrip("/")


def content_html(text: str) -> str:
    """Mastodon's rendering of plain text: paragraphs, line breaks, and links it detected."""
    out, pos = [], 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        out += [html.escape(text[pos : match.start()]), f'<a href="{e(url)}" target="_blank" rel="nofollow noopener">']
        out += [html.escape(url), "</a>"]
        pos = match.start() + len(url)
    rendered = "".join(out) + html.escape(text[pos:])
    paragraphs = [p.replace("\n", "<br />") for p in rendered.split("\n\n") if p]
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def account_view(state: MastodonState, user: User, *, credential: bool = False) -> dict[str, Any]:
    base = base_url()
    with state.lock:
        posts = [s for s in state.statuses.values() if s.author_id == user.id and not s.deleted]
    last = max((s.created_at for s in posts), default=None)
    view: dict[str, Any] = {
        "id": user.id,
        "username": user.username,
        "acct": user.username,
        "display_name": user.display_name,
        "locked": False,
        "bot": False,
        "discoverable": True,
        "indexable": False,
        "group": False,
        "created_at": user.created_at,
        "note": f"<p>{e(user.display_name)}, emulated by the advocacy Mastodon sandbox.</p>",
        "url": f"{base}/@{user.username}",
        "uri": f"{base}/users/{user.username}",
        "avatar": f"{base}/avatars/original/missing.png",
        "avatar_static": f"{base}/avatars/original/missing.png",
        "header": f"{base}/headers/original/missing.png",
        "header_static": f"{base}/headers/original/missing.png",
        "followers_count": user.followers,
        "following_count": user.following,
        "statuses_count": len(posts),
        "last_status_at": last[:10] if last else None,
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": [],
    }
    if credential:
        view["source"] = {
            "privacy": "public",
            "sensitive": False,
            "indexable": False,
            "language": None,
            "note": f"{user.display_name}, emulated by the advocacy Mastodon sandbox.",
            "fields": [],
            "follow_requests_count": 0,
        }
        view["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return view


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or GIF from its header; None for other types (their meta is left out)."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:3] == b"GIF" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """A MediaAttachment as Mastodon renders it: ``url`` null while the original is still being processed."""
    base = base_url()
    name = f"{attachment.id}.{attachment.content_type.rsplit('/', 1)[-1]}"
    meta: dict[str, Any] = {}
    size = image_size(attachment.data)
    if size and all(size):
        details = {"width": size[0], "height": size[1], "aspect": size[0] / size[1]}
        meta |= {"original": details, "small": details}
    if attachment.focus is not None:
        meta["focus"] = {"x": attachment.focus[0], "y": attachment.focus[1]}
    return {
        "id": attachment.id,
        "type": "image",
        "url": f"{base}/system/media_attachments/files/{attachment.id}/original/{name}" if attachment.processed
        else None,
        "preview_url": f"{base}/system/media_attachments/files/{attachment.id}/small/{name}",
        "remote_url": None,
        "meta": meta or None,
        "description": attachment.description,
        "blurhash": None,
    }


def status_view(state: MastodonState, status: Status, *, with_source: bool = False) -> dict[str, Any]:
    base = base_url()
    author = state.user_by_id(status.author_id)
    assert author is not None
    with state.lock:
        app = state.apps.get(status.client_id)
    view: dict[str, Any] = {
        "id": status.id,
        "created_at": status.created_at,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "visibility": status.visibility,
        "language": status.language,
        "uri": f"{base}/users/{author.username}/statuses/{status.id}",
        "url": f"{base}/@{author.username}/{status.id}",
        "replies_count": status.metrics.get("replies_count") or 0,
        "reblogs_count": status.metrics.get("reblogs_count") or 0,
        "favourites_count": status.metrics.get("favourites_count") or 0,
        "quotes_count": status.metrics.get("quotes_count"),
        "edited_at": None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "pinned": False,
        "content": content_html(status.text),
        "reblog": None,
        "application": {"name": app.name, "website": app.website} if app else None,
        "account": account_view(state, author),
        "media_attachments": [attachment_view(state.attachments[i]) for i in status.media_ids],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    if with_source:
        view["text"] = status.text
    return view


# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Mastodon sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #191b22; color: #d9e1e8; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; background: #282c37; border-radius: .5rem; padding: 2rem; }}
 .badge {{ font-size: .75rem; background: #ffd400; color: #000; border-radius: .5rem; padding: .1rem .5rem; }}
 button {{ border-radius: .3rem; padding: .6rem 1.4rem; font-size: 1rem; border: 0; cursor: pointer; }}
 button.primary {{ background: #6364ff; color: #fff; }}
 input[type=text] {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #ff6b6b; }} .muted {{ color: #9baec8; }} a {{ color: #8c8dff; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> Mastodon emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                    "code_challenge_method")  # fmt: skip


def _check_authorize(state: MastodonState, params: Mapping[str, str]) -> tuple[App, tuple[str, ...], str | None]:
    """Client and redirect URI problems (shown on a page, never redirected), then (app, scopes, redirect error).

    The third value names an ``error`` for the redirect back (invalid_scope, unsupported_response_type …) once the
    client and redirect URI are known good, as Doorkeeper does.
    """
    with state.lock:
        app = state.apps.get(params.get("client_id", ""))
    if app is None:
        raise ControlError("client_id: missing or not an application registered on this server")
    if params.get("redirect_uri", "") not in app.redirect_uris:
        raise ControlError("redirect_uri: missing or not one of the redirect URIs the application registered")
    if params.get("response_type") != "code":
        return app, (), "unsupported_response_type"
    scopes = tuple(dict.fromkeys((params.get("scope") or "read").split()))
    if not set(scopes) <= set(app.scopes):
        return app, scopes, "invalid_scope"
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and (method != "S256" or not CHALLENGE.match(params["code_challenge"])):
        return app, scopes, "invalid_request"
    return app, scopes, None


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode({k: v for k, v in params.items() if v})) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def consent_page(params: Mapping[str, str], app: App, scopes: tuple[str, ...], username: str, note: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{e(s)}</code></li>" for s in scopes)
    alert = f'<p class="error" role="alert">{e(note)}</p>' if note else ""
    return f"""<h1>Authorization required</h1>
<p><strong>{e(app.name)}</strong> would like permission to access your account. It asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{e(params.get("redirect_uri", ""))}</code>.</p>{alert}
<form method="post" action="/oauth/authorize">{hidden}
<p><label for="username">Logged in as (any username; the account is created on first use)</label>
<input type="text" id="username" name="username" value="{e(username)}" pattern="[A-Za-z0-9_]{{1,30}}" required></p>
<p><button class="primary" type="submit" name="decision" value="authorize">Authorize</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Deny</button></p></form>"""


def _params_error(message: str) -> Response:
    name, _, detail = message.partition(":")
    body = f'<h1>An error has occurred</h1><p class="error">Invalid parameter <code>{e(name)}</code>: '
    return page("Error", body + f"{e(detail.strip())}.</p>", 400)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Mastodon sandbox (one server).

    Control API (JSON): ``GET /_sandbox/posts`` (each with its ``media``), ``POST /_sandbox/posts/<id>/metrics``,
    ``POST /_sandbox/reset``, ``GET|POST|DELETE /_sandbox/faults``, ``GET|POST /_sandbox/users``,
    ``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``, ``GET|POST /_sandbox/config``; plus
    ``GET /_sandbox/apps``, ``GET /_sandbox/media`` (the uploads) and ``POST /_sandbox/idempotency/expire``
    (``{"handle"}`` optional: the stored ``Idempotency-Key`` values are forgotten, as after an hour), and
    ``POST /_sandbox/clock`` (``{"advance": seconds}``: moves the server's clock on, e.g. past a key's hour).

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = MastodonState(config)
    app.extensions["mastodon_sandbox"] = state
    _install_hooks(app, state)
    _install_apps(app, state)
    _install_oauth(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_media(app, state)
    _install_pages(app, state)
    install_control(app, state)
    return app


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/oauth/token") or path.startswith("/oauth/revoke")


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    if fault.status == 429:
        headers.setdefault("X-RateLimit-Limit", "300")
        headers.setdefault("X-RateLimit-Remaining", "0")
        headers.setdefault("X-RateLimit-Reset", reset_header(time.time() + fault.reset_in))
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=headers, mimetype=fault.content_type or "text/html")
    status = fault.status or 500
    message = "Too many requests" if status == 429 else _PHRASES.get(status, "Unexpected error")
    return json_response({"error": message}, status, headers)


_PHRASES = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}


def _install_hooks(app: Flask, state: MastodonState) -> None:
    install_faults(app, state, is_api=_is_api, fault_response=fault_response)

    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        return json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith("/api/"):
            return json_response({"error": "Record not found"}, 404)
        return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return json_response({"error": "Method not allowed"}, 405)


def _params() -> dict[str, Any]:
    """The request's parameters: a JSON object, or a form (Rails reads both); ``key[]`` lists become lists."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise error(400, "Error while parsing request body")  # Rails' answer to broken JSON
        return body
    params: dict[str, Any] = {}
    for key in request.form:
        if key.endswith("[]"):
            params[key[:-2]] = request.form.getlist(key)
        else:
            params[key] = request.form[key]
    return params


def _validation_failed(validator: jsonschema.Draft202012Validator, body: Mapping[str, Any]) -> None:
    errors = sorted(validator.iter_errors(body), key=lambda x: list(map(str, x.absolute_path)))
    if errors:
        parts = []
        for err in errors:
            where = ".".join(map(str, err.absolute_path)) or (
                err.message.split("'")[1] if err.validator == "required" else "body"
            )
            parts.append(f"{where.replace('_', ' ').capitalize()} {_problem(err)}")
        raise error(422, "Validation failed: " + ", ".join(parts))


def _problem(err: jsonschema.ValidationError) -> str:
    if err.validator == "required":
        return "can't be blank"
    if err.validator == "enum":
        return "is not included in the list"
    if err.validator == "type":
        return f"must be a {err.validator_value}"
    return "is invalid"


def _install_apps(app: Flask, state: MastodonState) -> None:
    @app.post("/api/v1/apps")
    def create_app_registration() -> Response:
        g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        body = _params()
        if isinstance(body.get("redirect_uris"), str):  # Mastodon also takes one string, URIs split by whitespace
            body = {**body, "redirect_uris": body["redirect_uris"].split()}
        _validation_failed(_APP_SCHEMA, body)
        name = body["client_name"].strip()
        if not name:
            raise error(422, "Validation failed: Application name can't be blank")
        if len(name) > 60:
            raise error(422, "Validation failed: Application name is too long (maximum is 60 characters)")
        uris = body["redirect_uris"]
        if not uris:
            raise error(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            parts = urlsplit(uri)
            if uri != OOB and (not parts.scheme or not parts.netloc or parts.fragment):
                raise error(422, "Validation failed: Redirect URI must be an absolute URI.")
        scopes = tuple(dict.fromkeys(str(body.get("scopes") or "read").split()))
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown:
            raise error(422, "Validation failed: Scopes are invalid")
        website = body.get("website") or None
        registered = state.register_app(name, list(uris), scopes, website)
        return json_response(
            {
                "id": registered.id,
                "name": registered.name,
                "website": registered.website,
                "scopes": list(registered.scopes),
                "redirect_uri": "\n".join(registered.redirect_uris),
                "redirect_uris": registered.redirect_uris,
                "client_id": registered.client_id,
                "client_secret": registered.client_secret,
                "client_secret_expires_at": 0,
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
            }
        )

    @app.get("/_sandbox/apps")
    def list_apps() -> Response:
        with state.lock:
            apps = [dataclasses.asdict(a) | {"client_secret": "…"} for a in state.apps.values()]
        return json_response({"apps": apps})


def _install_oauth(app: Flask, state: MastodonState) -> None:
    @app.get("/oauth/authorize")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            registered, scopes, problem = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        username = request.args.get("username", "demo")
        return page("Authorize", consent_page(params, registered, scopes, username, ""))

    @app.post("/oauth/authorize")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            registered, scopes, problem = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if problem:
            return _redirect(params["redirect_uri"], {"error": problem, "state": params["state"]})
        if request.form.get("decision") != "authorize":
            description = "The resource owner or authorization server denied the request."
            return _redirect(
                params["redirect_uri"],
                {"error": "access_denied", "error_description": description, "state": params["state"]},
            )
        username = request.form.get("username", "").strip().lstrip("@")
        if not USERNAME.match(username):
            body = consent_page(params, registered, scopes, username, "A username is 1 to 30 letters, digits or _.")
            return page("Authorize", body, 400)
        user = state.user(username)
        code = state.issue_code(
            registered.client_id, params["redirect_uri"], scopes, user, params.get("code_challenge") or None
        )
        return _redirect(params["redirect_uri"], {"code": code, "state": params["state"]})


def _install_tokens(app: Flask, state: MastodonState) -> None:
    @app.post("/oauth/token")
    def token() -> Response:
        g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        body = _params()
        if "grant_type" not in body:
            raise error(400, "invalid_request", "Missing required parameter: grant_type.")
        bad = next(iter(_TOKEN_SCHEMA.iter_errors(body)), None)
        if bad is not None:
            where = ".".join(map(str, bad.absolute_path)) or "body"
            raise error(
                400,
                "invalid_request",
                f"The request is missing a required parameter, includes an "
                f"unsupported parameter value, or is otherwise malformed: {where}.",
            )
        registered = state.app_for(*_client_credentials(body))
        grant_type = body["grant_type"]
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not body.get(name):
                    raise error(400, "invalid_request", f"Missing required parameter: {name}.")
            answer = state.redeem_code(registered, body["code"], body["redirect_uri"], body.get("code_verifier"))
        elif grant_type == "client_credentials":
            answer = state.app_token(registered, body.get("scope"))
        else:
            raise error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        return json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/oauth/revoke")
    def revoke() -> Response:
        body = _params()
        registered = state.app_for(*_client_credentials(body))
        if not isinstance(body.get("token"), str) or not body["token"]:
            raise error(400, "invalid_request", "Missing required parameter: token.")
        state.revoke(registered, body["token"])
        return json_response({})


def _client_credentials(body: Mapping[str, Any]) -> tuple[str, str | None]:
    """HTTP Basic or ``client_id`` and ``client_secret`` in the body (Doorkeeper takes both)."""
    basic = request.authorization
    if basic is not None and basic.type == "basic":
        return basic.username or "", basic.password
    client_id, secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not client_id:
        raise error(401, "invalid_client", INVALID_CLIENT)
    return client_id, secret if isinstance(secret, str) else None


def _scoped(token: AccessToken, endpoint: str) -> None:
    allowed = ENDPOINT_SCOPES[endpoint]
    family = {s.split(":")[0] for s in allowed if s != "profile"}  # "read" covers read:…, "write" covers write:…
    if not any(s in token.scopes for s in (*allowed, *family)):
        raise error(403, "This action is outside the authorized scopes")
    if token.user_id is None:
        raise error(422, "This method requires an authenticated user")


def _authorized(state: MastodonState, endpoint: str, *extra: tuple[str, int]) -> AccessToken:
    """The caller's token, its windows spent (headers kept in ``g`` for every answer), scopes checked."""
    token = state.authenticate(request.headers.get("Authorization"))
    assert token is not None
    key = request.headers.get("Authorization", "")
    checks = [(key, "per_token", 1)] + [(token.user_id or token.client_id, name, cost) for name, cost in extra]
    g.rate_headers = state.rate_headers(checks)
    _scoped(token, endpoint)
    return token


def _checked_status_body(state: MastodonState) -> dict[str, Any]:
    """The fields of a valid ``POST /api/v1/statuses``; raises Mastodon's 422 otherwise."""
    body = _params()
    _validation_failed(_STATUS_SCHEMA, body)
    used = [name for name in NOT_EMULATED if body.get(name) not in (None, "", [], {})]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    text = body.get("status", "")
    if not text.strip() and not body.get("media_ids"):
        raise error(422, "Validation failed: Text can't be blank")
    limit = state.config.max_characters
    if countable_length(text + body.get("spoiler_text", "")) > limit:
        raise error(422, f"Validation failed: Text character limit of {limit} exceeded")
    return body


def _install_api(app: Flask, state: MastodonState) -> None:
    @app.get("/api/v1/accounts/verify_credentials")
    def verify_credentials() -> Response:
        token = _authorized(state, "GET /api/v1/accounts/verify_credentials")
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the users under a live token
            raise error(401, "The access token is invalid")
        return json_response(account_view(state, user, credential=True))

    @app.post("/api/v1/statuses")
    def create_status() -> Response:
        token = _authorized(state, "POST /api/v1/statuses", ("statuses", 1))
        key = request.headers.get("Idempotency-Key") or None
        with state.lock:
            status, _new = state.create_status(token, _checked_status_body(state), key)
        return json_response(status_view(state, status))

    @app.get("/api/v1/statuses/<status_id>")
    def get_status(status_id: str) -> Response:
        if request.headers.get("Authorization"):
            _authorized(state, "GET /api/v1/statuses/{id}")
        else:  # public statuses can be read without a token, counted per IP
            g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        return json_response(status_view(state, state.look_up(status_id)))

    @app.delete("/api/v1/statuses/<status_id>")
    def delete_status(status_id: str) -> Response:
        token = _authorized(state, "DELETE /api/v1/statuses/{id}", ("delete", 1))
        status = state.delete_status(token, status_id)
        return json_response(status_view(state, status, with_source=True))

    @app.get("/api/v1/accounts/<account_id>/statuses")
    def account_statuses(account_id: str) -> Response:
        viewer = None
        if request.headers.get("Authorization"):
            viewer = _authorized(state, "GET /api/v1/accounts/{id}/statuses")
        else:  # public statuses can be read without a token (since 2.7.0), counted per IP
            g.rate_headers = state.rate_headers([(request.remote_addr or "?", "unauthenticated", 1)])
        user = state.user_by_id(account_id)
        if user is None:
            raise error(404, "Record not found")
        page = _statuses_page()
        statuses = state.account_statuses(user, viewer, page)
        views = [status_view(state, status) for status in statuses]
        return json_response(views, headers=_page_links(f"/api/v1/accounts/{account_id}/statuses", page, statuses))

    @app.post("/_sandbox/clock")
    def move_clock() -> Response:
        advance = control_body().get("advance")
        if not isinstance(advance, int | float) or isinstance(advance, bool) or advance < 0:
            raise ControlError("advance: seconds >= 0 to move this server's clock on")
        with state.lock:
            state.clock_offset += float(advance)
            return json_response({"now": utc_iso(state.now()), "offset": state.clock_offset})

    @app.post("/_sandbox/idempotency/expire")
    def forget_idempotency_keys() -> Response:
        handle = control_body().get("handle")
        if handle is not None and not isinstance(handle, str):
            raise ControlError("handle must be a string")
        return json_response({"expired": state.forget_idempotency_keys(handle)})


def _rails_int(raw: str) -> int:
    """Ruby's ``String#to_i``: the leading digits (with a sign), 0 when there are none."""
    match = re.match(r"\s*([+-]?\d+)", raw)
    return int(match.group(1)) if match else 0


def _rails_true(raw: str | None) -> bool:
    """``ActiveModel::Type::Boolean``: blank and "0", "f", "false", "off" (any case) are false, the rest true."""
    return raw is not None and raw.strip() != "" and raw.strip().lower() not in ("0", "f", "false", "off")


def _statuses_page() -> dict[str, Any]:
    """The paging and filter parameters of ``GET /api/v1/accounts/:id/statuses``, read as Mastodon reads them.

    ``limit``: blank is the default (20), otherwise its integer value's magnitude, at most 40; an id bound that is
    not a number bounds nothing (Mastodon's ids are numbers). A filter the sandbox does not emulate (``tagged``) is
    answered 422.
    """
    args = request.args
    used = [name for name in ACCOUNT_STATUSES_NOT_EMULATED if args.get(name)]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    raw_limit = args.get("limit", "")
    limit = DEFAULT_STATUSES_LIMIT if not raw_limit.strip() else min(abs(_rails_int(raw_limit)), MAX_STATUSES_LIMIT)
    page: dict[str, Any] = {"limit": limit}
    for name in ("max_id", "since_id", "min_id"):
        raw = args.get(name, "").strip()
        page[name] = int(raw) if raw.isdigit() else None
    for name, schema in ACCOUNT_STATUSES_PARAMS.items():
        if schema.get("type") == "boolean":
            page[name] = _rails_true(args.get(name))
    return page


def _page_links(path: str, page: Mapping[str, Any], statuses: list[Status]) -> dict[str, str]:
    """Mastodon's ``Link`` header: ``next`` (older, ``max_id``) when the page is full, ``prev`` (newer, ``min_id``)
    when it is not empty; each keeps the request's ``limit`` and filters."""
    if not statuses:
        return {}
    kept = {name: request.args[name] for name in ACCOUNT_STATUSES_PARAMS if name in request.args
            and name not in ("max_id", "since_id", "min_id")}
    links = []
    if len(statuses) >= page["limit"]:
        links.append(f'<{base_url()}{path}?{urlencode(kept | {"max_id": statuses[-1].id})}>; rel="next"')
    links.append(f'<{base_url()}{path}?{urlencode(kept | {"min_id": statuses[0].id})}>; rel="prev"')
    return {"Link": ", ".join(links)}


def _focus(raw: str | None) -> tuple[float, float] | None:
    """``"x,y"`` in [-1, 1] each; anything else is ignored, as Mastodon does."""
    try:
        x, y = (float(v) for v in (raw or "").split(","))
    except ValueError:
        return None
    return (x, y) if -1 <= x <= 1 and -1 <= y <= 1 else None


def _uploaded_image() -> tuple[str, bytes, str | None, tuple[float, float] | None]:
    """Type, bytes, description and focus of a valid ``POST /api/v2/media``; Mastodon's 422 otherwise."""
    fields: dict[str, Any] = {k: request.form[k] for k in request.form}
    fields |= {k: "(binary)" for k in request.files}
    _validation_failed(_MEDIA_SCHEMA, fields)
    used = [name for name in MEDIA_NOT_EMULATED if name in fields]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    data = request.files["file"].read() if "file" in request.files else b""
    if not data:
        raise error(422, "Validation failed: File can't be blank")
    kind = sniff_image(data)  # Mastodon detects the type from the bytes, whatever the part's Content-Type says
    if kind not in IMAGE_MIME_TYPES:
        raise error(422, "Validation failed: File content type is invalid, File is invalid")
    if len(data) >= IMAGE_SIZE_LIMIT:  # Paperclip's less_than
        raise error(422, f"Validation failed: File file size must be less than {IMAGE_SIZE_LIMIT // 2**20} MB")
    description = fields.get("description") or None
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise error(422, f"Validation failed: Description is too long (maximum is {MAX_DESCRIPTION_LENGTH} "
                         "characters)")
    return kind, data, description, _focus(fields.get("focus"))


def _install_media(app: Flask, state: MastodonState) -> None:
    """``POST /api/v2/media``, ``GET /api/v1/media/<id>`` and the files themselves."""

    @app.post("/api/v2/media")
    def upload_media() -> Response:
        token = _authorized(state, "POST /api/v2/media", ("media", 1))
        attachment = state.store_attachment(token, *_uploaded_image())
        return json_response(attachment_view(attachment), 200 if attachment.processed else 202)

    @app.get("/api/v1/media/<media_id>")
    def get_media(media_id: str) -> Response:
        token = _authorized(state, "GET /api/v1/media/{id}")
        with state.lock:
            attachment = state.own_attachment(token, media_id)
            processing = not attachment.processed
            if processing:
                attachment.polls_left -= 1
            view = attachment_view(attachment)
        if processing:
            view["url"] = None  # this answer was the check that found it still processing
        return json_response(view, 206 if processing else 200)

    @app.get("/system/media_attachments/files/<media_id>/<style>/<name>")
    def media_file(media_id: str, style: str, name: str) -> Response:
        with state.lock:
            attachment = state.attachments.get(media_id)
        if attachment is None or style not in ("original", "small") or not name.startswith(media_id + "."):
            return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)
        return Response(attachment.data, 200, mimetype=attachment.content_type)

    @app.get("/_sandbox/media")
    def list_media() -> Response:
        with state.lock:
            return json_response({"media": [state.attachment_record(a) for a in state.attachments.values()]})


def _install_pages(app: Flask, state: MastodonState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            statuses = sorted(state.statuses.values(), key=lambda s: int(s.id), reverse=True)[:50]
            authors = {s.id: getattr(state.user_by_id(s.author_id), "username", "unknown") for s in statuses}
        rows = "".join(
            f'<li><a href="/@{e(authors[s.id])}/{s.id}">'
            f"{e(s.text[:80])}</a>{' (deleted)' if s.deleted else ''}</li>"
            for s in statuses
        )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/@<username>/<status_id>")
    def status_page(username: str, status_id: str) -> Response:
        with state.lock:
            status = state.statuses.get(status_id)
            author = state.user_by_id(status.author_id) if status else None
        if status is None or author is None or author.username.lower() != username.lower():
            return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)
        if status.deleted:
            return page("Deleted", f"<h1>This post by @{e(author.username)} was deleted.</h1>", 410)
        shown = {k.removesuffix("_count"): v for k, v in status.metrics.items() if v is not None}
        figures = " · ".join(f"{e(v)} {e(k)}" for k, v in shown.items())
        with state.lock:
            shown_media = [state.attachments[i] for i in status.media_ids]
        images = "".join(f'<p><img src="{e(attachment_view(a)["url"])}" alt="{e(a.description or "")}" '
                         'style="max-width:100%"></p>' for a in shown_media)
        body = (
            f"<article><h1>@{e(author.username)}</h1>{content_html(status.text)}{images}"
            f'<p class="muted"><time datetime="{e(status.created_at)}">{e(status.created_at)}</time></p>'
            f'<p class="muted">{figures}</p></article>'
        )
        return page(f"@{author.username}", body)
