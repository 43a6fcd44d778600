"""What the Mastodon sandbox remembers: ``MastodonState``, its apps, users, tokens, statuses and uploads behind one
lock."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any

from sandbox.common import (
    ControlError,
    SandboxState,
    checked_counts,
    checked_metrics,
    utc_iso,
)
from sandbox.mastodon_core import (
    DEFAULT_RATE_LIMITS,
    INVALID_CLIENT,
    INVALID_GRANT,
    METRIC_NAMES,
    NOT_READY,
    USERNAME,
    AccessToken,
    App,
    Attachment,
    Config,
    Grant,
    Status,
    User,
    _epoch,
    _x_headers,
    error,
)
from sandbox.schemas.mastodon import (
    MAX_MEDIA_ATTACHMENTS,
)


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
