"""Announcing approved talking points to the people they are aimed at, on the channel each chose, once.

An approval (``events.talking_point_approved``) queues one background job (``workers.announce.announce``), so the
approving request returns at once whatever the audience. The job walks the audience in chunks of ``CHUNK`` people
(the sharing rule's own conditions, ``delivery.rules.clauses``: aimed at them, active, opted in, window open),
records one ``Announcement`` per person with ``INSERT … ON CONFLICT DO NOTHING`` on the (person, talking point)
unique key, so two runs racing, or a re-approval, never announce to anyone twice, whatever the channel, and queues
the delivery jobs in bulk, each for up to ``BATCH`` people due at the same minute.

When each announcement is due: as they come (now), daily or weekly (with the person's previous message, or one
period after it, so nobody hears more often than they chose: one message carries the batch), then moved out of
their quiet hours in their own time zone.

A delivery job (``deliver``) claims each person's due announcements (a conditional UPDATE: two jobs never both send
them), drops what may no longer be announced (withdrawn, no longer aimed at them, deactivated, opted out: checked
at delivery), and sends one message on the first of their channels that is set up for them. ``RetryLater`` puts them
back for after the service's Retry-After (nothing was sent); ``Unreachable`` marks that channel gone for the person
and the next one is tried.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from sqlalchemy import func, select, update

from advocacy import events
from advocacy.content.models import Status, TalkingPoint
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.notifications import channels
from advocacy.notifications import preferences as prefs
from advocacy.notifications.models import Announcement, AnnouncementRun, NotificationPreference
from advocacy.notifications.models import AnnouncementStatus as S
from advocacy.people.models import User

log = logging.getLogger(__name__)
CHUNK = 5000
BATCH = 200
PERIODS = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
NO_CHANNEL = "no notification channel chosen"


# ---------------------------------------------------------------------------------------------- approval → job
def on_approved(tp: TalkingPoint, **_: Any) -> int:
    """Queue the announcement run of a just-approved talking point (committed by the approval)."""
    from redis.exceptions import RedisError

    from workers.announce import enqueue_announce

    try:
        enqueue_announce(redis_client(), tp.id)
    except RedisError as exc:  # the approval stands; announcing again later (``run``) places nobody twice
        log.error("event=announce_not_queued talking_point_id=%s error=%s", tp.id, type(exc).__name__)
    return 0


def init_app(app: Flask) -> None:
    """Hear approvals (on every path: web, API, CLI, workers), and give templates the progress of a run."""
    events.talking_point_approved.connect(on_approved, weak=False)
    app.jinja_env.globals["announcement_progress"] = progress


# ------------------------------------------------------------------------------------------------- due times
def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def out_of_quiet(at: dt.datetime, zone: ZoneInfo, start: int | None, end: int | None) -> dt.datetime:
    """``at``, or the end of the quiet hours it falls in (minutes after local midnight; they may span midnight)."""
    if start is None or end is None or start == end:
        return at
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start < end else (minute >= start or minute < end)
    if not quiet:
        return at
    day = local.date() + dt.timedelta(days=1 if start > end and minute >= start else 0)
    return dt.datetime.combine(day, dt.time(end // 60, end % 60), zone).astimezone(dt.UTC)


def due_at(now: dt.datetime, frequency: str, zone: ZoneInfo, quiet_start: int | None, quiet_end: int | None,
           last_sent: dt.datetime | None = None, pending: dt.datetime | None = None) -> dt.datetime:
    """When a new announcement to one person is due.

    Args:
        now: the time of the run.
        frequency: instant, daily or weekly.
        zone: the person's time zone.
        quiet_start: quiet hours (minutes after local midnight), or None.
        quiet_end: their end.
        last_sent: when the person last got a message (daily/weekly: the next is a period later).
        pending: the due time of their batch already waiting, which this one joins (daily/weekly).
    """
    period = PERIODS.get(frequency)
    if period is not None and pending is not None and pending >= now:
        return pending
    at = now if period is None or last_sent is None else max(now, last_sent + period)
    return out_of_quiet(at, zone, quiet_start, quiet_end)


# -------------------------------------------------------------------------------------------------- the run
def audience(tp: TalkingPoint, now: dt.datetime) -> Any:
    """Everyone the talking point is aimed at who may hear of it: the sharing rule's conditions (``delivery.rules``)
    without the policy acknowledgement (an announcement is how many learn there is a new policy to read)."""
    from advocacy.delivery import rules

    conditions = rules.clauses(now)
    conditions.pop("acknowledged")
    return (select(User.id, User.timezone, NotificationPreference.channels, NotificationPreference.frequency,
                   NotificationPreference.quiet_start, NotificationPreference.quiet_end)
            .select_from(User).join(TalkingPoint, TalkingPoint.id == tp.id)
            .outerjoin(NotificationPreference, NotificationPreference.user_id == User.id)
            .where(*conditions.values()))


def _insert_once() -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` in this database's dialect (as ``delivery.fanout._insert_once``)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect_insert: Any = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(Announcement).on_conflict_do_nothing()


def latest_run(tp_id: int) -> AnnouncementRun | None:
    return db.session.scalar(select(AnnouncementRun).where(AnnouncementRun.talking_point_id == tp_id)
                             .order_by(AnnouncementRun.id.desc()).limit(1))


def progress(tp_id: int) -> dict[str, Any] | None:
    """What comms see: the latest run, and how many people the talking point was announced to so far."""
    run_row = latest_run(tp_id)
    if run_row is None:
        return None
    counts: dict[str, int] = {status: n for status, n in db.session.execute(select(
        Announcement.status, func.count()).where(Announcement.talking_point_id == tp_id).group_by(Announcement.status))}
    total = max(run_row.total, sum(counts.values()))
    return {"run": run_row, "total": total, "sent": counts.get(S.SENT, 0), "waiting": counts.get(S.QUEUED, 0)
            + counts.get(S.SENDING, 0), "counts": counts}


def run(tp_id: int) -> int:
    """Announce talking point ``tp_id`` to its audience; returns how many announcements this run recorded.

    Safe to run twice, even at once: the (person, talking point) unique key keeps one announcement each.
    """
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        return 0
    record = AnnouncementRun(talking_point_id=tp.id, status="running", started_at=utcnow())
    db.session.add(record)
    db.session.commit()
    try:
        _walk(tp, record)
    except Exception as exc:
        db.session.rollback()
        record.status, record.error, record.finished_at = "failed", f"{type(exc).__name__}: {exc}"[:2000], utcnow()
        db.session.commit()
        raise
    record.status, record.finished_at = "done", utcnow()
    db.session.commit()
    log.info("event=announce_done run_id=%s talking_point_id=%s total=%s queued=%s", record.id, tp.id, record.total,
             record.queued)
    return record.queued


def _history(user_ids: list[int]) -> tuple[dict[int, dt.datetime | None], dict[int, dt.datetime]]:
    """Per person: their last message, and the due time of their batch waiting (for daily/weekly people)."""
    if not user_ids:
        return {}, {}
    sent = {u: at for u, at in db.session.execute(select(Announcement.user_id, func.max(Announcement.sent_at)).where(
        Announcement.user_id.in_(user_ids), Announcement.status == S.SENT).group_by(Announcement.user_id))}
    waiting = {u: at for u, at in db.session.execute(select(Announcement.user_id, func.min(Announcement.due_at))
               .where(Announcement.user_id.in_(user_ids), Announcement.status == S.QUEUED)
               .group_by(Announcement.user_id))}
    return sent, waiting


def _walk(tp: TalkingPoint, record: AnnouncementRun) -> None:
    from workers.announce import enqueue_deliveries

    now = utcnow()
    if tp.status != Status.APPROVED or (tp.available_until is not None and tp.available_until <= now):
        return
    query = audience(tp, now)
    record.total = int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    db.session.commit()
    fallback = prefs.defaults()
    zones: dict[str | None, ZoneInfo] = {}
    insert_once = _insert_once().returning(Announcement.user_id, Announcement.due_at, Announcement.status)
    conn = redis_client()
    after, batch_no = 0, 0
    while True:
        rows = db.session.execute(query.where(User.id > after).order_by(User.id).limit(CHUNK)).all()
        if not rows:
            break
        after = rows[-1][0]
        batched = [r[0] for r in rows if (r[3] or fallback["frequency"]) in PERIODS]
        sent, waiting = _history(batched)
        values = []
        for user_id, tz, chosen, frequency, q_start, q_end in rows:
            if chosen is None:  # no row: the admins' defaults
                chosen, frequency = ",".join(fallback["channels"]), fallback["frequency"]
                q_start, q_end = fallback["quiet_start"], fallback["quiet_end"]
            zone = zones.get(tz) or zones.setdefault(tz, _zone(tz))
            values.append({"user_id": user_id, "talking_point_id": tp.id, "created_at": now, "attempts": 0,
                           "status": S.QUEUED if chosen else S.SKIPPED, "error": None if chosen else NO_CHANNEL,
                           "due_at": due_at(now, frequency, zone, q_start, q_end, sent.get(user_id),
                                            waiting.get(user_id))})
        placed = db.session.execute(insert_once, values).all()  # only what this run inserted comes back
        by_due: dict[dt.datetime, list[int]] = defaultdict(list)
        for user_id, due, status in placed:
            if status == S.QUEUED:
                by_due[due.replace(second=0, microsecond=0)].append(user_id)
        jobs = []
        for due, people in sorted(by_due.items()):
            for start in range(0, len(people), BATCH):
                batch_no += 1
                jobs.append((f"notify-{tp.id}-{record.id}-{batch_no}", people[start : start + BATCH], due))
        record.done += len(rows)
        record.queued += len(placed)
        db.session.commit()  # commit before enqueue
        enqueue_deliveries(conn, jobs)


# --------------------------------------------------------------------------------------------------- delivery
def deliver(user_ids: list[int]) -> int:
    """Send each person their due announcements (one message each); returns how many announcements went out."""
    return sum(deliver_to(user_id) for user_id in user_ids)


# a delivery holds what it claimed this long at most (its channels time out well before); after that the sweep
# takes it to belong to a worker that died and queues it again
LEASE = dt.timedelta(minutes=15)


def _claim(user_id: int, now: dt.datetime) -> list[tuple[int, int]]:
    claimed = db.session.execute(
        update(Announcement).where(Announcement.user_id == user_id, Announcement.status == S.QUEUED,
                                   Announcement.due_at <= now + dt.timedelta(seconds=1))
        .values(status=S.SENDING, attempts=Announcement.attempts + 1, due_at=now)  # due_at: the lease's start
        .returning(Announcement.id, Announcement.talking_point_id)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    return [(a, t) for a, t in claimed]


def _finish(ids: list[int], status: str, **fields: Any) -> None:
    if ids:
        db.session.execute(update(Announcement).where(Announcement.id.in_(ids))
                           .values(status=status, **fields).execution_options(synchronize_session=False))
    db.session.commit()


def deliver_to(user_id: int) -> int:
    """Announce to one person what is due for them; returns how many announcements went out."""
    from advocacy.delivery import rules

    now = utcnow()
    claimed = _claim(user_id, now)
    if not claimed:
        return 0
    user = db.session.get(User, user_id)
    ids, points = [], []
    for ann_id, tp_id in claimed:
        found = rules.facts(tp_id, user_id, now)
        if found.failed is not None and found.failed.name != "acknowledged":
            _finish([ann_id], S.SKIPPED, error=found.failed.reason)
            continue
        ids.append(ann_id)
        points.append(db.session.get(TalkingPoint, tp_id))
    if not ids or user is None:
        return 0
    chosen = prefs.of(user)
    gone: list[str] = []
    for name in [c for c in chosen["channels"] if c not in chosen["unreachable"]]:
        channel = channels.get(name)
        if channel is None or not channel.available_for(user):
            continue
        try:
            delivered = channel.announce(user, [tp for tp in points if tp is not None])
        except channels.RetryLater as exc:
            _later(user_id, ids, now + dt.timedelta(seconds=max(1.0, float(exc.seconds))), f"{name}: {exc}")
            return 0
        except channels.Unreachable as exc:
            prefs.mark_unreachable(user_id, name)
            db.session.commit()
            gone.append(f"{name}: {exc}")
            log.info("event=channel_unreachable user_id=%s channel=%s", user_id, name)
            continue
        except Exception as exc:
            db.session.rollback()
            _finish(ids, S.FAILED, channel=name, error=f"{name}: {type(exc).__name__}: {exc}"[:2000])
            raise
        _finish(ids, S.SENT, channel=name, sent_at=utcnow(), reference=(delivered.reference or "")[:200], error=None)
        log.info("event=announced user_id=%s channel=%s count=%s", user_id, name, len(ids))
        return len(ids)
    if gone:
        _finish(ids, S.UNREACHABLE, error="; ".join(gone)[:2000])
    else:
        wanted = ", ".join(chosen["channels"]) or "none"
        _finish(ids, S.SKIPPED, error=f"no channel set up for this person (chosen: {wanted})")
    return 0


def _later(user_id: int, ids: list[int], at: dt.datetime, why: str) -> None:
    """Put the announcements back for ``at`` (nothing was sent) and queue this person's delivery for then."""
    from workers.announce import enqueue_deliveries

    _finish(ids, S.QUEUED, due_at=at, error=why[:2000])
    try:
        enqueue_deliveries(redis_client(), [(f"notify-user-{user_id}-{int(at.timestamp())}", [user_id], at)])
    except Exception:  # noqa: BLE001 - the rows wait as queued; ``sweep`` queues them again
        log.exception("event=announce_retry_not_queued user_id=%s", user_id)
    log.info("event=announce_retry user_id=%s at=%s", user_id, at.isoformat())


def sweep(now: dt.datetime | None = None, grace: dt.timedelta = dt.timedelta(minutes=10),
          lease: dt.timedelta = LEASE) -> int:
    """The safety net (a periodic job): what Redis lost is queued again. Returns how many jobs it queued.

    People with announcements due more than ``grace`` ago and still queued get a delivery job again; a talking point
    approved in the last week (more than ``grace`` ago) that no run ever announced (Redis was down at approval) is
    announced now. Either is harmless when the first job was only late: claims and the unique key keep it to once.
    Announcements a delivery claimed more than ``lease`` ago and never finished (its worker was killed mid-send) are
    queued again: a message is never lost; one that reached the person just before the crash may come a second time
    (Slack, Teams and push remember what they delivered and skip it; an e-mail may repeat).
    """
    from workers.announce import enqueue_announce, enqueue_deliveries

    now = now or utcnow()
    conn = redis_client()
    abandoned = db.session.execute(update(Announcement).where(
        Announcement.status == S.SENDING, Announcement.due_at < now - lease)
        .values(status=S.QUEUED, error="its delivery was interrupted")  # due since its claim: queued just below
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if abandoned:
        log.warning("event=announce_lease_expired count=%s", abandoned)
    people = list(db.session.scalars(select(Announcement.user_id).where(
        Announcement.status == S.QUEUED, Announcement.due_at < now - grace).distinct().limit(10_000)))
    jobs = [(f"notify-sweep-{int(now.timestamp())}-{i}", people[i : i + BATCH], None)
            for i in range(0, len(people), BATCH)]
    enqueue_deliveries(conn, jobs)
    missed = list(db.session.scalars(select(TalkingPoint.id).where(
        TalkingPoint.status == Status.APPROVED, TalkingPoint.approved_at >= now - dt.timedelta(days=7),
        TalkingPoint.approved_at < now - grace,
        ~select(AnnouncementRun.id).where(AnnouncementRun.talking_point_id == TalkingPoint.id).exists())))
    for tp_id in missed:
        enqueue_announce(conn, tp_id)
    if jobs or missed:
        log.warning("event=announce_swept people=%s talking_points=%s", len(people), len(missed))
    return len(jobs) + len(missed)
