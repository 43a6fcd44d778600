"""Participation by channel: where people heard about talking points, and where they shared from.

For each channel a share can come from (``Share.channel``: web, api, auto, slack, teams, email, push), over the
report's date range and its talking point / team / person filters:

* people notified: distinct people with an announcement *sent* on that channel (Slack, Teams, e-mail, push; the
  web, API and auto-share announce nothing, so theirs is ``None``);
* people who shared: distinct people with a share (not cancelled) made from that channel;
* share rate: of the people notified on a channel, the share who shared from it;
* median time from announcement to share: over the shares from that channel whose person had been announced the
  talking point before (on any channel), the median of share time minus announcement time.

Counted in SQL per channel; only the median reads the (share, announcement) time pairs.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select, true, tuple_
from sqlalchemy.orm import aliased

from advocacy.delivery.models import SHARE_CHANNELS, Share, ShareStatus
from advocacy.extensions import db
from advocacy.models_base import UTCDateTime
from advocacy.notifications.channels import CHANNEL_NAMES
from advocacy.notifications.models import Announcement, AnnouncementStatus
from advocacy.people.models import User
from advocacy.reach.reports import Filters

LABELS = {"web": "Web feed", "api": "API", "auto": "Auto-share", "slack": "Slack", "teams": "Microsoft Teams",
          "email": "E-mail", "push": "Push"}
HEADER = ["channel", "people_notified", "people_shared", "share_rate", "median_seconds_to_share"]


@dataclass(frozen=True)
class Row:
    channel: str
    label: str
    notified: int | None  # None: this channel announces nothing
    shared: int
    rate: float | None  # shared / notified (None: nobody notified there)
    median_seconds: float | None  # None: no share followed an announcement

    @property
    def median_text(self) -> str:
        return duration(self.median_seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "label": self.label, "people_notified": self.notified,
                "people_shared": self.shared, "share_rate": self.rate,
                "median_seconds_to_share": self.median_seconds}

    def csv(self) -> list[Any]:
        return [self.channel, "" if self.notified is None else self.notified, self.shared,
                "" if self.rate is None else round(self.rate, 4),
                "" if self.median_seconds is None else round(self.median_seconds)]


def _bounds(filters: Filters) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(filters.date_from, dt.time(), dt.UTC)
    return start, dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time(), dt.UTC)


def _scope(query: Any, user_col: Any, tp_col: Any, filters: Filters) -> Any:
    if filters.talking_point_id is not None:
        query = query.where(tp_col == filters.talking_point_id)
    if filters.user_id is not None:
        query = query.where(user_col == filters.user_id)
    if filters.team_id is not None:
        query = query.where(user_col.in_(select(User.id).where(User.team_id == filters.team_id)))
    return query


def _people_per_channel(pairs: Any) -> dict[str, int]:
    """Distinct people per channel of a (channel, user id) select: its distinct pairs counted per channel.
    PostgreSQL sorts every row of a group for ``count(DISTINCT …)`` (a year of 100,000 shares spilt to disk); a
    ``DISTINCT`` of the pairs is hashed, a few thousand at most."""
    distinct = pairs.distinct().subquery()
    return {c: n for c, n in db.session.execute(select(distinct.c[0], func.count()).group_by(distinct.c[0]))}


def _people_sharing(filters: Filters, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """PostgreSQL: the people who shared per channel, found one (channel, person) at a time along the index
    ``ix_shares_channel_user_id_created_at``: each step seeks the first share of the range after the last pair
    found (the next person's from the range's start on), so a range costs about one index probe per person who
    shared in it (2,000) rather than reading and hashing every share made in it (100,000 in a year). Backend CPU
    per statement on the bench dataset (loaded machine): a year 30-38 ms against 50-60 ms, 30 days 20-23 against
    22-25 ms. PostgreSQL has no skip scan of its own; SQLite reads the pairs as before."""

    def next_pair(after: Any) -> Any:
        s = aliased(Share)
        query = select(s.channel, s.user_id).where(
            s.status != ShareStatus.CANCELLED, s.created_at >= start, s.created_at < end)
        if after is not None:  # from the next person's first share of the range on, in the index's order
            query = query.where(tuple_(s.channel, s.user_id, s.created_at)
                                >= tuple_(after.c.channel, after.c.user_id + 1, literal(start, UTCDateTime())))
        return _scope(query, s.user_id, s.talking_point_id, filters).order_by(s.channel, s.user_id).limit(1)

    pairs = next_pair(None).cte("pairs", recursive=True)
    step = next_pair(pairs).lateral("step")
    pairs = pairs.union_all(select(step.c.channel, step.c.user_id).select_from(pairs).join(step, true()))
    return {c: n for c, n in db.session.execute(select(pairs.c.channel, func.count()).group_by(pairs.c.channel))}


def participation(filters: Filters) -> list[Row]:
    """One row per channel, in ``SHARE_CHANNELS`` order (see the module's docstring for each figure)."""
    start, end = _bounds(filters)
    made = (Share.status != ShareStatus.CANCELLED, Share.created_at >= start, Share.created_at < end)
    shared_q = _scope(select(Share.channel, Share.user_id).where(*made), Share.user_id, Share.talking_point_id,
                      filters)
    shared: dict[str, int] = _people_sharing(filters, start, end) if db.engine.dialect.name == "postgresql" \
        else _people_per_channel(shared_q)
    waits: dict[str, list[float]] = {}
    # every other figure needs an announcement sent (at any time: the rate's numerator does not bound it): without
    # one, the joins below would still read every share of the range to find nothing
    if db.session.scalar(select(Announcement.id).where(Announcement.status == AnnouncementStatus.SENT).limit(1)) \
            is None:
        return _rows({}, shared, {}, waits)
    notified_q = _scope(select(Announcement.channel, Announcement.user_id)
                        .where(Announcement.status == AnnouncementStatus.SENT, Announcement.sent_at >= start,
                               Announcement.sent_at < end), Announcement.user_id, Announcement.talking_point_id,
                        filters)
    notified: dict[str, int] = _people_per_channel(notified_q)
    # a person who heard on a channel and shared from it (the rate's numerator)
    converted_q = _scope(
        select(Share.channel, Share.user_id)
        .join(Announcement, (Announcement.user_id == Share.user_id)
              & (Announcement.talking_point_id == Share.talking_point_id) & (Announcement.channel == Share.channel))
        .where(*made, Announcement.status == AnnouncementStatus.SENT),
        Share.user_id, Share.talking_point_id, filters)
    converted: dict[str, int] = _people_per_channel(converted_q)
    pairs_q = _scope(
        select(Share.channel, Share.created_at, Announcement.sent_at)
        .join(Announcement, (Announcement.user_id == Share.user_id)
              & (Announcement.talking_point_id == Share.talking_point_id))
        .where(*made, Announcement.status == AnnouncementStatus.SENT, Announcement.sent_at <= Share.created_at),
        Share.user_id, Share.talking_point_id, filters)
    for channel, shared_at, sent_at in db.session.execute(pairs_q):
        waits.setdefault(channel, []).append((shared_at - sent_at).total_seconds())
    return _rows(notified, shared, converted, waits)


def _rows(notified: dict[str, int], shared: dict[str, int], converted: dict[str, int],
          waits: dict[str, list[float]]) -> list[Row]:
    rows = []
    for channel in SHARE_CHANNELS:
        told = notified.get(channel, 0) if channel in CHANNEL_NAMES else None
        rate = converted.get(channel, 0) / told if told else None
        median = statistics.median(waits[channel]) if waits.get(channel) else None
        rows.append(Row(channel, LABELS.get(channel, channel), told, shared.get(channel, 0), rate, median))
    return rows


def duration(seconds: float | None) -> str:
    """``None`` → "—"; else a short human duration: 45 s, 12 min, 3.5 h, 2.1 days."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
