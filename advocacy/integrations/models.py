"""Feeds comms follow and the items seen in them; webhook endpoints admins register and the deliveries to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import User


class FeedSource(db.Model):
    """An RSS or Atom feed whose new items become draft talking points written by ``owner``."""

    __tablename__ = "feed_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2048))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_topics: Mapped[str] = mapped_column(String(500), default="")
    default_team_ids: Mapped[str] = mapped_column(String(500), default="")  # "3 7": the drafts target these teams
    default_disclosure: Mapped[str] = mapped_column(String(200), default="")
    etag: Mapped[str | None] = mapped_column(String(500))  # validators of the last full answer (conditional GET)
    last_modified: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))  # why the last fetch failed; None when it worked
    failures: Mapped[int] = mapped_column(Integer, default=0)  # fetches failed in a row (the backoff grows with it)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    items_created: Mapped[int] = mapped_column(Integer, default=0)

    owner: Mapped[User] = relationship(lazy="joined")

    @property
    def team_ids(self) -> list[int]:
        return [int(t) for t in self.default_team_ids.split() if t.isdigit()]


class FeedItem(db.Model):
    """An item seen in a feed, once: by its GUID and by its link (either seen before: not a new item)."""

    __tablename__ = "feed_items"
    __table_args__ = (UniqueConstraint("source_id", "guid_hash", name="uq_feed_items_guid"),
                      UniqueConstraint("source_id", "link_hash", name="uq_feed_items_link"))

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_sources.id", ondelete="CASCADE"))
    guid_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the GUID (the link when the item has none)
    link_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the link
    link: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(300), default="")
    talking_point_id: Mapped[int | None] = mapped_column(ForeignKey("talking_points.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(String(500))  # why no draft was made of it
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookEndpoint(db.Model):
    """A URL of another system that is told of the ``events`` it subscribes to, each delivery signed."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[str] = mapped_column(String(500))  # space-separated event names
    secret_encrypted: Mapped[str] = mapped_column(Text)  # "whsec_…", encrypted with the token keys
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def event_list(self) -> list[str]:
        return self.events.split()


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    ALL = (PENDING, DELIVERED, FAILED)


class WebhookDelivery(db.Model):
    """One event for one endpoint (the outbox): sent until the endpoint answers 2xx or the attempts run out."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # the webhook-id header: same on every attempt
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, exactly as signed
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)  # the endpoint's HTTP status; None: no answer
    last_body: Mapped[str | None] = mapped_column(String(500))  # the start of its answer
    last_error: Mapped[str | None] = mapped_column(String(300))  # why the last attempt failed
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined")
