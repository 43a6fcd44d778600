"""The push-notice job: send one notice (a failed share, an account to reconnect) to a person's devices. Thin: the
domain (``advocacy.notifications.push_notices``) decides and sends; a push service's 429/5xx puts the job back
after its ``Retry-After`` (the devices that got it are not sent it again)."""

from __future__ import annotations

import datetime as dt
import logging

from rq import get_current_job

from workers.context import app

log = logging.getLogger(__name__)
MAX_TRIES = 5


def send_notice(user_id: int, key: str, title: str, body: str, path: str, tries: int = 0) -> int:
    """Args: user_id: whom; key: what makes the notice the same one; title, body: what it says; path: where a tap
    opens (on this site); tries: how many times it was put back already."""
    app()
    from advocacy.extensions import db
    from advocacy.notifications import channels, push_notices

    try:
        return push_notices.send_notice(user_id, key, title, body, path)
    except channels.RetryLater as exc:
        job = get_current_job()
        if job is None or tries + 1 >= MAX_TRIES:
            raise
        when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=exc.seconds)
        from workers import queues

        queues.queue(job.origin, job.connection).enqueue_at(
            when, "workers.push_notices.send_notice", user_id, key, title, body, path, tries + 1, job_timeout=60)
        log.info("event=push_notice_later user_id=%s in_seconds=%s", user_id, exc.seconds)
        return 0
    finally:
        db.session.remove()
