"""Reach over time (clicks and engagement per day, potential reach per day), the networks, amplification."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.extensions import db
from advocacy.reach import totals
from advocacy.reach.models import ClickDaily, MetricSnapshot, ShareStats
from advocacy.reach.reports.filters import Filters, _where
from advocacy.reach.reports.source import _day, _ready, _totals_plan


@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    unique_clicks: int
    clicks: int
    engagement: int | None  # gained that day (fetched snapshots); None: nothing reported


def over_time(filters: Filters) -> list[DayPoint]:
    """Clicks (on the day they happened) and engagement gained (on the day it was fetched), day by day, for the
    shares the filters select, within the range.

    Args:
        filters: range and filters.
    """
    if _totals_plan("day", filters) is not None:
        clicks, gained = {}, {}
        for day, u, h, g, g_n in totals.activity_rows(filters.date_from, filters.date_to, filters.network,
                                                      filters.team_id):
            clicks[day] = (u, h)
            gained[day] = g if g_n else None
        return _points(filters, clicks, gained)
    conds = _where(filters)
    clicks = dict((d, (u, h)) for d, u, h in db.session.execute(
        select(ClickDaily.day, func.sum(ClickDaily.unique_clicks), func.sum(ClickDaily.hits))
        .join(ShareStats, ShareStats.share_id == ClickDaily.share_id)
        .where(ClickDaily.day >= filters.date_from, ClickDaily.day <= filters.date_to, *conds)
        .group_by(ClickDaily.day)))
    gained = dict(db.session.execute(
        select(MetricSnapshot.day, func.sum(MetricSnapshot.engagement_delta))
        .join(ShareStats, ShareStats.share_id == MetricSnapshot.share_id)
        .where(MetricSnapshot.day >= filters.date_from, MetricSnapshot.day <= filters.date_to, *conds)
        .group_by(MetricSnapshot.day)).all())
    return _points(filters, clicks, gained)


def networks() -> list[str]:
    """Every network with a published share (for the filter), from the report totals once they are built."""
    if current_app.config["REACH_PREAGGREGATED"] and _ready():
        return sorted(totals.networks())
    return sorted(n for (n,) in db.session.execute(select(ShareStats.network).distinct()))


def potential_reach_by_day(filters: Filters) -> dict[dt.date, int]:
    """Potential reach (estimated: followers at share time) of the shares published each day of the range.

    Args:
        filters: range and filters.
    """
    plan = _totals_plan("day", filters)
    if plan is not None:
        parts = totals.range_parts(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id,
                                   ("followers",))
        if parts is None:
            return {}
        stmt = select(parts.c.k, totals.total(parts.c.followers)).group_by(parts.c.k)
    else:
        stmt = (select(ShareStats.day, func.coalesce(func.sum(ShareStats.followers), 0))
                .where(*_where(filters)).group_by(ShareStats.day))
    return {_day(k): int(v or 0) for k, v in db.session.execute(stmt)}


def _points(filters: Filters, clicks: dict[Any, Any], gained: dict[Any, Any]) -> list[DayPoint]:
    days = (filters.date_to - filters.date_from).days + 1
    points = []
    for i in range(days):
        day = filters.date_from + dt.timedelta(days=i)
        u, h = clicks.get(day, (0, 0))
        g = gained.get(day)
        points.append(DayPoint(day, int(u or 0), int(h or 0), None if g is None else int(g)))
    return points


@dataclass(frozen=True)
class Amplification:
    network: str
    employee_reach: int  # estimated: followers at share time, summed over the range's shares
    brand_handle: str | None
    brand_followers: int | None  # None: the brand account is not connected (or its network hides followers)

    @property
    def ratio(self) -> float | None:
        if not self.brand_followers:
            return None
        return round(self.employee_reach / self.brand_followers, 2)


def amplification(filters: Filters) -> list[Amplification]:
    """Employees' potential reach against the brand's own channel on each network, where it is connected."""
    brands = dict(part.split(":", 1) for part in current_app.config["REACH_BRAND_ACCOUNTS"].split(",")
                  if ":" in part)
    out = []
    plan = _totals_plan("network", filters)
    if plan is None:
        reaches = list(db.session.execute(
            select(ShareStats.network, func.coalesce(func.sum(ShareStats.followers), 0))
            .where(*_where(filters)).group_by(ShareStats.network).order_by(ShareStats.network)))
    else:
        summed: dict[str, int] = {}
        for r in totals.range_rows(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id):
            summed[r[0]] = summed.get(r[0], 0) + r[3]  # (network, card, shares, followers, …)
        reaches = sorted(summed.items())
    for network, reach in reaches:
        handle = brands.get(network)
        followers = None
        if handle:
            followers = db.session.scalar(select(ConnectedAccount.followers).where(
                ConnectedAccount.network == network, func.lower(ConnectedAccount.handle) == handle.lower(),
                ConnectedAccount.status == AccountStatus.ACTIVE).limit(1))
        out.append(Amplification(network, int(reach), handle, followers))
    return out
