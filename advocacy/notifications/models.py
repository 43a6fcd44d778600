"""A notification is recorded once (its ``key`` is unique) and goes out in the person's next digest."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
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


# ------------------------------------------------------------------------ announcing talking points (issue 15)
class NotificationPreference(db.Model):
    """Where and how often one person hears about new talking points aimed at them.

    No row: the admins' defaults (``NotificationDefaults``) apply. Quiet hours are minutes after local midnight in
    the person's own ``User.timezone``; both empty means none.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[str] = mapped_column(String(64), default="")  # "slack,email": tried in this order; "": none
    frequency: Mapped[str] = mapped_column(String(8), default="instant")  # instant, daily, weekly
    quiet_start: Mapped[int | None] = mapped_column()  # minutes after local midnight
    quiet_end: Mapped[int | None] = mapped_column()
    unreachable: Mapped[str] = mapped_column(String(64), default="")  # channels that said the person is gone
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class NotificationDefaults(db.Model):
    """The admins' defaults for people who chose nothing themselves (one row, id 1; no row: built-in defaults)."""

    __tablename__ = "notification_defaults"

    id: Mapped[int] = mapped_column(primary_key=True)
    channels: Mapped[str] = mapped_column(String(64), default="email")
    frequency: Mapped[str] = mapped_column(String(8), default="instant")
    quiet_start: Mapped[int | None] = mapped_column()
    quiet_end: Mapped[int | None] = mapped_column()
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AnnouncementStatus:
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a delivery job
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"


class Announcement(db.Model):
    """One talking point announced (or to be announced) to one person: at most one row per pair, whatever the
    channel, so nobody hears of the same talking point twice."""

    __tablename__ = "announcements"
    __table_args__ = (UniqueConstraint("user_id", "talking_point_id", name="ux_announcements_once"),
                      Index("ix_announcements_user_status_due", "user_id", "status", "due_at"),
                      Index("ix_announcements_tp_status", "talking_point_id", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"))
    channel: Mapped[str | None] = mapped_column(String(16))  # where it went (set when sent)
    status: Mapped[str] = mapped_column(String(16), default=AnnouncementStatus.QUEUED)
    # when it is due; while ``sending``, when the delivery claimed it (the lease the sweep checks)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reference: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnnouncementRun(db.Model):
    """One run of announcing a talking point to its audience: the background job's progress, for comms."""

    __tablename__ = "announcement_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed
    total: Mapped[int] = mapped_column(default=0)  # people in the audience
    done: Mapped[int] = mapped_column(default=0)  # people walked
    queued: Mapped[int] = mapped_column(default=0)  # announcements this run recorded
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
