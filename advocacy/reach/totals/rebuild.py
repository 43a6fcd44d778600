"""Rebuilding the report totals from the raw tables, and moving shares to another rate card."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, case, cast, delete, func, insert, literal, literal_column, or_, select, union_all

from advocacy.extensions import db
from advocacy.reach.models import ActivityTotals, ClickDaily, DayTotals, MetricSnapshot, MonthTotals, Result, ShareStats
from advocacy.reach.totals.common import (
    ACTIVITY,
    ALL,
    BUILT,
    ENGAGEMENT_FIELDS,
    GRAINS,
    NO_TEAM,
    VALUES,
    Vector,
    _forget_frontiers,
    frontier,
    months,
    next_month,
)
from advocacy.reach.totals.keep import Changes, _extend, lock
from advocacy.reach.totals.read import ready

log = logging.getLogger("advocacy.reach.totals")  # the name it had as one module


def _month_expr(column: Any) -> Any:
    if db.engine.dialect.name == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month", type_=Date)


def _share_sums() -> tuple[Any, list[Any], dict[str, tuple[Any, Any, list[Any]]]]:
    """The results subquery to outer-join, the ``VALUES`` sums over ``share_stats`` rows, and per grain its key,
    team column and GROUP BY columns."""
    s = ShareStats
    results = select(Result.share_id, func.count().label("n")).group_by(Result.share_id).subquery()
    any_engagement = or_(*(getattr(s, f).is_not(None) for f in ENGAGEMENT_FIELDS))
    engagement = sum((func.coalesce(getattr(s, f), 0) for f in ENGAGEMENT_FIELDS), literal(0))
    sums = [func.count(), func.coalesce(func.sum(s.followers), 0), func.coalesce(func.sum(s.hits), 0),
            func.coalesce(func.sum(s.unique_clicks), 0), func.coalesce(func.sum(s.bot_hits), 0)]
    for name in (*ENGAGEMENT_FIELDS, "impressions"):
        col = getattr(s, name)
        sums += [func.coalesce(func.sum(col), 0), func.count(col)]
    sums += [func.coalesce(func.sum(case((any_engagement, engagement))), 0), func.count(case((any_engagement, 1))),
             func.coalesce(func.sum(case((s.impressions.is_(None), s.followers))), 0),
             func.coalesce(func.sum(results.c.n), 0)]
    team = func.coalesce(s.team_id, NO_TEAM)
    zero = literal_column(str(ALL))
    dims = {"talking_point": (s.talking_point_id, zero, [s.talking_point_id]),
            "person": (s.user_id, team, [s.user_id, team]), "team": (team, team, [team]), "network": (zero, zero, [])}
    return results, sums, dims


def move_to_card(network: str, conds: Sequence[Any], card_id: int | None) -> None:
    """Before the shares ``conds`` selects get ``card_id`` as their rate card, move their figures from their current
    card to it in every total (call it inside the transaction that updates ``share_stats``).

    Args:
        network: the shares' network.
        conds: conditions on ``share_stats`` selecting the shares (all on ``network``).
        card_id: the card they get; ``None``: none.
    """
    lock()
    if not ready():
        return
    s = ShareStats
    new = card_id or 0
    old = func.coalesce(s.rate_card_id, 0)
    results, sums, dims = _share_sums()
    changes = Changes()
    for grain, (key, team_col, group) in dims.items():
        for day, k, team, card, *values in db.session.execute(
                select(s.day, key.label("k"), team_col.label("t"), old.label("c"), *sums)
                .outerjoin(results, results.c.share_id == s.share_id)
                .where(s.network == network, *conds, old != new).group_by(s.day, *group, old)):
            for target, sign in ((card, -1), (new, 1)):
                cell = changes.day[(grain, day, int(k), int(team), network, target)]
                for i, v in enumerate(values):
                    cell[i] += sign * int(v or 0)
    changes.apply()


def rebuild() -> int:
    """Recreate the totals from ``share_stats``, ``reach_results``, ``click_daily`` and ``metric_snapshots``;
    returns how many share rows were totalled. Runs in the caller's transaction (the caller commits)."""
    lock()
    _forget_frontiers()
    db.session.execute(delete(DayTotals))
    db.session.execute(delete(MonthTotals))
    s = ShareStats
    results, sums, dims = _share_sums()
    card = func.coalesce(s.rate_card_id, 0)
    for grain, (key, team_col, group) in dims.items():
        db.session.execute(insert(DayTotals).from_select(
            ["grain", "day", "key", "team_id", "network", "rate_card_id", *VALUES],
            select(literal(grain), s.day, key, team_col, s.network, card, *sums)
            .outerjoin(results, results.c.share_id == s.share_id).group_by(s.day, *group, s.network, card)
            .order_by(s.day)))  # stored in day order: a range of days is a few contiguous pages
    for grain in GRAINS:
        _rebuild_cumulative(grain)
    _rebuild_activity()
    db.session.execute(insert(MonthTotals).values(grain=BUILT, month=dt.date(1970, 1, 1), key=0, team_id=0,
                                                  network="", rate_card_id=0, **dict.fromkeys(VALUES, 0)))
    count = db.session.scalar(select(func.count()).select_from(s)) or 0
    log.info("event=reach_totals_rebuilt shares=%s", count)
    return count


def _rebuild_cumulative(grain: str) -> None:
    d = DayTotals
    month = _month_expr(d.day)
    stmt = (select(d.key, d.team_id, d.network, d.rate_card_id, month, *[func.sum(getattr(d, v)) for v in VALUES])
            .where(d.grain == grain)
            .group_by(d.key, d.team_id, d.network, d.rate_card_id, month))
    per_key: dict[tuple[int, int, str, int], dict[dt.date, Vector]] = defaultdict(dict)
    newest: dt.date | None = None
    for key, team, net, card, m, *values in db.session.execute(stmt):
        m = m if isinstance(m, dt.date) else dt.date.fromisoformat(str(m)[:10])
        first = next_month(m)
        per_key[(key, team, net, card)][first] = [int(v or 0) for v in values]
        newest = max(newest or first, first)
    old = frontier(grain)
    top = max(x for x in (old, newest) if x is not None) if (old or newest) else None
    if top is None:
        return
    if old is not None and top > old:
        _extend(grain, old, top)
    rows = []
    for (key, team, net, card), by_month in per_key.items():
        running = [0] * len(VALUES)
        for m in months(min(by_month), top):
            for i, v in enumerate(by_month.get(m, ())):
                running[i] += v
            rows.append({"grain": grain, "month": m, "key": key, "team_id": team, "network": net,
                         "rate_card_id": card} | dict(zip(VALUES, running, strict=True)))
    rows.sort(key=lambda r: (r["month"], r["key"], r["team_id"], r["network"], r["rate_card_id"]))
    for start in range(0, len(rows), 5000):  # in month order: a report reads one or two months' rows, contiguous
        db.session.execute(insert(MonthTotals), rows[start:start + 5000])


def _rebuild_activity() -> None:
    db.session.execute(delete(ActivityTotals))
    s, c, m = ShareStats, ClickDaily, MetricSnapshot
    raw = union_all(
        select(c.day.label("day"), s.day.label("share_day"), s.network.label("network"),
               func.coalesce(s.team_id, NO_TEAM).label("team"), c.hits.label("hits"),
               c.unique_clicks.label("unique_clicks"), literal(0).label("engagement"),
               literal(0).label("engagement_n")).join(s, s.share_id == c.share_id),
        select(m.day, s.day, s.network, func.coalesce(s.team_id, NO_TEAM), literal(0), literal(0),
               func.coalesce(m.engagement_delta, 0), case((m.engagement_delta.is_not(None), 1), else_=0))
        .join(s, s.share_id == m.share_id),
    ).subquery()
    for grain, team, group in (("all", literal_column(str(ALL)), []), ("team", raw.c.team, [raw.c.team])):
        db.session.execute(insert(ActivityTotals).from_select(
            ["grain", "team_id", "day", "share_day", "network", *ACTIVITY],
            select(literal(grain), team, raw.c.day, raw.c.share_day, raw.c.network,
                   *[func.sum(raw.c[a]) for a in ACTIVITY])
            .group_by(*group, raw.c.day, raw.c.share_day, raw.c.network)
            .order_by(*group, raw.c.day, raw.c.share_day)
            .having(or_(*[func.sum(raw.c[a]) != 0 for a in ACTIVITY]))))
