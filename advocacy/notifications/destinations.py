"""Where Teams cards and Web Push messages go: a Workflows webhook per team or per person, push subscriptions.

Both are secrets: a Workflows URL carries its own signature (whoever has it can post into the channel), a push
endpoint is a capability URL, and a subscription's keys decrypt its messages. They are stored encrypted with the
token keys (``advocacy.accounts.crypto``; columns ending in ``_encrypted`` rotate with ``advocacy rotate-keys``);
a push endpoint is found again by its SHA-256, never by its text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from advocacy import outbound
from advocacy.accounts import crypto
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow

MAX_URL = 2000
MAX_SUBSCRIPTIONS = 10  # devices per person


class TeamsWebhook(db.Model):
    """A Teams Workflows webhook ("Post to a channel when a webhook request is received"), for a team or a person."""

    __tablename__ = "teams_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    url_encrypted: Mapped[str] = mapped_column(Text)
    url_hint: Mapped[str] = mapped_column(String(120))  # the host only: what the pages show
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def url(self) -> str:
        return crypto.decrypt(self.url_encrypted) or ""


class TeamsPost(db.Model):
    """A card posted to a webhook about a talking point: once per webhook and talking point, whatever retries."""

    __tablename__ = "teams_posts"
    __table_args__ = (UniqueConstraint("webhook_id", "talking_point_id", name="ux_teams_posts_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("teams_webhooks.id", ondelete="CASCADE"))
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PushSubscription(db.Model):
    """One browser or phone of a person that accepts Web Push (what ``PushManager.subscribe()`` gave)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint_encrypted: Mapped[str] = mapped_column(Text)
    keys_encrypted: Mapped[str] = mapped_column(Text)  # {"p256dh": ..., "auth": ...}
    device: Mapped[str] = mapped_column(String(120), default="")  # "Chrome on Android", from the user agent
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def info(self) -> dict[str, Any]:
        """The subscription as pywebpush takes it."""
        return {"endpoint": crypto.decrypt(self.endpoint_encrypted), "keys": json.loads(
            crypto.decrypt(self.keys_encrypted) or "{}")}


# ------------------------------------------------------------------------------------------------ Teams URLs
def check_webhook_url(value: Any, field: str = "teams_webhook_url") -> str:
    """A Workflows webhook URL this server may post to: https (http only outside production), under the outbound
    guard (public addresses, or the hosts of ``OUTBOUND_ALLOW`` such as the sandbox)."""
    url = value.strip() if isinstance(value, str) else ""
    if not url:
        raise DomainError("is required: paste the URL of the Workflows webhook", field)
    if len(url) > MAX_URL:
        raise DomainError(f"must be at most {MAX_URL} characters", field)
    parts = urlsplit(url)
    production = current_app.config.get("ENV") == "production"
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise DomainError("must be an https:// address" if production else "must be an http(s):// address", field)
    if parts.username or parts.password:
        raise DomainError("must not carry a user name or password", field)
    try:
        outbound.guard().address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:  # netguard.Refused is a requests.ConnectionError
        raise DomainError(outbound.UNREACHABLE, field) from None
    return url


def teams_webhook_for(*, team_id: int | None = None, user_id: int | None = None) -> TeamsWebhook | None:
    column = TeamsWebhook.team_id if team_id is not None else TeamsWebhook.user_id
    return db.session.scalar(select(TeamsWebhook).where(column == (team_id if team_id is not None else user_id)))


def set_teams_webhook(url: str | None, *, team_id: int | None = None,
                      user_id: int | None = None) -> TeamsWebhook | None:
    """Store (or with an empty ``url`` remove) the webhook of one team or one person. Returns what is stored."""
    if (team_id is None) == (user_id is None):
        raise ValueError("give a team or a person")
    row = teams_webhook_for(team_id=team_id, user_id=user_id)
    if not url:
        if row is not None:
            db.session.delete(row)
            db.session.commit()
        return None
    url = check_webhook_url(url)
    hint = urlsplit(url).netloc[:120]
    if row is None:
        row = TeamsWebhook(team_id=team_id, user_id=user_id, url_encrypted=crypto.encrypt(url), url_hint=hint)
        db.session.add(row)
    else:
        if row.url != url:  # a new flow: its channel has seen nothing yet
            db.session.execute(delete(TeamsPost).where(TeamsPost.webhook_id == row.id))
        row.url_encrypted, row.url_hint = crypto.encrypt(url) or "", hint
    db.session.commit()
    return row


# --------------------------------------------------------------------------------------- push subscriptions
def _key(value: Any, name: str, size: int) -> str:
    import base64

    if not isinstance(value, str) or not value:
        raise DomainError("is required (from PushSubscription.toJSON())", f"keys.{name}")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise DomainError("must be base64url", f"keys.{name}") from None
    if len(raw) != size:
        raise DomainError(f"must be {size} bytes", f"keys.{name}")
    return value


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def add_subscription(user_id: int, data: Any, device: str = "") -> PushSubscription:
    """Keep the subscription a browser sent (``{"endpoint", "keys": {"p256dh", "auth"}}``); the same endpoint again
    updates it (and moves it to ``user_id``: one browser, the person signed in on it now)."""
    if not isinstance(data, dict):
        raise DomainError("must be a JSON object from PushSubscription.toJSON()", "subscription")
    endpoint = data.get("endpoint")
    parts = urlsplit(endpoint if isinstance(endpoint, str) else "")
    production = current_app.config.get("ENV") == "production"
    if parts.scheme not in (("https",) if production else ("https", "http")) or not parts.hostname \
            or len(endpoint) > MAX_URL:
        raise DomainError("must be the push service's https:// URL", "endpoint")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    p256dh, auth = _key(keys.get("p256dh"), "p256dh", 65), _key(keys.get("auth"), "auth", 16)
    try:
        outbound.guard().address(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise DomainError(outbound.UNREACHABLE, "endpoint") from None
    digest = endpoint_hash(endpoint)
    row = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint_sha256 == digest))
    if row is None:
        count = len(subscriptions(user_id))
        if count >= MAX_SUBSCRIPTIONS:
            raise DomainError(f"at most {MAX_SUBSCRIPTIONS} devices; remove one first", "subscription")
        row = PushSubscription(user_id=user_id, endpoint_sha256=digest, endpoint_encrypted=crypto.encrypt(endpoint))
        db.session.add(row)
    row.user_id = user_id
    row.keys_encrypted = crypto.encrypt(json.dumps({"p256dh": p256dh, "auth": auth})) or ""
    row.device = device[:120]
    try:
        db.session.commit()
    except IntegrityError:  # the same browser, twice at once
        db.session.rollback()
        return add_subscription(user_id, data, device)
    return row


def remove_subscription(user_id: int, endpoint: Any) -> bool:
    """Forget one of the person's subscriptions (the browser unsubscribed). True when there was one."""
    if not isinstance(endpoint, str) or not endpoint:
        raise DomainError("is required", "endpoint")
    done = db.session.execute(delete(PushSubscription).where(
        PushSubscription.user_id == user_id, PushSubscription.endpoint_sha256 == endpoint_hash(endpoint)))
    db.session.commit()
    return bool(getattr(done, "rowcount", 0))


def subscriptions(user_id: int) -> list[PushSubscription]:
    return list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)
                                   .order_by(PushSubscription.id)))
