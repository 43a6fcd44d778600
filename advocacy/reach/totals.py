"""Report totals: the figures of ``share_stats``, ``click_daily`` and ``metric_snapshots`` summed ahead of time.

The reports read these small tables instead of one row per share (see :mod:`advocacy.reach.reports`):

* ``reach_day_totals``: per publication day and grain key (talking point, person, team, or the whole network), the
  sums a report row is made of. A short range is a GROUP BY over its days.
* ``reach_month_totals``: the same sums, cumulative: everything published before the month's first day, one row
  per key for every month up to the newest (the "frontier"). A long range ``[a, b]`` is ``S(b) - S(a - 1)`` where
  ``S(x)`` is a month row plus or minus the few days between ``x`` and the nearest month boundary, so a year of
  100,000 shares costs a few thousand rows whatever the grouping.
* ``reach_activity_totals``: clicks per click day and engagement gained per fetch day, by publication day, network
  and team, for the chart.

Every writer of the raw figures (share stats created, clicks rolled up, a snapshot stored, a rate card added, a
result recorded) hands its change to a :class:`Changes`, which adds it to the three tables in the same transaction,
so the totals are exactly the sums of the rows. :func:`rebuild` recreates them from the raw tables
(``advocacy reach rebuild-totals``), for after an upgrade or a bulk import.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from flask import g, has_request_context
from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    String,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from advocacy.extensions import db
from advocacy.reach.models import ActivityTotals, ClickDaily, DayTotals, MetricSnapshot, MonthTotals, Result, ShareStats

log = logging.getLogger(__name__)

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


def _upsert(model: Any, keys: Sequence[str], columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    from advocacy.reach.rollup import upsert

    table = model.__table__
    for start in range(0, len(rows), 2000):
        stmt = upsert(model)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={c: table.c[c] + stmt.excluded[c] for c in columns})
        db.session.execute(stmt, rows[start:start + 2000])


def lock() -> None:
    """Serialise writers of the totals until the transaction ends, so what a writer reads after this is what it
    changes (two jobs creating the same share's figures row would otherwise both insert it).

    PostgreSQL: an advisory lock. SQLite: a write statement that touches nothing opens the transaction and takes the
    database's one write lock now (its driver starts a transaction only at the first write, so the reads before it
    would see a state another writer is about to change).
    """
    if db.engine.dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(LOCK_ID)))
    else:
        db.session.execute(delete(MonthTotals).where(false()))


class Changes:
    """Changes to the raw figures, added to the totals by :meth:`apply` in the caller's transaction."""

    def __init__(self) -> None:
        self.day: dict[DayKey, Vector] = defaultdict(lambda: [0] * len(VALUES))
        self.activity: dict[ActivityKey, Vector] = defaultdict(lambda: [0] * len(ACTIVITY))

    def add(self, stats: Any, vector: Sequence[int], sign: int = 1) -> None:
        """Add ``vector`` (in ``VALUES`` order) to the totals of the share ``stats`` describes.

        Args:
            stats: the share's ``ShareStats`` (publication day, talking point, person, team, network, rate card).
            vector: the change.
            sign: -1 to take it away.
        """
        card = stats.rate_card_id or 0
        for grain, key, team in grain_keys(stats.talking_point_id, stats.user_id, stats.team_id):
            cell = self.day[(grain, stats.day, key, team, stats.network, card)]
            for i, v in enumerate(vector):
                cell[i] += sign * v

    def share(self, stats: Any, sign: int = 1, results: int = 0) -> None:
        """Add (or with ``sign=-1`` take away) a share's whole contribution as it stands now.

        Args:
            stats: the share's ``ShareStats``.
            sign: 1 or -1.
            results: results recorded against it.
        """
        self.add(stats, share_vector(stats, results), sign)

    def activity_on(self, stats: Any, day: dt.date, hits: int = 0, unique_clicks: int = 0,
                    engagement: int | None = None) -> None:
        """Clicks on ``day`` or engagement gained on ``day`` (a snapshot's delta; ``None``: none reported).

        Args:
            stats: the share's ``ShareStats``.
            day: the day it happened.
            hits: human hits.
            unique_clicks: new unique visitors.
            engagement: the snapshot's engagement delta.
        """
        change = [hits, unique_clicks, engagement or 0, 0 if engagement is None else 1]
        if not any(change):
            return
        for grain, team in (("all", ALL), ("team", _team(stats.team_id))):
            cell = self.activity[(grain, team, day, stats.day, stats.network)]
            for i, v in enumerate(change):
                cell[i] += v

    def apply(self) -> None:
        """Add the changes to the totals (within the caller's transaction, which commits them)."""
        day = {k: v for k, v in self.day.items() if any(v)}
        activity = {k: v for k, v in self.activity.items() if any(v)}
        if not day and not activity:
            return
        lock()
        if not ready():  # not built yet: the rebuild (the next rollup) will total everything, this included
            return
        _upsert(DayTotals, ("grain", "day", "key", "team_id", "network", "rate_card_id"), VALUES,
                [dict(zip(("grain", "day", "key", "team_id", "network", "rate_card_id"), k, strict=True))
                 | dict(zip(VALUES, v, strict=True)) for k, v in day.items()])
        _add_cumulative(day)
        _upsert(ActivityTotals, ("grain", "team_id", "day", "share_day", "network"), ACTIVITY,
                [dict(zip(("grain", "team_id", "day", "share_day", "network"), k, strict=True))
                 | dict(zip(ACTIVITY, v, strict=True)) for k, v in activity.items()])
        self.day.clear()
        self.activity.clear()


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


def _extend(grain: str, old: dt.date, new: dt.date) -> None:
    """Copy every key's row at ``old`` to each month after it up to ``new`` (nothing was published in between)."""
    cols = [c for c in MonthTotals.__table__.c if c.name not in ("grain", "month")]
    for month in months(next_month(old), new):
        db.session.execute(insert(MonthTotals).from_select(
            ["grain", "month", *[c.name for c in cols]],
            select(literal(grain), literal(month, Date), *cols).where(MonthTotals.grain == grain,
                                                                     MonthTotals.month == old)))


def _add_cumulative(day: dict[DayKey, Vector]) -> None:
    _forget_frontiers()
    by_grain: dict[str, dict[tuple[int, int, str, int, dt.date], Vector]] = defaultdict(dict)
    for (grain, d, key, team, network, card), v in day.items():
        first = next_month(month_of(d))  # the first month whose cumulative row includes day d
        cell = by_grain[grain].setdefault((key, team, network, card, first), [0] * len(VALUES))
        for i, x in enumerate(v):
            cell[i] += x
    for grain, changes in by_grain.items():
        old = frontier(grain)
        need = max(k[4] for k in changes)
        new = max(old, need) if old else need
        if old is not None and new > old:
            _extend(grain, old, new)
        rows: dict[tuple[dt.date, int, int, str, int], Vector] = {}
        for (key, team, network, card, first), v in changes.items():
            for month in months(first, new):
                cell = rows.setdefault((month, key, team, network, card), [0] * len(VALUES))
                for i, x in enumerate(v):
                    cell[i] += x
        _upsert(MonthTotals, ("grain", "month", "key", "team_id", "network", "rate_card_id"), VALUES,
                [{"grain": grain, "month": k[0], "key": k[1], "team_id": k[2], "network": k[3], "rate_card_id": k[4]}
                 | dict(zip(VALUES, v, strict=True)) for k, v in rows.items()])


# ------------------------------------------------------------------------------------------------------ reading
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


# ------------------------------------------------------------------------------------------------------ rebuild
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

