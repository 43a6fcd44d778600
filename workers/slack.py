"""Slack jobs: update a DM in place, DM the reviewers of a talking point. Thin: ``advocacy.notifications.slack``
decides. A 429 or 5xx from Slack is retried after its Retry-After (RQ's ``Retry``)."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Retry

from workers import queues
from workers.context import app

log = logging.getLogger(__name__)
REFRESH_JOB = "workers.slack.refresh"
REVIEW_JOB = "workers.slack.request_reviews"
REFRESH_ALL_JOB = "workers.slack.refresh_all"
CLOSE_REVIEWS_JOB = "workers.slack.close_reviews"
RETRY = Retry(max=5, interval=[5, 30, 60, 120, 300])


def refresh(user_id: int, talking_point_id: int) -> bool:
    """Update the announcement DM showing ``talking_point_id`` to ``user_id`` with the live status.

    Args:
        user_id: whose DM.
        talking_point_id: the talking point it shows.
    """
    app()
    from advocacy.extensions import db
    from advocacy.notifications.channels import Unreachable
    from advocacy.notifications.slack import messages

    try:
        return messages.refresh_announcement(user_id, talking_point_id)
    except Unreachable:
        return False  # they left the workspace: nothing to update
    finally:
        db.session.remove()


def refresh_all(talking_point_id: int) -> int:
    """Update every announcement DM showing ``talking_point_id`` (after a withdrawal); returns how many.

    Args:
        talking_point_id: the talking point.
    """
    app()
    from advocacy.extensions import db
    from advocacy.notifications.slack import messages

    try:
        return messages.refresh_all(talking_point_id)
    finally:
        db.session.remove()


def close_reviews(talking_point_id: int, note: str) -> int:
    """Every open review DM of ``talking_point_id`` shows ``note`` (the decision) and loses its buttons.

    Args:
        talking_point_id: the talking point decided on.
        note: what was decided, by whom.
    """
    app()
    from advocacy.content.models import TalkingPoint
    from advocacy.extensions import db
    from advocacy.notifications.slack import messages

    try:
        tp = db.session.get(TalkingPoint, talking_point_id)
        return messages.close_reviews(tp, note) if tp is not None else 0
    finally:
        db.session.remove()


def request_reviews(talking_point_id: int) -> int:
    """DM each reviewer who may approve ``talking_point_id`` (comms staff and admins, never its author).

    Args:
        talking_point_id: a talking point in review.
    """
    app()
    from advocacy.extensions import db
    from advocacy.notifications.slack.reviews import request_reviews as send

    try:
        return send(talking_point_id)
    finally:
        db.session.remove()


def _enqueue(connection: Redis, func: str, *args: object, job_id: str, description: str, **options: object) -> str:
    """Queue one Slack job on the default queue under ``job_id`` (retried per ``RETRY``; kept a day when it fails)."""
    queues.queue(queues.DEFAULT, connection).enqueue(
        func, *args, job_id=job_id, retry=RETRY, result_ttl=60, failure_ttl=86400, description=description, **options)
    return job_id


def enqueue_refresh(connection: Redis, user_id: int, talking_point_id: int) -> str:
    return _enqueue(connection, REFRESH_JOB, user_id, talking_point_id,
                    job_id=f"slack-refresh-{user_id}-{talking_point_id}",
                    description=f"update the Slack DM of talking point {talking_point_id} to user {user_id}")


def enqueue_refresh_all(connection: Redis, talking_point_id: int) -> str:
    return _enqueue(connection, REFRESH_ALL_JOB, talking_point_id, job_id=f"slack-refresh-all-{talking_point_id}",
                    description=f"update the Slack DMs of talking point {talking_point_id}", job_timeout=3600)


def enqueue_close_reviews(connection: Redis, talking_point_id: int, note: str) -> str:
    return _enqueue(connection, CLOSE_REVIEWS_JOB, talking_point_id, note,
                    job_id=f"slack-close-reviews-{talking_point_id}",
                    description=f"close the Slack review DMs of talking point {talking_point_id}")


def enqueue_review_requests(connection: Redis, talking_point_id: int) -> str:
    return _enqueue(connection, REVIEW_JOB, talking_point_id, job_id=f"slack-reviews-{talking_point_id}",
                    description=f"DM the reviewers of talking point {talking_point_id}")
