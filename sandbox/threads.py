"""Threads sandbox: the Threads API (graph.threads.net) and its consent page, as strict as PLATFORMS-2026 §1 says.

What it enforces, as Threads does: the consent page and the three token calls (code → short-lived token of one hour,
``th_exchange_token`` → a 60-day token, ``th_refresh_token`` only for a long-lived token at least 24 hours old and
unexpired); two-step publishing (a container ``IN_PROGRESS`` for a while, then ``FINISHED``, ``ERROR`` when its
image cannot be fetched, ``EXPIRED`` when not published within 24 hours, ``PUBLISHED`` once published); text of at
most 500 characters (emoji as their UTF-8 bytes), at most 5 links, one topic tag of 1–50 characters without ``.`` or
``&``; the 250-posts-per-24-hours moving window, checked at ``threads_publish`` and read at
``threads_publishing_limit``; insights, delete (``threads_delete``), the person's threads listing (newest first,
cursor paging, ``timestamp`` like ``2026-04-15T14:30:00+0000``, a ``TEXT`` container reading back as ``TEXT_POST``);
and Graph error bodies ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``: 190 for bad,
expired (subcode 463) or revoked (458) tokens, 10 for a missing permission, 100 for bad parameters and unknown ids.

Inferred where Meta documents nothing (PLATFORMS-2026 marks these NF): publishing a container twice is refused with
code 100 ("already been published"); a container not yet processed is refused with code 9007 (Instagram's Graph
answer); the spent quota with code 9, subcode 2207042 (Instagram's content publishing limit).

Control API: the shared one (``sandbox.common``: posts, metrics, faults with ``after`` and ``commit_late``, users,
tokens/expire, tokens/revoke, config, reset), plus ``GET /_sandbox/containers`` and ``POST /_sandbox/clock``
(``{"advance": seconds}``: a day passes for the 24-hour refresh rule or the container expiry).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, request

from connectors.threads import links_in, text_length
from sandbox.common import (
    ControlError,
    Fault,
    SandboxState,
    checked_counts,
    checked_metrics,
    control_body,
    install_control,
    install_faults,
    json_response,
    sniff_image,
)
from sandbox.threads_pages import page, post_page

CLIENT_ID = "threads-sandbox-app"
CLIENT_SECRET = "threads-sandbox-secret"
SCOPES = frozenset({"threads_basic", "threads_content_publish", "threads_manage_replies", "threads_read_replies",
                    "threads_manage_insights", "threads_delete"})
METRIC_NAMES = ("views", "likes", "replies", "reposts", "quotes")
DEFAULT_RATE_LIMITS = {"calls": (4800, 86400)}
MEDIA_TYPES = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE"}
CONTAINER_LIFETIME = 86400
LIMIT_MESSAGE = "THREADS_API__LINK_LIMIT_EXCEEDED"


@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uris: str = ""  # whitespace-separated; empty: any http(s) URL is taken as registered
    code_lifetime: int = 600
    short_token_lifetime: int = 3600
    long_token_lifetime: int = 5183944
    min_refresh_age: int = 86400
    quota_total: int = 250
    quota_duration: int = 86400
    max_characters: int = 500
    max_links: int = 5
    text_processing_ms: int = 0
    image_processing_ms: int = 300
    container_outcome: str = "FINISHED"  # FINISHED, ERROR or EXPIRED: what new containers end as
    container_error_message: str = "Unable to process this post."
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    latency_ms: int = 0
    metrics_growth: bool = False
    seed: int = 0


@dataclass
class User:
    id: str
    username: str
    followers: int


@dataclass
class TokenRec:
    user_id: str
    scopes: tuple[str, ...]
    long_lived: bool
    issued_at: float
    expires_at: float
    revoked: bool = False
    replaced: bool = False


@dataclass
class Container:
    id: str
    user_id: str
    media_type: str
    text: str
    link_attachment: str | None
    image_url: str | None
    alt_text: str | None
    topic_tag: str | None
    created_at: float
    ready_at: float
    outcome: str
    error_message: str
    post_id: str | None = None


@dataclass
class Post:
    id: str
    user_id: str
    container_id: str
    media_type: str
    text: str
    link_attachment: str | None
    image_url: str | None
    alt_text: str | None
    topic_tag: str | None
    shortcode: str
    created_at: float
    deleted: bool = False
    metrics: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(METRIC_NAMES, 0))


class ApiError(Exception):
    """A Graph error answer."""

    def __init__(self, status: int, message: str, code: int, subcode: int | None = None, *,
                 kind: str = "OAuthException", transient: bool | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "type": kind, "code": code,
                                     "fbtrace_id": secrets.token_urlsafe(9)}
        if subcode is not None:
            self.body["error_subcode"] = subcode
        if transient is not None:
            self.body["is_transient"] = transient


def bad_param(message: str, subcode: int | None = None) -> ApiError:
    return ApiError(400, f"(#100) {message}", 100, subcode)


def no_object(object_id: str) -> ApiError:
    return bad_param(f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to "
                     "missing permissions, or does not support this operation.", 33)


def graph_time(epoch: float) -> str:
    """``2026-04-15T14:30:00+0000``: Threads' timestamps have no colon in the offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(int(epoch)))


class ThreadsState(SandboxState):
    """Everything the emulated Threads remembers. Every public method takes the lock."""

    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._next_id = (int(time.time()) << 20) + 1  # numeric ids, as Threads'; survives reset
        super().__init__(config)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.users: dict[str, User] = {}  # by lower-case username
            self.codes: dict[str, tuple[str, str, tuple[str, ...], float]] = {}  # code -> user, redirect, scopes, exp
            self.tokens: dict[str, TokenRec] = {}
            self.containers: dict[str, Container] = {}
            self.posts: dict[str, Post] = {}
            self.published: dict[str, list[float]] = {}  # user id -> publish times (the moving window)
            self.clock_offset = 0.0

    def now(self) -> float:
        with self.lock:
            return time.time() + self.clock_offset

    def new_id(self) -> str:
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    # ------------------------------------------------------------------------------------------------ users
    def user(self, username: str, followers: int | None = None) -> User:
        with self.lock:
            key = username.lower()
            user = self.users.get(key)
            if user is None:
                digest = int.from_bytes(hashlib.sha256(b"threads:" + key.encode()).digest()[:8], "big")
                user = User(id=str(10**16 + digest % (9 * 10**16)), username=username, followers=40 + digest % 4000)
                self.users[key] = user
            if followers is not None:
                user.followers = followers
            return user

    def user_by_id(self, user_id: str) -> User | None:
        with self.lock:
            return next((u for u in self.users.values() if u.id == user_id), None)

    def user_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dataclasses.asdict(u) | {"handle": u.username} for u in self.users.values()]

    def upsert_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        handle = data.get("handle")
        if not isinstance(handle, str) or not handle or len(handle) > 30:
            raise ControlError("handle: the Threads username (1 to 30 characters)")
        checked_counts(data, ("followers",))
        return dataclasses.asdict(self.user(handle, data.get("followers"))) | {"handle": handle}

    # ------------------------------------------------------------------------------------------------ tokens
    def issue_code(self, user: User, redirect_uri: str, scopes: tuple[str, ...]) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = (user.id, redirect_uri, scopes, self.now() + self.config.code_lifetime)
            return code

    def _issue(self, user_id: str, scopes: tuple[str, ...], long_lived: bool) -> tuple[str, TokenRec]:
        now = self.now()
        lifetime = self.config.long_token_lifetime if long_lived else self.config.short_token_lifetime
        token = ("THL" if long_lived else "THS") + secrets.token_urlsafe(32)
        rec = TokenRec(user_id, scopes, long_lived, now, now + lifetime)
        self.tokens[token] = rec
        return token, rec

    def redeem_code(self, client_id: str, secret: str, code: str, redirect_uri: str) -> dict[str, Any]:
        with self.lock:
            self.check_client(client_id, secret)
            grant = self.codes.pop(code, None)
            if grant is None or grant[3] < self.now():
                raise ApiError(400, "Error validating verification code. Please make sure your redirect_uri is "
                               "identical to the one you used in the OAuth dialog request", 100, 36008)
            if grant[1] != redirect_uri:
                raise ApiError(400, "Error validating verification code. Please make sure your redirect_uri is "
                               "identical to the one you used in the OAuth dialog request", 100, 36008)
            token, _ = self._issue(grant[0], grant[2], long_lived=False)
            return {"access_token": token, "user_id": int(grant[0])}

    def exchange(self, secret: str, token: str) -> dict[str, Any]:
        with self.lock:
            if secret != self.config.client_secret:
                raise ApiError(400, "Error validating client secret.", 1)
            rec = self.valid(token)
            if rec.long_lived:
                raise bad_param("This method must be called with a short-lived access token")
            new, long = self._issue(rec.user_id, rec.scopes, long_lived=True)
            return {"access_token": new, "token_type": "bearer", "expires_in": int(long.expires_at - long.issued_at)}

    def refresh(self, token: str) -> dict[str, Any]:
        with self.lock:
            rec = self.valid(token)
            if not rec.long_lived:
                raise bad_param("Only a long-lived access token can be refreshed")
            if self.now() - rec.issued_at < self.config.min_refresh_age:
                raise bad_param("The access token must be at least 24 hours old to be refreshed")
            new, long = self._issue(rec.user_id, rec.scopes, long_lived=True)
            rec.replaced = True  # the old one keeps working until it expires, as a refreshed Graph token does
            return {"access_token": new, "token_type": "bearer", "expires_in": int(long.expires_at - long.issued_at)}

    def check_client(self, client_id: str, secret: str | None) -> None:
        if client_id != self.config.client_id:
            raise ApiError(400, "Error validating application. Invalid application ID.", 101)
        if secret is not None and secret != self.config.client_secret:
            raise ApiError(400, "Error validating client secret.", 1)

    def valid(self, token: str | None) -> TokenRec:
        """The token's record, or Graph's 190 (bad, expired 463, revoked 458)."""
        with self.lock:
            if not token:
                raise ApiError(400, "An active access token must be used to query information about the current "
                               "user.", 2500)
            rec = self.tokens.get(token)
            if rec is None:
                raise ApiError(400, "Invalid OAuth access token - Cannot parse access token", 190)
            if rec.revoked:
                raise ApiError(400, "Error validating access token: The user has not authorized application "
                               f"{self.config.client_id}.", 190, 458)
            if rec.expires_at <= self.now():
                raise ApiError(400, "Error validating access token: Session has expired on "
                               f"{time.strftime('%A, %d-%b-%y %H:%M:%S', time.gmtime(rec.expires_at))} PDT.",
                               190, 463)
            return rec

    def _tokens_of(self, handle: str | None) -> list[TokenRec]:
        if handle is None:
            return list(self.tokens.values())
        user = self.users.get(handle.lower())
        if user is None:
            raise ControlError(f"no user with handle {handle!r}")
        return [t for t in self.tokens.values() if t.user_id == user.id]

    def expire_tokens(self, handle: str | None) -> int:
        with self.lock:
            found = self._tokens_of(handle)
            for rec in found:
                rec.expires_at = min(rec.expires_at, self.now() - 1)
            return len(found)

    def revoke_tokens(self, handle: str) -> int:
        with self.lock:
            found = self._tokens_of(handle)
            for rec in found:
                rec.revoked = True
            return len(found)

    # -------------------------------------------------------------------------------------------- containers
    def create_container(self, rec: TokenRec, fields: Mapping[str, str]) -> Container:
        media_type = fields.get("media_type", "")
        if media_type not in MEDIA_TYPES:
            raise bad_param("Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}"
                            if media_type in ("VIDEO", "CAROUSEL") or not media_type else
                            f"media_type {media_type} is not supported")
        text = fields.get("text", "")
        if media_type == "TEXT" and not text:
            raise bad_param("Param text is required for TEXT posts")
        if text_length(text) > self.config.max_characters:
            raise bad_param(f"Param text must be at most {self.config.max_characters} characters long.")
        link = fields.get("link_attachment") or None
        if link is not None and urlsplit(link).scheme not in ("http", "https"):
            raise bad_param("Param link_attachment must be a valid URL")
        if len(links_in(text, link)) > self.config.max_links:
            raise ApiError(400, f"(#100) {LIMIT_MESSAGE}: a post may hold at most {self.config.max_links} links",
                           100)
        tag = fields.get("topic_tag") or None
        if tag is not None and (not 1 <= len(tag) <= 50 or "." in tag or "&" in tag):
            raise bad_param("Param topic_tag must be 1 to 50 characters and may not contain '.' or '&'")
        image_url = fields.get("image_url") or None
        if media_type == "IMAGE" and not image_url:
            raise bad_param("Param image_url is required for IMAGE posts")
        now = self.now()
        processing = self.config.image_processing_ms if media_type == "IMAGE" else self.config.text_processing_ms
        outcome, message = self.config.container_outcome, ""
        if outcome == "ERROR":
            message = self.config.container_error_message
        if media_type == "IMAGE" and outcome == "FINISHED":
            problem = _fetch_image(image_url or "", self.config)
            if problem:
                outcome, message = "ERROR", problem
        with self.lock:
            container = Container(self.new_id(), rec.user_id, media_type, text, link, image_url,
                                  fields.get("alt_text") or None, tag, now, now + processing / 1000, outcome, message)
            self.containers[container.id] = container
            return container

    def status_of(self, container: Container) -> str:
        with self.lock:
            if container.post_id is not None:
                return "PUBLISHED"
            now = self.now()
            if now >= container.created_at + CONTAINER_LIFETIME:
                return "EXPIRED"
            if now < container.ready_at:
                return "IN_PROGRESS"
            return container.outcome

    def publish(self, rec: TokenRec, creation_id: str) -> Post:
        with self.lock:
            container = self.containers.get(creation_id)
            if container is None or container.user_id != rec.user_id:
                raise no_object(creation_id)
            status = self.status_of(container)
            if status == "PUBLISHED":
                raise bad_param("The media container has already been published")
            if status == "IN_PROGRESS":
                raise ApiError(400, "Media ID is not available", 9007, 2207027)
            if status in ("ERROR", "EXPIRED"):
                raise bad_param(f"The media container is {status}: {container.error_message or status}")
            now = self.now()
            window = [t for t in self.published.get(rec.user_id, []) if t > now - self.config.quota_duration]
            if len(window) >= self.config.quota_total:
                raise ApiError(400, "The maximum number of posts that were published has been reached.", 9, 2207042)
            window.append(now)
            self.published[rec.user_id] = window
            post = Post(self.new_id(), rec.user_id, container.id, MEDIA_TYPES[container.media_type], container.text,
                        container.link_attachment, container.image_url, container.alt_text, container.topic_tag,
                        secrets.token_urlsafe(8).replace("-", "a").replace("_", "b"), now)
            container.post_id = post.id
            self.posts[post.id] = post
            return post

    def quota_usage(self, user_id: str) -> int:
        with self.lock:
            now = self.now()
            return sum(1 for t in self.published.get(user_id, []) if t > now - self.config.quota_duration)

    def live_post(self, post_id: str) -> Post:
        with self.lock:
            post = self.posts.get(post_id)
            if post is None or post.deleted:
                raise no_object(post_id)
            return post

    # -------------------------------------------------------------------------------------------- control
    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            post = self.posts.get(post_id)
            if post is None:
                raise ControlError(f"no post {post_id}")
            checked_metrics(values, METRIC_NAMES)
            post.metrics.update({k: v for k, v in values.items() if k != "growth"})
            return self.post_view(post)

    def post_view(self, post: Post) -> dict[str, Any]:
        with self.lock:
            author = self.user_by_id(post.user_id)
            return dataclasses.asdict(post) | {"author_handle": author.username if author else None,
                                               "public_metrics": dict(post.metrics), "link": post.link_attachment,
                                               "timestamp": graph_time(post.created_at)}

    def post_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.post_view(p) for p in self.posts.values()]


def _fetch_image(url: str, config: Config) -> str:
    """Fetch an IMAGE container's ``image_url`` as Threads does; the container's error message, or "" when fine."""
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        return "The image could not be downloaded from image_url."
    if response.status_code != 200:
        return f"The image could not be downloaded from image_url (HTTP {response.status_code})."
    kind = sniff_image(response.content)
    if kind not in ("image/jpeg", "image/png"):
        return "The image format is not supported: Threads takes JPEG and PNG images."
    if len(response.content) > 8 * 1024 * 1024:
        return "The image is larger than 8 MB."
    return ""


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Threads sandbox (the API under ``/v1.0``, the token calls at the root, the consent page).

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = ThreadsState(config)
    app.extensions["threads_sandbox"] = state
    install_faults(app, state, is_api=_is_api, fault_response=fault_response)

    @app.errorhandler(ApiError)
    def render_api_error(exc: ApiError) -> Response:
        return json_response({"error": exc.body}, exc.status)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        return json_response({"error": ApiError(400, "Unknown path components: " + request.path, 2500).body}, 400)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return json_response({"error": bad_param("Unsupported request - method type: "
                                                 + request.method.lower()).body}, 400)

    from sandbox.threads_api import install_api, install_oauth

    install_oauth(app, state)
    install_api(app, state)
    install_control(app, state)
    _install_extra_control(app, state)
    return app


def _is_api(path: str) -> bool:
    return path.startswith("/v1.0/") or path in ("/oauth/access_token", "/access_token", "/refresh_access_token")


def fault_response(fault: Fault) -> Response:
    """A fault answered as Threads answers: Graph error bodies (a 429 as a user-rate-limit error, code 17)."""
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=fault.headers,
                        mimetype=fault.content_type or "application/json")
    status = fault.status or 500
    if status == 429:
        error = ApiError(status, "(#17) User request limit reached", 17, 2207051, transient=True)
    elif status >= 500:
        error = ApiError(status, "An unexpected error has occurred. Please retry your request later.", 2,
                         transient=True)
    else:
        error = ApiError(status, "(#100) Invalid parameter", 100)
    return json_response({"error": error.body}, status, fault.headers)


def _install_extra_control(app: Flask, state: ThreadsState) -> None:
    @app.get("/_sandbox/containers")
    def list_containers() -> Response:
        with state.lock:
            rows = [dataclasses.asdict(c) | {"status": state.status_of(c)} for c in state.containers.values()]
        return json_response({"containers": rows})

    @app.post("/_sandbox/clock")
    def move_clock() -> Response:
        seconds = control_body().get("advance")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ControlError("advance: seconds >= 0 to move the clock on")
        with state.lock:
            state.clock_offset += float(seconds)
            return json_response({"clock_offset": state.clock_offset})

    @app.get("/")
    def index() -> Response:
        with state.lock:
            posts = sorted(state.posts.values(), key=lambda p: p.created_at, reverse=True)[:50]
            rows = "".join(f'<li><a href="/@{(state.user_by_id(p.user_id) or User("", "unknown", 0)).username}'
                           f'/post/{p.shortcode}">{p.text[:80]}</a></li>' for p in posts)
        return page("Posts", f"<h1>Latest threads</h1><ul>{rows or '<li>No posts yet.</li>'}</ul>")

    @app.get("/@<username>/post/<shortcode>")
    def show_post(username: str, shortcode: str) -> Response:
        with state.lock:
            post = next((p for p in state.posts.values() if p.shortcode == shortcode), None)
            author = state.user_by_id(post.user_id) if post else None
        if post is None or author is None or author.username.lower() != username.lower():
            return page("Not found", "<h1>Sorry, this page isn't available.</h1>", 404)
        return post_page(post, author.username)
