"""What the X sandbox remembers (users, tokens, posts, uploads, rate windows, faults), behind one lock."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import random
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.common import sniff_image
from sandbox.schemas.x import (
    MEDIA_LIFETIME,
)
from sandbox.x.core import (
    DEFAULT_RATE_LIMITS,
    DUPLICATE_DETAIL,
    FIRST_MEDIA_ID,
    FIRST_TWEET_ID,
    JOURNAL_SIZE,
    MEDIA_IDS_INVALID,
    METRIC_NAMES,
    ApiError,
    ControlError,
    _is_count,
    invalid_request,
    media_not_found,
    not_found,
    problem,
    token_error,
    utc_iso,
    wrap_urls,
)


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
