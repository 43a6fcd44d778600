"""The click rollup: raw ``click_events`` → per-share, per-day counts, in one transaction per batch.

A batch is classified (people or link-preview bots, by user agent), counted into ``click_daily`` and
``share_stats``, and deleted in the same transaction, so a batch is counted exactly once even if the job dies half
way. A Redis lock keeps two rollups from counting the same batch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from crawlerdetect import CrawlerDetect
from flask import current_app
from redis.exceptions import LockError
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db, redis_client
from advocacy.people.models import User
from advocacy.reach import totals
from advocacy.reach.models import (
    ActivityTotals,
    ClickDaily,
    ClickEvent,
    ClickVisitor,
    DayTotals,
    MonthTotals,
    RateCard,
    Result,
    ShareStats,
    VisitorSalt,
)

log = logging.getLogger(__name__)
LOCK = "advocacy:reach:rollup"
# Raw clicks counted per transaction. SQLite has one writer at a time: while a batch is counted the click redirect
# waits for the write lock (at about 3,500 clicks/s, 50,000 would hold it some 14 s), so its batches are smaller and
# a short pause after each lets the clicks waiting for the lock in before the next batch takes it.
BATCH = {"postgresql": 50_000, "sqlite": 5_000}
SQLITE_PAUSE_SECONDS = 0.05
# Previewers CrawlerDetect does not know (yet), and an empty user agent: no person's browser sends none.
EXTRA_PREVIEWERS = re.compile(r"cardyb|bluesky|mastodon|akkoma|pleroma|misskey|iframely|opengraph|unfurl",
                              re.IGNORECASE)
_detector = CrawlerDetect()


@functools.lru_cache(maxsize=8192)
def is_bot(user_agent: str) -> bool:
    """True for link-preview fetchers, crawlers and scripted clients; they are counted apart, never as clicks.

    Args:
        user_agent: the request's User-Agent header.
    """
    ua = user_agent.strip()
    return not ua or bool(EXTRA_PREVIEWERS.search(ua)) or bool(_detector.isCrawler(ua))


def upsert(model: Any) -> Any:
    """An INSERT … ON CONFLICT statement for the current backend (SQLite or PostgreSQL)."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def rollup(batch: int | None = None, max_batches: int | None = None) -> int:
    """Count pending raw clicks; returns how many events were rolled up.

    Args:
        batch: events per transaction (``BATCH``: on SQLite the click path waits for the write lock while one is
            counted).
        max_batches: stop after this many (the next run continues), so one run stays short; by default as many as
            make 1,000,000 events.
    """
    sqlite = db.engine.dialect.name == "sqlite"
    batch = batch or BATCH["sqlite" if sqlite else "postgresql"]
    max_batches = max_batches or max(1, 1_000_000 // batch)
    lock = redis_client().lock(LOCK, timeout=300, blocking_timeout=0)
    if not lock.acquire(blocking=False):
        log.info("event=rollup_skipped reason=another_rollup_running")
        return 0
    try:
        if not totals.ready():  # a new install or an upgrade: total what is there before counting more
            totals.rebuild()
            db.session.commit()
        create_share_stats()
        done = 0
        for _ in range(max_batches):
            n = _one_batch(batch)
            done += n
            if n < batch:
                break
            if sqlite:
                time.sleep(SQLITE_PAUSE_SECONDS)  # the clicks waiting for the write lock go first
            try:
                lock.reacquire()  # a long run keeps its lock
            except LockError:  # expired or lost (Redis restarted): stop; what is done stays counted once
                log.warning("event=rollup_lock_lost events=%s", done)
                break
        purge_old_visitors()
        if done:
            log.info("event=rollup events=%s", done)
        return done
    finally:
        with contextlib.suppress(LockError):  # expired: nothing of ours to release
            lock.release()


def _one_batch(batch: int) -> int:
    """Count the oldest ``batch`` raw clicks and delete them, in one transaction, set-based in SQL.

    The batch is moved into a temporary table and deleted from ``click_events`` first (PostgreSQL: one
    ``DELETE … RETURNING`` feeding the copy, so exactly the rows counted are the rows deleted, even if a click with a
    lower id commits meanwhile; SQLite: the write lock taken by :func:`totals.lock` keeps every other writer out).
    The distinct user agents are classified once each; then per (share, day) one ``GROUP BY`` gives the human hits,
    the bot hits and the visitors not seen before (``click_visitors``), added to ``click_daily``, ``share_stats``
    and the report totals.
    """
    totals.lock()
    first = select(ClickEvent.id).order_by(ClickEvent.id).limit(batch).subquery()
    last = db.session.scalar(select(func.max(first.c.id)))
    if last is None:
        db.session.rollback()
        return 0
    connection = db.session.connection()
    postgres = connection.dialect.name == "postgresql"
    for table in _TEMP.sorted_tables:
        table.create(connection)
    columns = ("share_id", "day", "visitor", "user_agent")
    if postgres:
        gone = (delete(ClickEvent).where(ClickEvent.id <= last)
                .returning(*[ClickEvent.__table__.c[c] for c in columns]).cte("gone"))
        connection.execute(insert(EVENTS).from_select(columns, select(*[gone.c[c] for c in columns])))
    else:
        connection.execute(insert(EVENTS).from_select(
            columns, select(*[ClickEvent.__table__.c[c] for c in columns]).where(ClickEvent.id <= last)))
        connection.execute(delete(ClickEvent).where(ClickEvent.id <= last))
    n = connection.scalar(select(func.count()).select_from(EVENTS)) or 0  # (a rowcount through a CTE: -1 on psycopg)
    agents = connection.scalars(select(EVENTS.c.user_agent).distinct()).all()
    bots = [{"user_agent": ua} for ua in agents if is_bot(ua or "")]
    if bots:
        connection.execute(insert(BOTS), bots)
        connection.execute(update(EVENTS).where(EVENTS.c.user_agent.in_(select(BOTS.c.user_agent))).values(bot=1))
    if postgres:
        connection.execute(text("ANALYZE rollup_events"))
    _count(connection)
    _add_to_totals(connection)
    for table in reversed(_TEMP.sorted_tables):
        table.drop(connection)
    db.session.commit()
    return int(n)


_TEMP = MetaData()
EVENTS = Table("rollup_events", _TEMP, Column("share_id", Integer, nullable=False), Column("day", Date, nullable=False),
               Column("visitor", String(32), nullable=False), Column("user_agent", String(512)),
               Column("bot", Integer, nullable=False, server_default="0"), prefixes=["TEMPORARY"])
BOTS = Table("rollup_bots", _TEMP, Column("user_agent", String(512), primary_key=True), prefixes=["TEMPORARY"])
COUNTS = Table("rollup_counts", _TEMP, Column("share_id", Integer, primary_key=True),
               Column("day", Date, primary_key=True), Column("hits", Integer, nullable=False),
               Column("unique_clicks", Integer, nullable=False), Column("bot_hits", Integer, nullable=False),
               prefixes=["TEMPORARY"])
MONTHS = Table("rollup_months", _TEMP, Column("month", Date, primary_key=True), prefixes=["TEMPORARY"])


def _count(connection: Any) -> None:
    """The batch's counts per (share, day) into ``rollup_counts``, then into ``click_visitors``, ``click_daily`` and
    ``share_stats``."""
    e, v = EVENTS, ClickVisitor.__table__
    human = e.c.bot == 0
    connection.execute(insert(COUNTS).from_select(
        ["share_id", "day", "hits", "unique_clicks", "bot_hits"],
        select(e.c.share_id, e.c.day, func.sum(1 - e.c.bot),
               func.count(case((and_(human, v.c.visitor.is_(None)), e.c.visitor)).distinct()), func.sum(e.c.bot))
        .select_from(e.outerjoin(v, and_(v.c.share_id == e.c.share_id, v.c.day == e.c.day,
                                         v.c.visitor == e.c.visitor)))
        .group_by(e.c.share_id, e.c.day)))
    connection.execute(upsert(ClickVisitor).from_select(
        ["share_id", "day", "visitor"], select(e.c.share_id, e.c.day, e.c.visitor).where(human).distinct())
        .on_conflict_do_nothing())
    stmt = upsert(ClickDaily).from_select(
        ["share_id", "day", "hits", "unique_clicks", "bot_hits"],
        select(COUNTS.c.share_id, COUNTS.c.day, COUNTS.c.hits, COUNTS.c.unique_clicks, COUNTS.c.bot_hits)
        .where(true()))  # SQLite: an INSERT … SELECT … ON CONFLICT needs a WHERE to parse
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["share_id", "day"],
        set_={"hits": ClickDaily.hits + stmt.excluded.hits,
              "unique_clicks": ClickDaily.unique_clicks + stmt.excluded.unique_clicks,
              "bot_hits": ClickDaily.bot_hits + stmt.excluded.bot_hits}))
    per_share = (select(COUNTS.c.share_id, func.sum(COUNTS.c.hits).label("hits"),
                        func.sum(COUNTS.c.unique_clicks).label("unique_clicks"),
                        func.sum(COUNTS.c.bot_hits).label("bot_hits"))
                 .group_by(COUNTS.c.share_id).subquery())
    s = ShareStats.__table__
    connection.execute(update(s).where(s.c.share_id == per_share.c.share_id)
                       .values(hits=s.c.hits + per_share.c.hits,
                               unique_clicks=s.c.unique_clicks + per_share.c.unique_clicks,
                               bot_hits=s.c.bot_hits + per_share.c.bot_hits))


def _add_to_totals(connection: Any) -> None:
    """The batch's counts added to the report totals (:mod:`advocacy.reach.totals`) in SQL: per grain one
    ``INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE`` into the day totals, the cumulative month totals (every
    month after the publication day up to the grain's frontier) and the activity totals, with the grains' keys as
    :func:`totals.rebuild` groups them. Shares without their figures row yet are totalled when it is created."""
    if not totals.ready():  # not built yet: the rebuild totals everything, this batch included
        return
    c, s = COUNTS, ShareStats.__table__
    joined = c.join(s, s.c.share_id == c.c.share_id)
    newest = connection.scalar(select(func.max(s.c.day)).select_from(joined))
    if newest is None:
        return
    need = totals.next_month(totals.month_of(newest))  # the first cumulative month the newest share is in
    frontiers = {grain: totals.frontier(grain) for grain in totals.GRAINS}
    if any(f is None or f < need for f in frontiers.values()):  # never after a rebuild; kept exact all the same
        _add_via_changes(connection)
        return
    oldest = connection.scalar(select(func.min(s.c.day)).select_from(joined))
    connection.execute(insert(MONTHS), [{"month": m} for m in totals.months(
        totals.next_month(totals.month_of(oldest)), max(f for f in frontiers.values() if f is not None))])
    _, _, dims = totals._share_sums()  # the grains' (key, team, GROUP BY) over share_stats, as the rebuild has them
    card = func.coalesce(s.c.rate_card_id, 0)
    sums = [func.sum(c.c.hits), func.sum(c.c.unique_clicks), func.sum(c.c.bot_hits)]
    figures = ["hits", "unique_clicks", "bot_hits"]
    keys = ["grain", "key", "team_id", "network", "rate_card_id"]
    for grain, (key, team, group) in dims.items():
        for model, when, extra in ((DayTotals, s.c.day, []), (MonthTotals, MONTHS.c.month, [MONTHS])):
            source = joined.join(MONTHS, and_(MONTHS.c.month > s.c.day, MONTHS.c.month <= frontiers[grain])) \
                if extra else joined
            stmt = upsert(model).from_select(
                [*keys, "day" if model is DayTotals else "month", *figures],
                select(literal(grain), key, team, s.c.network, card, when, *sums).select_from(source)
                .where(true()).group_by(when, *group, s.c.network, card))
            connection.execute(stmt.on_conflict_do_update(
                index_elements=[*keys, "day" if model is DayTotals else "month"],
                set_={f: model.__table__.c[f] + stmt.excluded[f] for f in figures}))
    team = func.coalesce(s.c.team_id, totals.NO_TEAM)
    for grain, team_col, group in (("all", literal_column(str(totals.ALL)), []), ("team", team, [team])):
        stmt = upsert(ActivityTotals).from_select(
            ["grain", "team_id", "day", "share_day", "network", "hits", "unique_clicks"],
            select(literal(grain), team_col, c.c.day, s.c.day, s.c.network, sums[0], sums[1]).select_from(joined)
            .where(true()).group_by(*group, c.c.day, s.c.day, s.c.network)
            .having(or_(sums[0] != 0, sums[1] != 0)))  # bots only: no activity (as the rebuild leaves it)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=["grain", "team_id", "day", "share_day", "network"],
            set_={f: ActivityTotals.__table__.c[f] + stmt.excluded[f] for f in ("hits", "unique_clicks")}))


def _add_via_changes(connection: Any) -> None:
    """:func:`_add_to_totals` through :class:`totals.Changes` (which also moves a grain's frontier forward)."""
    c, s = COUNTS, ShareStats.__table__
    joined = c.join(s, s.c.share_id == c.c.share_id)
    changes = totals.Changes()
    dims = (s.c.day, s.c.talking_point_id, s.c.user_id, s.c.team_id, s.c.network, s.c.rate_card_id)
    rest = [0] * (len(totals.VALUES) - 5)
    for row in connection.execute(select(*dims, func.sum(c.c.hits).label("h"), func.sum(c.c.unique_clicks).label("u"),
                                         func.sum(c.c.bot_hits).label("b")).select_from(joined).group_by(*dims)):
        changes.add(row, [0, 0, int(row.h), int(row.u), int(row.b), *rest])
    for row in connection.execute(select(c.c.day.label("click_day"), s.c.day, s.c.network, s.c.team_id,
                                         func.sum(c.c.hits).label("h"), func.sum(c.c.unique_clicks).label("u"))
                                  .select_from(joined).group_by(c.c.day, s.c.day, s.c.network, s.c.team_id)):
        changes.activity_on(row, row.click_day, hits=int(row.h), unique_clicks=int(row.u))
    changes.apply()


def purge_old_visitors(today: dt.date | None = None) -> None:
    """Forget visitor hashes and salts older than yesterday: afterwards only the counts remain.

    Args:
        today: the current UTC day (tests pass one).
    """
    cutoff = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)
    db.session.execute(delete(ClickVisitor).where(ClickVisitor.day < cutoff))
    db.session.execute(delete(VisitorSalt).where(VisitorSalt.day < cutoff))
    db.session.commit()


STATS_CHUNK = 500  # share_stats rows built and committed at a time


def create_share_stats(limit: int = 5_000) -> int:
    """Give every newly published share its ``share_stats`` row (team at share time, first metrics fetch due), in
    chunks of ``STATS_CHUNK`` each committed before the next is read: the ORM rows of 5,000 shares at once cost a
    worker ~25 MiB, a high-water mark its RSS kept (and raised whenever more shares were published between two runs).

    Args:
        limit: shares per call; the next run picks up the rest.
    """
    done = 0
    while done < limit:
        size = min(STATS_CHUNK, limit - done)
        n = _create_share_stats(size)
        done += n
        if n < size:
            break
    return done


def _create_share_stats(limit: int) -> int:
    schedule = current_app.config["REACH_METRICS_SCHEDULE"]
    totals.lock()
    rows = db.session.execute(
        select(Share.id, Share.talking_point_id, Share.user_id, User.team_id, Share.network, Share.published_at,
               Share.followers_at_share)
        .join(User, User.id == Share.user_id)
        .outerjoin(ShareStats, ShareStats.share_id == Share.id)
        .where(Share.status == ShareStatus.PUBLISHED, ShareStats.share_id.is_(None)).limit(limit)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    clicks = _click_totals(r[0] for r in rows)
    cards = cards_by_network()
    results = _result_counts([r[0] for r in rows])
    changes = totals.Changes()
    created: dict[int, ShareStats] = {}
    for share_id, tp_id, user_id, team_id, network, published_at, followers in rows:
        published_at = published_at or dt.datetime.now(dt.UTC)
        h, u, b = clicks.get(share_id, (0, 0, 0))
        stats = created[share_id] = ShareStats(
            share_id=share_id, talking_point_id=tp_id, user_id=user_id, team_id=team_id, network=network,
            day=published_at.date(), followers=followers, hits=h, unique_clicks=u, bot_hits=b,
            rate_card_id=card_for(cards.get(network, []), published_at.date()),
            metrics_step=0, metrics_due_at=published_at + dt.timedelta(seconds=schedule[0]))
        db.session.add(stats)
        changes.share(stats, results=results.get(share_id, 0))
    for share_id, day, h, u in db.session.execute(  # clicks counted before the share had its figures row
            select(ClickDaily.share_id, ClickDaily.day, ClickDaily.hits, ClickDaily.unique_clicks)
            .where(ClickDaily.share_id.in_(list(created)))):
        changes.activity_on(created[share_id], day, hits=h, unique_clicks=u)
    changes.apply()
    db.session.commit()
    log.info("event=share_stats_created count=%s", len(rows))
    return len(rows)


def _click_totals(share_ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
    ids = list(share_ids)
    rows = db.session.execute(
        select(ClickDaily.share_id, func.sum(ClickDaily.hits), func.sum(ClickDaily.unique_clicks),
               func.sum(ClickDaily.bot_hits)).where(ClickDaily.share_id.in_(ids)).group_by(ClickDaily.share_id)
    ).all()
    return {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows}


def _result_counts(share_ids: list[int]) -> dict[int, int]:
    return dict(db.session.execute(select(Result.share_id, func.count()).where(Result.share_id.in_(share_ids))
                                   .group_by(Result.share_id)).all())


def cards_by_network() -> dict[str, list[tuple[dt.date, int]]]:
    """Every rate card as (effective_from, id), newest first, per network."""
    cards: dict[str, list[tuple[dt.date, int]]] = defaultdict(list)
    for network, effective, card_id in db.session.execute(
            select(RateCard.network, RateCard.effective_from, RateCard.id)
            .order_by(RateCard.effective_from.desc(), RateCard.version.desc())):
        cards[network].append((effective, card_id))
    return cards


def card_for(cards: list[tuple[dt.date, int]], day: dt.date) -> int | None:
    """The id of the card in effect on ``day`` (the newest that took effect on or before it)."""
    return next((card_id for effective, card_id in cards if effective <= day), None)
