"""The share state machine. Every transition is one conditional UPDATE, so two workers never both publish a share.

    scheduled ──due──► queued ──claim──► publishing ──► published
        ▲                 ▲                  │ ├──────► failed      (permanent error, or attempts used up)
        └──── retry ──────┴──────────────────┘ └──────► paused      (account revoked: the person must reconnect)
    scheduled / queued / paused ──► cancelled          failed ──retry (operator)──► queued

The database is the source of truth; Redis only carries work. Each run of a share has an RQ job id made of its
block of share ids and its ``scheduled_at`` (``queues.publish_job_id``, ``job_key``), so the sweeper can tell from the
database alone which job the queue should hold, and put it back when Redis lost it; the job claims every due share
of its block at once (``claim_block``). A share still "publishing" when its lease runs out lost its worker; it goes
back to the queue marked ``in_doubt`` and is looked for on the network before any new attempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from functools import cache, lru_cache
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Update, bindparam, column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ClauseElement

from advocacy import events
from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.services import account_for
from advocacy.content.composing import compose
from advocacy.content.models import TalkingPoint, TalkingPointImage
from advocacy.delivery import rules
from advocacy.delivery.models import SHARE_CHANNELS, Share, ShareStatus
from advocacy.errors import DomainError
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.people.models import User
from workers import queues

log = logging.getLogger(__name__)
EARLY = dt.timedelta(seconds=2)  # a job may start this much before its share's time (clock skew between hosts)
RECONNECT = "reconnect your account to share"
LOST_WORKER = "the worker publishing this share stopped; checking the network before trying again"


class ImageRef(NamedTuple):
    """The image a share carries, as its claim names it: the row's id, and its bytes' hash and alt text (a row's
    never change; the key tells a row from a later one that got the same id back on SQLite)."""

    id: int
    key: str


def new_code() -> str:
    return secrets.token_urlsafe(6)  # 8 characters, 48 bits


def job_key(scheduled_at: dt.datetime) -> str:
    """The part of a publish job's id that tells this run of a share from its others: its time in microseconds."""
    return str(int(scheduled_at.timestamp() * 1_000_000))


def key_time(key: str | None) -> dt.datetime | None:
    """The time a publish job's ``key`` (``job_key``) names, give or take a millisecond (float rounding): the job
    claims the shares of its block due by then. None (no key, or one not made by ``job_key``): no bound."""
    if key is None or not key.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(key) / 1_000_000, dt.UTC) + dt.timedelta(milliseconds=1)


def publish_timeout() -> int:
    """Seconds a publish job may run: half the lease, so a job RQ stops has ended before the sweeper takes over."""
    return max(1, current_app.config["DELIVERY_LEASE_SECONDS"] // 2)


def enqueue(share_id: int, scheduled_at: dt.datetime) -> str:
    """Queue the run of share ``share_id`` due at ``scheduled_at`` (the row committed first)."""
    return queues.enqueue_publish(redis_client(), share_id, scheduled_at, key=job_key(scheduled_at),
                                  timeout=publish_timeout())


def enqueue_many(runs: list[tuple[int, dt.datetime]]) -> None:
    """Queue the runs of many shares, (share id, scheduled_at) each (rows committed first): one job per block and
    time (``queues.enqueue_publish_many``)."""
    if runs:
        queues.enqueue_publish_many(redis_client(), [(i, at, job_key(at)) for i, at in runs], publish_timeout())


def create_share(user: User, tp: TalkingPoint, network: str, text: str | None = None,
                 at: dt.datetime | None = None, *, channel: str = "web") -> Share:
    """Record a share (committed first), then queue it. ``at`` (aware) schedules it for later.

    Refused (``DomainError`` naming the field) unless ``rules.check_may_share`` lets it through: approved, aimed at
    the person, inside its window, person active, opted in, policy acknowledged, account connected, and no other
    live share of the talking point on that account (``rules.AlreadyShared``, a 409).

    Args:
        user: who shares.
        tp: an approved talking point.
        network: where to post (the person must have connected it).
        text: the person's own wording, when the talking point allows it.
        at: when to post; None: now.
        channel: what led to it, one of ``models.SHARE_CHANNELS`` (web, api, slack, teams, email, push).
    """
    if channel not in SHARE_CHANNELS:
        raise DomainError(f"must be one of {', '.join(SHARE_CHANNELS)}", "channel")
    if at is not None:
        if at.tzinfo is None:
            raise DomainError("must include a timezone", "scheduled_at")
        if at < utcnow() - dt.timedelta(minutes=1):
            raise DomainError("is in the past", "scheduled_at")
    rules.check_may_share(user, tp, network, at)
    account = account_for(user, network)
    assert account is not None  # check_may_share refused otherwise
    later = at is not None and at > utcnow()
    when = at.astimezone(dt.UTC) if later and at else utcnow()
    if tp.available_from is not None and when < tp.available_from:  # comms' window: wait for it to open
        when, later = tp.available_from, True
    share = Share(talking_point_id=tp.id, user_id=user.id, account_id=account.id, network=network,
                  text=compose(tp, network, text, user.id), link=tp.shared_link, code=new_code(),
                  followers_at_share=account.followers, channel=channel,
                  status=ShareStatus.SCHEDULED if later else ShareStatus.QUEUED, scheduled_at=when)
    db.session.add(share)
    try:
        db.session.commit()  # commit before enqueue: the worker must find the row
    except IntegrityError:  # another request placed the same share a moment ago: the unique index kept one
        db.session.rollback()
        existing = rules.live_share(user.id, tp.id, network)
        if existing is None:
            raise
        raise rules.AlreadyShared(existing) from None
    enqueue(share.id, share.scheduled_at)
    log.info("event=share_created share_id=%s user_id=%s network=%s status=%s", share.id, user.id, network,
             share.status)
    return share


def _transition(share_id: int, from_: tuple[str, ...], to: str, *conditions: object, **values: object) -> bool:
    """Move a share from one of ``from_`` to ``to`` if, and only if, it is still in one of them."""
    values["updated_at"] = utcnow()
    if conditions or any(isinstance(v, ClauseElement) for v in values.values()):
        result = db.session.execute(
            update(Share).where(Share.id == share_id, Share.status.in_(from_), *conditions)  # type: ignore[arg-type]
            .values(status=to, **values)
            .execution_options(synchronize_session=False)
        )
    else:  # the hot path (publishing's own transitions): a statement built once, plain values bound to it
        result = db.session.execute(_transition_statement(from_, to, tuple(sorted(values))),
                                    {"share_id": share_id, **{f"new_{k}": v for k, v in values.items()}})
    db.session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


@lru_cache(maxsize=64)
def _transition_statement(from_: tuple[str, ...], to: str, columns: tuple[str, ...]) -> Update:
    """``UPDATE shares SET status = to, <columns> WHERE id = :share_id AND status IN from_``, as a Core statement
    (no ORM bookkeeping: the session's objects are not synchronised, as with ``synchronize_session=False``) built once
    per kind of transition: building a statement costs more than running it on SQLite."""
    table = Share.__table__
    return (update(table)
            .where(table.c.id == bindparam("share_id"), or_(*(table.c.status == s for s in from_)))
            .values(status=to, **{c: bindparam(f"new_{c}", type_=table.c[c].type) for c in columns}))


def worker_name() -> str:
    return _worker_name(os.getpid())


@lru_cache(maxsize=4)
def _worker_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"[:200]


def claim(share_id: int) -> bool:
    """queued (or due scheduled) → publishing, counting the attempt and starting its lease. False: someone else has
    it, it is done, or it is not due yet (a stale job; the right one is scheduled)."""
    now = utcnow()
    return _transition(share_id, (ShareStatus.QUEUED, ShareStatus.SCHEDULED), ShareStatus.PUBLISHING,
                       Share.scheduled_at <= now + EARLY,
                       attempts=Share.attempts + 1, claimed_at=now, claimed_by=worker_name())


def claim_share(share_id: int) -> Share | None:
    """``claim`` that also loads the claimed share, in the same ``UPDATE … RETURNING`` (one round trip, not three).

    Returns None when ``claim`` would return False. The share is loaded as it stands after the claim (status
    publishing, the attempt counted).

    Args:
        share_id: primary key of the share.
    """
    now = utcnow()
    share = db.session.scalars(_claim_statement(), {"share_id": share_id, "due": now + EARLY, "now": now,
                                                    "by": worker_name()}).one_or_none()
    db.session.commit()
    return share


def claim_for_publishing(share_id: int) -> tuple[Share, ImageRef | None] | None:
    """``claim_share`` for the publish job: the same claim, committed before it returns, whose ``RETURNING`` also
    names the image the share carries (its talking point's approved image: id, and its bytes' hash and alt text), so
    the job needs no query for it and reads the bytes only when this process has not read that image before (a row's
    bytes and alt text never change; ``images.shared_media``).

    Args:
        share_id: primary key of the share.
    """
    now = utcnow()
    row = db.session.execute(_claim_statement(with_image=True), {"share_id": share_id, "due": now + EARLY,
                                                                 "now": now, "by": worker_name()}).one_or_none()
    db.session.commit()
    if row is None:
        return None
    share, image_id, image_key = row
    return share, (ImageRef(int(image_id), str(image_key)) if image_id is not None else None)


class Claim(NamedTuple):
    """The shares one publish job claimed (committed), by id, each with the image it carries; and when and by whom,
    which is what ``release`` needs to give back the ones it did not attempt."""

    shares: list[tuple[Share, ImageRef | None]]
    at: dt.datetime
    by: str


def claim_block(block: int, upto: dt.datetime | None = None) -> Claim:
    """Claim every due share of block ``block`` (share ids ``block * queues.BLOCK`` onwards, ``queues.block_of``),
    queued or scheduled, in one ``UPDATE … RETURNING`` committed before it returns: ``claim_for_publishing`` for a
    block. The claim goes by id range and due-ness, not by a list of ids, so a share queued again under the same job
    id is never dropped, and a share whose own job runs later finds nothing left to claim.

    Args:
        block: the block's number.
        upto: only shares scheduled by then (the job's key, ``key_time``): a job of one share leaves the shares made
            after it to their own jobs, which other loops run at the same time. Its own share is always due by then.
    """
    now, by = utcnow(), worker_name()
    first = block * queues.BLOCK
    due = now + EARLY if upto is None else min(now + EARLY, upto)
    rows = db.session.execute(_claim_statement(with_image=True, block=True),
                              {"first": first, "last": first + queues.BLOCK - 1, "due": due, "now": now,
                               "by": by}).all()
    db.session.commit()
    shares = [(share, ImageRef(int(image_id), str(image_key)) if image_id is not None else None)
              for share, image_id, image_key in rows]
    shares.sort(key=lambda pair: pair[0].id)
    return Claim(shares, now, by)


def release(claim: Claim, share_ids: list[int]) -> list[int]:
    """Give back shares ``claim`` took but never attempted (the job ran out of its time budget, or stopped on an
    error): publishing → queued now, the attempt not counted, and queued again under a new job id. Only shares this
    claim still holds move (one conditional UPDATE). Returns the ids given back.

    Args:
        claim: the job's claim.
        share_ids: the shares not attempted.
    """
    if not share_ids:
        return []
    now = utcnow()
    result = db.session.execute(
        update(Share).where(Share.id.in_(share_ids), Share.status == ShareStatus.PUBLISHING,
                            Share.claimed_by == claim.by, Share.claimed_at == claim.at)
        .values(status=ShareStatus.QUEUED, attempts=Share.attempts - 1, claimed_at=None, scheduled_at=now,
                updated_at=now)
        .returning(Share.id).execution_options(synchronize_session=False))
    released = sorted(result.scalars().all())
    db.session.commit()
    enqueue_many([(i, now) for i in released])
    return released


@cache
def _claim_statement(with_image: bool = False, block: bool = False) -> Any:
    """The claim of ``claim_share``, built once (its values bound at each run): a Core ``UPDATE … RETURNING`` whose row
    the ORM loads as the share (``from_statement``), which skips the ORM's bulk-update machinery. ``with_image`` adds
    the approved image's id and key (two correlated subqueries on the images' index by talking point); ``block``
    claims every due share whose id is between ``first`` and ``last`` instead of share ``share_id``."""
    table = Share.__table__
    when = table.c.claimed_at.type
    which = (table.c.id.between(bindparam("first"), bindparam("last")) if block
             else table.c.id == bindparam("share_id"))
    claim = (update(table)
             .where(which,
                    or_(table.c.status == ShareStatus.QUEUED, table.c.status == ShareStatus.SCHEDULED),
                    table.c.scheduled_at <= bindparam("due", type_=when))
             .values(status=ShareStatus.PUBLISHING, updated_at=bindparam("now", type_=when),
                     attempts=table.c.attempts + 1, claimed_at=bindparam("now", type_=when),
                     claimed_by=bindparam("by", type_=table.c.claimed_by.type))
             .returning(*table.c))
    if not with_image:
        return select(Share).from_statement(claim).execution_options(populate_existing=True)
    image = TalkingPointImage.__table__
    approved = (image.c.talking_point_id == table.c.talking_point_id, image.c.approved.is_(True))
    image_id = select(image.c.id).where(*approved).scalar_subquery().label("image_id")
    image_key = select(image.c.sha256 + " " + image.c.alt_text).where(*approved).scalar_subquery().label("image_key")
    claim = claim.returning(image_id, image_key)
    return (select(Share, column("image_id"), column("image_key")).from_statement(claim)
            .execution_options(populate_existing=True))


def mark_published(share_id: int, post_id: str | None, post_url: str | None, note: str | None = None, *,
                   price_micros: int | None = None) -> bool:
    """publishing → published, recording the post and, where the network charges, the price it was sent at (the
    worker's ``costs.micros``; under a spend cap it was recorded already, when the cap reserved it)."""
    priced = {"price_micros": price_micros} if price_micros is not None else {}
    done = _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.PUBLISHED, post_id=post_id,
                       post_url=post_url, published_at=utcnow(), last_error=note, in_doubt=False, **priced)
    if done:  # committed; a subscriber only writes to the outbox (advocacy.integrations.webhooks)
        events.share_published.send(share_id)
    return done


def mark_failed(share_id: int, message: str) -> bool:
    done = _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.FAILED, last_error=message)
    if done:
        events.share_failed.send(share_id)
    return done


def mark_paused(share_id: int, message: str) -> bool:
    return _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.PAUSED, last_error=message)


def reschedule(share_id: int, at: dt.datetime, message: str, *, in_doubt: bool = False, refund: bool = False) -> bool:
    """publishing → scheduled at ``at``, and queue it for then.

    Args:
        share_id: the share.
        at: when to try again (aware).
        message: why, shown to the person and the operator.
        in_doubt: the attempt may have reached the network: look for the post before posting again.
        refund: the attempt never reached the network (a budget wait): do not count it.
    """
    values: dict[str, object] = {"scheduled_at": at, "last_error": message, "claimed_at": None}
    if in_doubt:
        values["in_doubt"] = True
    if refund:
        values["attempts"] = Share.attempts - 1
    moved = _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.SCHEDULED, **values)
    if moved:
        enqueue(share_id, at)
    return moved


def retry(share: Share, actor: User) -> bool:
    """An operator sends a failed (or paused) share out again now. It is looked for on the network first.

    Args:
        share: a failed or paused share.
        actor: who asked (admin or comms).
    """
    if share.status not in (ShareStatus.FAILED, ShareStatus.PAUSED):
        raise DomainError(f"only a failed or paused share can be retried; this one is {share.status}", "status")
    if share.account is None or share.account.status != AccountStatus.ACTIVE:
        raise DomainError("the account is not connected; its owner must reconnect it first", "account")
    existing = rules.live_share(share.user_id, share.talking_point_id, share.network)
    if existing is not None and existing.id != share.id:  # shared again since it failed: retrying would post twice
        raise rules.AlreadyShared(existing)
    at = utcnow()
    moved = _transition(share.id, (ShareStatus.FAILED, ShareStatus.PAUSED), ShareStatus.QUEUED, scheduled_at=at,
                        attempts=0, in_doubt=True, claimed_at=None,
                        last_error=f"retried by {actor.name}; was: {share.last_error or share.status}")
    if moved:
        enqueue(share.id, at)
        log.info("event=share_retried share_id=%s user_id=%s", share.id, actor.id)
    return moved


def mark_cancelled(share_id: int, reason: str) -> bool:
    """publishing → cancelled: the share came due but may no longer go out (``reason`` tells its owner why)."""
    return _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.CANCELLED, last_error=reason,
                       claimed_at=None)


def hold(share_id: int, reason: str) -> bool:
    """publishing → paused, the attempt not counted: the share waits for its owner (a policy to acknowledge)."""
    return _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.PAUSED, last_error=reason, claimed_at=None,
                       attempts=Share.attempts - 1)


def cancel(share: Share, reason: str) -> bool:
    return _transition(share.id, (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PAUSED),
                       ShareStatus.CANCELLED, last_error=reason)


def cancel_pending_for_user(user: User, reason: str) -> int:
    ids = db.session.scalars(select(Share.id).where(
        Share.user_id == user.id,
        Share.status.in_((ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PAUSED)))).all()
    return sum(_transition(i, (ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PAUSED),
                           ShareStatus.CANCELLED, last_error=reason) for i in ids)


def shares_of(user: User, limit: int = 50) -> list[Share]:
    return list(db.session.scalars(
        select(Share).where(Share.user_id == user.id).order_by(Share.created_at.desc(), Share.id.desc()).limit(limit)))


# ------------------------------------------------------------------------------------------------------ sweeping
def recover_lost(now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Shares still publishing past their lease lost their worker: back to the queue, in doubt. Returns how many."""
    now = now or utcnow()
    expired = now - dt.timedelta(seconds=current_app.config["DELIVERY_LEASE_SECONDS"])
    ids = db.session.scalars(select(Share.id).where(
        Share.status == ShareStatus.PUBLISHING, Share.claimed_at < expired).limit(limit)).all()
    recovered = []
    for share_id in ids:
        if _transition(share_id, (ShareStatus.PUBLISHING,), ShareStatus.QUEUED, Share.claimed_at < expired,
                       scheduled_at=now, in_doubt=True, claimed_at=None, last_error=LOST_WORKER):
            recovered.append((share_id, now))
            log.warning("event=share_recovered share_id=%s reason=lease_expired", share_id)
    enqueue_many(recovered)  # a dead worker's block: one job
    return len(recovered)


def requeue_lost(now: dt.datetime | None = None, limit: int = 5000) -> int:
    """Due shares whose job Redis no longer holds (a flush, a restart, a lost job) are queued again. Returns how many.

    Only shares late by the grace period are looked at, so a busy queue is not doubled.
    """
    now = now or utcnow()
    late = now - dt.timedelta(seconds=current_app.config["DELIVERY_SWEEP_GRACE_SECONDS"])
    rows = db.session.execute(select(Share.id, Share.scheduled_at).where(
        Share.status.in_((ShareStatus.QUEUED, ShareStatus.SCHEDULED)), Share.scheduled_at <= late)
        .order_by(Share.scheduled_at).limit(limit)).all()
    if not rows:
        return 0
    conn = redis_client()
    job_ids = [queues.publish_job_id(i, job_key(at)) for i, at in rows]
    # a live job claims its share at once, so a job that started before ``late`` and left its share unclaimed had
    # a worker that died (RQ notices only much later): it reads "abandoned"
    states = queues.job_states(conn, job_ids, started_before=late)
    # a job still "scheduled" this late has no scheduler moving it: queue it directly (claim keeps it to one run)
    lost = [(i, at) for (i, at), state in zip(rows, states, strict=True) if state not in queues.HELD
            or state == "scheduled"]
    abandoned = list(dict.fromkeys(job_id for job_id, state in zip(job_ids, states, strict=True)
                                   if state == "abandoned"))  # shares of one block and time: one job
    if abandoned:
        queues.release_abandoned(conn, abandoned)
        log.warning("event=jobs_abandoned count=%s first_job_id=%s", len(abandoned), abandoned[0])
    if lost:
        queues.enqueue_publish_many(conn, [(i, None, job_key(at)) for i, at in lost], publish_timeout())
        log.warning("event=shares_requeued count=%s first_share_id=%s", len(lost), lost[0][0])
    return len(lost)


def requeue_future(now: dt.datetime | None = None, limit: int = 20000) -> int:
    """Scheduled shares not yet due whose job Redis lost are scheduled again (so they post on time after a flush)."""
    now = now or utcnow()
    rows = db.session.execute(select(Share.id, Share.scheduled_at).where(
        Share.status == ShareStatus.SCHEDULED, Share.scheduled_at > now)
        .order_by(Share.scheduled_at).limit(limit)).all()
    if not rows:
        return 0
    conn = redis_client()
    states = queues.job_states(conn, [queues.publish_job_id(i, job_key(at)) for i, at in rows])
    lost: list[tuple[int, dt.datetime | None, str | None]] = [
        (i, at, job_key(at)) for (i, at), state in zip(rows, states, strict=True) if state not in queues.HELD]
    if lost:
        queues.enqueue_publish_many(conn, lost, publish_timeout())
        log.warning("event=scheduled_requeued count=%s", len(lost))
    return len(lost)


def resume_reconnected() -> int:
    """Shares paused for a revoked account go out again once their owner has reconnected it."""
    rows = db.session.execute(select(Share.id).join(ConnectedAccount, Share.account_id == ConnectedAccount.id).where(
        Share.status == ShareStatus.PAUSED, Share.last_error.like(f"%{RECONNECT}%"),
        ConnectedAccount.status == AccountStatus.ACTIVE)).scalars().all()
    resumed = []
    at = utcnow()
    for share_id in rows:
        if _transition(share_id, (ShareStatus.PAUSED,), ShareStatus.QUEUED, scheduled_at=at, in_doubt=True,
                       last_error="the account was reconnected"):
            resumed.append((share_id, at))
    enqueue_many(resumed)
    return len(resumed)


def sweep() -> dict[str, int]:
    """The periodic safety net: recover dead workers' shares and fan-outs, re-queue what Redis lost, resume
    reconnected shares."""
    from advocacy.delivery import fanout  # fanout builds on this module

    now = utcnow()
    report = {"recovered": recover_lost(now), "requeued": requeue_lost(now), "rescheduled": requeue_future(now),
              "resumed": resume_reconnected(), "fanouts": fanout.recover(now)}
    if any(report.values()):
        log.info("event=sweep %s", " ".join(f"{k}={v}" for k, v in report.items()))
    return report


# -------------------------------------------------------------------------------------------------- policy holds
POLICY_HOLD = rules.POLICY_HOLD


def hold_for_policy(user_ids: list[int]) -> int:
    """A new policy version pauses these people's queued and scheduled shares until they acknowledge it."""
    ids = db.session.scalars(select(Share.id).where(
        Share.user_id.in_(user_ids), Share.status.in_((ShareStatus.SCHEDULED, ShareStatus.QUEUED)))).all()
    return sum(_transition(i, (ShareStatus.SCHEDULED, ShareStatus.QUEUED), ShareStatus.PAUSED,
                           last_error=POLICY_HOLD) for i in ids)


def release_policy_hold(user: User) -> int:
    """After the person acknowledges the policy, their held shares go out (at their time, or now if it passed)."""
    held = db.session.scalars(select(Share).where(
        Share.user_id == user.id, Share.status == ShareStatus.PAUSED, Share.last_error == POLICY_HOLD)).all()
    released = 0
    for share in held:
        at = max(share.scheduled_at, utcnow())
        if _transition(share.id, (ShareStatus.PAUSED,), ShareStatus.SCHEDULED, scheduled_at=at, last_error=None):
            enqueue(share.id, at)
            released += 1
    return released


def open_share_dialog(user: User, tp: TalkingPoint, network: str, *, channel: str = "web") -> tuple[Share, str]:
    """Record a share through the network's own share dialog (a share intent) and return the dialog's URL.

    For a network the person has not connected, or one without a personal posting API (Facebook). The share ends
    ``opened`` at once: the app can know the dialog was opened, never that anything was posted. Its tracked link
    ``/r/<code>`` goes into the dialog, so clicks still count.

    Args:
        user: who shares.
        tp: an approved talking point.
        network: a network with a share dialog (``INTENT_LABELS``).
    """
    from flask import current_app

    from advocacy.accounts.networks import INTENT_LABELS, intent_url

    if network not in INTENT_LABELS:
        raise DomainError(f"must be one of {', '.join(INTENT_LABELS)}", "network")
    rules.check_may_share(user, tp, network, posting=False)
    now = utcnow()
    share = Share(talking_point_id=tp.id, user_id=user.id, account_id=None, network=network,
                  text=compose(tp, network, user_id=user.id), link=tp.shared_link, code=new_code(),
                  status=ShareStatus.OPENED, scheduled_at=now, channel=channel)
    url = intent_url(network, share.text, f"{current_app.config['PUBLIC_URL']}/r/{share.code}")
    db.session.add(share)
    db.session.commit()
    log.info("event=share_dialog_opened share_id=%s user_id=%s network=%s", share.id, user.id, network)
    return share, url
