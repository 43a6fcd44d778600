"""The click rollup: raw ``click_events`` → per-share, per-day counts, in one transaction per batch.

A batch is classified (people or link-preview bots, by user agent), counted into ``click_daily`` and
``share_stats``, and deleted in the same transaction, so a batch is counted exactly once even if the job dies half
way. A Redis lock keeps two rollups from counting the same batch.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from crawlerdetect import CrawlerDetect
from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db, redis_client
from advocacy.people.models import User
from advocacy.reach import totals
from advocacy.reach.models import ClickDaily, ClickEvent, ClickVisitor, RateCard, Result, ShareStats, VisitorSalt

log = logging.getLogger(__name__)
LOCK = "advocacy:reach:rollup"
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


def rollup(batch: int = 20_000, max_batches: int = 50) -> int:
    """Count pending raw clicks; returns how many events were rolled up.

    Args:
        batch: events per transaction.
        max_batches: stop after this many (the next run continues), so one run stays short.
    """
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
        purge_old_visitors()
        if done:
            log.info("event=rollup events=%s", done)
        return done
    finally:
        lock.release()


def _one_batch(batch: int) -> int:
    totals.lock()
    events = db.session.execute(
        select(ClickEvent.id, ClickEvent.share_id, ClickEvent.day, ClickEvent.visitor, ClickEvent.user_agent)
        .order_by(ClickEvent.id).limit(batch)
    ).all()
    if not events:
        db.session.rollback()
        return 0
    hits: dict[tuple[int, dt.date], int] = defaultdict(int)
    bots: dict[tuple[int, dt.date], int] = defaultdict(int)
    visitors: dict[tuple[int, dt.date], set[str]] = defaultdict(set)
    for _id, share_id, day, visitor, user_agent in events:
        key = (share_id, day)
        if is_bot(user_agent):
            bots[key] += 1
        else:
            hits[key] += 1
            visitors[key].add(visitor)
    uniques = _count_new_visitors(visitors)
    per_share: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    stats = _dimensions({share_id for share_id, _day in set(hits) | set(bots)})
    changes = totals.Changes()
    daily = []
    for key in set(hits) | set(bots):
        h, u, b = hits.get(key, 0), uniques.get(key, 0), bots.get(key, 0)
        daily.append({"share_id": key[0], "day": key[1], "hits": h, "unique_clicks": u, "bot_hits": b})
        counts = per_share[key[0]]
        counts[0] += h
        counts[1] += u
        counts[2] += b
        if key[0] in stats:
            changes.activity_on(stats[key[0]], key[1], hits=h, unique_clicks=u)
    # One statement per kind for the whole batch (executemany), not one compiled statement per (share, day)
    connection = db.session.connection()
    stmt = upsert(ClickDaily)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=["share_id", "day"],
        set_={"hits": ClickDaily.hits + stmt.excluded.hits,
              "unique_clicks": ClickDaily.unique_clicks + stmt.excluded.unique_clicks,
              "bot_hits": ClickDaily.bot_hits + stmt.excluded.bot_hits}), daily)
    connection.execute(
        update(ShareStats).where(ShareStats.share_id == bindparam("b_share"))
        .values(hits=ShareStats.hits + bindparam("b_hits"),
                unique_clicks=ShareStats.unique_clicks + bindparam("b_unique"),
                bot_hits=ShareStats.bot_hits + bindparam("b_bots")),
        [{"b_share": share_id, "b_hits": h, "b_unique": u, "b_bots": b}
         for share_id, (h, u, b) in per_share.items()])
    for share_id, (h, u, b) in per_share.items():
        if share_id in stats:
            changes.add(stats[share_id], [0, 0, h, u, b] + [0] * (len(totals.VALUES) - 5))
    changes.apply()
    db.session.execute(delete(ClickEvent).where(ClickEvent.id <= events[-1][0]))
    db.session.commit()
    return len(events)


def _dimensions(share_ids: set[int]) -> dict[int, Any]:
    """The report dimensions (day, talking point, person, team, network, rate card) of the shares with figures."""
    ids = sorted(share_ids)
    out: dict[int, Any] = {}
    for start in range(0, len(ids), 5000):
        out.update((r.share_id, r) for r in db.session.execute(
            select(ShareStats.share_id, ShareStats.day, ShareStats.talking_point_id, ShareStats.user_id,
                   ShareStats.team_id, ShareStats.network, ShareStats.rate_card_id)
            .where(ShareStats.share_id.in_(ids[start:start + 5000]))))
    return out


def _count_new_visitors(visitors: dict[tuple[int, dt.date], set[str]]) -> dict[tuple[int, dt.date], int]:
    """Remember the batch's visitor hashes; per (share, day), how many were not seen before (the rows inserted)."""
    rows = [{"share_id": share_id, "day": day, "visitor": v} for (share_id, day), seen in visitors.items()
            for v in seen]
    new: dict[tuple[int, dt.date], int] = defaultdict(int)
    for start in range(0, len(rows), 1000):
        inserted = db.session.execute(upsert(ClickVisitor).values(rows[start:start + 1000]).on_conflict_do_nothing()
                                      .returning(ClickVisitor.share_id, ClickVisitor.day))
        for share_id, day in inserted:
            new[(share_id, day)] += 1
    return new


def purge_old_visitors(today: dt.date | None = None) -> None:
    """Forget visitor hashes and salts older than yesterday: afterwards only the counts remain.

    Args:
        today: the current UTC day (tests pass one).
    """
    cutoff = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)
    db.session.execute(delete(ClickVisitor).where(ClickVisitor.day < cutoff))
    db.session.execute(delete(VisitorSalt).where(VisitorSalt.day < cutoff))
    db.session.commit()


def create_share_stats(limit: int = 5_000) -> int:
    """Give every newly published share its ``share_stats`` row (team at share time, first metrics fetch due).

    Args:
        limit: shares per call; the next run picks up the rest.
    """
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
