"""Where a report's figures come from: the report totals, or one row per share when few shares are selected."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import case, func, literal, or_, select, text

from advocacy.extensions import db
from advocacy.reach import totals
from advocacy.reach.models import RateCard, Result, ShareStats
from advocacy.reach.reports.filters import Filters, _where
from advocacy.reach.totals import VALUES

ENGAGEMENT_COLS = (ShareStats.likes, ShareStats.reposts, ShareStats.replies, ShareStats.quotes)


def _group_column(group: str) -> Any:
    return {"talking_point": ShareStats.talking_point_id, "team": ShareStats.team_id,
            "network": ShareStats.network, "person": ShareStats.user_id, "day": ShareStats.day}[group]


def _cards() -> dict[int, RateCard]:
    """Every rate card by id, read once per request."""
    if has_request_context() and "reach_cards" in g:
        return g.reach_cards  # type: ignore[no-any-return]
    cards = {c.id: c for c in db.session.scalars(select(RateCard))}
    if has_request_context():
        g.reach_cards = cards
    return cards


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _parts(group: str, filters: Filters, values: tuple[str, ...] = VALUES) -> Any:
    """The signed rows (``k``, ``card``, ``VALUES``) whose sums per ``k`` are the report's rows: from the report
    totals (:func:`advocacy.reach.totals.range_parts`; only ``values``) or one row per share; ``None`` when there is
    nothing."""
    plan = _totals_plan(group, filters)
    if plan is not None:
        return totals.range_parts(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id,
                                  values)
    s = ShareStats
    # results per share, looked up by share (indexed) rather than counted for every share there is
    results = select(func.count()).where(Result.share_id == s.share_id).correlate(s).scalar_subquery()
    any_engagement = or_(*(c.is_not(None) for c in ENGAGEMENT_COLS))
    engagement = sum((func.coalesce(c, 0) for c in ENGAGEMENT_COLS), literal(0))
    key = func.coalesce(s.team_id, totals.NO_TEAM) if group == "team" else _group_column(group)
    cols = [literal(1).label("shares"), func.coalesce(s.followers, 0).label("followers"),
            func.coalesce(s.hits, 0).label("hits"), func.coalesce(s.unique_clicks, 0).label("unique_clicks"),
            func.coalesce(s.bot_hits, 0).label("bot_hits")]
    for name in ("likes", "reposts", "replies", "quotes", "impressions"):
        col = getattr(s, name)
        cols += [func.coalesce(col, 0).label(name), case((col.is_not(None), 1), else_=0).label(f"{name}_n")]
    cols += [case((any_engagement, engagement), else_=0).label("engagements"),
             case((any_engagement, 1), else_=0).label("engagements_n"),
             case((s.impressions.is_(None), func.coalesce(s.followers, 0)), else_=0).label("est_followers"),
             results.label("results")]
    return select(key.label("k"), func.coalesce(s.rate_card_id, 0).label("card"), *cols).where(
        *_where(filters)).subquery()


def _totals_plan(group: str, filters: Filters) -> tuple[str, str] | None:
    """(grain, grouping) of the report totals that answer ``group`` under ``filters``; None: read the per-share rows
    (a talking point or a person selects few shares; by talking point within a team is not pre-aggregated)."""
    if (not current_app.config["REACH_PREAGGREGATED"] or filters.talking_point_id is not None
            or filters.user_id is not None):
        return None
    in_team = filters.team_id is not None
    plan = {"talking_point": None if in_team else ("talking_point", "key"), "person": ("person", "key"),
            "team": ("team", "key"), "network": ("team" if in_team else "network", "network"),
            "day": ("team" if in_team else "network", "day")}[group]
    return plan if plan is not None and _ready() else None


def _ready() -> bool:
    """:func:`totals.ready`, asked once per request (a dashboard runs a dozen reports)."""
    if not has_request_context():
        return totals.ready()
    if "reach_totals_ready" not in g:
        _serial_plans()
        g.reach_totals_ready = totals.ready()
    return bool(g.reach_totals_ready)


def _serial_plans() -> None:
    """On PostgreSQL, no parallel workers for the rest of the request's transaction. A report's statements read a
    few thousand rows of the totals, but their estimates reach the parallel threshold: starting two workers per
    statement cost more than the statement (EXPLAIN ANALYZE: 1.3 ms of work per worker, 39 ms in all on the bench
    machine), a dozen times per dashboard, and on a web server the other cores serve other requests anyway."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
