"""A notification is recorded once (its ``key`` is unique) and goes out in the person's next digest."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import User


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # account_revoked, reconnect_soon, share_failed
    key: Mapped[str] = mapped_column(String(200), unique=True)  # the same event never notifies twice
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)  # in a digest

    user: Mapped[User] = relationship()


class DigestState(db.Model):
    """When each person last got a digest (the next one covers what happened since)."""

    __tablename__ = "digest_state"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
