"""Staggered auto-share: approving a talking point fans it out, in a background job, to everyone who opted in to
auto-share one of its topics.

Approval only queues the job (after the commit, from an ORM event, so the content workflow needs no hook and the
approving request returns at once). The job places one share per person and connected network, spread evenly over
``DELIVERY_FANOUT_WINDOW_MINUTES``, each moved into the person's own sharing hours (their timezone) and past days
where their daily cap is spent, and gives each person the copy variant assigned to them (the one their feed shows),
so the variants spread evenly across the audience. Rows are inserted and their jobs scheduled in chunks; the
``FanOut`` row carries the progress.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from sqlalchemy import event, literal, or_, select
from sqlalchemy.orm import Session

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import LABELS
from advocacy.content.models import Status, TalkingPoint
from advocacy.delivery import consent, rules, services
from advocacy.delivery.models import FanOut, Share, ShareStatus
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.people.models import User
from workers import queues

log = logging.getLogger(__name__)
CHUNK = 2000
MAX_DAYS = 14  # a person whose hours and cap leave no room within two weeks is skipped
COUNTED = (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PUBLISHING, ShareStatus.PUBLISHED)


# ------------------------------------------------------------------------------------------------ the approval hook
def _on_status(target: TalkingPoint, value: str, old: Any, _initiator: Any) -> None:
    if value == Status.APPROVED and old != Status.APPROVED and (target.topics or "").strip():
        session = Session.object_session(target)
        if session is not None:
            session.info.setdefault("advocacy_fanout", set()).add(target.id)


def _after_commit(session: Session) -> None:
    ids = session.info.pop("advocacy_fanout", None)
    if not ids or not has_app_context():
        return
    for tp_id in sorted(i for i in ids if i is not None):
        queues.enqueue_fanout(redis_client(), tp_id)


def _after_rollback(session: Session) -> None:
    session.info.pop("advocacy_fanout", None)


def listen() -> None:
    """Queue a fan-out whenever a talking point with topics becomes approved (registered once, from models)."""
    if not event.contains(TalkingPoint.status, "set", _on_status):
        event.listen(TalkingPoint.status, "set", _on_status)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


# -------------------------------------------------------------------------------------------------------- targets
def topics_of(text: str) -> list[str]:
    return [t for t in dict.fromkeys((text or "").lower().split()) if t]


def targets(tp: TalkingPoint) -> list[tuple[int, int, str, str, int, int, int, int | None]]:
    """(user id, account id, network, timezone, hours start, hours end, daily cap, followers) of everyone the
    talking point should auto-share to: everyone the sharing rule lets share it now (``rules.eligible``: aimed at,
    active, opted in, policy acknowledged, inside its window), one of its topics chosen, account connected (LinkedIn:
    with their yearly consent to automatic posting in force), and no share of it on that network yet."""
    if not topics_of(tp.topics):
        return []
    query = audience(tp, utcnow())
    return [tuple(r) for r in db.session.execute(query.order_by(User.id))]


def audience(tp: TalkingPoint, at: dt.datetime, *, preview: bool = False) -> Any:
    """The fan-out's audience query, a ``Select`` (see ``targets``), one row per person and network.

    Args:
        tp: the talking point.
        at: now.
        preview: count it before approval (the approval page's X cost): a talking point in review counts as
            approved.
    """
    topics = topics_of(tp.topics) or [""]
    padded = literal(" ") + User.auto_share_topics + literal(" ")
    conditions = rules.clauses(at, due=True).values() if preview else rules.eligible(at)
    return (
        select(User.id, ConnectedAccount.id, ConnectedAccount.network, User.timezone, User.share_hours_start,
               User.share_hours_end, User.daily_share_cap, ConnectedAccount.followers)
        .join(ConnectedAccount, ConnectedAccount.user_id == User.id)
        .join(TalkingPoint, TalkingPoint.id == tp.id)
        .where(*conditions, User.auto_share_topics != "",
               or_(*(padded.like(f"% {t} %") for t in topics)),
               ConnectedAccount.status == AccountStatus.ACTIVE, ConnectedAccount.network.in_(tuple(LABELS)),
               consent.audience_clause(at),
               ~select(Share.id).where(Share.talking_point_id == tp.id, Share.user_id == User.id,
                                       Share.network == ConnectedAccount.network).exists())
    )


# ---------------------------------------------------------------------------------------------------------- slots
@dataclass
class Placement:
    user_id: int
    account_id: int
    network: str
    at: dt.datetime
    followers: int | None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def fit(at: dt.datetime, zone: ZoneInfo, start_h: int, end_h: int, frac: float,
        used: dict[dt.date, int], cap: int) -> dt.datetime | None:
    """The first time at or after ``at`` inside the person's hours on a day with room under their cap.

    Args:
        at: the evenly spread time (aware).
        zone: the person's timezone.
        start_h: first local hour they share in; end_h: the hour they stop (exclusive).
        frac: where in their hours a moved share lands (0..1), so moved shares do not all land on the hour.
        used: shares already placed per local day (updated when a place is found).
        cap: shares per local day.
    """
    if cap < 1 or not 0 <= start_h < end_h <= 24:
        return None
    local = at.astimezone(zone)
    span = (end_h - start_h) * 3600
    for _ in range(MAX_DAYS + 1):
        day = local.date()
        day_start = dt.datetime.combine(day, dt.time(start_h), zone)
        day_end = day_start + dt.timedelta(seconds=span)
        if local < day_start:
            local = day_start + dt.timedelta(seconds=int(frac * span * 0.9))
        if local < day_end and used.get(day, 0) < cap:
            used[day] = used.get(day, 0) + 1
            return local.astimezone(dt.UTC)
        nxt = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(start_h), zone)
        local = nxt + dt.timedelta(seconds=int(frac * span * 0.9))
    return None


def _order(tp_id: int, user_id: int) -> str:
    return hashlib.blake2b(f"{tp_id}:{user_id}".encode(), digest_size=8).hexdigest()


def place(tp: TalkingPoint, rows: list[tuple[Any, ...]], now: dt.datetime,
          existing: dict[int, list[dt.datetime]] | None = None) -> list[Placement]:
    """Spread the targets over the window, then fit each into the person's hours and cap.

    Args:
        tp: the talking point.
        rows: what ``targets`` returned.
        now: the start of the window (or the talking point's own start, if later).
        existing: the times of each person's shares already counted against their cap.
    """
    window = dt.timedelta(minutes=current_app.config["DELIVERY_FANOUT_WINDOW_MINUTES"])
    start = max(now, tp.available_from or now)
    ordered = sorted(rows, key=lambda r: _order(tp.id, r[0]))
    n = len(ordered)
    used: dict[int, dict[dt.date, int]] = {}
    zones: dict[str, ZoneInfo] = {}
    rng = random.Random(tp.id)
    out: list[Placement] = []
    for i, (user_id, account_id, network, tz, start_h, end_h, cap, followers) in enumerate(ordered):
        zone = zones.setdefault(tz, _zone(tz))
        if user_id not in used:
            used[user_id] = defaultdict(int)
            for t in (existing or {}).get(user_id, []):
                used[user_id][t.astimezone(zone).date()] += 1
        spread = start + window * ((i + rng.random()) / n)
        at = fit(spread, zone, start_h, end_h, i / n, used[user_id], cap)
        if at is None or (tp.available_until is not None and at >= tp.available_until):
            continue
        out.append(Placement(user_id, account_id, network, at, followers))
    return out


def rotate(tp: TalkingPoint, placements: list[Placement]) -> dict[int, str]:
    """The text of each placement (by index): each person's own variant on that network, assigned as the feed
    assigns it (``composing.copy_for_person``), so the variants spread evenly and a person's auto-share posts the
    copy their feed showed them."""
    from advocacy.content.composing import _compose, copy_for_person  # copy, hashtags, disclosure

    return {i: _compose(tp, copy_for_person(tp, p.network, p.user_id)) for i, p in enumerate(placements)}


def _existing(user_ids: Iterable[int], since: dt.datetime) -> dict[int, list[dt.datetime]]:
    ids = list(user_ids)
    out: dict[int, list[dt.datetime]] = defaultdict(list)
    for start in range(0, len(ids), 5000):
        for user_id, at in db.session.execute(select(Share.user_id, Share.scheduled_at).where(
                Share.user_id.in_(ids[start : start + 5000]), Share.status.in_(COUNTED),
                Share.scheduled_at >= since - dt.timedelta(days=1))):
            out[user_id].append(at)
    return out


# ------------------------------------------------------------------------------------------------------------ run
def fanout_for(tp: TalkingPoint) -> FanOut | None:
    return db.session.scalar(select(FanOut).where(FanOut.talking_point_id == tp.id).order_by(FanOut.id.desc())
                             .limit(1))


def run(tp_id: int) -> int:
    """Fan talking point ``tp_id`` out to its auto-share audience; returns how many shares were placed.

    Safe to run twice, even at once: people who already have a share of it on a network are left out, and the
    database keeps one auto-share per talking point, person and network (a unique index), so a second run that
    raced the first places nobody twice.

    Args:
        tp_id: the approved talking point.
    """
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        return 0
    now = utcnow()
    fo = FanOut(talking_point_id=tp.id, version=tp.version, status="running", heartbeat_at=now)
    db.session.add(fo)
    db.session.commit()
    try:
        created = _run(tp, fo)
    except Exception as exc:
        db.session.rollback()
        fo.status, fo.error, fo.finished_at = "failed", f"{type(exc).__name__}: {exc}"[:2000], utcnow()
        db.session.commit()
        raise
    fo.status, fo.finished_at = "done", utcnow()
    db.session.commit()
    log.info("event=fanout_done fanout_id=%s talking_point_id=%s shares=%s", fo.id, tp.id, created)
    return created


def _beat(fo: FanOut) -> None:
    """Commit the fan-out's progress with a fresh heartbeat: the sweeper takes a fan-out whose heartbeat is older
    than the lease for one whose worker died (see ``recover``)."""
    fo.heartbeat_at = utcnow()
    db.session.commit()


def _insert_once() -> Any:
    """``INSERT … ON CONFLICT DO NOTHING``, in this database's dialect: a row that the auto-share unique index (one
    auto-share per talking point, person and network) or the live-share one (one live share per talking point,
    person and network: the person shared it by hand meanwhile) refuses is left out, not an error."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(Share).on_conflict_do_nothing()


def _run(tp: TalkingPoint, fo: FanOut) -> int:
    now = utcnow()
    if tp.status != Status.APPROVED or (tp.available_until is not None and tp.available_until <= now):
        return 0
    rows = targets(tp)
    fo.total = len(rows)
    _beat(fo)
    placements = place(tp, rows, now, _existing({r[0] for r in rows}, now))
    texts = rotate(tp, placements)
    _beat(fo)
    timeout = services.publish_timeout()
    conn = redis_client()
    created = 0
    insert_once = _insert_once()
    for start in range(0, len(placements), CHUNK):
        chunk = list(enumerate(placements))[start : start + CHUNK]
        values = [{"talking_point_id": tp.id, "user_id": p.user_id, "account_id": p.account_id,
                   "network": p.network, "text": texts[i], "link": tp.shared_link, "code": services.new_code(),
                   "status": ShareStatus.SCHEDULED if p.at > now else ShareStatus.QUEUED, "scheduled_at": p.at,
                   "followers_at_share": p.followers, "auto": True, "channel": "auto", "created_at": now,
                   "updated_at": now}
                  for i, p in chunk]
        # only the rows this run inserted come back: a share another run placed meanwhile is not queued twice
        placed = db.session.execute(insert_once.returning(Share.id, Share.scheduled_at), values).all()
        items = [(share_id, at, services.job_key(at)) for share_id, at in placed]
        fo.done = min(fo.total, start + len(chunk))
        fo.created = created = created + len(items)
        _beat(fo)  # commit before enqueue
        queues.enqueue_publish_many(conn, items, timeout)
    fo.done = fo.total
    return created


# -------------------------------------------------------------------------------------------------- safety net
STALLED = "the worker running this fan-out stopped; it was started again"
LOOKBACK = dt.timedelta(days=7)


def recover(now: dt.datetime | None = None) -> int:
    """The fan-out safety net, run by the sweeper: returns how many fan-outs it queued again.

    A fan-out still running when its heartbeat is older than ``DELIVERY_LEASE_SECONDS`` lost its worker: it is
    marked failed and queued again (the new run leaves out everyone already placed). A talking point approved (with
    topics) more than the grace period ago whose fan-out never started (Redis was down at approval, or lost the
    job) is queued too, unless the queue still holds its job. Talking points approved over a week ago are left alone.
    """
    now = now or utcnow()
    config = current_app.config
    lease = now - dt.timedelta(seconds=config["DELIVERY_LEASE_SECONDS"])
    late = now - dt.timedelta(seconds=config["DELIVERY_SWEEP_GRACE_SECONDS"])
    approved = db.session.execute(select(TalkingPoint.id, TalkingPoint.version).where(
        TalkingPoint.status == Status.APPROVED, TalkingPoint.topics != "", TalkingPoint.approved_at >= now - LOOKBACK,
        TalkingPoint.approved_at <= late, or_(TalkingPoint.available_until.is_(None),
                                              TalkingPoint.available_until > now))).all()
    if not approved:
        return 0
    latest: dict[int, FanOut] = {}
    for fo in db.session.scalars(select(FanOut).where(FanOut.talking_point_id.in_([i for i, _ in approved]))
                                 .order_by(FanOut.id)):
        latest[fo.talking_point_id] = fo
    conn = redis_client()
    again = 0
    for tp_id, version in approved:
        fo = latest.get(tp_id)
        if fo is not None and fo.version == version:
            beat = fo.heartbeat_at or fo.created_at
            stalled = fo.status in ("queued", "running") and beat < lease
            restarted = fo.status == "failed" and fo.error == STALLED  # its new run died before it began
            if not (stalled or restarted):
                continue
            if restarted and queues.fanout_held(conn, tp_id, started_before=lease):
                continue
            if stalled:
                fo.status, fo.error, fo.finished_at = "failed", STALLED, now
                db.session.commit()
        elif queues.fanout_held(conn, tp_id, started_before=lease):
            continue
        queues.enqueue_fanout(conn, tp_id)
        again += 1
        log.warning("event=fanout_recovered talking_point_id=%s version=%s", tp_id, version)
    return again
