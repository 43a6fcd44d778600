"""The Mastodon sandbox's constants (scopes, rate limits, schema validators), its records (apps, users, statuses,
attachments, grants, tokens), and the error answers and rate-limit headers it gives."""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import regex

from sandbox.common import (
    utc_iso,
)
from sandbox.schemas.mastodon import (
    APP_CREATE_REQUEST,
    MAX_CHARACTERS,
    MEDIA_CREATE_REQUEST,
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


def _epoch(iso: str) -> float:
    return float(calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S")))


def _x_headers(window: Mapping[str, int], *, exhausted: bool = False) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(window["limit"]),
        "X-RateLimit-Remaining": "0" if exhausted else str(window["remaining"]),
        "X-RateLimit-Reset": reset_header(window["reset"]),
    }
