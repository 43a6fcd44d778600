"""Reading the report totals: the figures of a date range as a few signed rows (month rows and edge days)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Float, cast, exists, func, select, union_all

from advocacy.extensions import db
from advocacy.reach.models import ActivityTotals, DayTotals, MonthTotals
from advocacy.reach.totals.common import ALL, BUILT, VALUES, _inline, _read_frontier, month_of, next_month


def ready() -> bool:
    """True once the totals were built (:func:`rebuild`); until then the reports read the per-share rows."""
    return bool(db.session.scalar(select(exists().where(MonthTotals.grain == _inline(BUILT)))))


def range_rows(grain: str, by: str, date_from: dt.date, date_to: dt.date, network: str | None = None,
               team_id: int | None = None) -> list[tuple[Any, ...]]:
    """Summed figures of the shares published in ``[date_from, date_to]``, per ``by`` and rate card.

    Returns rows ``(key, rate_card_id, *VALUES)`` with ``key`` the grain key (``by="key"``), the network
    (``by="network"``) or the day (``by="day"``), and ``rate_card_id`` 0 for none. Rows without shares are left out.

    Args:
        grain: one of ``GRAINS``.
        by: ``key``, ``network`` or ``day``.
        date_from: first publication day.
        date_to: last publication day.
        network: only this network.
        team_id: only shares made by members of this team (grains person and team).
    """
    parts = range_parts(grain, by, date_from, date_to, network, team_id)
    if parts is None:
        return []
    stmt = (select(parts.c.k, parts.c.card, *[total(parts.c[v]) for v in VALUES])
            .group_by(parts.c.k, parts.c.card))
    return [tuple(r) for r in db.session.execute(stmt) if r[2]]


def total(column: Any) -> Any:
    """SUM of an integer column as an integer. PostgreSQL sums BIGINT in NUMERIC, more than twice as slow as in
    double precision, which is exact for every sum below 2**53 (9 × 10**15): far beyond any count kept here."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.sum(cast(column, Float)), BigInteger)
    return func.sum(column)


def range_parts(grain: str, by: str, date_from: dt.date, date_to: dt.date, network: str | None = None,
                team_id: int | None = None, values: Sequence[str] = VALUES) -> Any:
    """The signed rows whose sums per ``k`` (and ``card``) are the figures of the shares published in the range:
    a subquery with columns ``k``, ``card`` and ``values``, to group as the caller needs; ``None`` when empty.

    Args:
        grain: one of ``GRAINS``.
        by: ``key``, ``network`` or ``day``.
        date_from: first publication day.
        date_to: last publication day.
        network: only this network.
        team_id: only shares made by members of this team (grains person and team).
        values: the figures wanted (of ``VALUES``).
    """
    parts = []

    def where(model: Any) -> list[Any]:
        conds = [model.grain == _inline(grain)]
        if network is not None:
            conds.append(model.network == network)
        if team_id is not None:
            conds.append(model.team_id == team_id)
        return conds

    def rows(model: Any, sign: int, *conds: Any) -> None:
        parts.append(select(*_columns(model, by, sign, tuple(values))).where(*where(model), *conds))

    def days(first: dt.date, last: dt.date, sign: int) -> None:
        if first <= last:
            rows(DayTotals, sign, DayTotals.day >= first, DayTotals.day <= last)

    span = (date_to - date_from).days + 1
    edge = _edge_days(date_to) + _edge_days(date_from - dt.timedelta(days=1))
    top = _read_frontier(grain) if by != "day" and span > edge + 31 else None
    if top is None:
        days(date_from, date_to, 1)
    else:
        for x, sign in ((date_to, 1), (date_from - dt.timedelta(days=1), -1)):
            # S(x), everything published on or before x: a cumulative row and the days to the nearest month start
            start, after = month_of(x), next_month(month_of(x))
            if (x - start).days + 1 <= (after - x).days - 1:
                month, first, last, day_sign = start, start, x, 1
            else:
                month, first, last, day_sign = after, x + dt.timedelta(days=1), after - dt.timedelta(days=1), -1
            if month > top:  # past the frontier: nothing was published after it, S(x) is the frontier row
                rows(MonthTotals, sign, MonthTotals.month == top)
                continue
            rows(MonthTotals, sign, MonthTotals.month == month)
            days(first, last, sign * day_sign)
    if not parts:
        return None
    return union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()


_COLUMN_CACHE: dict[tuple[Any, str, int, tuple[str, ...]], list[Any]] = {}


def _columns(model: Any, by: str, sign: int, values: tuple[str, ...]) -> list[Any]:
    """The select list of one part of :func:`range_parts` (``k``, ``card``, the values times ``sign``), built once:
    building 21 labelled expressions for each of the dozen parts a dashboard reads cost more than running them."""
    key = (model, by, sign, values)
    if key not in _COLUMN_CACHE:
        _COLUMN_CACHE[key] = [getattr(model, by).label("k"), model.rate_card_id.label("card"),
                              *[(getattr(model, v) * sign if sign != 1 else getattr(model, v)).label(v)
                                for v in values]]
    return _COLUMN_CACHE[key]


def _edge_days(x: dt.date) -> int:
    start, after = month_of(x), next_month(month_of(x))
    return min((x - start).days + 1, (after - x).days - 1)


def activity_rows(date_from: dt.date, date_to: dt.date, network: str | None = None,
                  team_id: int | None = None) -> list[tuple[dt.date, int, int, int, int]]:
    """(day, unique clicks, hits, engagement, snapshots with engagement) per day in the range, for the shares
    published in it.

    Args:
        date_from: first day (of publication and of activity).
        date_to: last day.
        network: only this network.
        team_id: only shares made by members of this team.
    """
    a = ActivityTotals
    conds = [a.grain == _inline("all" if team_id is None else "team"),
             a.team_id == (ALL if team_id is None else team_id),
             a.day >= date_from, a.day <= date_to, a.share_day >= date_from, a.share_day <= date_to]
    if network is not None:
        conds.append(a.network == network)
    return [(r[0], int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in db.session.execute(
        select(a.day, func.sum(a.unique_clicks), func.sum(a.hits), func.sum(a.engagement), func.sum(a.engagement_n))
        .where(*conds).group_by(a.day))]


def networks() -> list[str]:
    """Every network with a published share."""
    top = _read_frontier("network")
    return list(db.session.scalars(select(MonthTotals.network).distinct().where(
        MonthTotals.grain == _inline("network"), MonthTotals.month == top, MonthTotals.shares > 0)))
