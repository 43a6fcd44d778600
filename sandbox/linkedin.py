"""A local emulation of the LinkedIn API for members: 3-legged OAuth, OpenID ``userinfo``, Posts, Post Analytics.

LinkedIn publishes no machine-readable spec. This sandbox follows ``PLATFORMS.md`` and the shapes of LinkedIn's
developer documentation (the schemas in ``sandbox/schemas/linkedin.py`` say which); no conformance test
against a spec file is possible, so ``tests/connectors/test_linkedin_shapes.py`` holds each documented shape.

Endpoints: the consent page ``/oauth/v2/authorization`` (the tester may also grant ``r_member_postAnalytics``, as for
an app approved for the Community Management API), ``POST /oauth/v2/accessToken`` (authorization code and, when
configured for a partner app, refresh tokens), ``POST /oauth/v2/revoke``, ``GET /v2/userinfo``, and under ``/rest/``
(``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0`` required; a retired version answers 426)
``POST /rest/posts`` (an article, or ``media`` / ``multiImage`` naming the member's own AVAILABLE images),
``DELETE /rest/posts/<urn>``, ``GET /rest/memberCreatorPostAnalytics``, the Images API (``POST
/rest/images?action=initializeUpload`` for the member as owner, the ``PUT`` of the bytes to the upload URL it answers,
on this sandbox's own address, before that URL expires; ``GET /rest/images/<urn>`` with the status, JPG, PNG or GIF
within 36,152,320 pixels becoming AVAILABLE, anything else PROCESSING_FAILED); the public post page
``/feed/update/<urn>/``, the share dialog ``/sharing/share-offsite/``, and a JSON control API under ``/_sandbox/``
with the same endpoints and shapes as the X sandbox's (see ``create_app``). Daily limits per member and per app
reset at midnight UTC and, as on LinkedIn, no rate-limit headers and no ``Retry-After`` are sent; a fault with status
429 and no body is LinkedIn's infrastructure protection (``{"message": "Too Many Requests", "status": 429}``, no DAY
limit named), with whatever headers the fault names. A commentary is measured as received, escapes included, in
UTF-16 code units: over 3,000 is refused with LinkedIn's 400 ``FIELD_ARRAY_SIZE_TOO_HIGH``; an unescaped reserved
little-text character is not refused but, as LinkedIn does, cuts the text members see short at that character
(``text`` in the control API). State lives in memory behind one lock.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jsonschema
from flask import Flask, Response, g, request

from connectors.media import image_info
from sandbox.schemas.linkedin import (
    ACCESS_TOKEN_LIFETIME,
    ANALYTICS_QUERY_TYPES,
    IMAGE_FORMATS,
    IMAGE_MAX_PIXELS,
    IMAGE_URN,
    INITIALIZE_UPLOAD_REQUEST,
    MAX_COMMENTARY,
    METRIC_TYPE_KEY,
    NOT_EMULATED,
    POST_CREATE_REQUEST,
    POST_URN,
    REFRESH_TOKEN_LIFETIME,
    RESTLI_PROTOCOL_VERSION,
    SCOPES,
    SERVICE_ERRORS,
    USERINFO_CLAIMS,
    VERSION_FORMAT,
    VERSION_LIFETIME_MONTHS,
)

HANDLE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
POST_URN_RE = re.compile(POST_URN)
VERSION_RE = re.compile(VERSION_FORMAT)
ENTITY = re.compile(r"^\((share|ugcPost):(urn:li:(?:share|ugcPost):[0-9]{1,20})\)$")
RESERVED = set("\\|{}@[]()<>#*_~")
HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\#\|((?:[^\\{}|]|\\.)+)\}")
ENDPOINTS = ("POST /rest/posts", "DELETE /rest/posts", "GET /rest/memberCreatorPostAnalytics", "GET /v2/userinfo",
             "POST /rest/images", "GET /rest/images")  # fmt: skip
DEFAULT_MEMBER_DAY = {"POST /rest/posts": 150, "DELETE /rest/posts": 150,
                      "GET /rest/memberCreatorPostAnalytics": 5000, "GET /v2/userinfo": 5000,
                      "POST /rest/images": 5000, "GET /rest/images": 5000}  # fmt: skip
DEFAULT_APP_DAY = {"POST /rest/posts": 100_000, "DELETE /rest/posts": 100_000,
                   "GET /rest/memberCreatorPostAnalytics": 500_000, "GET /v2/userinfo": 500_000,
                   "POST /rest/images": 500_000, "GET /rest/images": 500_000}  # fmt: skip
METRICS = ANALYTICS_QUERY_TYPES
FIRST_SHARE_ID = 7_300_000_000_000_000_000
_POST_SCHEMA = jsonschema.Draft7Validator(POST_CREATE_REQUEST)
_INITIALIZE_SCHEMA = jsonschema.Draft7Validator(INITIALIZE_UPLOAD_REQUEST)
IMAGE_URN_RE = re.compile(IMAGE_URN)
IMAGE_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _month_shift(version: str, months: int) -> str:
    year, month = int(version[:4]), int(version[4:6])
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def _this_month() -> str:
    return time.strftime("%Y%m", time.gmtime())


# ------------------------------------------------------------------------------------------------------ state
@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    token_lifetime: int = ACCESS_TOKEN_LIFETIME
    refresh_token_lifetime: int = REFRESH_TOKEN_LIFETIME
    issue_refresh_tokens: bool = False  # only apps in LinkedIn's partner programmes get refresh tokens
    code_lifetime: int = 1800
    member_day_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MEMBER_DAY))
    app_day_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_APP_DAY))
    oldest_version: str = field(default_factory=lambda: _month_shift(_this_month(), 1 - VERSION_LIFETIME_MONTHS))
    newest_version: str = field(default_factory=_this_month)
    latency_ms: int = 0
    metrics_growth: bool = True
    seed: int = 0
    upload_url_lifetime: int = 3600  # seconds an initialized image's upload URL can be used
    image_processing_ms: int = 0  # how long an uploaded image stays PROCESSING before it is AVAILABLE
    # client_id -> {"secret": str, "name": str}; empty means any client id with any non-empty secret is accepted
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class User:
    id: str  # the OpenID ``sub``
    handle: str
    name: str
    followers: int
    created_at: str


@dataclass
class Post:
    id: str  # urn:li:share:N
    author_id: str
    client_id: str
    commentary: str
    text: str  # as members see it
    body: dict[str, Any]
    linkedin_version: str
    created_at: str
    deleted: bool = False
    deleted_at: str | None = None
    metrics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    growth: bool = True
    lookups: int = 0


@dataclass
class Image:
    """An image initialized through the Images API, uploaded (or not yet) to its upload URL."""

    id: str  # urn:li:image:…
    owner_id: str  # the member (``sub``) who owns it
    client_id: str
    upload_key: str  # the signature in the upload URL
    upload_expires_at: float
    created_at: str
    data: bytes | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    available_at: float | None = None
    failure: str | None = None

    def status(self) -> str:
        if self.failure:
            return "PROCESSING_FAILED"
        if self.data is None:
            return "WAITING_UPLOAD"
        return "AVAILABLE" if self.available_at is not None and self.available_at <= time.time() else "PROCESSING"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
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
    expires_at: float
    alive: bool = True


@dataclass
class Fault:
    """One injected failure. ``after``: let the request do its work first, then answer with the fault.

    ``reset_in`` is accepted for the same shape as the X sandbox's faults; LinkedIn sends no reset header (a fault's
    ``headers`` may add a ``Retry-After`` to test that the client honours one where it is sent).
    """

    id: int
    status: int | None = None
    probability: float = 1.0
    count: int | None = None
    delay: float = 0.0
    path_prefix: str = "/"
    method: str | None = None
    body: str | None = None
    content_type: str | None = None
    after: bool = False
    reset_in: int = 0
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An answer other than success, rendered by the app's error handler."""

    def __init__(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


class ControlError(Exception):
    """A bad request to the control API."""


def service_error(code: str, **fill: str) -> ApiError:
    """One of LinkedIn's documented service errors, ``{"status", "serviceErrorCode", "code", "message"}``."""
    status, number, message = SERVICE_ERRORS[code]
    return ApiError(status, {"status": status, "serviceErrorCode": number, "code": code,
                             "message": message.format(**fill)})  # fmt: skip


def restli_error(status: int, message: str, code: str | None = None) -> ApiError:
    """A Rest.li error body: ``{"message", "status"}`` (and a ``code`` where LinkedIn gives one)."""
    body: dict[str, Any] = {"message": message, "status": status}
    if code:
        body["code"] = code
    return ApiError(status, body)


def commentary_length(commentary: str) -> int:
    """The length LinkedIn measures a commentary by: the commentary as received, escapes and hashtag templates
    included, in UTF-16 code units (what a Java string's length counts). See ``MAX_COMMENTARY``."""
    return len(commentary.encode("utf-16-le")) // 2


def commentary_too_long(commentary: str, length: int) -> ApiError:
    """LinkedIn's refusal of a commentary over the limit: 400, the content service's BadRequest with the input error,
    as recorded in n8n-io/n8n#22899 (PLATFORMS-2026.md §4)."""
    message = (f"com.linkedin.content.common.exception.BadRequestResponseException: ShareCommentary text length "
               f"({length} characters) exceeded the maximum allowed ({MAX_COMMENTARY} characters)")
    return ApiError(400, {"errorDetailType": "com.linkedin.common.error.BadRequest", "message": message,
                          "errorDetails": {"inputErrors": [{
                              "description": "Size of array cannot be higher than the maxLength",
                              "input": {"value": {"stringValue": commentary}},
                              "code": "FIELD_ARRAY_SIZE_TOO_HIGH", "maxLength": MAX_COMMENTARY}]},
                          "status": 400})  # fmt: skip


def token_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, {"error": error, "error_description": description})


def utc_iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def render_little_text(commentary: str) -> str:
    """What members see of a commentary: escapes resolved, hashtag templates as ``#word``.

    LinkedIn drops the rest of the commentary at an unescaped reserved character; so does the sandbox.

    Args:
        commentary: the ``commentary`` of a post, in little text format.
    """
    out: list[str] = []
    pos = 0
    while pos < len(commentary):
        ch = commentary[pos]
        if ch == "\\" and pos + 1 < len(commentary):
            out.append(commentary[pos + 1])
            pos += 2
            continue
        if ch == "{" and (match := HASHTAG_TEMPLATE.match(commentary, pos)):
            out.append("#" + re.sub(r"\\(.)", r"\1", match.group(1)))
            pos = match.end()
            continue
        if ch in RESERVED:
            break
        out.append(ch)
        pos += 1
    return "".join(out)


class LinkedInState:
    """Everything the emulated network remembers. Every public method takes the lock."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._next_share = FIRST_SHARE_ID  # survives reset so a stale URN never names a new post
        self._next_fault = 1
        self.reset()
        if config:
            self.configure(config)

    # --------------------------------------------------------------------------------------------- plumbing
    def reset(self) -> None:
        with self.lock:
            self.config = Config()
            self.random = random.Random(self.config.seed)
            self.users: dict[str, User] = {}  # by lower-case handle
            self.posts: dict[str, Post] = {}
            self.images: dict[str, Image] = {}  # by URN
            self.grants: dict[str, Grant] = {}
            self.access: dict[str, AccessToken] = {}
            self.refresh: dict[str, RefreshToken] = {}
            self.faults: list[Fault] = []
            self.counters: dict[tuple[str, str, str], int] = {}  # (who, endpoint, UTC day) -> calls

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops (so no handler thread outlives it)."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply settings (all or none); daily counters restart when limits change. Returns the whole config."""
        with self.lock:
            known = {f.name for f in dataclasses.fields(Config)}
            unknown = sorted(set(changes) - known)
            if unknown:
                raise ControlError(f"unknown config keys {unknown}; known: {sorted(known)}")
            new = dataclasses.replace(self.config)
            for key, value in changes.items():
                setattr(new, key, _checked_setting(key, value, getattr(self.config, key)))
            if new.oldest_version > new.newest_version:
                raise ControlError("oldest_version must not be after newest_version")
            self.config = new
            if "seed" in changes:
                self.random = random.Random(new.seed)
            if {"member_day_limits", "app_day_limits"} & set(changes):
                self.counters.clear()
            return dataclasses.asdict(self.config)

    # ------------------------------------------------------------------------------------------------ users
    def user(self, handle: str, followers: int | None = None, name: str | None = None) -> User:
        """The member signing in as ``handle``, created on first sight with a deterministic id."""
        with self.lock:
            key = handle.lower()
            user = self.users.get(key)
            if user is None:
                digest = hashlib.sha256(b"linkedin:" + key.encode()).digest()
                sub = base64.urlsafe_b64encode(digest[:8]).decode().rstrip("=").replace("-", "A").replace("_", "b")
                user = User(id=sub, handle=handle, name=re.sub(r"[_.-]+", " ", handle).title(),
                            followers=200 + int.from_bytes(digest[8:12], "big") % 4800, created_at=utc_iso(time.time()))
                self.users[key] = user
            if followers is not None:
                user.followers = followers
            if name is not None:
                user.name = name
            return user

    def user_by_id(self, user_id: str) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.id == user_id), None)

    # ----------------------------------------------------------------------------------------------- clients
    def client_name(self, client_id: str) -> str | None:
        with self.lock:
            if not client_id:
                return None
            if not self.config.clients:
                return client_id
            entry = self.config.clients.get(client_id)
            return None if entry is None else str(entry.get("name") or client_id)

    def check_client(self, client_id: str, secret: str) -> None:
        with self.lock:
            entry = self.config.clients.get(client_id)
            known = entry is not None or not self.config.clients
            if not client_id or not secret or not known or (entry and entry.get("secret") != secret):
                raise token_error(401, "invalid_client", "Client authentication failed")

    # -------------------------------------------------------------------------------------------------- OAuth
    def issue_code(self, client_id: str, redirect_uri: str, scopes: tuple[str, ...], user: User) -> str:
        with self.lock:
            code = secrets.token_urlsafe(48)
            self.grants[code] = Grant(client_id, redirect_uri, scopes, user.id, time.time() + self.config.code_lifetime)
            return code

    def redeem_code(self, client_id: str, code: str, redirect_uri: str) -> dict[str, Any]:
        with self.lock:
            grant = self.grants.pop(code, None)  # single use: gone whatever happens next
            if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
                raise token_error(400, "invalid_request", "Unable to retrieve access token: appid/redirect uri/code "
                                  "verifier does not match authorization code. Or authorization code expired.")
            if grant.redirect_uri != redirect_uri:
                raise token_error(400, "invalid_redirect_uri", "Unable to retrieve access token: redirect uri does "
                                  "not match the one of the authorization request.")
            return self._issue(grant.user_id, client_id, grant.scopes, None)

    def redeem_refresh(self, client_id: str, token: str) -> dict[str, Any]:
        with self.lock:
            old = self.refresh.get(token)
            if old is None or not old.alive or old.client_id != client_id or old.expires_at <= time.time():
                raise token_error(400, "invalid_request",
                                  "The provided authorization grant or refresh token is invalid, expired or revoked.")
            return self._issue(old.user_id, client_id, old.scopes, token)

    def _issue(self, user_id: str, client_id: str, scopes: tuple[str, ...], refresh: str | None) -> dict[str, Any]:
        access = "AQ" + secrets.token_urlsafe(60)
        lifetime = self.config.token_lifetime
        self.access[access] = AccessToken(user_id, client_id, scopes, time.time() + lifetime)
        answer: dict[str, Any] = {"access_token": access, "expires_in": lifetime, "scope": ",".join(sorted(scopes)),
                                  "token_type": "Bearer"}  # fmt: skip
        if "openid" in scopes:
            answer["id_token"] = _id_token(user_id, client_id)
        if refresh is None and self.config.issue_refresh_tokens:
            refresh = "AQ" + secrets.token_urlsafe(60)
            self.refresh[refresh] = RefreshToken(user_id, client_id, scopes,
                                                 time.time() + self.config.refresh_token_lifetime)
        if refresh is not None:  # the same refresh token, its lifetime not extended
            answer["refresh_token"] = refresh
            answer["refresh_token_expires_in"] = max(int(self.refresh[refresh].expires_at - time.time()), 0)
        return answer

    def revoke_token(self, client_id: str, token: str) -> None:
        with self.lock:
            if (access := self.access.get(token)) is not None and access.client_id == client_id:
                access.revoked = True

    def authenticate(self, header: str | None) -> AccessToken:
        with self.lock:
            scheme, _, value = (header or "").partition(" ")
            token = self.access.get(value.strip()) if scheme.lower() == "bearer" else None
            if token is None:
                raise service_error("INVALID_ACCESS_TOKEN")
            if token.revoked:
                raise service_error("REVOKED_ACCESS_TOKEN")
            if token.expires_at <= time.time():
                raise service_error("EXPIRED_ACCESS_TOKEN")
            return token

    def tokens_of(self, handle: str | None) -> tuple[list[AccessToken], list[RefreshToken]]:
        with self.lock:
            if handle is None:
                return list(self.access.values()), list(self.refresh.values())
            user = self.users.get(handle.lower())
            if user is None:
                raise ControlError(f"no user with handle {handle!r}")
            return ([t for t in self.access.values() if t.user_id == user.id],
                    [t for t in self.refresh.values() if t.user_id == user.id])  # fmt: skip

    # ------------------------------------------------------------------------------------------- day limits
    def spend(self, token: AccessToken, endpoint: str) -> None:
        """Count one call against the member's and the app's daily limits; 429 when one is used up, naming it (the
        member's limit per app is "APPLICATION_AND_MEMBER", the app's "APPLICATION"), without rate-limit headers or
        ``Retry-After``: LinkedIn documents none and third parties observe none (PLATFORMS.md, PLATFORMS-2026.md §4)."""
        with self.lock:
            day = time.strftime("%Y-%m-%d", time.gmtime())
            for scope, who, limit in (("APPLICATION_AND_MEMBER", "member:" + token.user_id,
                                       self.config.member_day_limits[endpoint]),
                                      ("APPLICATION", "app:" + token.client_id, self.config.app_day_limits[endpoint])):
                if self.counters.get((who, endpoint, day), 0) >= limit:
                    raise service_error("TOO_MANY_REQUESTS", scope=scope)
            for who in ("member:" + token.user_id, "app:" + token.client_id):
                self.counters[(who, endpoint, day)] = self.counters.get((who, endpoint, day), 0) + 1

    # ------------------------------------------------------------------------------------------------ posts
    def create_post(self, token: AccessToken, body: dict[str, Any], version: str) -> Post:
        """A new post; the member's live post with the same commentary and article is a duplicate (422). Images are
        not compared: every attempt uploads its images anew, under new URNs, so the text is what repeats."""
        with self.lock:
            commentary = str(body.get("commentary", ""))
            article = (body.get("content") or {}).get("article") or {}
            for post in self.posts.values():
                same = post.commentary == commentary and (post.body.get("content") or {}).get("article") == (
                    article or None)
                if post.author_id == token.user_id and not post.deleted and same:
                    raise restli_error(422, f"Content is a duplicate of {post.id}", "DUPLICATE_POST")
            urn = f"urn:li:share:{self._next_share}"
            self._next_share += 1
            post = Post(urn, token.user_id, token.client_id, commentary, render_little_text(commentary), body,
                        version, utc_iso(time.time()), growth=self.config.metrics_growth)
            self.posts[urn] = post
            return post

    def check_post_media(self, token: AccessToken, body: Mapping[str, Any]) -> None:
        """The images a post names must be the member's own and uploaded (AVAILABLE), as LinkedIn checks them."""
        with self.lock:
            content = body.get("content") or {}
            named = []
            if "media" in content:
                named = [("/content/media/id", content["media"]["id"])]
            elif "multiImage" in content:
                named = [(f"/content/multiImage/images/{i}/id", item["id"])
                         for i, item in enumerate(content["multiImage"]["images"])]  # fmt: skip
            for where, urn in named:
                if not IMAGE_URN_RE.match(urn):
                    raise restli_error(422, f"The sandbox emulates image media only, not {urn}")
                image = self.images.get(urn)
                if image is None:
                    raise restli_error(422, f"ERROR :: {where} :: {urn} does not exist")
                if image.owner_id != token.user_id:
                    raise service_error("ACCESS_DENIED", resource=f"{urn} (an image of another member)")
                status = image.status()
                if status != "AVAILABLE":
                    reason = f": {image.failure}" if image.failure else ""
                    raise restli_error(422, f"ERROR :: {where} :: {urn} is {status}, not AVAILABLE{reason}")

    # ----------------------------------------------------------------------------------------------- images
    def initialize_image(self, token: AccessToken, owner: str) -> Image:
        """initializeUpload: a new image of the member, waiting for its bytes at an upload URL."""
        with self.lock:
            if owner != f"urn:li:person:{token.user_id}":
                raise service_error("ACCESS_DENIED",
                                    resource="images.ACTION.initializeUpload (owner is not the member)")  # fmt: skip
            key = "D4E10AQ" + "".join(secrets.choice(IMAGE_ID_CHARS) for _ in range(12))  # never reused
            now = time.time()
            image = Image(f"urn:li:image:{key}", token.user_id, token.client_id, secrets.token_urlsafe(24),
                          now + self.config.upload_url_lifetime, utc_iso(now))  # fmt: skip
            self.images[image.id] = image
            return image

    def upload_image(self, token: AccessToken, key: str, signature: str, data: bytes) -> Image:
        """The PUT of an image's bytes to its upload URL (before it expires, by its owner); then it is processed:
        a documented format within the pixel limit becomes AVAILABLE, anything else PROCESSING_FAILED."""
        with self.lock:
            image = self.images.get(f"urn:li:image:{key}")
            if image is None or not secrets.compare_digest(image.upload_key, signature):
                raise restli_error(404, "No upload is waiting at this URL")
            if image.owner_id != token.user_id:
                raise service_error("ACCESS_DENIED", resource=f"{image.id} upload (an image of another member)")
            if image.upload_expires_at <= time.time():
                raise restli_error(400, f"The upload URL of {image.id} expired at {utc_iso(image.upload_expires_at)}")
            info = image_info(data)
            image.data, image.failure = data, None
            image.content_type = info.content_type if info else None
            image.width, image.height = (info.width, info.height) if info else (None, None)
            if info is None or info.content_type not in IMAGE_FORMATS:
                image.failure = f"not a {', '.join(IMAGE_FORMATS.values())} image"
            elif info.pixels is not None and info.pixels > IMAGE_MAX_PIXELS:
                image.failure = (f"{info.width}x{info.height} is {info.pixels:,} pixels; images have at most "
                                 f"{IMAGE_MAX_PIXELS:,}")  # fmt: skip
            image.available_at = time.time() + self.config.image_processing_ms / 1000
            return image

    def image_view(self, token: AccessToken, urn: str, host_url: str) -> dict[str, Any]:
        """``GET /rest/images/{urn}``: the image's owner and status, and where to download it once AVAILABLE."""
        with self.lock:
            image = self.images.get(urn)
            if image is None:
                raise restli_error(404, f"Image {urn} does not exist")
            if image.owner_id != token.user_id:
                raise service_error("ACCESS_DENIED", resource="images.GET")
            view: dict[str, Any] = {"id": image.id, "owner": f"urn:li:person:{image.owner_id}",
                                    "status": image.status()}  # fmt: skip
            if view["status"] == "AVAILABLE":
                view["downloadUrl"] = f"{host_url}dms/image/{image.id.rsplit(':', 1)[1]}"
                view["downloadUrlExpiresAt"] = int((time.time() + 3600) * 1000)
            return view

    def delete_post(self, token: AccessToken, urn: str) -> None:
        with self.lock:
            post = self.posts.get(urn)
            if post is None or post.deleted:
                raise restli_error(404, f"Post {urn} does not exist")
            if post.author_id != token.user_id:
                raise service_error("ACCESS_DENIED", resource="partnerApiPostsExternal.DELETE")
            post.deleted = True
            post.deleted_at = utc_iso(time.time())

    def figure(self, token: AccessToken, urn: str, query_type: str) -> int:
        """One figure of the member's own live post; impressions grow one deterministic step per read."""
        with self.lock:
            post = self.posts.get(urn)
            if post is None or post.deleted:
                raise restli_error(404, f"Post {urn} does not exist")
            if post.author_id != token.user_id:
                raise service_error("ACCESS_DENIED", resource="memberCreatorPostAnalytics.GET")
            if post.growth and query_type == "IMPRESSION":
                step = post.lookups
                author = self.user_by_id(post.author_id)
                bump = {"IMPRESSION": 10 + (author.followers // 20 if author else 0),
                        "MEMBERS_REACHED": 7 + (author.followers // 40 if author else 0),
                        "REACTION": int(step % 2 == 0), "COMMENT": int(step % 5 == 0),
                        "RESHARE": int(step % 3 == 0)}  # fmt: skip
                for name, more in bump.items():
                    post.metrics[name] += more
                post.lookups += 1
            return post.metrics[query_type]

    def set_metrics(self, urn: str, values: Mapping[str, Any]) -> Post:
        with self.lock:
            post = self.posts.get(urn)
            if post is None:
                raise ControlError(f"no post {urn}")
            unknown = sorted(set(values) - set(METRICS) - {"growth"})
            if unknown:
                raise ControlError(f"unknown metrics {unknown}; known: {list(METRICS)} and growth")
            for name, value in values.items():
                if name == "growth" and not isinstance(value, bool):
                    raise ControlError("growth must be true or false")
                if name != "growth" and not _is_count(value):
                    raise ControlError(f"{name} must be an integer >= 0")
            post.growth = bool(values.get("growth", False))  # setting figures freezes them unless told otherwise
            post.metrics.update({k: v for k, v in values.items() if k != "growth"})
            return post

    def post_media(self, post: Post) -> list[dict[str, Any]]:
        """The images a post carries, with what LinkedIn holds of each (for the control API and the page)."""
        with self.lock:
            content = post.body.get("content") or {}
            items = [content["media"]] if "media" in content else list((content.get("multiImage") or {}).get(
                "images", []))  # fmt: skip
            found = []
            for item in items:
                image = self.images.get(item["id"])
                found.append({"id": item["id"], "alt_text": item.get("altText"),
                              "content_type": image.content_type if image else None,
                              "size": len(image.data) if image and image.data else None,
                              "width": image.width if image else None, "height": image.height if image else None})
            return found

    def post_view(self, post: Post) -> dict[str, Any]:
        with self.lock:
            author = self.user_by_id(post.author_id)
            return {
                "media": self.post_media(post),
                "id": post.id, "author_id": post.author_id, "author_handle": author.handle if author else None,
                "client_id": post.client_id, "text": post.text, "commentary": post.commentary, "body": post.body,
                "linkedin_version": post.linkedin_version, "created_at": post.created_at, "deleted": post.deleted,
                "deleted_at": post.deleted_at, "metrics": dict(post.metrics), "metrics_growth": post.growth,
            }  # fmt: skip

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


def _id_token(user_id: str, client_id: str) -> str:
    """An OpenID id_token shaped like LinkedIn's (a JWT); the sandbox's signature is not verifiable."""

    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"iss": "https://www.linkedin.com/oauth", "aud": client_id, "sub": user_id, "iat": now, "exp": now + 3600}
    return f"{part({'typ': 'JWT', 'alg': 'RS256', 'kid': 'sandbox'})}.{part(claims)}.{secrets.token_urlsafe(32)}"


def _checked_setting(key: str, value: Any, current: Any) -> Any:
    """A config value checked against the kind of its current one; raises ControlError on junk."""
    if key in ("member_day_limits", "app_day_limits"):
        if not isinstance(value, dict) or not all(k in ENDPOINTS and _is_count(v) for k, v in value.items()):
            raise ControlError(f"{key} maps {list(ENDPOINTS)} to counts >= 0")
        return {**current, **value}
    if key in ("oldest_version", "newest_version"):
        if not isinstance(value, str) or not re.fullmatch(r"20[0-9]{2}(0[1-9]|1[0-2])", value):
            raise ControlError(f"{key} must be a month as YYYYMM")
        return value
    if key == "clients":
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ControlError('clients maps client_id to {"secret": str, "name": str}')
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
    if not isinstance(fault.path_prefix, str) or not fault.path_prefix.startswith("/"):
        raise ControlError("path_prefix must start with /")
    if not isinstance(fault.headers, dict) or not all(isinstance(v, str) for v in fault.headers.values()):
        raise ControlError("headers maps names to string values")


# ------------------------------------------------------------------------------------------------------- pages
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · LinkedIn sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f2ee; color: #1d2226; margin: 0; }}
 main {{ max-width: 36rem; margin: 3rem auto; background: #fff; border-radius: .6rem; padding: 2rem;
        box-shadow: 0 0 0 1px rgba(0,0,0,.08); }}
 .badge {{ font-size: .75rem; background: #0a66c2; color: #fff; border-radius: .3rem; padding: .1rem .5rem; }}
 button {{ border-radius: 2rem; padding: .6rem 1.4rem; font-size: 1rem; border: 1px solid #0a66c2; cursor: pointer;
          background: #fff; color: #0a66c2; }}
 button.primary {{ background: #0a66c2; color: #fff; }}
 input[type=text], select {{ font-size: 1rem; padding: .5rem; width: 100%; box-sizing: border-box; }}
 .error {{ color: #b24020; }} .muted {{ color: #666; }} li {{ margin: .3rem 0; }}
 article p {{ font-size: 1.1rem; white-space: pre-wrap; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> LinkedIn API emulator</p>{body}</main></body></html>"""
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state")


def page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=html.escape(title), body=body), status, mimetype="text/html")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return Response(status=302, headers={"Location": urlunsplit(parts._replace(query=query))})


def _check_authorize(state: LinkedInState, params: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """Validate an authorization request; returns (client name, scopes) or raises ControlError naming the parameter.

    Unknown scopes are not an error here: LinkedIn sends those back to the app as ``unauthorized_scope_error``.
    """
    if params.get("response_type") != "code":
        raise ControlError("response_type: must be code")
    client_name = state.client_name(params.get("client_id", ""))
    if client_name is None:
        raise ControlError("client_id: missing or not a client registered with this app")
    target = urlsplit(params.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
        raise ControlError("redirect_uri: missing or not an absolute http(s) URL without fragment")
    scopes = tuple(sorted(set(params.get("scope", "").replace(",", " ").split())))
    if not scopes:
        raise ControlError("scope: missing")
    return client_name, scopes


def consent_page(params: Mapping[str, str], client: str, scopes: tuple[str, ...], username: str, error: str) -> str:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{_e(params.get(k, ""))}">' for k in AUTHORIZE_PARAMS)
    items = "".join(f"<li><code>{_e(s)}</code></li>" for s in scopes)
    note = f'<p class="error" role="alert">{_e(error)}</p>' if error else ""
    extra = ""
    if "r_member_postAnalytics" not in scopes:
        extra = """<p><label for="extra_scope">Also grant post analytics (as for an app approved for LinkedIn's
Community Management API)</label><select id="extra_scope" name="extra_scope"><option value="">No</option>
<option value="r_member_postAnalytics">Yes: r_member_postAnalytics</option></select></p>"""
    return f"""<h1>{_e(client)} would like to access your LinkedIn account</h1>
<p class="muted">Client id <code>{_e(params.get("client_id", ""))}</code> asks for:</p><ul>{items}</ul>
<p class="muted">You will be sent back to <code>{_e(params.get("redirect_uri", ""))}</code>.</p>{note}
<form method="post" action="/oauth/v2/authorization">{hidden}
<p><label for="username">Sign in as (any name; the member is created on first use)</label>
<input type="text" id="username" name="username" value="{_e(username)}" pattern="[A-Za-z0-9_.\\-]{{1,40}}" required></p>
{extra}<p><button class="primary" type="submit" name="decision" value="authorize">Allow</button>
<button type="submit" name="decision" value="cancel" formnovalidate>Cancel</button></p></form>"""


def _params_error(message: str) -> Response:
    name, _, problem = message.partition(":")
    body = f'<h1>Something went wrong</h1><p class="error">Invalid parameter <code>{_e(name)}</code>: '
    return page("Error", body + f"{_e(problem.strip())}.</p>", 400)


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the LinkedIn sandbox.

    Control API (JSON): ``GET /_sandbox/posts``, ``POST /_sandbox/posts/<urn>/metrics``, ``POST /_sandbox/reset``,
    ``GET|POST|DELETE /_sandbox/faults``, ``GET|POST /_sandbox/users``, ``POST /_sandbox/tokens/expire``,
    ``POST /_sandbox/tokens/revoke``, ``GET|POST /_sandbox/config``.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = LinkedInState(config)
    app.extensions["linkedin_sandbox"] = state
    _install_hooks(app, state)
    _install_consent(app, state)
    _install_tokens(app, state)
    _install_api(app, state)
    _install_images(app, state)
    _install_pages(app, state)
    _install_control(app, state)
    _install_control_people(app, state)
    return app


def _json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), mimetype="application/json")


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    status = fault.status or 500
    if fault.body is not None:
        return Response(fault.body, status, headers=headers, mimetype=fault.content_type or "text/html")
    body = {"message": HTTPStatus(status).phrase, "status": status}  # a 429 so: infrastructure protection
    return Response(json.dumps(body), status, headers=headers, mimetype=fault.content_type or "application/json")


def _install_hooks(app: Flask, state: LinkedInState) -> None:
    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        return _json_response(exc.body, exc.status, exc.headers)

    @app.errorhandler(ControlError)
    def render_control_error(exc: ControlError) -> Response:
        return _json_response({"error": str(exc)}, 400)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith(("/rest/", "/v2/")):
            return _json_response({"message": f"No resource found at {request.path}", "status": 404}, 404)
        return page("Not found", "<h1>This page doesn’t exist</h1>", 404)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return _json_response({"message": f"{request.method} is not supported here", "status": 405}, 405)

    @app.before_request
    def delay_and_faults() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        if request.path.startswith(("/rest/", "/v2/")):
            state.sleep(state.config.latency_ms / 1000)
        fault = state.pick_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after:
            g.after_fault = fault
            return None
        state.sleep(fault.delay)
        return None if fault.status is None else fault_response(fault)

    @app.after_request
    def lost_answer(response: Response) -> Response:
        fault = g.pop("after_fault", None)
        if fault is None:
            return response
        state.sleep(fault.delay)
        return response if fault.status is None else fault_response(fault)


def _install_consent(app: Flask, state: LinkedInState) -> None:
    @app.get("/oauth/v2/authorization")
    def authorize_page() -> Response:
        params = {k: request.args.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        unknown = sorted(set(scopes) - SCOPES)
        if unknown:  # LinkedIn sends the person straight back to the app
            return _redirect(params["redirect_uri"], {
                "error": "unauthorized_scope_error",
                "error_description": f'Scope "{unknown[0]}" is not authorized for your application',
                "state": params["state"]})  # fmt: skip
        return page("Sign in", consent_page(params, client, scopes, request.args.get("username", "demo"), ""))

    @app.post("/oauth/v2/authorization")
    def authorize_decision() -> Response:
        params = {k: request.form.get(k, "") for k in AUTHORIZE_PARAMS}
        try:
            client, scopes = _check_authorize(state, params)
        except ControlError as exc:
            return _params_error(str(exc))
        if request.form.get("decision") != "authorize":
            return _redirect(params["redirect_uri"], {
                "error": "user_cancelled_authorize", "error_description": "The user cancelled the authorization",
                "state": params["state"]})  # fmt: skip
        username = request.form.get("username", "").strip()
        if not HANDLE.match(username):
            body = consent_page(params, client, scopes, username, "A name is 1 to 40 letters, digits, _ . or -.")
            return page("Sign in", body, 400)
        extra = request.form.get("extra_scope", "")
        if extra and extra != "r_member_postAnalytics":
            return _params_error("extra_scope: only r_member_postAnalytics can be added here")
        granted = tuple(sorted(set(scopes) | ({extra} if extra else set())))
        code = state.issue_code(params["client_id"], params["redirect_uri"], granted, state.user(username))
        answer = {"code": code, **({"state": params["state"]} if params["state"] else {})}
        return _redirect(params["redirect_uri"], answer)


def _install_tokens(app: Flask, state: LinkedInState) -> None:
    @app.post("/oauth/v2/accessToken")
    def access_token() -> Response:
        form = request.form
        if not request.mimetype == "application/x-www-form-urlencoded":
            raise token_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        state.check_client(form.get("client_id", ""), form.get("client_secret", ""))
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            for name in ("code", "redirect_uri"):
                if not form.get(name):
                    raise token_error(400, "invalid_request", f"A required parameter \"{name}\" is missing")
            answer = state.redeem_code(form["client_id"], form["code"], form["redirect_uri"])
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise token_error(400, "invalid_request", 'A required parameter "refresh_token" is missing')
            answer = state.redeem_refresh(form["client_id"], form["refresh_token"])
        elif not grant_type:
            raise token_error(400, "invalid_request", 'A required parameter "grant_type" is missing')
        else:
            raise token_error(400, "unsupported_grant_type", f"Grant type {grant_type} is not supported")
        return _json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @app.post("/oauth/v2/revoke")
    def revoke() -> Response:
        state.check_client(request.form.get("client_id", ""), request.form.get("client_secret", ""))
        if not request.form.get("token"):
            raise token_error(400, "invalid_request", 'A required parameter "token" is missing')
        state.revoke_token(request.form["client_id"], request.form["token"])
        return Response(status=200)


def _authorized(state: LinkedInState, endpoint: str, scope: str, resource: str) -> AccessToken:
    token = state.authenticate(request.headers.get("Authorization"))
    if scope not in token.scopes:
        raise service_error("ACCESS_DENIED", resource=resource)
    state.spend(token, endpoint)
    return token


def _versioned() -> str:
    """The ``LinkedIn-Version`` of a ``/rest/`` call; raises what LinkedIn answers for a missing or retired one."""
    if request.headers.get("X-Restli-Protocol-Version") != RESTLI_PROTOCOL_VERSION:
        raise restli_error(400, f"X-Restli-Protocol-Version must be {RESTLI_PROTOCOL_VERSION} for this resource",
                           "INVALID_PROTOCOL_VERSION")
    version = request.headers.get("LinkedIn-Version", "").strip()
    if not version:
        raise restli_error(400, "A version must be present. Please specify a version by adding the LinkedIn-Version "
                           "header.", "VERSION_MISSING")
    if not VERSION_RE.match(version):
        raise restli_error(400, f"Invalid version format {version}: use YYYYMM", "INVALID_VERSION")
    return version


def _check_active(state: LinkedInState, version: str) -> None:
    month = version[:6]
    if not state.config.oldest_version <= month <= state.config.newest_version:
        raise restli_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")


def _field_path(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def _restli_message(error: jsonschema.ValidationError) -> str:
    """One violation, worded the way Rest.li's validator words them (``ERROR :: /path :: problem``)."""
    where = _field_path(error)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        base = where.rstrip("/")
        return "\n".join(f"ERROR :: {base}/{name} :: unrecognized field found but not allowed"
                         for name in sorted(set(error.instance) - set(declared)))  # fmt: skip
    if error.validator == "required" and isinstance(error.instance, dict) and isinstance(error.validator_value, list):
        base = where.rstrip("/")
        return "\n".join(f"ERROR :: {base}/{name} :: field is required but not found and has no default value"
                         for name in error.validator_value if name not in error.instance)  # fmt: skip
    if error.validator == "enum":
        return f"ERROR :: {where} :: {json.dumps(error.instance)} is not an enum symbol"
    if error.validator == "type":
        return f"ERROR :: {where} :: {json.dumps(error.instance)} cannot be coerced to {error.validator_value}"
    return f"ERROR :: {where} :: {error.message}"


def _validated_post(token: AccessToken) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise restli_error(400, "Cannot parse the request body as a JSON object")
    errors = sorted(_POST_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise restli_error(422, "\n".join(_restli_message(e) for e in errors) + "\n")
    content = body.get("content") or {}
    used = [n for n in NOT_EMULATED if n in body or (n.startswith("content.") and n[8:] in content)]
    if used:
        raise restli_error(422, f"The sandbox does not emulate {', '.join(used)}; LinkedIn checks it against what "
                           "it holds.")
    if body["lifecycleState"] != "PUBLISHED" or body["visibility"] == "CONTAINER":
        raise restli_error(422, "ERROR :: /lifecycleState :: members publish PUBLISHED posts with PUBLIC, "
                           "CONNECTIONS or LOGGED_IN visibility in this sandbox")
    if body["author"] != f"urn:li:person:{token.user_id}":
        raise service_error("ACCESS_DENIED", resource="partnerApiPostsExternal.CREATE (author is not the member)")
    if (length := commentary_length(body.get("commentary", ""))) > MAX_COMMENTARY:
        raise commentary_too_long(body["commentary"], length)
    if not body.get("commentary") and not content:
        raise restli_error(422, "ERROR :: /commentary :: a post needs commentary or content")
    return body


def _install_api(app: Flask, state: LinkedInState) -> None:
    @app.get("/v2/userinfo")
    def userinfo() -> Response:
        token = _authorized(state, "GET /v2/userinfo", "openid", "userinfo.GET.NO_VERSION")
        user = state.user_by_id(token.user_id)
        if user is None:  # the control API reset the members under a live token
            raise service_error("INVALID_ACCESS_TOKEN")
        given, _, family = user.name.partition(" ")
        claims: dict[str, Any] = {
            "sub": user.id, "name": user.name, "given_name": given, "family_name": family or given,
            "picture": f"{request.host_url}media/{user.id}.jpg", "locale": {"country": "US", "language": "en"},
            "email": f"{user.handle.lower()}@example.invalid", "email_verified": True,
        }  # fmt: skip
        allowed = {c for s in token.scopes for c in USERINFO_CLAIMS.get(s, ())}
        return _json_response({k: v for k, v in claims.items() if k in allowed})

    @app.post("/rest/posts")
    def create_post() -> Response:
        version = _versioned()
        token = _authorized(state, "POST /rest/posts", "w_member_social", "partnerApiPostsExternal.CREATE")
        _check_active(state, version)
        with state.lock:
            body = _validated_post(token)
            state.check_post_media(token, body)
            post = state.create_post(token, body, version)
        return Response(status=201, headers={"x-restli-id": post.id, "x-linkedin-id": post.id.rsplit(":", 1)[1]})

    @app.delete("/rest/posts/<path:urn>")
    def delete_post(urn: str) -> Response:
        version = _versioned()
        token = _authorized(state, "DELETE /rest/posts", "w_member_social", "partnerApiPostsExternal.DELETE")
        _check_active(state, version)
        if not POST_URN_RE.match(urn):
            raise restli_error(400, f"Invalid post URN {urn}")
        state.delete_post(token, urn)
        return Response(status=204)

    @app.get("/rest/memberCreatorPostAnalytics")
    def post_analytics() -> Response:
        version = _versioned()
        token = _authorized(state, "GET /rest/memberCreatorPostAnalytics", "r_member_postAnalytics",
                            "memberCreatorPostAnalytics.GET")
        _check_active(state, version)
        args = request.args
        query_type, aggregation = args.get("queryType", ""), args.get("aggregation", "")
        if args.get("q") != "entity":
            raise restli_error(400, "The sandbox emulates the finder q=entity", "ILLEGAL_ARGUMENT")
        if query_type not in ANALYTICS_QUERY_TYPES:
            raise restli_error(400, f"Invalid queryType {query_type!r}: one of {', '.join(ANALYTICS_QUERY_TYPES)}",
                               "ILLEGAL_ARGUMENT")
        if aggregation != "TOTAL":
            raise restli_error(400, "The sandbox emulates aggregation=TOTAL", "ILLEGAL_ARGUMENT")
        match = ENTITY.match(args.get("entity", ""))
        if match is None or match.group(1) != match.group(2).split(":")[2]:
            raise restli_error(400, "entity must be (share:urn:li:share:N) or (ugcPost:urn:li:ugcPost:N), the URN "
                               "URL-encoded", "ILLEGAL_ARGUMENT")
        count = state.figure(token, match.group(2), query_type)
        element = {"count": count, "metricType": {METRIC_TYPE_KEY: query_type},
                   "targetEntity": {match.group(1): match.group(2)}}  # fmt: skip
        return _json_response({"paging": {"start": 0, "count": 10, "links": []}, "elements": [element]})


def _install_images(app: Flask, state: LinkedInState) -> None:
    @app.post("/rest/images")
    def initialize_upload() -> Response:
        """``?action=initializeUpload``: the upload URL (on this sandbox) and the image URN, as LinkedIn answers."""
        version = _versioned()
        if request.args.get("action") != "initializeUpload":
            raise restli_error(400, "The sandbox emulates the action initializeUpload on /rest/images",
                               "ILLEGAL_ARGUMENT")  # fmt: skip
        token = _authorized(state, "POST /rest/images", "w_member_social", "images.ACTION.initializeUpload")
        _check_active(state, version)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise restli_error(400, "Cannot parse the request body as a JSON object")
        errors = sorted(_INITIALIZE_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise restli_error(422, "\n".join(_restli_message(e) for e in errors) + "\n")
        image = state.initialize_image(token, body["initializeUploadRequest"]["owner"])
        query = urlencode({"ca": "vector_feedshare", "cn": "uploads", "m": image.upload_key, "app": token.client_id,
                           "sync": "0", "v": "beta"})  # fmt: skip
        url = f"{request.host_url}dms-uploads/{image.id.rsplit(':', 1)[1]}/uploaded-image/0?{query}"
        return _json_response({"value": {"uploadUrlExpiresAt": int(image.upload_expires_at * 1000), "uploadUrl": url,
                                         "image": image.id}})  # fmt: skip

    @app.put("/dms-uploads/<key>/uploaded-image/0")
    def upload_image(key: str) -> Response:
        token = state.authenticate(request.headers.get("Authorization"))
        state.upload_image(token, key, request.args.get("m", ""), request.get_data(cache=False))
        return Response(status=201)

    @app.get("/rest/images/<path:urn>")
    def get_image(urn: str) -> Response:
        version = _versioned()
        token = _authorized(state, "GET /rest/images", "w_member_social", "images.GET")
        _check_active(state, version)
        return _json_response(state.image_view(token, urn, request.host_url))

    @app.get("/dms/image/<key>")
    def download_image(key: str) -> Response:
        with state.lock:
            image = state.images.get(f"urn:li:image:{key}")
            if image is None or image.data is None or image.status() != "AVAILABLE":
                return page("Not found", "<h1>This image is not available</h1>", 404)
            data, kind = image.data, image.content_type or "application/octet-stream"
        return Response(data, 200, mimetype=kind, headers={"X-Content-Type-Options": "nosniff"})


def _install_pages(app: Flask, state: LinkedInState) -> None:
    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.id, reverse=True)[:50]
            rows = "".join(
                f'<li><a href="/feed/update/{_e(p.id)}/">{_e(p.text[:80])}</a>{" (deleted)" if p.deleted else ""}</li>'
                for p in posts
            )
        return page("Posts", f"<h1>Latest posts</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/feed/update/<path:urn>/")
    def post_page(urn: str) -> Response:
        with state.lock:
            post = state.posts.get(urn)
            author = state.user_by_id(post.author_id) if post else None
        if post is None:
            return page("Not found", "<h1>This post cannot be displayed</h1>", 404)
        if post.deleted:
            return page("Deleted", "<h1>This post has been deleted</h1>", 410)
        article = (post.body.get("content") or {}).get("article") or {}
        card = (f'<p><a href="{_e(article["source"])}" rel="nofollow">{_e(article.get("title") or article["source"])}'
                "</a></p>") if article else ""  # fmt: skip
        card += "".join(f'<p><img src="/dms/image/{_e(m["id"].rsplit(":", 1)[1])}" alt="{_e(m["alt_text"] or "")}" '
                        'style="max-width:100%"></p>' for m in state.post_media(post))  # fmt: skip
        body = (f"<article><h1>{_e(author.name if author else 'LinkedIn member')}</h1><p>{_e(post.text)}</p>{card}"
                f'<p class="muted"><time datetime="{_e(post.created_at)}">{_e(post.created_at)}</time></p></article>')
        return page(author.name if author else "Post", body)

    @app.get("/sharing/share-offsite/")
    def share_offsite() -> Response:
        url = request.args.get("url", "")
        target = urlsplit(url)
        if target.scheme not in ("http", "https") or not target.netloc:
            return _params_error("url: missing or not an absolute http(s) URL")
        body = (f'<h1>Share on LinkedIn</h1><p class="muted">The share dialog of the network (sandbox): the member '
                f'writes and posts here; the app that sent them learns nothing more.</p>'
                f'<p>Link: <a id="shared-url" href="{_e(url)}" rel="nofollow">{_e(url)}</a></p>')
        return page("Share", body)


def _control_body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _install_control(app: Flask, state: LinkedInState) -> None:
    body = _control_body

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        with state.lock:
            return _json_response({"posts": [state.post_view(p) for p in state.posts.values()]})

    @app.post("/_sandbox/posts/<path:urn>/metrics")
    def set_metrics(urn: str) -> Response:
        return _json_response({"post": state.post_view(state.set_metrics(urn, body()))})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return _json_response({"reset": True})

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


def _install_control_people(app: Flask, state: LinkedInState) -> None:
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
            raise ControlError("handle: 1 to 40 letters, digits, _ . or -")
        if data.get("followers") is not None and not _is_count(data["followers"]):
            raise ControlError("followers must be an integer >= 0")
        if data.get("name") is not None and (not isinstance(data["name"], str) or not data["name"].strip()):
            raise ControlError("name must be a non-empty string")
        return _json_response({"user": dataclasses.asdict(state.user(handle, data.get("followers"), data.get("name")))})

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


__all__ = ["LinkedInState", "create_app", "render_little_text"]
