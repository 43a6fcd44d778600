"""Push for what needs a person's action: a share that failed for good, a notice such as "reconnect your account
soon" (``notifications.services.notify_once`` tells ``events.notification_recorded``). Heard here and sent by a
job (``workers.push_notices``), so publishing and token upkeep never wait for a push service; people without a
device that gets notifications cost one query."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select

from advocacy import events
from advocacy.extensions import db, redis_client
from advocacy.notifications.destinations import PushSubscription

log = logging.getLogger(__name__)
JOB = "workers.push_notices.send_notice"
PATHS = {"reconnect_soon": "/accounts", "account_revoked": "/accounts", "linkedin_consent": "/preferences"}


def _has_devices(user_id: int) -> bool:
    return db.session.scalar(select(PushSubscription.id).where(PushSubscription.user_id == user_id).limit(1)) \
        is not None


def _enqueue(user_id: int, key: str, title: str, body: str, path: str) -> None:
    from redis.exceptions import RedisError

    from workers import queues

    try:
        queues.queue(queues.DEFAULT, redis_client()).enqueue(
            JOB, user_id, key, title, body, path, job_timeout=60)
    except RedisError:  # the notice stays in the digest; a push is a nicety
        log.warning("event=push_notice_not_queued user_id=%s key=%s", user_id, key)


def on_share_failed(share_id: Any, **_: Any) -> None:
    from advocacy.accounts.networks import LABELS
    from advocacy.delivery.models import Share

    share = db.session.get(Share, share_id)
    if share is None or not _has_devices(share.user_id):
        return
    network = LABELS.get(share.network, share.network)  # "LinkedIn", not "Linkedin"
    _enqueue(share.user_id, f"share-failed:{share.id}", f"Your share on {network} failed",
             (share.last_error or "Open it to see why and try again.")[:200], f"/shares/{share.id}")


def on_notified(user_id: Any, kind: str = "", key: str = "", subject: str = "", body: str = "", **_: Any) -> None:
    path = PATHS.get(kind)
    if path is None or not _has_devices(int(user_id)):
        return
    _enqueue(int(user_id), key, subject, body[:200], path)


def subscribe() -> None:
    """Connect to the domain events (once per process; connecting again changes nothing)."""
    events.share_failed.connect(on_share_failed, weak=False)
    events.notification_recorded.connect(on_notified, weak=False)


def send_notice(user_id: int, key: str, title: str, body: str, path: str) -> int:
    """Push one notice to every device of the person (called by the job). Returns the devices reached."""
    from advocacy.notifications import channels, push

    url = f"{current_app.config['PUBLIC_URL'].rstrip('/')}{path}"
    try:
        return push.send(user_id, {"title": title, "body": body, "url": url, "tag": key[:64]}, key)
    except channels.Unreachable:
        return 0
