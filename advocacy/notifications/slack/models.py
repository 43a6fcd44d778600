"""What the Slack app keeps: the workspace installation (its bot token encrypted), who each person is in Slack,
and the DMs sent (so a click, a publication or a retry finds the message to update, and nothing is sent twice)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow


class SlackInstallation(db.Model):
    """The workspace the app is installed in (OAuth v2). The newest one not revoked is used."""

    __tablename__ = "slack_installations"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    team_name: Mapped[str] = mapped_column(String(200))
    bot_user_id: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(Text)
    token_encrypted: Mapped[str] = mapped_column(Text)  # the bot token xoxb-…, by advocacy.accounts.crypto
    installed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SlackPerson(db.Model):
    """A person matched in Slack by their e-mail (``users.lookupByEmail``); ``slack_user_id`` None: not found."""

    __tablename__ = "slack_people"
    __table_args__ = (Index("ix_slack_people_team_slack_user", "team_id", "slack_user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SlackMessage(db.Model):
    """One talking point in one DM: an announcement (``kind`` announce) or a review request (review).

    A DM about several talking points has one row per talking point, all with its ``ts``.
    """

    __tablename__ = "slack_messages"
    __table_args__ = (UniqueConstraint("user_id", "talking_point_id", "kind", name="ux_slack_messages_once"),
                      Index("ix_slack_messages_channel_ts", "channel_id", "ts"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # "Not for me"
    note: Mapped[str | None] = mapped_column(Text)  # the last outcome shown (a review's decision)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
