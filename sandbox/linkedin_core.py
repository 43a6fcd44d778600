"""The LinkedIn sandbox's constants (endpoints, daily limits, versions, schema validators), its records (users, posts,
images, grants, tokens, faults), its error answers, and how a commentary is measured and rendered as little text."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from sandbox.schemas.linkedin import (
    ACCESS_TOKEN_LIFETIME,
    ANALYTICS_QUERY_TYPES,
    IMAGE_URN,
    INITIALIZE_UPLOAD_REQUEST,
    MAX_COMMENTARY,
    POST_CREATE_REQUEST,
    POST_URN,
    REFRESH_TOKEN_LIFETIME,
    SERVICE_ERRORS,
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
