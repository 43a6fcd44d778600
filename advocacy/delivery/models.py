"""The share: one talking point going out on one employee's account. The database is its source of truth."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, false, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.accounts.models import ConnectedAccount
from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import User


class ShareStatus:
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"  # waiting for the person to reconnect the account
    OPENED = "opened"  # the network's own share dialog was opened (a share intent): never known to be posted
    PENDING = (SCHEDULED, QUEUED, PUBLISHING)
    FINAL = (PUBLISHED, FAILED, CANCELLED, OPENED)
    ALL = (SCHEDULED, QUEUED, PUBLISHING, PUBLISHED, FAILED, CANCELLED, PAUSED, OPENED)


def _approved_link(context: Any) -> str | None:
    """A share made without its ``link`` (a hand-built row) takes the talking point's approved link."""
    tp_id = context.get_current_parameters()["talking_point_id"]
    return context.connection.scalar(  # type: ignore[no-any-return]
        select(func.coalesce(TalkingPoint.approved_link, TalkingPoint.link)).where(TalkingPoint.id == tp_id))


# where a share was made from: the web feed or dialog, the API, an auto-share fan-out, or a one-tap button in a
# Slack DM, a Teams card, an e-mail or a push notification
SHARE_CHANNELS = ("web", "api", "auto", "slack", "teams", "email", "push")

LIVE_ONCE_WHERE = "status IN ('scheduled', 'queued', 'publishing', 'paused')"


class Share(db.Model):
    __tablename__ = "shares"
    __table_args__ = (
        Index("ix_shares_status_scheduled_at", "status", "scheduled_at"),
        # one auto-share per talking point, person and network, whatever runs of the fan-out race
        Index("ux_shares_auto_once", "talking_point_id", "user_id", "network", unique=True,
              sqlite_where=sql_text("auto"), postgresql_where=sql_text("auto")),
        # one live share per talking point, person and network (their one account there): two requests racing
        # each other cannot both place one (published ones are checked by the domain: a post can be deleted)
        Index("ux_shares_live_once", "talking_point_id", "user_id", "network", unique=True,
              sqlite_where=sql_text(LIVE_ONCE_WHERE), postgresql_where=sql_text(LIVE_ONCE_WHERE)),
        # the month's X spend: one indexed aggregate over the network's published and publishing shares
        Index("ix_shares_network_status_published_at", "network", "status", "published_at"),
        # the reports' spend: the shares that cost something, without reading every share of the range
        Index("ix_shares_priced", "id", "price_micros", sqlite_where=sql_text("price_micros IS NOT NULL"),
              postgresql_where=sql_text("price_micros IS NOT NULL")),
        # participation: the people who shared from each channel over a range, read from the index alone
        Index("ix_shares_channel_user_id_created_at", "channel", "user_id", "created_at", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("connected_accounts.id"))
    network: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # the tracked link /r/<code>
    status: Mapped[str] = mapped_column(String(16), default=ShareStatus.QUEUED)
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    post_id: Mapped[str | None] = mapped_column(String(128))
    post_url: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    followers_at_share: Mapped[int | None] = mapped_column()
    # the lease of the attempt under way: a share left in "publishing" past its lease lost its worker
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # the last attempt may have reached the network (timeout, 5xx, lost worker): look for the post before re-posting
    in_doubt: Mapped[bool] = mapped_column(default=False, server_default=false())
    auto: Mapped[bool] = mapped_column(default=False, server_default=false())  # placed by an auto-share fan-out
    # what led to it (participation by channel): one of ``SHARE_CHANNELS``
    channel: Mapped[str] = mapped_column(String(16), default="web", server_default="web")
    # the link the share carries (its tracked link redirects there): the talking point's approved link when the share
    # was made, never a later edit waiting for review
    link: Mapped[str] = mapped_column(String(2048), default=_approved_link, server_default="")
    # what posting it costs on the network, in millionths of a US dollar, recorded when it is sent (X's per-post
    # price then), so a later price change does not rewrite past spend; None: a network that charges nothing
    price_micros: Mapped[int | None] = mapped_column(BigInteger())

    talking_point: Mapped[TalkingPoint] = relationship()
    user: Mapped[User] = relationship()
    account: Mapped[ConnectedAccount | None] = relationship()


class AutoShareConsent(db.Model):
    """A person's consent to posting on a network for them automatically (LinkedIn: renewed every year)."""

    __tablename__ = "auto_share_consents"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    consented_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FanOut(db.Model):
    """One auto-share fan-out of an approved talking point: a background job with its progress (the row, not Redis,
    is what the UI trusts; its id is in the RQ job id)."""

    __tablename__ = "fanouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)  # the talking point's version it fanned out
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, running, done, failed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)  # shares placed
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # the run's last sign of life

    talking_point: Mapped[TalkingPoint] = relationship()

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0
