"""Metrics fetched back from the networks on a decaying schedule after each post.

Each published share has a next step (``share_stats.metrics_step``) and a due time. A poll takes the due shares,
asks each account's connector for its posts' figures in one call, stores a snapshot per post and moves the share
to the next step; after the last step the schedule is done. A figure the network does not provide stays ``None``
("unavailable"), never zero.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import connector_for
from advocacy.accounts.services import fresh_access_token, refresh
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.reach import totals
from advocacy.reach.models import MetricSnapshot, ShareStats
from connectors.base import AuthExpired, AuthRevoked, ConnectorError, PostMetrics, RateLimited

log = logging.getLogger(__name__)
FIGURES = ("likes", "reposts", "replies", "quotes", "impressions")
ENGAGEMENTS = ("likes", "reposts", "replies", "quotes")


def engagements(values: object) -> int | None:
    """Likes + reposts + replies + quotes among those provided; ``None`` when the network provides none of them."""
    known = [getattr(values, f) for f in ENGAGEMENTS if getattr(values, f) is not None]
    return sum(known) if known else None


def next_due(published_at: dt.datetime, step: int, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """The next step after ``step`` whose time has not passed yet (a late poll skips missed steps).

    Args:
        published_at: when the post went out.
        step: the step just taken.
        now: the current time.
    """
    schedule: Sequence[int] = current_app.config["REACH_METRICS_SCHEDULE"]
    for i in range(step + 1, len(schedule)):
        due = published_at + dt.timedelta(seconds=schedule[i])
        if due > now:
            return i, due
    return len(schedule), None


def fetch_due(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Fetch metrics for shares whose next step is due; returns how many snapshots were stored.

    Args:
        now: the current time (tests pass one to move the clock).
        limit: shares per run; the next poll continues.
    """
    now = now or utcnow()
    due = db.session.execute(
        select(ShareStats, Share).join(Share, Share.id == ShareStats.share_id)
        .where(ShareStats.metrics_due_at.is_not(None), ShareStats.metrics_due_at <= now)
        .order_by(ShareStats.metrics_due_at).limit(limit)
    ).all()
    by_account: dict[int | None, list[tuple[ShareStats, Share]]] = defaultdict(list)
    for stats, share in due:
        by_account[share.account_id].append((stats, share))
    stored = 0
    for account_id, items in by_account.items():
        stored += _fetch_for_account(db.session.get(ConnectedAccount, account_id) if account_id else None, items, now)
    return stored


def _fetch_for_account(account: ConnectedAccount | None, items: list[tuple[ShareStats, Share]],
                       now: dt.datetime) -> int:
    if account is None or account.status != AccountStatus.ACTIVE or not account.access_token_encrypted:
        for stats, _share in items:
            _stop(stats, "the account is disconnected: no more metrics for this post")
        db.session.commit()
        return 0
    posted = [(s, sh) for s, sh in items if sh.post_id]
    connector = connector_for(account.network)
    try:
        try:
            answer = connector.metrics(fresh_access_token(account), [sh.post_id for _s, sh in posted])
        except AuthExpired:
            answer = connector.metrics(refresh(account).access_token, [sh.post_id for _s, sh in posted])
    except RateLimited as exc:
        for stats, _share in items:
            stats.metrics_due_at = max(exc.reset_at or now + dt.timedelta(minutes=15), now)
            stats.metrics_error = f"rate limited: {exc.message}"
        db.session.commit()
        log.info("event=metrics_rate_limited account_id=%s shares=%s", account.id, len(items))
        return 0
    except AuthRevoked as exc:
        for stats, _share in items:
            _stop(stats, f"the network no longer accepts this app for the account: {exc.message}")
        db.session.commit()
        return 0
    except ConnectorError as exc:  # transient or permanent: try again at the next poll, keep the reason
        for stats, _share in items:
            stats.metrics_error = f"{type(exc).__name__}: {exc.message}"
        db.session.commit()
        log.warning("event=metrics_failed account_id=%s error=%s", account.id, type(exc).__name__)
        return 0
    found = {m.post_id: m for m in answer}
    stored = 0
    for stats, share in items:
        metrics = found.get(share.post_id or "")
        store_snapshot(stats, share, metrics, now)
        stored += 1
    db.session.commit()
    log.info("event=metrics_fetched account_id=%s network=%s shares=%s", account.id, account.network, stored)
    return stored


def _stop(stats: ShareStats, reason: str) -> None:
    stats.metrics_due_at = None
    stats.metrics_error = reason


def store_snapshot(stats: ShareStats, share: Share, metrics: PostMetrics | None, now: dt.datetime) -> MetricSnapshot:
    """Store one snapshot and make it the share's current figures; move the share to its next step.

    Args:
        stats: the share's figures row.
        share: the share.
        metrics: what the network answered; ``None`` when it no longer has the post (the schedule stops).
        now: the fetch time.
    """
    totals.lock()
    changes = totals.Changes()
    previous = engagements(stats) if stats.metrics_at else None
    values = {f: getattr(metrics, f) if metrics else None for f in FIGURES}
    snapshot = MetricSnapshot(share_id=share.id, fetched_at=now, day=now.date(), step=stats.metrics_step,
                              found=metrics is not None, **values)
    current = engagements(snapshot)
    snapshot.engagement_delta = None if current is None else current - (previous or 0)
    db.session.add(snapshot)
    changes.activity_on(stats, snapshot.day, engagement=snapshot.engagement_delta)
    if metrics is None:
        _stop(stats, "the network no longer has this post")
        changes.apply()
        return snapshot
    changes.share(stats, -1)  # the new figures replace the previous snapshot's in every total
    for f in FIGURES:
        setattr(stats, f, values[f])
    changes.share(stats, 1)
    changes.apply()
    stats.metrics_at = now
    stats.metrics_error = None
    stats.metrics_step, stats.metrics_due_at = next_due(share.published_at or now, stats.metrics_step, now)
    return snapshot
