"""Keeping the report totals: the changes of the jobs that change the per-share figures, added in their
transaction."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, delete, false, func, insert, literal, select

from advocacy.extensions import db
from advocacy.reach.models import ActivityTotals, DayTotals, MonthTotals
from advocacy.reach.totals.common import (
    ACTIVITY,
    ALL,
    LOCK_ID,
    VALUES,
    ActivityKey,
    DayKey,
    Vector,
    _forget_frontiers,
    _team,
    frontier,
    grain_keys,
    month_of,
    months,
    next_month,
    share_vector,
)
from advocacy.reach.totals.read import ready


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
