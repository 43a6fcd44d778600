"""The content calendar: talking points' availability windows and the shares scheduled per day, in one person's
timezone.

Counts are one ``GROUP BY`` day over the indexed ``(status, scheduled_at)`` range of the shares table; no share is
loaded into Python for the month or week views. A day's drill-down loads that day's shares, at most ``limit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from advocacy.content.models import Status, TalkingPoint
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.models_base import utcnow

WAITING = ("scheduled", "queued")  # shares still to go out (ShareStatus.SCHEDULED, ShareStatus.QUEUED)
MAX_DAYS = 62  # the longest range one request may ask for (a month view shows up to six weeks)


@dataclass
class Window:
    """A talking point's availability window clipped to the range shown (``start``/``end`` local dates, inclusive)."""

    talking_point: TalkingPoint
    state: str
    start: dt.date
    end: dt.date
    open_start: bool  # it began before the range
    open_end: bool  # it goes on after the range (or has no end)


@dataclass
class Range:
    first: dt.date
    last: dt.date  # inclusive
    zone: ZoneInfo
    windows: list[Window] = field(default_factory=list)
    scheduled: dict[dt.date, int] = field(default_factory=dict)

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def live_on(self, day: dt.date) -> list[Window]:
        return [w for w in self.windows if w.start <= day <= w.end]


def _utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Local midnight starting ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


def _local_date(column: Any, zone: ZoneInfo, offset: dt.timedelta) -> Any:
    """SQL for the local calendar date of a UTC timestamp column: PostgreSQL converts with the zone's own rules;
    SQLite shifts by the zone's offset in the middle of the range (a DST change inside it moves shares within an hour
    of midnight to the next or previous day)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(zone.key, column))
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def check_range(first: dt.date, last: dt.date) -> None:
    if last < first:
        raise DomainError("must be on or after from", "to")
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(f"the range may span at most {MAX_DAYS} days", "to")


def calendar(first: dt.date, last: dt.date, zone: ZoneInfo) -> Range:
    """Talking points available on any day from ``first`` to ``last`` (local dates, inclusive) and the number of
    shares waiting to go out (scheduled or queued) per day.

    A talking point's window starts at ``available_from`` (else its approval, else its creation) and ends at
    ``available_until``, or when it was withdrawn; without an end it runs past the range.

    Args:
        first: first local date shown.
        last: last local date shown (inclusive).
        zone: the viewer's timezone: days start at their local midnight.
    """
    check_range(first, last)
    out = Range(first, last, zone)
    start, end = _utc(first, zone), _utc(last + dt.timedelta(days=1), zone)
    began = func.coalesce(TalkingPoint.available_from, TalkingPoint.approved_at, TalkingPoint.created_at)
    ended = func.coalesce(TalkingPoint.available_until, TalkingPoint.withdrawn_at)
    points = db.session.scalars(
        select(TalkingPoint).where(began < end, (ended.is_(None)) | (ended > start))
        .order_by(began, TalkingPoint.id).limit(500))
    now = utcnow()
    for tp in points:
        since = tp.available_from or tp.approved_at or tp.created_at
        until = tp.available_until or tp.withdrawn_at
        s = since.astimezone(zone).date()
        # a window ending at local midnight does not reach into that day
        e = (until - dt.timedelta(microseconds=1)).astimezone(zone).date() if until else None
        out.windows.append(Window(tp, tp.state(now), max(s, first), min(e, last) if e else last,
                                  s < first, e is None or e > last))
    out.scheduled = scheduled_per_day(start, end, zone)
    return out


def scheduled_per_day(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> dict[dt.date, int]:
    """Shares scheduled or queued from ``start`` to ``end`` (UTC), counted per local date in SQL."""
    from advocacy.delivery.models import Share

    offset = (start + (end - start) / 2).astimezone(zone).utcoffset() or dt.timedelta()
    day = _local_date(Share.scheduled_at, zone, offset).label("day")
    rows = db.session.execute(
        select(day, func.count()).where(Share.status.in_(WAITING), Share.scheduled_at >= start,
                                        Share.scheduled_at < end).group_by(day))
    return {_as_date(d): int(n) for d, n in rows if d is not None}


def scheduled_by_point(first: dt.date, last: dt.date, zone: ZoneInfo) -> dict[dt.date, list[tuple[TalkingPoint, int]]]:
    """Per local date, the shares waiting to go out per talking point (most first), counted in SQL (the week view
    lists them in each day)."""
    from advocacy.delivery.models import Share

    start, end = _utc(first, zone), _utc(last + dt.timedelta(days=1), zone)
    offset = (start + (end - start) / 2).astimezone(zone).utcoffset() or dt.timedelta()
    day = _local_date(Share.scheduled_at, zone, offset).label("day")
    rows = db.session.execute(
        select(day, Share.talking_point_id, func.count()).where(
            Share.status.in_(WAITING), Share.scheduled_at >= start, Share.scheduled_at < end)
        .group_by(day, Share.talking_point_id).order_by(func.count().desc()))
    found = [(_as_date(d), tp_id, int(n)) for d, tp_id, n in rows if d is not None]
    points = {tp.id: tp for tp in db.session.scalars(
        select(TalkingPoint).where(TalkingPoint.id.in_({r[1] for r in found} or {0})))}
    out: dict[dt.date, list[tuple[TalkingPoint, int]]] = {}
    for d, tp_id, n in found:
        out.setdefault(d, []).append((points[tp_id], n))
    return out


@dataclass
class Day:
    day: dt.date
    windows: list[Window]
    by_talking_point: list[tuple[TalkingPoint, str, int]]  # (talking point, network, shares waiting)
    shares: list[Any]  # the first ``limit`` shares waiting that day, earliest first
    total: int


def day_detail(day: dt.date, zone: ZoneInfo, limit: int = 100) -> Day:
    """One day: the talking points available then, the shares waiting to go out grouped by talking point and
    network (counted in SQL), and the first ``limit`` of those shares."""
    from sqlalchemy.orm import joinedload

    from advocacy.delivery.models import Share

    rng = calendar(day, day, zone)
    start, end = _utc(day, zone), _utc(day + dt.timedelta(days=1), zone)
    waiting = (Share.status.in_(WAITING), Share.scheduled_at >= start, Share.scheduled_at < end)
    groups = db.session.execute(
        select(Share.talking_point_id, Share.network, func.count()).where(*waiting)
        .group_by(Share.talking_point_id, Share.network).order_by(func.count().desc()))
    rows = [(tp_id, network, int(n)) for tp_id, network, n in groups]
    points = {tp.id: tp for tp in db.session.scalars(
        select(TalkingPoint).where(TalkingPoint.id.in_({r[0] for r in rows} or {0})))}
    shares = list(db.session.scalars(
        select(Share).options(joinedload(Share.user)).where(*waiting)
        .order_by(Share.scheduled_at, Share.id).limit(limit)))
    return Day(day, rng.windows, [(points[t], n, c) for t, n, c in rows], shares, sum(r[2] for r in rows))


STATUS_ORDER = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.EXPIRED, Status.WITHDRAWN)
