"""The digest job: one e-mail per person per period, and the comms channel's Slack summary. Thin."""

from __future__ import annotations

import datetime as dt
import logging

from workers.context import app

log = logging.getLogger(__name__)
SLACK_KEY = "advocacy:slack:last"


def send_digests() -> int:
    """Send the digests that are due; post the daily Slack summary when a day has passed since the last one."""
    app()
    from advocacy.extensions import db, redis_client
    from advocacy.models_base import utcnow
    from advocacy.notifications.services import post_to_slack, send_due_digests

    try:
        sent = send_due_digests()
        conn = redis_client()
        now = utcnow()
        last = conn.get(SLACK_KEY)
        since = dt.datetime.fromtimestamp(float(str(last.decode() if isinstance(last, bytes) else last)), dt.UTC) \
            if last else now - dt.timedelta(days=1)
        if now - since >= dt.timedelta(days=1) or last is None:
            if conn.set(SLACK_KEY + ":lock", "1", nx=True, ex=60) and post_to_slack(since):
                conn.set(SLACK_KEY, now.timestamp())
        return sent
    finally:
        db.session.remove()
