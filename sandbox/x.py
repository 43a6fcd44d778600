"""A local emulation of the X API v2, faithful enough that the real client (tweepy, requests-oauthlib) cannot tell.

Endpoints: the OAuth 2.0 consent page and token endpoints (Authorization Code with PKCE S256, rotating refresh
tokens, ``POST /2/oauth2/revoke``), ``POST /2/tweets`` (with ``media.media_ids``), ``DELETE /2/tweets/<id>``,
``GET /2/tweets``, ``GET /2/tweets/<id>``, ``GET /2/users/<id>/tweets``, ``GET /2/users/me`` (posts read back as X
gives them: every URL a ``https://t.co/…`` link, the URL as written in ``entities.urls``), image upload in one
request (``POST /2/media/upload``, kept per user until it expires) or in segments (``initialize``, ``append``,
``finalize``, then ``GET /2/media/upload`` while a GIF is processed), its alt text (``POST /2/media/metadata``),
a public page per post (``/i/web/status/<id>``, images at ``/i/media/<key>``),
and a JSON control API under ``/_sandbox/`` for tests and the demo: see ``create_app`` for the list. State lives
in memory behind one lock; run it with ``sandbox.runner``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import html
import json
import random
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jsonschema
from flask import Flask, Response, g, request

from sandbox.common import sniff_image
from sandbox.schemas.x import (
    CHUNKED_CATEGORIES,
    GIF_MAX_BYTES,
    IMAGE_MAX_BYTES,
    IMAGE_TYPES_ONE_SHOT,
    LIGHT_RANGES,
    MAX_WEIGHTED_LENGTH,
    MEDIA_APPEND_REQUEST,
    MEDIA_INIT_REQUEST,
    MEDIA_LIFETIME,
    MEDIA_UPLOAD_REQUEST,
    METADATA_CREATE_REQUEST,
    METADATA_NOT_EMULATED,
    NOT_EMULATED,
    SEGMENT_MAX_BYTES,
    TWEET_CREATE_REQUEST,
    URL_WEIGHT,
)

PROBLEMS = "https://api.twitter.com/2/problems/"
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG_DETAIL = (
    "Your Tweet text is too long. For more information on how X determines text length see "
    "https://github.com/twitter/twitter-text."
)
SCOPES = frozenset(
    {
        "tweet.read", "tweet.write", "tweet.moderate.write", "users.read", "follows.read", "follows.write",
        "offline.access", "space.read", "mute.read", "mute.write", "like.read", "like.write", "list.read",
        "list.write", "block.read", "bookmark.read", "bookmark.write", "media.write",
        "dm.read", "dm.write", "timeline.read",
    }
)  # fmt: skip
TWEET_FIELDS = frozenset(
    {"id", "text", "edit_history_tweet_ids", "author_id", "created_at", "public_metrics", "attachments", "entities"}
)
USER_FIELDS = frozenset({"id", "name", "username", "created_at", "description", "protected", "public_metrics"})
ENDPOINT_SCOPES = {
    "POST /2/tweets": ("tweet.read", "tweet.write", "users.read"),
    "DELETE /2/tweets/:id": ("tweet.read", "tweet.write", "users.read"),
    "GET /2/tweets": ("tweet.read", "users.read"),
    "GET /2/tweets/:id": ("tweet.read", "users.read"),
    "GET /2/users/me": ("tweet.read", "users.read"),
    "GET /2/users/:id/tweets": ("tweet.read", "users.read"),
    "POST /2/media/upload": ("media.write",),
    "POST /2/media/metadata": ("media.write",),
    "POST /2/media/upload/initialize": ("media.write",),
    "POST /2/media/upload/:id/append": ("media.write",),
    "POST /2/media/upload/:id/finalize": ("media.write",),
    "GET /2/media/upload": ("media.write",),
}
DEFAULT_RATE_LIMITS = {"POST /2/tweets": 100, "DELETE /2/tweets/:id": 50, "GET /2/tweets": 900,
                       "GET /2/tweets/:id": 900, "GET /2/users/me": 75,
                       "GET /2/users/:id/tweets": 900, "POST /2/media/upload": 500, "POST /2/media/metadata": 500,
                       "POST /2/media/upload/initialize": 500, "POST /2/media/upload/:id/append": 500,
                       "POST /2/media/upload/:id/finalize": 500, "GET /2/media/upload": 1000}
JOURNAL_SIZE = 20_000  # API requests remembered for GET /_sandbox/requests
METRIC_NAMES = ("retweet_count", "reply_count", "like_count", "quote_count", "bookmark_count", "impression_count")
HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")
NUMERIC_ID = re.compile(r"^[0-9]{1,19}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s]+", re.IGNORECASE)
EMOJI_SEQUENCE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf][\U0001f3fb-\U0001f3ff\ufe0f]*"
    "(?:\u200d[\U0001f000-\U0001faff\u2600-\u27bf][\U0001f3fb-\U0001f3ff\ufe0f]*)*"
)
TCO_PREFIX = "https://t.co/"  # X's link wrapper: every URL in a post's text reads back as one (23 characters)
TCO_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DISPLAY_URL_MAX = 35  # characters of a URL X shows before "…" (the spec's display_url example)
FIRST_TWEET_ID = 1_900_000_000_000_000_000
FIRST_MEDIA_ID = 1_950_000_000_000_000_000
MEDIA_IDS_INVALID = "Your media IDs are invalid."
_TWEET_SCHEMA = jsonschema.Draft7Validator(TWEET_CREATE_REQUEST)
_UPLOAD_SCHEMA = jsonschema.Draft7Validator(MEDIA_UPLOAD_REQUEST)
_METADATA_SCHEMA = jsonschema.Draft7Validator(METADATA_CREATE_REQUEST)
_INIT_SCHEMA = jsonschema.Draft7Validator(MEDIA_INIT_REQUEST)
_APPEND_SCHEMA = jsonschema.Draft7Validator(MEDIA_APPEND_REQUEST)


# ------------------------------------------------------------------------------------------------ text length
def weighted_length(text: str) -> int:
    """The length X counts for a post: twitter-text v3 weights, each URL 23, each emoji sequence 2.

    Args:
        text: the post text as sent.
    """
    text = unicodedata.normalize("NFC", text)
    total = 0

    def count_plain(chunk: str) -> int:
        units = 0
        pos = 0
        for match in EMOJI_SEQUENCE.finditer(chunk):
            units += _weigh(chunk[pos : match.start()]) + 2
            pos = match.end()
        return units + _weigh(chunk[pos:])

    pos = 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        total += count_plain(text[pos : match.start()]) + URL_WEIGHT
        pos = match.start() + len(url)
    return total + count_plain(text[pos:])


def _weigh(chunk: str) -> int:
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in LIGHT_RANGES) else 2 for ch in chunk)


def wrap_urls(text: str, salt: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as X gives it back (every URL replaced by a ``https://t.co/<10 characters>`` link) and its
    ``entities.urls``: ``start``/``end`` (zero-based code points into the returned text, end exclusive), ``url`` (the
    t.co link), ``expanded_url`` (the URL as written) and ``display_url``. The sandbox follows no link, so it gives no
    ``unwound_url`` (X adds one when it has resolved the link's redirects).

    Args:
        text: the post text as sent.
        salt: something unique to the post (its id), so each post gets its own t.co links, as on X.
    """
    pieces: list[str] = []
    urls: list[dict[str, Any]] = []
    pos = length = 0
    for number, match in enumerate(URL_IN_TEXT.finditer(text)):
        url = match.group(0).rstrip(".,;:!?)'\"")
        before = text[pos : match.start()]
        digest = int.from_bytes(hashlib.sha256(f"{salt}:{number}:{url}".encode()).digest()[:8], "big")
        code = "".join(TCO_ALPHABET[(digest >> (6 * i)) % len(TCO_ALPHABET)] for i in range(10))
        short = TCO_PREFIX + code
        start = length + len(before)
        expanded = url if re.match(r"https?://", url, re.IGNORECASE) else "http://" + url
        shown = re.sub(r"^https?://", "", url, flags=re.IGNORECASE)
        if len(shown) > DISPLAY_URL_MAX:
            shown = shown[:DISPLAY_URL_MAX] + "\u2026"
        urls.append({"start": start, "end": start + len(short), "url": short, "expanded_url": expanded,
                     "display_url": shown})
        pieces += [before, short]
        length = start + len(short)
        pos = match.start() + len(url)
    pieces.append(text[pos:])
    return "".join(pieces), urls


# ------------------------------------------------------------------------------------------------------ state
@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    token_lifetime: int = 7200
    code_lifetime: int = 30
    rate_window: int = 900
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    user_24h_cap: int = 100
    app_24h_cap: int = 1667
    latency_ms: int = 0
    metrics_growth: bool = True
    media_lifetime: int = MEDIA_LIFETIME  # seconds an uploaded image can be attached to a post
    gif_processing_polls: int = 1  # status checks (GET /2/media/upload) before a finalized GIF is processed
    gif_check_after_secs: int = 1  # what processing_info tells the client to wait between checks
    seed: int = 0
    # client_id -> {"secret": str | None, "name": str}; empty means any client id is accepted (secret unchecked)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class User:
    id: str
    handle: str
    name: str
    followers: int
    following: int
    created_at: str


@dataclass
class Post:
    id: str
    author_id: str
    client_id: str
    text: str  # as sent (the duplicate check compares it)
    body: dict[str, Any]
    created_at: str
    shown_text: str = ""  # as X gives it back: each URL a t.co link
    urls: list[dict[str, Any]] = field(default_factory=list)  # entities.urls of shown_text
    deleted: bool = False
    deleted_at: str | None = None
    metrics: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(METRIC_NAMES, 0))
    growth: bool = True
    lookups: int = 0
    media: list[dict[str, Any]] = field(default_factory=list)  # what was attached: id, key, type, alt text


@dataclass
class Upload:
    """An uploaded image: usable in posts by its owners (the uploader and ``additional_owners``) until it expires."""

    id: str
    media_key: str
    owners: tuple[str, ...]
    content_type: str
    data: bytes
    created_at: float
    expires_at: float
    alt_text: str | None = None
    attached: bool = False
    category: str = "tweet_image"
    total_bytes: int = 0  # declared at initialize (chunked uploads)
    segments: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = True
    polls_left: int = 0  # status checks before processing succeeds

    @property
    def ready(self) -> bool:
        return self.finalized and self.polls_left <= 0


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scopes: tuple[str, ...]
    user_id: str
    expires_at: float


@dataclass
class AccessToken:
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshToken:
    user_id: str
    client_id: str
    scopes: tuple[str, ...]
    alive: bool = True


@dataclass
class Fault:
    """One injected failure. ``after``: let the request do its work first, then answer with the fault."""

    id: int
    status: int | None = None
    probability: float = 1.0
    count: int | None = None
    delay: float = 0.0
    path_prefix: str = "/2/"
    method: str | None = None
    body: str | None = None
    content_type: str | None = None
    after: bool = False
    reset_in: int = 900
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An answer other than success, rendered by the app's error handler."""

    def __init__(
        self, status: int, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None, problem: bool = True
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})
        self.problem = problem


class ControlError(Exception):
    """A bad request to the control API."""


def utc_iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def problem(status: int, detail: str | None = None, *, title: str | None = None, **extra: Any) -> dict[str, Any]:
    """A problem+json body the way X writes generic problems (``type`` about:blank)."""
    phrase = HTTPStatus(status).phrase
    return {"title": title or phrase, "type": "about:blank", "status": status, "detail": detail or phrase, **extra}


def invalid_request(*messages: str, parameters: Mapping[str, list[str]] | None = None) -> ApiError:
    errors = [{"parameters": dict(parameters or {}), "message": m} for m in messages]
    return ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def not_found(parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find tweet with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }


class XState:
    """Everything the emulated network remembers. Every public method takes the lock."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._woken = threading.Event()  # set (and replaced) by reset, and by stop: ends every injected delay
        self.generation = 0  # counts resets: a request that began before the last one belongs to no test now
        self._next_tweet = FIRST_TWEET_ID  # survives reset so a stale id never names a new post
        self._next_media = FIRST_MEDIA_ID
        self._next_fault = 1
        self.reset()
        if config:
            self.configure(config)

    # --------------------------------------------------------------------------------------------- plumbing
    def reset(self) -> None:
        """Forget everything. Requests still waiting on an injected delay wake and are answered 503 without doing
        anything, and requests begun before the reset are left out of the journal: a slow request a test gave up on
        never acts on, or shows in, what the next test arranges."""
        with self.lock:
            self.generation += 1
            woken, self._woken = self._woken, threading.Event()
            woken.set()
            if self._stopping.is_set():
                self._woken.set()
            self.config = Config()
            self.random = random.Random(self.config.seed)
            self.users: dict[str, User] = {}  # by lower-case handle
            self.posts: dict[str, Post] = {}
            self.live_texts: set[tuple[str, str]] = set()  # (author, text) of posts not deleted: the duplicate check
            self.uploads: dict[str, Upload] = {}
            self.grants: dict[str, Grant] = {}
            self.access: dict[str, AccessToken] = {}
            self.refresh: dict[str, RefreshToken] = {}
            self.faults: list[Fault] = []
            self.windows: dict[tuple[str, str], tuple[float, int]] = {}  # (scope key, endpoint) -> (start, used)
            self.journal: list[dict[str, Any]] = []  # API requests as answered, oldest first

    def note(self, entry: dict[str, Any], generation: int | None = None) -> None:
        """Remember one answered API request (tests check what was asked, and when); one that began before the
        last reset (``generation``) is not remembered."""
        with self.lock:
            if generation is not None and generation != self.generation:
                return
            self.journal.append(entry)
            if len(self.journal) > JOURNAL_SIZE:
                del self.journal[: len(self.journal) - JOURNAL_SIZE]

    def handle_of(self, authorization: str | None) -> str | None:
        """Whose bearer token this is (expired or revoked ones too), for the journal."""
        with self.lock:
            scheme, _, value = (authorization or "").partition(" ")
            token = self.access.get(value.strip()) if scheme.lower() == "bearer" else None
            user = self.user_by_id(token.user_id) if token else None
            return user.handle if user else None

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops (so no handler thread outlives it) or is reset."""
        if seconds > 0:
            self._woken.wait(seconds)

    def stop(self) -> None:
        with self.lock:
            self._stopping.set()
            self._woken.set()

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply settings (all or none); rate windows restart when limits change. Returns the whole config."""
        with self.lock:
            known = {f.name for f in dataclasses.fields(Config)}
            unknown = sorted(set(changes) - known)
            if unknown:
                raise ControlError(f"unknown config keys {unknown}; known: {sorted(known)}")
            new = dataclasses.replace(self.config, rate_limits=dict(self.config.rate_limits))
            for key, value in changes.items():
                setattr(new, key, _checked_setting(key, value, getattr(new, key)))
            new.rate_limits = {**self.config.rate_limits, **changes.get("rate_limits", {})}
            self.config = new
            if "seed" in changes:
                self.random = random.Random(new.seed)
            if {"rate_limits", "rate_window", "user_24h_cap", "app_24h_cap"} & set(changes):
                self.windows.clear()
            return dataclasses.asdict(self.config)

    # ------------------------------------------------------------------------------------------------ users
    def user(self, handle: str, followers: int | None = None, following: int | None = None) -> User:
        """The user with this handle, created on first sight with a deterministic id and follower count."""
        with self.lock:
            key = handle.lower()
            user = self.users.get(key)
            if user is None:
                digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
                user = User(
                    id=str(10**15 + digest % (9 * 10**15)),
                    handle=handle,
                    name=handle.replace("_", " ").title(),
                    followers=100 + digest % 4900,
                    following=50 + digest % 450,
                    created_at=utc_iso(time.time()),
                )
                self.users[key] = user
            if followers is not None:
                user.followers = followers
            if following is not None:
                user.following = following
            return user

    def user_by_id(self, user_id: str) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.id == user_id), None)

    # ----------------------------------------------------------------------------------------------- clients
    def client_name(self, client_id: str) -> str | None:
        """The display name of a known client, or None when the client id is not accepted."""
        with self.lock:
            if not client_id:
                return None
            if not self.config.clients:
                return client_id
            entry = self.config.clients.get(client_id)
            return None if entry is None else str(entry.get("name") or client_id)

    def check_client(self, client_id: str, secret: str | None) -> None:
        with self.lock:
            entry = self.config.clients.get(client_id)
            if self.config.clients and entry is None:
                raise token_error(401, "unauthorized_client", "Unknown client id.")
            if entry and entry.get("secret") is not None and entry["secret"] != secret:
                raise token_error(401, "unauthorized_client", "Missing valid authorization header")

    # -------------------------------------------------------------------------------------------------- OAuth
    def issue_code(self, client_id: str, redirect_uri: str, challenge: str, scopes: tuple[str, ...], user: User) -> str:
        with self.lock:
            code = secrets.token_urlsafe(32)
            expires = time.time() + self.config.code_lifetime
            self.grants[code] = Grant(client_id, redirect_uri, challenge, scopes, user.id, expires)
            return code

    def redeem_code(self, client_id: str, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        with self.lock:
            grant = self.grants.pop(code, None)  # single use: gone whatever happens next
            if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
                raise token_error(400, "invalid_request", "Value passed for the authorization code was invalid.")
            if grant.redirect_uri != redirect_uri:
                raise token_error(400, "invalid_request", "Value passed for the redirect uri did not match.")
            digest = hashlib.sha256(verifier.encode("ascii")).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                raise token_error(400, "invalid_request", "Value passed for the code verifier did not match.")
            return self._issue(grant.user_id, client_id, grant.scopes)

    def redeem_refresh(self, client_id: str, token: str, scope: str | None) -> dict[str, Any]:
        with self.lock:
            old = self.refresh.get(token)
            if old is None or not old.alive or old.client_id != client_id:
                raise token_error(400, "invalid_request", "Value passed for the token was invalid.")
            scopes = old.scopes
            if scope:
                asked = tuple(sorted(set(scope.split())))
                if not set(asked) <= set(old.scopes):
                    raise token_error(400, "invalid_scope", "The requested scope exceeds the granted scope.")
                scopes = asked
            old.alive = False  # rotation: a refresh token works once
            return self._issue(old.user_id, client_id, scopes)

    def _issue(self, user_id: str, client_id: str, scopes: tuple[str, ...]) -> dict[str, Any]:
        access = secrets.token_urlsafe(48)
        lifetime = self.config.token_lifetime
        self.access[access] = AccessToken(user_id, client_id, scopes, time.time() + lifetime)
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": lifetime,
            "access_token": access,
            "scope": " ".join(scopes),
        }
        if "offline.access" in scopes:
            refresh = secrets.token_urlsafe(48)
            self.refresh[refresh] = RefreshToken(user_id, client_id, scopes)
            answer["refresh_token"] = refresh
        return answer

    def revoke_token(self, client_id: str, token: str) -> None:
        with self.lock:
            if (access := self.access.get(token)) is not None and access.client_id == client_id:
                access.revoked = True
            if (refresh := self.refresh.get(token)) is not None and refresh.client_id == client_id:
                refresh.alive = False

    def authenticate(self, header: str | None) -> AccessToken:
        with self.lock:
            scheme, _, value = (header or "").partition(" ")
            token = self.access.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is None or token.revoked or token.expires_at <= time.time():
                raise ApiError(401, problem(401, "Unauthorized"))
            return token

    def tokens_of(self, handle: str | None) -> tuple[list[AccessToken], list[RefreshToken]]:
        with self.lock:
            if handle is None:
                return list(self.access.values()), list(self.refresh.values())
            user = self.users.get(handle.lower())
            if user is None:
                raise ControlError(f"no user with handle {handle!r}")
            return (
                [t for t in self.access.values() if t.user_id == user.id],
                [t for t in self.refresh.values() if t.user_id == user.id],
            )

    # ------------------------------------------------------------------------------------------- rate limits
    def take(
        self, key: str, endpoint: str, limit: int, window: int, *, spend: bool = True
    ) -> tuple[bool, dict[str, int]]:
        """Spend one request of a fixed window unless it is used up: (allowed, limit/remaining/reset after it)."""
        with self.lock:
            now = time.time()
            start, used = self.windows.get((key, endpoint), (now, 0))
            if now >= start + window:
                start, used = now, 0
            allowed = used < limit
            if spend and allowed:
                used += 1
            self.windows[(key, endpoint)] = (start, used)
            return allowed, {"limit": limit, "remaining": max(limit - used, 0), "reset": int(start + window)}

    def rate_headers(self, token: AccessToken, endpoint: str) -> dict[str, str]:
        """Spend one request of this user's 15-minute window for the endpoint; 429 when it is used up."""
        with self.lock:
            limit = self.config.rate_limits[endpoint]
            allowed, window = self.take(token.user_id, endpoint, limit, self.config.rate_window)
            headers = {f"x-rate-limit-{k}": str(v) for k, v in window.items()}
            if not allowed:
                raise ApiError(429, problem(429), headers=headers)
            return headers

    def day_headers(self, token: AccessToken, *, spend: bool) -> tuple[bool, dict[str, str]]:
        """The 24-hour posting caps of the user and of the app: (both have room, their headers)."""
        with self.lock:
            headers: dict[str, str] = {}
            room = True
            for prefix, key, cap in (
                ("x-user-limit-24hour", "user:" + token.user_id, self.config.user_24h_cap),
                ("x-app-limit-24hour", "app:" + token.client_id, self.config.app_24h_cap),
            ):
                allowed, window = self.take(key, "24h posts", cap, 86400, spend=spend)
                room = room and allowed
                headers |= {f"{prefix}-{k}": str(v) for k, v in window.items()}
            return room, headers

    # ------------------------------------------------------------------------------------------------ posts
    def create_post(self, token: AccessToken, text: str, body: dict[str, Any], media_ids: list[str]) -> Post:
        """A new post; its media must be images this user may use (uploaded by them or naming them an owner)."""
        with self.lock:
            uploads = [self.usable_upload(token, media_id) for media_id in media_ids]
            if any(u is None for u in uploads):
                raise invalid_request(MEDIA_IDS_INVALID, parameters={"media.media_ids": list(media_ids)})
            if text and (token.user_id, text) in self.live_texts:
                raise ApiError(403, problem(403, DUPLICATE_DETAIL))
            post_id = str(self._next_tweet)
            self._next_tweet += 1
            post = Post(post_id, token.user_id, token.client_id, text, body, utc_iso(time.time()))
            post.shown_text, post.urls = wrap_urls(text, post_id)
            post.growth = self.config.metrics_growth
            for upload in uploads:
                assert upload is not None
                upload.attached = True
                kind = "animated_gif" if upload.category == "tweet_gif" else "photo"
                post.media.append({"media_id": upload.id, "media_key": upload.media_key, "type": kind,
                                   "content_type": upload.content_type, "size": len(upload.data),
                                   "alt_text": upload.alt_text})
            self.posts[post_id] = post
            if text:
                self.live_texts.add((token.user_id, text))
            return post

    # ------------------------------------------------------------------------------------------------ media
    def store_upload(self, token: AccessToken, content_type: str, data: bytes, owners: list[str],
                     category: str = "tweet_image", total_bytes: int | None = None) -> Upload:
        """Keep an upload for ``media_lifetime`` seconds (expired, unattached ones are dropped here).

        ``total_bytes``: a chunked upload just initialized (its bytes come in segments, then ``finalize_upload``).
        """
        with self.lock:
            now = time.time()
            for key in [k for k, u in self.uploads.items() if u.expires_at <= now and not u.attached]:
                del self.uploads[key]
            media_id = str(self._next_media)
            self._next_media += 1
            prefix = "16" if category == "tweet_gif" else "3"
            upload = Upload(media_id, f"{prefix}_{media_id}", tuple(dict.fromkeys([token.user_id, *owners])),
                            content_type, data, now, now + self.config.media_lifetime, category=category)
            if total_bytes is not None:
                upload.total_bytes, upload.finalized = total_bytes, False
            self.uploads[media_id] = upload
            return upload

    def finalize_upload(self, token: AccessToken, media_id: str) -> Upload:
        """Join the segments of a chunked upload and check them; a GIF then processes for a few status checks."""
        with self.lock:
            upload = self.unfinished_upload(token, media_id)
            data = b"".join(upload.segments[i] for i in sorted(upload.segments))
            if len(data) != upload.total_bytes:
                raise invalid_request("Segments do not add up to provided total file size.")
            kind = sniff_image(data)
            if kind != upload.content_type.replace("image/pjpeg", "image/jpeg"):
                raise invalid_request(f"media_type {upload.content_type} does not match the uploaded file "
                                      f"({kind or 'not an image'}).")
            upload.data, upload.segments, upload.finalized = data, {}, True
            if upload.category == "tweet_gif":
                upload.polls_left = self.config.gif_processing_polls
            return upload

    def usable_upload(self, token: AccessToken, media_id: str, *, ready: bool = True) -> Upload | None:
        """The upload ``media_id`` if this token's user owns it, it has not expired and (``ready``) it is processed."""
        with self.lock:
            upload = self.uploads.get(media_id)
            if upload is None or token.user_id not in upload.owners or upload.expires_at <= time.time():
                return None
            return upload if upload.ready or not ready else None

    def unfinished_upload(self, token: AccessToken, media_id: str) -> Upload:
        """This user's chunked upload ``media_id`` while it still takes segments; otherwise X's error for it."""
        upload = self.usable_upload(token, media_id, ready=False)
        if upload is None:
            raise media_not_found(media_id)
        if upload.finalized:
            raise invalid_request("The media upload is already finalized.")
        return upload

    def finalized_upload(self, token: AccessToken, media_id: str) -> Upload:
        """This user's upload ``media_id`` once all its bytes are in (processed or not); otherwise X's not-found."""
        upload = self.usable_upload(token, media_id, ready=False)
        if upload is None or not upload.finalized:
            raise media_not_found(media_id)
        return upload

    def upload_view(self, upload: Upload) -> dict[str, Any]:
        with self.lock:
            owners = [self.user_by_id(o) for o in upload.owners]
            return {"media_id": upload.id, "media_key": upload.media_key, "content_type": upload.content_type,
                    "size": len(upload.data), "alt_text": upload.alt_text, "expires_at": utc_iso(upload.expires_at),
                    "owner_handles": [o.handle for o in owners if o], "attached": upload.attached,
                    "media_category": upload.category, "ready": upload.ready}

    def delete_post(self, token: AccessToken, post_id: str) -> None:
        with self.lock:
            post = self.posts.get(post_id)
            if post is None or post.deleted:
                raise ApiError(404, {**not_found("id", post_id), "status": 404})
            if post.author_id != token.user_id:
                raise ApiError(403, problem(403, "You are not authorized to delete this Tweet."))
            post.deleted = True
            post.deleted_at = utc_iso(time.time())
            self.live_texts.discard((post.author_id, post.text))

    def look_up(self, post_id: str) -> Post | None:
        """A live post, its metrics grown one deterministic step (unless frozen by the control API)."""
        with self.lock:
            post = self.posts.get(post_id)
            if post is None or post.deleted:
                return None
            if post.growth:
                step = post.lookups
                author = self.user_by_id(post.author_id)
                bump = {
                    "impression_count": 10 + (author.followers // 20 if author else 0),
                    "like_count": int(step % 2 == 0),
                    "retweet_count": int(step % 3 == 0),
                    "reply_count": int(step % 5 == 0),
                    "quote_count": int(step % 7 == 0),
                    "bookmark_count": int(step % 4 == 0),
                }
                for name, more in bump.items():
                    current = post.metrics.get(name)
                    if current is not None:
                        post.metrics[name] = current + more
            post.lookups += 1
            return post

    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> Post:
        with self.lock:
            post = self.posts.get(post_id)
            if post is None:
                raise ControlError(f"no post {post_id}")
            unknown = sorted(set(values) - set(METRIC_NAMES) - {"growth"})
            if unknown:
                raise ControlError(f"unknown metrics {unknown}; known: {list(METRIC_NAMES)} and growth")
            for name, value in values.items():
                if name == "growth":
                    if not isinstance(value, bool):
                        raise ControlError("growth must be true or false")
                elif value is not None and not _is_count(value):
                    raise ControlError(f"{name} must be an integer >= 0, or null to leave it out of answers")
            post.growth = bool(values.get("growth", False))  # setting figures freezes them unless told otherwise
            post.metrics.update({k: v for k, v in values.items() if k != "growth"})
            return post

    def post_view(self, post: Post) -> dict[str, Any]:
        with self.lock:
            author = self.user_by_id(post.author_id)
            return {
                "id": post.id,
                "author_id": post.author_id,
                "author_handle": author.handle if author else None,
                "client_id": post.client_id,
                "text": post.text,
                "created_at": post.created_at,
                "deleted": post.deleted,
                "deleted_at": post.deleted_at,
                "public_metrics": dict(post.metrics),
                "metrics_growth": post.growth,
                "media": [dict(m) for m in post.media],
            }

    # ------------------------------------------------------------------------------------------------ faults
    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        with self.lock:
            names = {f.name for f in dataclasses.fields(Fault)} - {"id"}
            unknown = sorted(set(spec) - names)
            if unknown:
                raise ControlError(f"unknown fault keys {unknown}; known: {sorted(names)}")
            try:
                fault = Fault(id=self._next_fault, **spec)
            except TypeError as exc:
                raise ControlError(str(exc)) from None
            _check_fault(fault)
            self._next_fault += 1
            self.faults.append(fault)
            return fault

    def pick_fault(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request (spending one of its count), if its dice say so."""
        with self.lock:
            for fault in self.faults:
                if not path.startswith(fault.path_prefix) or (fault.method and fault.method.upper() != method):
                    continue
                if fault.probability < 1.0 and self.random.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
            return None


def _checked_setting(key: str, value: Any, current: Any) -> Any:
    """A config value checked against the kind of its current one; raises ControlError on junk."""
    if key == "rate_limits":
        if not isinstance(value, dict) or not all(k in DEFAULT_RATE_LIMITS and _is_count(v) for k, v in value.items()):
            raise ControlError(f"rate_limits maps {sorted(DEFAULT_RATE_LIMITS)} to counts >= 0")
        return value
    if key == "clients":
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ControlError('clients maps client_id to {"secret": str | null, "name": str}')
        return {k: dict(v) for k, v in value.items()}
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ControlError(f"{key} must be true or false")
        return value
    if not _is_count(value):
        raise ControlError(f"{key} must be an integer >= 0")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_fault(fault: Fault) -> None:
    if fault.status is not None and (not isinstance(fault.status, int) or not 200 <= fault.status <= 599):
        raise ControlError("status must be an HTTP status between 200 and 599")
    if not isinstance(fault.probability, int | float) or not 0 < fault.probability <= 1:
        raise ControlError("probability must be in (0, 1]")
    if fault.count is not None and (not _is_count(fault.count) or fault.count == 0):
        raise ControlError("count must be a positive integer (or null: until removed)")
    if not isinstance(fault.delay, int | float) or fault.delay < 0:
        raise ControlError("delay must be seconds >= 0")
    if fault.status is None and (fault.body is not None or not fault.delay):
        raise ControlError("a fault needs a status (body, content_type), or a delay alone for a slow answer")
    if not isinstance(fault.headers, dict) or not all(isinstance(v, str) for v in fault.headers.values()):
        raise ControlError("headers maps names to string values")


def token_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description}, problem=False)


# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · X sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f5f8fa; color: #0f1419; margin: 0; }}
 main {{ max-width: 34rem; margin: 3rem auto; background: #fff; border-radius: 1rem; padding: 2rem;
        box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
 .badge {{ font-size: .75rem; background: #ffd400; border-radius: .5rem; padding: .1rem .5rem; }}
 button {{ border-radius: 2rem; padding: .6rem 1.4rem; font-size: 1rem; border: 1px solid #cfd9de; cursor: pointer; }}
 button.primary {{ background: #0f1419; color: #fff; border-color: #0f1419; }}
 input[type=text] {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #b00020; }} .muted {{ color: #536471; }} li {{ margin: .3rem 0; }}
 article p {{ font-size: 1.25rem; white-space: pre-wrap; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> X API v2 emulator</p>{body}</main></body></html>"""


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


AUTHORIZE_PARAMS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"
)  # fmt: skip


def _check_authorize(state: XState, params: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Validate an authorization request; returns (client name, scopes) or raises ControlError naming the parameter."""
    client_name = state.client_name(params.get("client_id", ""))
    if client_name is None:
        raise ControlError("client_id: missing or not a client registered with this app")
    target = urlsplit(params.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        raise ControlError("redirect_uri: missing or not an absolute http(s) URL without fragment")
    if params.get("response_type") != "code":
        raise ControlError("response_type: must be code")
    scopes = tuple(sorted(set(params.get("scope", "").split())))
    if not scopes:
        raise ControlError("scope: missing")
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise ControlError(f"scope: unknown scope(s) {', '.join(unknown)}")
    if not params.get("state") or len(params["state"]) > 500:
        raise ControlError("state: missing or longer than 500 characters")
    if not CHALLENGE.match(params.get("code_challenge", "")):
        raise ControlError("code_challenge: missing or not a base64url SHA-256 digest (43 characters)")
    if params.get("code_challenge_method") != "S256":
        raise ControlError("code_challenge_method: must be S256")
    return client_name, scopes


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def consent_page(params: Mapping[str, str], client: str, scopes: tuple[str, ...], username: str, error: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{_e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{_e(s)}</code></li>" for s in scopes)
    note = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    return f"""<h1>Authorize {_e(client)} to access your account?</h1>
<p class="muted">Client id <code>{_e(params.get("client_id", ""))}</code> asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{_e(params.get("redirect_uri", ""))}</code>.</p>{note}
<form method="post" action="/i/oauth2/authorize">{hidden}
<p><label for="username">Sign in as (any handle; the account is created on first use)</label>
<input type="text" id="username" name="username" value="{_e(username)}" pattern="[A-Za-z0-9_]{{1,15}}" required></p>
<p><button class="primary" type="submit" name="decision" value="authorize">Authorize app</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Cancel</button></p></form>"""


def _params_error(message: str) -> Response:
    name = message.partition(":")[0]
    body = f'<h1>Something went wrong</h1><p class="error">Invalid parameter <code>{_e(name)}</code>: '
    return page("Error", body + f"{_e(message.partition(':')[2].strip())}.</p>", 400)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the X sandbox.

    Control API (JSON): ``GET /_sandbox/posts`` (each with the ``media`` it carries), ``GET /_sandbox/media`` (the
    uploads), ``POST /_sandbox/posts/<id>/metrics``, ``POST /_sandbox/reset``, ``GET|POST|DELETE /_sandbox/faults``,
    ``GET|POST /_sandbox/users``, ``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``,
    ``GET|POST /_sandbox/config``.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = XState(config)
    app.extensions["x_sandbox"] = state
    _install_hooks(app, state)
    _install_consent(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_media(app, state)
    _install_chunked(app, state)
    _install_timeline(app, state)
    _install_pages(app, state)
    _install_control(app, state)
    _install_control_people(app, state)
    return app


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), mimetype="application/json")


def _is_api(path: str) -> bool:
    return not path.startswith("/_sandbox/")


def _install_hooks(app: Flask, state: XState) -> None:
    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        mimetype = "application/problem+json" if exc.problem else "application/json"
        return Response(json.dumps(exc.body), exc.status, headers=exc.headers, mimetype=mimetype)

    @app.errorhandler(ControlError)
    def render_control_error(exc: ControlError) -> Response:
        return _json_response({"error": str(exc)}, 400)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith("/2/"):  # X's v1-style answer for a route it does not have
            return _json_response({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, 404)
        return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1>", 404)

    @app.before_request
    def delay_and_faults() -> Response | None:
        g.arrived = time.time()
        g.generation = state.generation
        if not _is_api(request.path):
            return None
        if request.path.startswith("/2/"):
            state.sleep(state.config.latency_ms / 1000)
        fault = state.pick_fault(request.method, request.path)
        if fault is None:
            return _reset_meanwhile(state)
        if fault.after:
            g.after_fault = fault
            return _reset_meanwhile(state)
        state.sleep(fault.delay)
        return _reset_meanwhile(state) or (None if fault.status is None else fault_response(fault))

    @app.after_request
    def journal(response: Response) -> Response:  # registered before lost_answer, runs after it: the final answer
        return _note_request(state, response)

    @app.after_request
    def lost_answer(response: Response) -> Response:
        fault = g.pop("after_fault", None)
        if fault is None:
            return response
        state.sleep(fault.delay)
        return response if fault.status is None else fault_response(fault)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:  # runs before lost_answer: a fault's answer is its own
        for name, value in g.get("rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response


def _reset_meanwhile(state: XState) -> Response | None:
    """A 503 for a request that waited (latency, an injected delay) while the sandbox was reset: it does nothing."""
    if g.get("generation", state.generation) == state.generation:
        return None
    return Response(json.dumps(problem(503, "The sandbox was reset while this request waited.")), 503,
                    mimetype="application/problem+json")


def _note_request(state: XState, response: Response) -> Response:
    if _is_api(request.path) and not request.path.startswith("/i/"):
        state.note({"at": g.get("arrived", time.time()), "method": request.method, "path": request.path,
                    "status": response.status_code, "handle": state.handle_of(request.headers.get("Authorization")),
                    "reset": response.headers.get("x-rate-limit-reset")}, g.get("generation"))
    return response


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    if fault.status == 429:
        now = int(time.time())
        headers.setdefault("x-rate-limit-limit", "100")
        headers.setdefault("x-rate-limit-remaining", "0")
        headers.setdefault("x-rate-limit-reset", str(now + fault.reset_in))
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=headers, mimetype=fault.content_type or "text/html")
    status = fault.status or 500
    body = json.dumps(problem(status))
    return Response(body, status, headers=headers, mimetype=fault.content_type or "application/problem+json")


def _install_consent(app: Flask, state: XState) -> None:
    @app.get("/i/oauth2/authorize")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        return page("Authorize app", consent_page(params, client, scopes, request.args.get("username", "demo"), ""))

    @app.post("/i/oauth2/authorize")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if request.form.get("decision") != "authorize":
            return _redirect(params["redirect_uri"], {"error": "access_denied", "state": params["state"]})
        username = request.form.get("username", "").strip().lstrip("@")
        if not HANDLE.match(username):
            body = consent_page(params, client, scopes, username, "A handle is 1 to 15 letters, digits or _.")
            return page("Authorize app", body, 400)
        user = state.user(username)
        code = state.issue_code(params["client_id"], params["redirect_uri"], params["code_challenge"], scopes, user)
        return _redirect(params["redirect_uri"], {"state": params["state"], "code": code})


def _install_tokens(app: Flask, state: XState) -> None:
    @app.post("/2/oauth2/token")
    def token() -> Response:
        client_id = _client_auth(state)
        form = request.form
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri", "code_verifier"):
                if not form.get(name):
                    raise token_error(400, "invalid_request", f"Missing required parameter [{name}].")
            if not VERIFIER.match(form["code_verifier"]):
                raise token_error(400, "invalid_request", "Value passed for the code verifier was invalid.")
            answer = state.redeem_code(client_id, form["code"], form["redirect_uri"], form["code_verifier"])
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise token_error(400, "invalid_request", "Missing required parameter [refresh_token].")
            answer = state.redeem_refresh(client_id, form["refresh_token"], form.get("scope"))
        elif not grant_type:
            raise token_error(400, "invalid_request", "Missing required parameter [grant_type].")
        else:
            raise token_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported.")
        return _json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/2/oauth2/revoke")
    def revoke() -> Response:
        client_id = _client_auth(state)
        if not request.form.get("token"):
            raise token_error(400, "invalid_request", "Missing required parameter [token].")
        state.revoke_token(client_id, request.form["token"])
        return _json_response({"revoked": True})


def _client_auth(state: XState) -> str:
    """Client authentication on the token endpoints: HTTP Basic (confidential) or client_id in the body (public)."""
    basic = request.authorization
    body_id = request.form.get("client_id")
    if basic is not None and basic.type == "basic":
        client_id, secret = basic.username or "", basic.password
        if body_id and body_id != client_id:
            raise token_error(400, "invalid_request", "client_id in the body and in the header differ.")
    elif body_id:
        client_id, secret = body_id, None
    else:
        raise token_error(401, "unauthorized_client", "Missing valid authorization header")
    state.check_client(client_id, secret)
    return client_id


def _fields(name: str, allowed: frozenset[str]) -> set[str]:
    raw = request.args.get(name)
    if raw is None:
        return set()
    values = {v for v in raw.split(",")}
    bad = sorted(v for v in values if v not in allowed)
    if bad or not raw:
        shown = ",".join(bad) or raw
        raise invalid_request(
            f"The `{name}` query parameter value [{shown}] is not one of [{','.join(sorted(allowed))}]",
            parameters={name: [raw]},
        )
    return values


def _only_params(*allowed: str) -> None:
    for name in request.args:
        if name not in allowed:
            message = f"The query parameter [{name}] is not one of [{','.join(allowed)}]"
            raise invalid_request(message, parameters={name: [request.args[name]]})


def _authorized(state: XState, endpoint: str) -> AccessToken:
    """The caller's token, its 15-minute window spent (headers kept in ``g`` for every answer), scopes checked."""
    token = state.authenticate(request.headers.get("Authorization"))
    g.rate_headers = state.rate_headers(token, endpoint)
    missing = [s for s in ENDPOINT_SCOPES[endpoint] if s not in token.scopes]
    if missing:
        raise ApiError(403, problem(403, f"Missing required OAuth 2.0 scopes: {' '.join(missing)}"))
    return token


def _metrics_view(post: Post) -> dict[str, int]:
    return {k: v for k, v in post.metrics.items() if v is not None}


def _tweet_view(post: Post, fields: set[str]) -> dict[str, Any]:
    """A post as X's read endpoints give it: its text with t.co links, and the fields asked for."""
    view: dict[str, Any] = {"id": post.id, "text": post.shown_text, "edit_history_tweet_ids": [post.id]}
    if "author_id" in fields:
        view["author_id"] = post.author_id
    if "created_at" in fields:
        view["created_at"] = post.created_at
    if "public_metrics" in fields:
        view["public_metrics"] = _metrics_view(post)
    if "attachments" in fields and post.media:
        view["attachments"] = {"media_keys": [m["media_key"] for m in post.media]}
    if "entities" in fields and post.urls:  # X leaves entities out when the text holds none
        view["entities"] = {"urls": [dict(u) for u in post.urls]}
    return view


def _time_param(name: str) -> str | None:
    """An RFC 3339 time query parameter as the sandbox's own ISO form (comparable as text), or a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        parsed = time.strptime(raw.replace(".000", "").rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise invalid_request(f"Invalid '{name}':'{raw}'. '{name}' must be a timestamp such as "
                              "YYYY-MM-DDTHH:mm:ssZ.") from None
    return time.strftime("%Y-%m-%dT%H:%M:%S", parsed) + ".000Z"


def _validate_tweet_body() -> tuple[str, list[str]]:
    """The text and media ids of a valid ``POST /2/tweets`` body; raises the 400 X answers otherwise."""
    body = request.get_json(silent=True)
    if body is None:
        raise invalid_request("The request body is not valid JSON.")
    errors = sorted(_TWEET_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    used = [name for name in NOT_EMULATED if name in body]
    if used:
        raise invalid_request(f"The sandbox does not emulate {', '.join(used)}; X checks it against what it holds.")
    media_ids = [str(m) for m in body.get("media", {}).get("media_ids", [])]
    text = body.get("text") or ""
    if not text and not media_ids:
        raise invalid_request("You must provide the text of the post (or media).")
    if weighted_length(text) > MAX_WEIGHTED_LENGTH:
        raise ApiError(400, problem(400, TOO_LONG_DETAIL))
    return str(text), media_ids


JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}


def _schema_message(error: jsonschema.ValidationError) -> str:
    """One schema violation, worded the way X words them (``$.path: problem``)."""
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return "; ".join(
            f"{where}.{name}: is not defined in the schema and the schema does not allow additional properties"
            for name in sorted(set(error.instance) - set(declared))
        )
    if error.validator == "type":
        found = JSON_TYPES.get(type(error.instance), "null")
        return f"{where}: {found} found, {error.validator_value} expected"
    return f"{where}: {error.message}"


def _install_api(app: Flask, state: XState) -> None:
    @app.post("/2/tweets")
    def create_tweet() -> Response:
        token = _authorized(state, "POST /2/tweets")
        with state.lock:  # the 24-hour caps are checked and spent in one step
            room, day = state.day_headers(token, spend=False)
            g.rate_headers |= day
            if not room:
                raise ApiError(429, problem(429))
            text, media_ids = _validate_tweet_body()
            post = state.create_post(token, text, request.get_json(), media_ids)
            g.rate_headers |= state.day_headers(token, spend=True)[1]
        data = {"id": post.id, "text": post.shown_text, "edit_history_tweet_ids": [post.id]}
        return _json_response({"data": data}, 201, {"location": f"{request.host_url}2/tweets/{post.id}"})

    @app.delete("/2/tweets/<post_id>")
    def delete_tweet(post_id: str) -> Response:
        token = _authorized(state, "DELETE /2/tweets/:id")
        if not NUMERIC_ID.match(post_id):
            raise invalid_request(f"The `id` path parameter value [{post_id}] is not a post id")
        state.delete_post(token, post_id)
        return _json_response({"data": {"deleted": True}})

    @app.get("/2/tweets")
    def lookup_tweets() -> Response:
        _authorized(state, "GET /2/tweets")
        _only_params("ids", "tweet.fields", "expansions", "user.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        _fields("user.fields", USER_FIELDS)
        raw = request.args.get("ids", "")
        ids = list(dict.fromkeys(raw.split(","))) if raw else []
        if not 1 <= len(ids) <= 100:
            raise invalid_request(
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not between 1 and 100",
                parameters={"ids": [raw]},
            )
        bad = [i for i in ids if not NUMERIC_ID.match(i)]
        if bad:
            raise invalid_request(
                f"The `ids` query parameter value [{bad[0]}] does not match ^[0-9]{{1,19}}$", parameters={"ids": [raw]}
            )
        found, errors = [], []
        for post_id in ids:
            post = state.look_up(post_id)
            if post is None:
                errors.append(not_found("ids", post_id))
            else:
                found.append(_tweet_view(post, fields))
        answer: dict[str, Any] = {}
        if found:
            answer["data"] = found
        if errors:
            answer["errors"] = errors
        return _json_response(answer)

    @app.get("/2/users/me")
    def me() -> Response:
        token = _authorized(state, "GET /2/users/me")
        _only_params("user.fields", "tweet.fields", "expansions")
        fields = _fields("user.fields", USER_FIELDS)
        _fields("tweet.fields", TWEET_FIELDS)
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the users under a live token
            raise ApiError(401, problem(401, "Unauthorized"))
        with state.lock:
            posts = sum(1 for p in state.posts.values() if p.author_id == user.id and not p.deleted)
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.handle}
        optional: dict[str, Callable[[], Any]] = {
            "created_at": lambda: user.created_at,
            "description": lambda: f"{user.name}, emulated by the advocacy X sandbox.",
            "protected": lambda: False,
            "public_metrics": lambda: {
                "followers_count": user.followers,
                "following_count": user.following,
                "tweet_count": posts,
                "listed_count": 0,
                "like_count": 0,
            },
        }
        data |= {name: make() for name, make in optional.items() if name in fields}
        return _json_response({"data": data})


def _upload_fields() -> tuple[dict[str, Any], bytes | None]:
    """The fields of a ``POST /2/media/upload`` body (JSON, or multipart/form-data) and the file's bytes, if any.

    Multipart form fields are strings: ``shared`` is read as a boolean and ``additional_owners`` as comma-separated
    ids (or repeated fields), so one schema checks both encodings.
    """
    if request.mimetype == "multipart/form-data":
        fields: dict[str, Any] = {k: request.form[k] for k in request.form if k != "additional_owners"}
        owners = [o.strip() for v in request.form.getlist("additional_owners") for o in v.split(",") if o.strip()]
        if owners:
            fields["additional_owners"] = owners
        if "shared" in fields:
            fields["shared"] = {"true": True, "false": False}.get(fields["shared"].lower(), fields["shared"])
        file = request.files.get("media")
        if file is None:
            return fields, None
        fields["media"] = "(binary)"
        return fields, file.read()
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise invalid_request("The request body is not valid JSON.")
        return body, None
    raise invalid_request("The request body must be multipart/form-data or application/json.")


def _uploaded_image(fields: Mapping[str, Any], data: bytes | None) -> tuple[str, bytes]:
    """The type and bytes of a valid one-shot image upload; raises the 400 X answers otherwise."""
    errors = sorted(_UPLOAD_SCHEMA.iter_errors(fields), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    category = fields["media_category"]
    if category != "tweet_image":
        raise invalid_request(f"The sandbox does not emulate media_category {category}; it takes tweet_image.",
                              parameters={"media_category": [category]})
    if data is None:
        data = _base64_media(fields)
    if not data:
        raise invalid_request("$.media: the file is empty")
    if len(data) > IMAGE_MAX_BYTES:
        raise invalid_request(f"File size exceeds {IMAGE_MAX_BYTES} bytes.",
                              parameters={"media_category": [category]})
    kind = sniff_image(data)
    if kind is None:
        raise invalid_request("media type unrecognized.")
    if kind not in IMAGE_TYPES_ONE_SHOT:
        raise invalid_request(f"Unsupported media type {kind} for media_category {category}; one upload takes "
                              f"{', '.join(IMAGE_TYPES_ONE_SHOT)}.")
    declared = str(fields.get("media_type", kind)).replace("image/pjpeg", "image/jpeg")
    if declared != kind:
        raise invalid_request(f"media_type {fields['media_type']} does not match the uploaded file ({kind}).",
                              parameters={"media_type": [str(fields["media_type"])]})
    return kind, data


def _base64_media(fields: Mapping[str, Any]) -> bytes:
    try:
        return base64.b64decode(str(fields["media"]), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_request("$.media: is not a base64 encoded file", parameters={"media": ["(data)"]}) from None


def _upload_status(state: XState, upload: Upload, *, checking: bool) -> dict[str, Any]:
    """An upload as finalize and the status check answer it; a status check moves processing one step on."""
    with state.lock:
        answer: dict[str, Any] = {"id": upload.id, "media_key": upload.media_key, "size": len(upload.data),
                                  "expires_after_secs": max(round(upload.expires_at - time.time()), 0)}
        if checking and upload.polls_left > 0:
            upload.polls_left -= 1
        if upload.polls_left > 0:
            done = state.config.gif_processing_polls - upload.polls_left
            answer["processing_info"] = {
                "state": "in_progress" if checking else "pending",
                "check_after_secs": state.config.gif_check_after_secs,
                "progress_percent": 100 * done // max(state.config.gif_processing_polls, 1),
            }
        elif checking or upload.category == "tweet_gif":
            answer["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        return answer


def media_not_found(media_id: str) -> ApiError:
    return ApiError(404, {
        "value": media_id,
        "detail": f"Could not find media with id: [{media_id}].",
        "title": "Not Found Error",
        "resource_type": "media",
        "parameter": "id",
        "resource_id": media_id,
        "type": PROBLEMS + "resource-not-found",
    })


def _install_media(app: Flask, state: XState) -> None:
    """``POST /2/media/upload`` (one request, images for posts) and ``POST /2/media/metadata`` (alt text)."""

    @app.post("/2/media/upload")
    def upload_media() -> Response:
        token = _authorized(state, "POST /2/media/upload")
        fields, data = _upload_fields()
        kind, data = _uploaded_image(fields, data)
        upload = state.store_upload(token, kind, data, list(fields.get("additional_owners", [])))
        left = max(round(upload.expires_at - time.time()), 0)
        answer = {"id": upload.id, "media_key": upload.media_key, "size": len(upload.data), "expires_after_secs": left}
        return _json_response({"data": answer})

    @app.post("/2/media/metadata")
    def media_metadata() -> Response:
        token = _authorized(state, "POST /2/media/metadata")
        body = request.get_json(silent=True)
        if body is None:
            raise invalid_request("The request body is not valid JSON.")
        errors = sorted(_METADATA_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise invalid_request(*(_schema_message(e) for e in errors))
        metadata = body.get("metadata") or {}
        used = [name for name in METADATA_NOT_EMULATED if name in metadata]
        if used:
            raise invalid_request(f"The sandbox does not emulate metadata {', '.join(used)}; it takes alt_text.")
        with state.lock:
            upload = state.finalized_upload(token, body["id"])
            if "alt_text" in metadata:
                upload.alt_text = metadata["alt_text"]["text"]
            associated = {"alt_text": {"text": upload.alt_text}} if upload.alt_text is not None else {}
        return _json_response({"data": {"id": upload.id, "associated_metadata": associated}})

    @app.get("/i/media/<media_key>")
    def media_file(media_key: str) -> Response:
        with state.lock:
            upload = next((u for u in state.uploads.values() if u.media_key == media_key), None)
        if upload is None:
            return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1>", 404)
        return Response(upload.data, 200, mimetype=upload.content_type)

    @app.get("/_sandbox/media")
    def list_media() -> Response:
        with state.lock:
            return _json_response({"media": [state.upload_view(u) for u in state.uploads.values()]})


def _checked_init() -> tuple[dict[str, Any], str]:
    """The body and category of a valid ``POST /2/media/upload/initialize``; the 400 X answers otherwise."""
    body = request.get_json(silent=True)
    if body is None:
        raise invalid_request("The request body is not valid JSON.")
    errors = sorted(_INIT_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    for name in ("media_type", "total_bytes"):
        if name not in body:
            raise invalid_request(f"$: '{name}' is a required property")
    category = str(body.get("media_category", "tweet_image"))
    if category not in CHUNKED_CATEGORIES:
        raise invalid_request(f"The sandbox does not emulate media_category {category}; it takes "
                              f"{', '.join(CHUNKED_CATEGORIES)}.", parameters={"media_category": [category]})
    if body["media_type"] not in CHUNKED_CATEGORIES[category]:
        raise invalid_request(f"Unsupported media type {body['media_type']} for media_category {category}.",
                              parameters={"media_type": [body["media_type"]]})
    limit = GIF_MAX_BYTES if category == "tweet_gif" else IMAGE_MAX_BYTES
    if body["total_bytes"] > limit:
        raise invalid_request(f"File size exceeds {limit} bytes.",
                              parameters={"total_bytes": [str(body["total_bytes"])]})
    return body, category


def _install_chunked(app: Flask, state: XState) -> None:
    """The chunked upload: initialize, append segments, finalize, and the status check while X processes."""

    @app.post("/2/media/upload/initialize")
    def initialize_upload() -> Response:
        token = _authorized(state, "POST /2/media/upload/initialize")
        body, category = _checked_init()
        upload = state.store_upload(token, body["media_type"], b"", list(body.get("additional_owners", [])),
                                    category, body["total_bytes"])
        left = max(round(upload.expires_at - time.time()), 0)
        return _json_response({"data": {"id": upload.id, "media_key": upload.media_key, "expires_after_secs": left}})

    @app.post("/2/media/upload/<media_id>/append")
    def append_upload(media_id: str) -> Response:
        token = _authorized(state, "POST /2/media/upload/:id/append")
        fields, data = _upload_fields()
        errors = sorted(_APPEND_SCHEMA.iter_errors(fields), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise invalid_request(*(_schema_message(e) for e in errors))
        if data is None:
            data = _base64_media(fields)
        if len(data) > SEGMENT_MAX_BYTES:
            raise invalid_request(f"Segment size exceeds {SEGMENT_MAX_BYTES} bytes.")
        with state.lock:
            upload = state.unfinished_upload(token, media_id)
            upload.segments[int(fields["segment_index"])] = data
            return _json_response({"data": {"expires_at": int(upload.expires_at)}})

    @app.post("/2/media/upload/<media_id>/finalize")
    def finalize_upload(media_id: str) -> Response:
        token = _authorized(state, "POST /2/media/upload/:id/finalize")
        upload = state.finalize_upload(token, media_id)
        return _json_response({"data": _upload_status(state, upload, checking=False)})

    @app.get("/2/media/upload")
    def upload_status() -> Response:
        token = _authorized(state, "GET /2/media/upload")
        _only_params("media_id", "command")
        if request.args.get("command", "STATUS") != "STATUS":
            raise invalid_request(f"The `command` query parameter value [{request.args['command']}] is not one of "
                                  "[STATUS]")
        media_id = request.args.get("media_id", "")
        if not NUMERIC_ID.match(media_id):
            raise invalid_request(f"The `media_id` query parameter value [{media_id}] does not match ^[0-9]{{1,19}}$")
        with state.lock:
            upload = state.finalized_upload(token, media_id)
            return _json_response({"data": _upload_status(state, upload, checking=True)})


def _install_timeline(app: Flask, state: XState) -> None:
    """``GET /2/users/:id/tweets``: a person's recent posts, newest first, paged (what ``find_post`` reads); and
    ``GET /2/tweets/:id``, one post."""

    @app.get("/2/tweets/<post_id>")
    def lookup_tweet(post_id: str) -> Response:
        _authorized(state, "GET /2/tweets/:id")
        _only_params("tweet.fields", "expansions", "user.fields", "media.fields", "poll.fields", "place.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        _fields("user.fields", USER_FIELDS)
        if not NUMERIC_ID.match(post_id):
            raise invalid_request(f"The `id` query parameter value [{post_id}] does not match ^[0-9]{{1,19}}$",
                                  parameters={"id": [post_id]})
        post = state.look_up(post_id)
        if post is None:  # X answers 200 with the error, as for a missing id in GET /2/tweets
            return _json_response({"errors": [not_found("id", post_id)]})
        return _json_response({"data": _tweet_view(post, fields)})

    @app.get("/2/users/<user_id>/tweets")
    def user_timeline(user_id: str) -> Response:
        _authorized(state, "GET /2/users/:id/tweets")
        _only_params("max_results", "start_time", "end_time", "pagination_token", "tweet.fields", "exclude",
                     "since_id", "until_id", "expansions", "user.fields")
        fields = _fields("tweet.fields", TWEET_FIELDS)
        if not NUMERIC_ID.match(user_id):
            raise invalid_request(f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$")
        raw_max = request.args.get("max_results", "10")
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            raise invalid_request(f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100")
        start = _time_param("start_time")
        end = _time_param("end_time")
        with state.lock:
            mine = sorted((p for p in state.posts.values() if p.author_id == user_id and not p.deleted
                           and (start is None or p.created_at >= start) and (end is None or p.created_at < end)),
                          key=lambda p: int(p.id), reverse=True)
        raw_token = request.args.get("pagination_token") or "0"
        offset = int(raw_token) if raw_token.isdigit() else 0
        page_posts = mine[offset : offset + int(raw_max)]
        meta: dict[str, Any] = {"result_count": len(page_posts)}
        if page_posts:
            meta |= {"newest_id": page_posts[0].id, "oldest_id": page_posts[-1].id}
        if offset + int(raw_max) < len(mine):
            meta["next_token"] = str(offset + int(raw_max))
        answer: dict[str, Any] = {"meta": meta}
        if page_posts:
            answer["data"] = [_tweet_view(p, fields) for p in page_posts]
        return _json_response(answer)


def _install_pages(app: Flask, state: XState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.id, reverse=True)[:50]
            rows = "".join(
                f'<li><a href="/i/web/status/{p.id}">{_e(p.text[:80])}</a>{" (deleted)" if p.deleted else ""}</li>'
                for p in posts
            )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/i/web/status/<post_id>")
    def status_page(post_id: str) -> Response:
        with state.lock:
            post = state.posts.get(post_id)
            author = state.user_by_id(post.author_id) if post else None
        if post is None:
            return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1><p>No post has this id.</p>", 404)
        handle = author.handle if author else "unknown"
        if post.deleted:
            return page("Deleted", f"<h1>This post was deleted by @{_e(handle)}.</h1>", 410)
        figures = " · ".join(f"{_e(v)} {_e(k.removesuffix('_count'))}" for k, v in _metrics_view(post).items())
        images = "".join(f'<p><img src="/i/media/{_e(m["media_key"])}" alt="{_e(m["alt_text"] or "")}" '
                         'style="max-width:100%;border-radius:1rem"></p>' for m in post.media)
        body = (
            f"<article><h1>@{_e(handle)}</h1><p>{_linkify(post.text)}</p>{images}"
            f'<p class="muted"><time datetime="{_e(post.created_at)}">{_e(post.created_at)}</time></p>'
            f'<p class="muted">{figures}</p></article>'
        )
        return page(f"@{handle}", body)


def _linkify(text: str) -> str:
    out, pos = [], 0
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        href = url if url.lower().startswith("http") else "https://" + url
        out += [html.escape(text[pos : match.start()]), f'<a href="{_e(href)}" rel="nofollow">{_e(url)}</a>']
        pos = match.start() + len(url)
    return "".join(out) + html.escape(text[pos:])


def _install_control(app: Flask, state: XState) -> None:
    body = _control_body

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        with state.lock:
            return _json_response({"posts": [state.post_view(p) for p in state.posts.values()]})

    @app.post("/_sandbox/posts/<post_id>/metrics")
    def set_metrics(post_id: str) -> Response:
        return _json_response({"post": state.post_view(state.set_metrics(post_id, body()))})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return _json_response({"reset": True})

    @app.get("/_sandbox/requests")
    def list_requests() -> Response:
        with state.lock:
            return _json_response({"requests": list(state.journal)})

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        with state.lock:
            return _json_response({"faults": [dataclasses.asdict(f) for f in state.faults]})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        return _json_response({"fault": dataclasses.asdict(state.add_fault(body()))}, 201)

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        with state.lock:
            state.faults.clear()
        return _json_response({"faults": []})


def _control_body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _install_control_people(app: Flask, state: XState) -> None:
    body = _control_body

    @app.get("/_sandbox/users")
    def list_users() -> Response:
        with state.lock:
            return _json_response({"users": [dataclasses.asdict(u) for u in state.users.values()]})

    @app.post("/_sandbox/users")
    def upsert_user() -> Response:
        data = body()
        handle = data.get("handle")
        if not isinstance(handle, str) or not HANDLE.match(handle):
            raise ControlError("handle: 1 to 15 letters, digits or _")
        for key in ("followers", "following"):
            if data.get(key) is not None and not _is_count(data[key]):
                raise ControlError(f"{key} must be an integer >= 0")
        user = state.user(handle, data.get("followers"), data.get("following"))
        return _json_response({"user": dataclasses.asdict(user)})

    @app.post("/_sandbox/tokens/expire")
    def expire_tokens() -> Response:
        access, _ = state.tokens_of(body().get("handle"))
        with state.lock:
            for token in access:
                token.expires_at = min(token.expires_at, time.time() - 1)
        return _json_response({"expired": len(access)})

    @app.post("/_sandbox/tokens/revoke")
    def revoke_tokens() -> Response:
        handle = body().get("handle")
        if not isinstance(handle, str):
            raise ControlError("handle is required: whose tokens to revoke")
        access, refresh = state.tokens_of(handle)
        with state.lock:
            for token in access:
                token.revoked = True
            for rt in refresh:
                rt.alive = False
        return _json_response({"revoked": len(access) + len(refresh)})

    @app.get("/_sandbox/config")
    def get_config() -> Response:
        with state.lock:
            return _json_response({"config": dataclasses.asdict(state.config)})

    @app.post("/_sandbox/config")
    def set_config() -> Response:
        return _json_response({"config": state.configure(body())})
