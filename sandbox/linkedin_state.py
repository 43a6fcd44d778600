"""What the LinkedIn sandbox remembers: ``LinkedInState``, its members, tokens, posts and images behind one lock,
with the checks of its settings and faults."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from connectors.media import image_info
from sandbox.linkedin_core import (
    ENDPOINTS,
    FIRST_SHARE_ID,
    IMAGE_ID_CHARS,
    IMAGE_URN_RE,
    METRICS,
    AccessToken,
    Config,
    ControlError,
    Fault,
    Grant,
    Image,
    Post,
    RefreshToken,
    User,
    render_little_text,
    restli_error,
    service_error,
    token_error,
    utc_iso,
)
from sandbox.schemas.linkedin import (
    IMAGE_FORMATS,
    IMAGE_MAX_PIXELS,
)


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
