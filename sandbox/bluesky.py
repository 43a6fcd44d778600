"""A local emulation of a Bluesky PDS (with the AppView queries it proxies), faithful enough for our connector.

XRPC endpoints: ``com.atproto.server.createSession`` (app passwords), ``refreshSession`` (rotating refresh JWTs) and
``deleteSession`` (the refresh JWT and its access JWT die); ``com.atproto.identity.resolveHandle``;
``com.atproto.repo.createRecord`` / ``deleteRecord`` / ``getRecord`` / ``listRecords`` for ``app.bsky.feed.post``
records validated like the PDS validates them (300 graphemes and 3000 bytes, a client-chosen ``rkey`` a TID, a key
already taken refused with the reference PDS's 500, facets checked against the text's UTF-8 bytes, ``app.bsky.embed
.images`` embeds: at most 4 images with ``alt``, each a blob this repo uploaded, of an accepted type and within the
lexicon's ``maxSize``; see ``sandbox.bluesky_records``), ``com.atproto.repo.uploadBlob`` (raw bytes, type sniffed,
413 ``PayloadTooLarge`` over the PDS's upload limit) and ``com.atproto.sync.getBlob``, ``app.bsky.feed.getPosts`` (at
most 25 URIs, images as the AppView's ``#view``) and ``app.bsky.actor.getProfile``; public pages
(``sandbox.bluesky_pages``); and the JSON control API under ``/_sandbox/`` (the X sandbox's endpoints and shapes;
faults as ``sandbox.common`` serves them, ``commit_late`` among them); atproto OAuth with DPoP in
``sandbox.bluesky_oauth``. Errors are XRPC's ``{"error", "message"}``;
rate limits answer with ``RateLimit-*`` headers (reset in epoch seconds) and write points as the PDS counts them. Run
it with ``sandbox.runner``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, request

from connectors.media import image_info
from sandbox.bluesky_oauth import OAuthState, install_oauth, verify_resource
from sandbox.bluesky_pages import install_pages, page, post_view, profile_detailed
from sandbox.bluesky_records import (
    DID,
    XrpcError,
    check_blobs,
    check_post_record,
    embedded_images,
    facet_links,
    facet_spans,
    invalid,
    schema_problem,
)
from sandbox.common import (
    ControlError,
    Fault,
    SandboxState,
    checked_counts,
    checked_metrics,
    install_control,
    install_faults,
    json_response,
    utc_iso,
)
from sandbox.schemas.bluesky import GET_POSTS_MAX_URIS, POST_COLLECTION

# name -> (limit, window seconds): the PDS's limits (write points per account, logins per account, requests per IP)
DEFAULT_RATE_LIMITS = {
    "write_hour": (5000, 3600),
    "write_day": (35000, 86400),
    "session_5min": (30, 300),
    "session_day": (300, 86400),
    "global_ip": (3000, 300),
}
WRITE_COST = {"create": 3, "update": 2, "delete": 1}
METRIC_NAMES = ("likeCount", "repostCount", "replyCount", "quoteCount", "bookmarkCount")
HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
NSID = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+$")
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/]+)$")
APP_PASSWORD = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")
S32 = "234567abcdefghijklmnopqrstuvwxyz"
# ------------------------------------------------------------------------------------------------ identifiers
def did_for(handle: str) -> str:
    digest = base64.b32encode(hashlib.sha256(b"bluesky:" + handle.lower().encode()).digest()).decode().lower()
    return "did:plc:" + digest[:24]


def cid_for(data: Any) -> str:
    """A CIDv1 (dag-cbor, sha-256) string, the shape the network's CIDs have (``bafyrei…``)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).digest()
    return "b" + base64.b32encode(bytes([0x01, 0x71, 0x12, 0x20]) + digest).decode().lower().rstrip("=")


def blob_cid_for(data: bytes) -> str:
    """The CIDv1 of a blob's bytes (raw codec, sha-256): ``bafkrei…``, as the PDS names uploaded blobs."""
    digest = hashlib.sha256(data).digest()
    return "b" + base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + digest).decode().lower().rstrip("=")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ------------------------------------------------------------------------------------------------------ state
@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    access_lifetime: int = 7200
    refresh_lifetime: int = 90 * 86400
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    auto_create_accounts: bool = True  # unknown handles become accounts (app-password login; OAuth on handle_domain)
    handle_domain: str = "bsky.social"
    latency_ms: int = 0
    metrics_growth: bool = True
    seed: int = 0
    blob_upload_limit: int = 5 * 1024 * 1024  # bytes a PDS takes in one uploadBlob (its default, 5 MiB)
    dpop_nonce_lifetime: int = 180  # seconds before the OAuth servers' DPoP nonce rotates (at most 5 minutes)
    oauth_access_lifetime: int = 900  # seconds an OAuth access token lives (the spec wants under 30 minutes)
    granular_scopes: bool = True  # the authorization server offers repo:/blob: permissions
    allow_http_client_ids: bool = False  # fetch client metadata from plain http ids (tests serve it locally)


@dataclass
class User:
    did: str
    handle: str
    display_name: str
    followers: int
    following: int
    created_at: str
    app_passwords: list[str] = field(default_factory=list)


@dataclass
class Post:
    uri: str
    cid: str
    rkey: str
    did: str
    record: dict[str, Any]
    indexed_at: str
    deleted: bool = False
    deleted_at: str | None = None
    metrics: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(METRIC_NAMES, 0))
    growth: bool = True
    lookups: int = 0


@dataclass
class Blob:
    """An uploaded blob, kept in the repo that uploaded it (a record of another repo cannot use it)."""

    cid: str
    mime_type: str
    size: int
    data: bytes
    created_at: str

    def ref(self) -> dict[str, Any]:
        return {"$type": "blob", "ref": {"$link": self.cid}, "mimeType": self.mime_type, "size": self.size}


@dataclass
class Session:
    did: str
    kind: str  # "access" or "refresh"
    expires_at: float
    app_password: str
    alive: bool = True
    pair: str = ""  # the other JWT issued with this one (deleteSession ends both)


class BlueskyState(SandboxState):
    """Everything the emulated PDS remembers. Every public method takes the lock."""

    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._last_tid = 0  # survives reset so a stale record key never names a new post
        self._secret = secrets.token_bytes(32)
        self.oauth: OAuthState | None = None
        super().__init__(config)

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.users: dict[str, User] = {}  # by did
            self.posts: dict[str, Post] = {}  # by at:// URI
            self.sessions: dict[str, Session] = {}  # by JWT
            self.blobs: dict[str, dict[str, Blob]] = {}  # by did, then by CID
            self.refused_keys: list[str] = []  # at:// URIs a createRecord asked for again, refused (for tests)
            if (oauth := getattr(self, "oauth", None)) is not None:
                oauth.reset()

    # ------------------------------------------------------------------------------------------------ users
    def user(self, handle: str, followers: int | None = None, following: int | None = None) -> User:
        """The account with this handle, created on first sight with a deterministic DID and follower count."""
        with self.lock:
            handle = handle.lower()
            did = did_for(handle)
            user = self.users.get(did)
            if user is None:
                digest = int.from_bytes(hashlib.sha256(did.encode()).digest()[:8], "big")
                user = User(
                    did=did,
                    handle=handle,
                    display_name=handle.split(".")[0].replace("-", " ").title(),
                    followers=20 + digest % 1980,
                    following=10 + digest % 290,
                    created_at=utc_iso(time.time()),
                )
                self.users[did] = user
            if followers is not None:
                user.followers = followers
            if following is not None:
                user.following = following
            return user

    def find_user(self, identifier: str) -> User | None:
        with self.lock:
            identifier = identifier.lower().lstrip("@")
            if identifier.startswith("did:"):
                return self.users.get(identifier)
            return next((u for u in self.users.values() if u.handle == identifier), None)

    def user_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [_user_view(u) for u in self.users.values()]

    def upsert_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        handle = data.get("handle")
        if not isinstance(handle, str) or not HANDLE.match(handle.lower()):
            raise ControlError("handle: a domain name such as alice.bsky.social")
        checked_counts(data, ("followers", "following"))
        password = data.get("app_password")
        if password is not None and (not isinstance(password, str) or not APP_PASSWORD.match(password)):
            raise ControlError(
                "app_password: four groups of four letters a-z or digits 2-7, such as abcd-efgh-2345-wxyz"
            )
        with self.lock:
            user = self.user(handle, data.get("followers"), data.get("following"))
            if password and password not in user.app_passwords:
                user.app_passwords.append(password)
            return _user_view(user)

    # ----------------------------------------------------------------------------------------------- sessions
    def _jwt(self, claims: Mapping[str, Any]) -> str:
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        payload = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def open_session(self, identifier: str, password: str, audience: str) -> dict[str, Any]:
        """createSession: the account's app password for a pair of JWTs."""
        with self.lock:
            user = self.find_user(identifier)
            if user is None and "." not in identifier and not identifier.startswith("did:"):
                user = self.find_user(f"{identifier}.{self.config.handle_domain}")
            if user is None and self.config.auto_create_accounts and APP_PASSWORD.match(password):
                handle = identifier.lower().lstrip("@")
                if "." not in handle:
                    handle = f"{handle}.{self.config.handle_domain}"
                if HANDLE.match(handle):
                    user = self.user(handle)
                    user.app_passwords.append(password)
            if user is None or password not in user.app_passwords:
                raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
            return self._issue(user, password, audience)

    def _issue(self, user: User, app_password: str, audience: str) -> dict[str, Any]:
        now = int(time.time())
        access = self._jwt(
            {"scope": "com.atproto.appPass", "sub": user.did, "aud": audience, "jti": secrets.token_urlsafe(12),
             "iat": now, "exp": now + self.config.access_lifetime}
        )  # fmt: skip
        refresh = self._jwt(
            {"scope": "com.atproto.refresh", "sub": user.did, "aud": audience, "jti": secrets.token_urlsafe(24),
             "iat": now, "exp": now + self.config.refresh_lifetime}
        )  # fmt: skip
        self.sessions[access] = Session(user.did, "access", now + self.config.access_lifetime, app_password,
                                        pair=refresh)
        self.sessions[refresh] = Session(user.did, "refresh", now + self.config.refresh_lifetime, app_password,
                                         pair=access)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": user.handle,
            "did": user.did,
            "active": True,
        }

    def verify(self, header: str | None, kind: str) -> Session:
        """The session of a Bearer JWT of ``kind``; raises the PDS's own errors (400 ExpiredToken …)."""
        with self.lock:
            scheme, _, token = (header or "").partition(" ")
            if not header or scheme.lower() != "bearer" or not token.strip():
                raise XrpcError(401, "AuthMissing", "Authentication Required")
            token = token.strip()
            session = self.sessions.get(token)
            if session is None or not self._signed(token):
                raise XrpcError(400, "InvalidToken", "Token could not be verified")
            if session.kind != kind:
                raise XrpcError(400, "InvalidToken", "Bad token scope")
            if not session.alive:
                raise XrpcError(400, "InvalidToken", "Token has been revoked")
            if session.expires_at <= time.time():
                raise XrpcError(400, "ExpiredToken", "Token has expired")
            return session

    def _signed(self, token: str) -> bool:
        head, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        expected = _b64(hmac.new(self._secret, f"{head}.{payload}".encode(), hashlib.sha256).digest())
        return hmac.compare_digest(expected, signature)

    def rotate(self, refresh_token: str, audience: str) -> dict[str, Any]:
        """refreshSession: a new pair; the refresh JWT used stops working (rotation)."""
        with self.lock:
            session = self.verify(f"Bearer {refresh_token}", "refresh")
            user = self.users.get(session.did)
            if user is None or session.app_password not in user.app_passwords:
                raise XrpcError(400, "InvalidToken", "Token has been revoked")
            session.alive = False
            return self._issue(user, session.app_password, audience)

    def end_session(self, refresh_token: str) -> None:
        """deleteSession: the refresh JWT and the access JWT issued with it stop working."""
        with self.lock:
            session = self.verify(f"Bearer {refresh_token}", "refresh")
            session.alive = False
            paired = self.sessions.get(session.pair)
            if paired is not None:
                paired.alive = False

    def _sessions_of(self, handle: str | None) -> list[Session]:
        with self.lock:
            if handle is None:
                return list(self.sessions.values())
            user = self.find_user(handle)
            if user is None:
                raise ControlError(f"no user with handle {handle!r}")
            return [s for s in self.sessions.values() if s.did == user.did]

    def expire_tokens(self, handle: str | None) -> int:
        with self.lock:
            access = [s for s in self._sessions_of(handle) if s.kind == "access"]
            for session in access:
                session.expires_at = min(session.expires_at, time.time() - 1)
            return len(access)

    def revoke_tokens(self, handle: str) -> int:
        """The person revoked their app passwords: every session they opened dies."""
        with self.lock:
            sessions = [s for s in self._sessions_of(handle) if s.alive]
            for session in sessions:
                session.alive = False
            user = self.find_user(handle)
            if user is not None:
                user.app_passwords.clear()
            return len(sessions)

    # ------------------------------------------------------------------------------------------- rate limits
    def rate_headers(self, checks: list[tuple[str, str, int]]) -> dict[str, str]:
        """Spend every (key, window name, cost); 429 RateLimitExceeded with the exhausted window's headers."""
        with self.lock:
            for key, name, cost in checks:
                allowed, window = self.take(key, name, cost, spend=False)
                if not allowed:
                    headers = _rate_headers(name, window, exhausted=True)
                    raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
            spent = [(name, self.take(key, name, cost)[1]) for key, name, cost in checks]
            name, tightest = min(spent, key=lambda item: (item[1]["remaining"], -item[1]["reset"]))
            return _rate_headers(name, tightest)

    # ------------------------------------------------------------------------------------------------ blobs
    def store_blob(self, did: str, data: bytes, declared_type: str) -> Blob:
        """uploadBlob: keep the bytes in the repo; the type is sniffed, the declared one used only as a fallback."""
        sniffed = image_info(data)
        mime = sniffed.content_type if sniffed else (declared_type or "application/octet-stream")
        with self.lock:
            blob = Blob(blob_cid_for(data), mime, len(data), data, utc_iso(time.time()))
            self.blobs.setdefault(did, {})[blob.cid] = blob
            return blob

    def blob(self, did: str, cid: str) -> Blob | None:
        with self.lock:
            return self.blobs.get(did, {}).get(cid)

    # ------------------------------------------------------------------------------------------------ posts
    def next_tid(self) -> str:
        with self.lock:
            micros = max(int(time.time() * 1_000_000), self._last_tid + 1)
            self._last_tid = micros
            value = (micros << 10) | self.random.randrange(1024)
            return "".join(S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))

    def create_post(self, did: str, rkey: str | None, record: dict[str, Any]) -> Post:
        with self.lock:
            rkey = rkey or self.next_tid()
            uri = f"at://{did}/{POST_COLLECTION}/{rkey}"
            existing = self.posts.get(uri)
            if existing is not None and not existing.deleted:
                # what the reference PDS answers today: its repo refuses the key and the error is not mapped
                # (bluesky-social/atproto#3718, bluesky-social/indigo#873; a named error is proposed in #4728)
                self.refused_keys.append(uri)
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
            post = Post(uri, cid_for(record), rkey, did, record, utc_iso(time.time()))
            post.growth = self.config.metrics_growth
            self.posts[uri] = post
            return post

    def delete_post(self, did: str, rkey: str) -> bool:
        with self.lock:
            post = self.posts.get(f"at://{did}/{POST_COLLECTION}/{rkey}")
            if post is None or post.deleted:
                return False  # deleteRecord ensures the record does not exist: nothing to do is no error
            post.deleted = True
            post.deleted_at = utc_iso(time.time())
            return True

    def look_up(self, uri: str) -> Post | None:
        """A live post, its counts grown one deterministic step (unless frozen by the control API)."""
        with self.lock:
            post = self._by_id(uri)
            if post is None or post.deleted:
                return None
            if post.growth:
                step = post.lookups
                bump = {"likeCount": int(step % 2 == 0), "repostCount": int(step % 3 == 0),
                        "replyCount": int(step % 5 == 0), "quoteCount": int(step % 7 == 0),
                        "bookmarkCount": int(step % 4 == 0)}  # fmt: skip
                for name, more in bump.items():
                    current = post.metrics.get(name)
                    if current is not None:
                        post.metrics[name] = current + more
            post.lookups += 1
            return post

    def _by_id(self, post_id: str) -> Post | None:
        """A post by its at:// URI, or by its record key (handy in the control API)."""
        post = self.posts.get(post_id)
        if post is None and AT_URI.match(post_id):
            match = AT_URI.match(post_id)
            assert match is not None
            user = self.find_user(match["repo"])
            post = self.posts.get(f"at://{user.did}/{match['collection']}/{match['rkey']}") if user else None
        if post is None:
            post = next((p for p in self.posts.values() if p.rkey == post_id), None)
        return post

    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            post = self._by_id(post_id)
            if post is None:
                raise ControlError(f"no post {post_id}")
            checked_metrics(values, METRIC_NAMES)
            post.growth = bool(values.get("growth", False))  # setting figures freezes them unless told otherwise
            post.metrics.update({k: v for k, v in values.items() if k != "growth"})
            return self.post_view(post)

    def post_view(self, post: Post) -> dict[str, Any]:
        with self.lock:
            author = self.users.get(post.did)
            text = str(post.record.get("text", ""))
            return {
                "id": post.uri,
                "rkey": post.rkey,
                "cid": post.cid,
                "author_id": post.did,
                "author_handle": author.handle if author else None,
                "text": text,
                "record": post.record,
                "links": facet_links(text, post.record.get("facets")),
                "tags": [f["value"] for f in facet_spans(text, post.record.get("facets")) if f["kind"] == "tag"],
                "mentions": [f["value"] for f in facet_spans(text, post.record.get("facets"))
                             if f["kind"] == "mention"],
                "images": embedded_images(post.record),
                "created_at": post.indexed_at,
                "deleted": post.deleted,
                "deleted_at": post.deleted_at,
                "public_metrics": dict(post.metrics),
                "metrics_growth": post.growth,
            }

    def post_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.post_view(p) for p in self.posts.values()]


def _user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.did,
        "did": user.did,
        "handle": user.handle,
        "display_name": user.display_name,
        "followers": user.followers,
        "following": user.following,
        "created_at": user.created_at,
        "app_passwords": len(user.app_passwords),
    }


def _rate_headers(name: str, window: Mapping[str, int], *, exhausted: bool = False) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(window["limit"]),
        "RateLimit-Remaining": "0" if exhausted else str(window["remaining"]),
        "RateLimit-Reset": str(window["reset"]),
        "RateLimit-Policy": f"{window['limit']};w={DEFAULT_RATE_LIMITS[name][1]}",
    }


# ---------------------------------------------------------------------------------------------------------- app
def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Bluesky sandbox (one PDS).

    Control API (JSON): ``GET /_sandbox/posts``, ``POST /_sandbox/posts/<uri or rkey>/metrics``,
    ``POST /_sandbox/reset``, ``GET|POST|DELETE /_sandbox/faults``, ``GET|POST /_sandbox/users`` (``app_password``
    adds one), ``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``, ``GET|POST /_sandbox/config``.

    Args:
        config: initial settings, the same keys ``POST /_sandbox/config`` takes.
    """
    app = Flask(__name__)
    state = BlueskyState(config)
    app.extensions["bluesky_sandbox"] = state
    _install_hooks(app, state)
    _install_server(app, state)
    _install_repo(app, state)
    _install_blobs(app, state)
    _install_queries(app, state)
    install_pages(app, state)
    state.oauth = install_oauth(app, state)
    install_control(app, state)
    return app


def fault_response(fault: Fault) -> Response:
    headers = dict(fault.headers)
    if fault.status == 429:
        headers.setdefault("RateLimit-Limit", "3000")
        headers.setdefault("RateLimit-Remaining", "0")
        headers.setdefault("RateLimit-Reset", str(int(time.time()) + fault.reset_in))
        headers.setdefault("RateLimit-Policy", "3000;w=300")
    if fault.body is not None:
        return Response(fault.body, fault.status or 200, headers=headers, mimetype=fault.content_type or "text/html")
    status = fault.status or 500
    name, message = {
        429: ("RateLimitExceeded", "Rate Limit Exceeded"),
        502: ("UpstreamFailure", "Upstream Failure"),
        503: ("NotEnoughResources", "Service Unavailable"),
        504: ("UpstreamTimeout", "Upstream Timeout"),
    }.get(status, ("InternalServerError", "Internal Server Error"))
    return json_response({"error": name, "message": message}, status, headers)


def _audience() -> str:
    return f"did:web:{request.host.split(':')[0]}"


def _install_hooks(app: Flask, state: BlueskyState) -> None:
    install_faults(app, state, is_api=lambda path: path.startswith("/xrpc/"), fault_response=fault_response)

    @app.errorhandler(XrpcError)
    def render_xrpc_error(exc: XrpcError) -> Response:
        return json_response({"error": exc.name, "message": exc.message}, exc.status, exc.headers)

    @app.errorhandler(404)
    def unknown_route(exc: Exception) -> Response:
        if request.path.startswith("/xrpc/"):
            return json_response({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)
        return page("Not found", "<h1>Not found</h1>", 404)

    @app.errorhandler(405)
    def wrong_method(exc: Exception) -> Response:
        return json_response({"error": "InvalidRequest", "message": "Incorrect HTTP method"}, 405)

    @app.before_request
    def per_ip_window() -> None:
        if request.path.startswith("/xrpc/"):
            g.rate_headers = state.rate_headers([(request.remote_addr or "?", "global_ip", 1)])


def _input(kind: str) -> dict[str, Any]:
    """The JSON input of a procedure, checked against our lexicon-derived schema."""
    if not request.is_json:
        raise invalid("Wrong request encoding (Content-Type): expected application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise invalid("Request body is not valid JSON")
    if not isinstance(body, dict):
        raise invalid("Input must be an object")
    schema_problem(kind, "Input", body)
    return body


def _install_server(app: Flask, state: BlueskyState) -> None:
    @app.post("/xrpc/com.atproto.server.createSession")
    def create_session() -> Response:
        body = _input("createSession")
        identifier = body["identifier"].strip().lower()
        user = state.find_user(identifier)
        key = user.did if user else identifier
        g.rate_headers = state.rate_headers([(key, "session_5min", 1), (key, "session_day", 1)])
        return json_response(state.open_session(identifier, body["password"], _audience()))

    @app.post("/xrpc/com.atproto.server.refreshSession")
    def refresh_session() -> Response:
        header = request.headers.get("Authorization", "")
        return json_response(state.rotate(header.partition(" ")[2].strip(), _audience()))

    @app.post("/xrpc/com.atproto.server.deleteSession")
    def delete_session() -> Response:
        """Sign out: authorised by the refresh JWT (an access JWT is refused); answered 200 with no body."""
        header = request.headers.get("Authorization")
        scheme, _, token = (header or "").partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            raise XrpcError(401, "AuthMissing", "Authentication Required")
        state.end_session(token.strip())
        return Response(status=200)

    @app.get("/xrpc/com.atproto.identity.resolveHandle")
    def resolve_handle() -> Response:
        """A handle's DID; no session needed. A handle no account holds: 400 "Unable to resolve handle"."""
        handle = request.args.get("handle", "")
        if not handle:
            raise invalid('Params must have the property "handle"')
        if not HANDLE.match(handle.lower()):
            raise invalid("Error: handle must be a valid handle")
        user = state.find_user(handle)
        if user is None and state.config.auto_create_accounts and handle.lower().endswith(
                "." + state.config.handle_domain):
            user = state.user(handle)  # the demo: any handle on the sandbox's domain exists, so OAuth can find it
        if user is None:
            raise invalid("Unable to resolve handle")
        return json_response({"did": user.did})


def _authorized(state: BlueskyState) -> Session:
    if (request.headers.get("Authorization") or "").lower().startswith("dpop "):  # an OAuth session (DPoP-bound)
        assert state.oauth is not None
        return verify_resource(state.oauth, Session)
    return state.verify(request.headers.get("Authorization"), "access")


def _writes(state: BlueskyState, did: str, action: str) -> None:
    cost = WRITE_COST[action]
    g.rate_headers = state.rate_headers([(did, "write_hour", cost), (did, "write_day", cost)])


def _own_repo(state: BlueskyState, session: Session, repo: str) -> None:
    user = state.find_user(repo)
    if user is None or user.did != session.did:
        raise XrpcError(401, "AuthenticationRequired", "Authentication Required")  # the PDS's AuthRequiredError


def _check_collection(collection: str) -> None:
    if not NSID.match(collection):
        raise invalid("Input/collection must be a valid nsid")
    if collection != POST_COLLECTION:
        raise invalid(f"The sandbox only emulates {POST_COLLECTION} records, not {collection}")


def _install_repo(app: Flask, state: BlueskyState) -> None:
    @app.post("/xrpc/com.atproto.repo.createRecord")
    def create_record() -> Response:
        session = _authorized(state)
        body = _input("createRecord")
        _own_repo(state, session, body["repo"])
        _check_collection(body["collection"])
        rkey = body.get("rkey")
        if rkey is not None and not TID.match(rkey):
            raise invalid("Invalid app.bsky.feed.post record key: must be a valid TID")
        record = body["record"]
        if body.get("validate") is not False:
            check_post_record(record)
        check_blobs(state, session.did, record)
        _writes(state, session.did, "create")
        post = state.create_post(session.did, rkey, {"$type": POST_COLLECTION, **record})
        commit = {"cid": cid_for({"commit": post.uri}), "rev": state.next_tid()}
        return json_response({"uri": post.uri, "cid": post.cid, "commit": commit, "validationStatus": "valid"})

    @app.post("/xrpc/com.atproto.repo.deleteRecord")
    def delete_record() -> Response:
        session = _authorized(state)
        body = _input("deleteRecord")
        _own_repo(state, session, body["repo"])
        _check_collection(body["collection"])
        _writes(state, session.did, "delete")
        if state.delete_post(session.did, body["rkey"]):
            return json_response({"commit": {"cid": cid_for({"delete": body["rkey"]}), "rev": state.next_tid()}})
        return json_response({})


def _install_blobs(app: Flask, state: BlueskyState) -> None:
    @app.post("/xrpc/com.atproto.repo.uploadBlob")
    def upload_blob() -> Response:
        """The raw bytes as the body; answered with the blob ref a record uses. Over the PDS's limit: 413."""
        session = _authorized(state)
        if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
            raise invalid("A request body is expected but none was provided")
        if not request.mimetype:
            raise invalid("Request encoding (Content-Type) required but not provided")
        limit = state.config.blob_upload_limit
        if request.content_length is not None and request.content_length > limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        data = request.get_data(cache=False)
        if len(data) > limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        blob = state.store_blob(session.did, data, request.mimetype)
        return json_response({"blob": blob.ref()})

    @app.get("/xrpc/com.atproto.sync.getBlob")
    def get_blob() -> Response:
        did, cid = request.args.get("did", ""), request.args.get("cid", "")
        for name, value in (("did", did), ("cid", cid)):
            if not value:
                raise invalid(f'Params must have the property "{name}"')
        blob = state.blob(did, cid)
        if blob is None:
            raise XrpcError(400, "BlobNotFound", "Blob not found")
        headers = {"Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}
        return Response(blob.data, 200, mimetype=blob.mime_type, headers=headers)


def _install_get_record(app: Flask, state: BlueskyState) -> None:
    @app.get("/xrpc/com.atproto.repo.getRecord")
    def get_record() -> Response:
        """One record by repo, collection and key; no session needed. None there: 400 ``RecordNotFound``."""
        repo, collection, rkey = (request.args.get(k, "") for k in ("repo", "collection", "rkey"))
        for name, value in (("repo", repo), ("collection", collection), ("rkey", rkey)):
            if not value:
                raise invalid(f'Params must have the property "{name}"')
        user = state.find_user(repo)
        if user is None:
            raise invalid(f"Could not find repo: {repo}")
        uri = f"at://{user.did}/{collection}/{rkey}"
        with state.lock:
            post = state.posts.get(uri)
            if post is None or post.deleted or collection != POST_COLLECTION:
                raise XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}")
            return json_response({"uri": post.uri, "cid": post.cid, "value": post.record})


def _install_list_records(app: Flask, state: BlueskyState) -> None:
    @app.get("/xrpc/com.atproto.repo.listRecords")
    def list_records() -> Response:
        """A repo's records of one collection, newest first (``reverse``: oldest first), ``limit`` 1-100."""
        repo, collection = request.args.get("repo", ""), request.args.get("collection", "")
        for name, value in (("repo", repo), ("collection", collection)):
            if not value:
                raise invalid(f'Params must have the property "{name}"')
        limit_raw = request.args.get("limit", "50")
        if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100:
            raise invalid(
                "Error: limit can not be greater than 100" if limit_raw.isdigit() else "limit must be an integer"
            )
        user = state.find_user(repo)
        if user is None:
            raise invalid(f"Could not find repo: {repo}")
        reverse = request.args.get("reverse", "false") == "true"
        cursor = request.args.get("cursor")
        with state.lock:
            rows = sorted(
                (
                    p
                    for p in state.posts.values()
                    if p.did == user.did and not p.deleted and collection == POST_COLLECTION
                ),
                key=lambda p: p.rkey,
                reverse=not reverse,
            )
        if cursor:
            rows = [p for p in rows if (p.rkey > cursor if reverse else p.rkey < cursor)]
        page = rows[: int(limit_raw)]
        answer: dict[str, Any] = {"records": [{"uri": p.uri, "cid": p.cid, "value": p.record} for p in page]}
        if len(rows) > len(page):
            answer["cursor"] = page[-1].rkey
        return json_response(answer)


def _install_queries(app: Flask, state: BlueskyState) -> None:
    _install_list_records(app, state)
    _install_get_record(app, state)

    @app.get("/xrpc/app.bsky.feed.getPosts")
    def get_posts() -> Response:
        _authorized(state)
        uris = request.args.getlist("uris")
        if not uris:
            raise invalid('Params must have the property "uris"')
        if len(uris) > GET_POSTS_MAX_URIS:
            raise invalid(f"Error: uris must not have more than {GET_POSTS_MAX_URIS} elements")
        for i, uri in enumerate(uris):
            if not AT_URI.match(uri):
                raise invalid(f"Error: uris/{i} must be a valid at-uri")
        with state.lock:
            found = [state.look_up(uri) for uri in dict.fromkeys(uris)]
            return json_response({"posts": [post_view(state, p) for p in found if p is not None]})

    @app.get("/xrpc/app.bsky.actor.getProfile")
    def get_profile() -> Response:
        _authorized(state)
        actor = request.args.get("actor", "")
        if not actor:
            raise invalid('Params must have the property "actor"')
        if not (DID.match(actor) or HANDLE.match(actor.lower())):
            raise invalid("Error: actor must be a valid did or a handle")
        user = state.find_user(actor)
        if user is None:
            raise invalid("Profile not found")
        return json_response(profile_detailed(state, user))
