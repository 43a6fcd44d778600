"""The leaderboard: people ranked by points in a range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, literal, or_, select

from advocacy.extensions import db
from advocacy.people.models import User
from advocacy.reach import totals
from advocacy.reach.models import ReachPreference, ShareStats
from advocacy.reach.reports.filters import Filters, _where
from advocacy.reach.reports.source import ENGAGEMENT_COLS, _totals_plan


@dataclass(frozen=True)
class Standing:
    user_id: int
    name: str
    shares: int
    unique_clicks: int
    engagements: int
    points: int


def points_expression() -> Any:
    c = current_app.config
    engagement = sum((func.coalesce(col, 0) for col in ENGAGEMENT_COLS), literal(0))
    return (func.count() * c["REACH_POINTS_PER_SHARE"]
            + func.sum(ShareStats.unique_clicks) * c["REACH_POINTS_PER_CLICK"]
            + func.sum(engagement) * c["REACH_POINTS_PER_ENGAGEMENT"])


def standings(filters: Filters, include_opted_out: bool = False, limit: int | None = 50) -> list[Standing]:
    """People ranked by points in the range; those who opted out of the leaderboard are left out.

    Args:
        filters: range and filters.
        include_opted_out: True for a person's own figures.
        limit: how many to return.
    """
    if _totals_plan("person", filters) is not None:
        return _standings_from_totals(filters, include_opted_out, limit)
    engagement = sum((func.coalesce(col, 0) for col in ENGAGEMENT_COLS), literal(0))
    points = points_expression()
    stmt = (select(ShareStats.user_id, User.name, func.count(), func.sum(ShareStats.unique_clicks),
                   func.sum(engagement), points.label("points"))
            .join(User, User.id == ShareStats.user_id).where(*_where(filters))
            .group_by(ShareStats.user_id, User.name).order_by(points.desc(), User.name, ShareStats.user_id))
    if not include_opted_out:
        stmt = stmt.outerjoin(ReachPreference, ReachPreference.user_id == ShareStats.user_id).where(
            or_(ReachPreference.user_id.is_(None), ReachPreference.leaderboard_opt_out.is_(False)))
    if limit:
        stmt = stmt.limit(limit)
    return [Standing(r[0], r[1], r[2], int(r[3] or 0), int(r[4] or 0), int(r[5] or 0))
            for r in db.session.execute(stmt)]


def _standings_from_totals(filters: Filters, include_opted_out: bool, limit: int | None) -> list[Standing]:
    c = current_app.config
    parts = totals.range_parts("person", "key", filters.date_from, filters.date_to, filters.network, filters.team_id,
                               ("shares", "unique_clicks", "engagements"))
    if parts is None:
        return []
    shares, uniques, engagements = (totals.total(parts.c[v]) for v in ("shares", "unique_clicks", "engagements"))
    points = (shares * c["REACH_POINTS_PER_SHARE"] + uniques * c["REACH_POINTS_PER_CLICK"]
              + engagements * c["REACH_POINTS_PER_ENGAGEMENT"])
    per = (select(parts.c.k, shares.label("shares"), uniques.label("uniques"), engagements.label("engagements"),
                  points.label("points")).group_by(parts.c.k).having(shares > 0).subquery())
    # summed per person first, then joined to the people: a join per person, not per totals row
    stmt = (select(per.c.k, User.name, per.c.shares, per.c.uniques, per.c.engagements, per.c.points)
            .join(User, User.id == per.c.k).order_by(per.c.points.desc(), User.name, per.c.k))
    if not include_opted_out:
        stmt = stmt.outerjoin(ReachPreference, ReachPreference.user_id == per.c.k).where(
            or_(ReachPreference.user_id.is_(None), ReachPreference.leaderboard_opt_out.is_(False)))
    if limit:
        stmt = stmt.limit(limit)
    return [Standing(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in db.session.execute(stmt)]
