"""Report totals, shared by their keepers and readers: what is summed, the grain keys, months, frontiers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import String, bindparam, func, select

from advocacy.extensions import db
from advocacy.reach.models import MonthTotals

VALUES = ("shares", "followers", "hits", "unique_clicks", "bot_hits", "likes", "likes_n", "reposts", "reposts_n",
          "replies", "replies_n", "quotes", "quotes_n", "impressions", "impressions_n", "engagements",
          "engagements_n", "est_followers", "results")
ACTIVITY = ("hits", "unique_clicks", "engagement", "engagement_n")
GRAINS = ("talking_point", "person", "team", "network")
NO_TEAM = -1  # "no team" in the person and team grains
ALL = 0  # a dimension the grain does not split by
BUILT = "built"  # the marker row :func:`rebuild` leaves in reach_month_totals; the migration leaves it on new databases
LOCK_ID = 7_262_531  # PostgreSQL advisory lock: one writer of the totals at a time (SQLite has one anyway)
ENGAGEMENT_FIELDS = ("likes", "reposts", "replies", "quotes")

Vector = list[int]
DayKey = tuple[str, dt.date, int, int, str, int]  # grain, day, key, team, network, rate card
ActivityKey = tuple[str, int, dt.date, dt.date, str]  # grain, team, day, publication day, network


def _team(team_id: int | None) -> int:
    return NO_TEAM if team_id is None else team_id


def grain_keys(talking_point_id: int, user_id: int, team_id: int | None) -> list[tuple[str, int, int]]:
    """(grain, key, team) of one share in each grain.

    Args:
        talking_point_id: the share's talking point.
        user_id: who shared.
        team_id: their team at share time.
    """
    team = _team(team_id)
    return [("talking_point", talking_point_id, ALL), ("person", user_id, team), ("team", team, team),
            ("network", ALL, ALL)]


def share_vector(stats: Any, results: int = 0) -> Vector:
    """What one ``share_stats`` row adds to every total it belongs to (in ``VALUES`` order).

    Args:
        stats: a ``ShareStats`` (or any object with its figure attributes).
        results: results recorded against the share.
    """
    followers = stats.followers or 0
    out = [1, followers, stats.hits or 0, stats.unique_clicks or 0, stats.bot_hits or 0]
    for name in (*ENGAGEMENT_FIELDS, "impressions"):
        value = getattr(stats, name)
        out += [value or 0, 0 if value is None else 1]
    known = [getattr(stats, f) for f in ENGAGEMENT_FIELDS if getattr(stats, f) is not None]
    out += [sum(known), 1 if known else 0, followers if stats.impressions is None else 0, results]
    return out


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    """Every month's first day from ``first`` to ``last`` (both first days of months), inclusive."""
    while first <= last:
        yield first
        first = next_month(first)


def frontier(grain: str) -> dt.date | None:
    """The newest month of the cumulative rows of ``grain`` (every share was published before it)."""
    return db.session.scalar(select(func.max(MonthTotals.month)).where(MonthTotals.grain == _inline(grain)))


def _read_frontier(grain: str) -> dt.date | None:
    """:func:`frontier` for the reports, asked once per grain and request (a dashboard reads a dozen ranges); the
    writers, which move the frontier, use :func:`frontier` and drop the request's copy (:func:`_forget_frontiers`)."""
    if not has_request_context():
        return frontier(grain)
    known = g.setdefault("reach_frontiers", {})
    if grain not in known:
        if grain in GRAINS:  # every grain's in one round trip: a dashboard reads all four
            newest = [select(func.max(MonthTotals.month)).where(MonthTotals.grain == _inline(x)).scalar_subquery()
                      for x in GRAINS]
            known.update(zip(GRAINS, db.session.execute(select(*newest)).one(), strict=True))
        else:
            known[grain] = frontier(grain)
    return known[grain]  # type: ignore[no-any-return]


def _forget_frontiers() -> None:
    if has_request_context():
        g.pop("reach_frontiers", None)


def _inline(value: str) -> Any:
    """``value`` written into the SQL instead of bound. PostgreSQL plans a statement that the driver prepared (the
    fifth run on) once for any value of its parameters; the grains are very uneven (a few rows of ``built`` or
    ``network``, tens of thousands of ``person``), and that generic plan scanned the whole table to find the
    ``built`` row (11 ms instead of 0.1 ms). With the grain in the text, each grain gets its own plan."""
    return bindparam(None, value, type_=String, unique=True, literal_execute=True)
