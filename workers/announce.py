"""Announcing talking points: the run that walks a talking point's audience, and the delivery jobs. Thin: the
domain (``advocacy.notifications.announcing``) decides. The enqueue helpers import nothing from ``advocacy``.

Neither job keeps its result (``result_ttl=0``: RQ deletes a job once it ran): the rows (``AnnouncementRun``,
``Announcement``) hold what happened, and nothing reads a result. Kept, each cost Redis about 5 KiB (the job and
its result stream), a day for a run and ten minutes for each delivery batch of a talking point's audience. A failed
job is kept a week for the operator."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from redis import Redis

from workers import queues
from workers.context import app

log = logging.getLogger(__name__)
ANNOUNCE_JOB = "workers.announce.announce"
DELIVER_JOB = "workers.announce.deliver"


def announce(talking_point_id: int) -> int:
    """Record and queue the announcements of an approved talking point; returns how many were recorded.

    Args:
        talking_point_id: the talking point (progress in an ``AnnouncementRun`` row).
    """
    app()
    from advocacy.extensions import db
    from advocacy.notifications.announcing import run

    try:
        return run(talking_point_id)
    finally:
        db.session.remove()


def deliver(user_ids: list[int]) -> int:
    """Send each of these people their announcements now due; returns how many went out.

    Args:
        user_ids: people (each gets at most one message).
    """
    app()
    from advocacy.extensions import db
    from advocacy.notifications.announcing import deliver as deliver_all

    try:
        return deliver_all(user_ids)
    finally:
        db.session.remove()


def sweep_announcements() -> int:
    """Queue again the delivery of announcements overdue and still waiting (their job was lost with Redis)."""
    app()
    from advocacy.extensions import db
    from advocacy.notifications.announcing import sweep

    try:
        return sweep()
    finally:
        db.session.remove()


def enqueue_announce(connection: Redis, talking_point_id: int) -> str:
    """Queue the announcement run of an approved talking point (committed first). Returns the job id."""
    job_id = f"announce-{talking_point_id}"
    queues.queue(queues.DEFAULT, connection).enqueue(
        ANNOUNCE_JOB, talking_point_id, job_id=job_id, job_timeout=3600, result_ttl=0, failure_ttl=7 * 86400,
        description=f"announce talking point {talking_point_id}")
    log.info("event=enqueued job_id=%s talking_point_id=%s", job_id, talking_point_id)
    return job_id


def enqueue_deliveries(connection: Redis, jobs: Sequence[tuple[str, list[int], dt.datetime | None]]) -> int:
    """Queue delivery jobs in pipelines: (job id, people, when or None for now) each; the rows already committed."""
    q = queues.queue(queues.DEFAULT, connection)
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(jobs), queues.PIPELINE_CHUNK):
        with connection.pipeline() as pipe:
            for job_id, people, at in jobs[start : start + queues.PIPELINE_CHUNK]:
                job = q.create_job(DELIVER_JOB, args=(people,), job_id=job_id, timeout=600, result_ttl=0,
                                   failure_ttl=7 * 86400, description=f"announce to {len(people)} people")
                if at is not None and at > now:
                    q.schedule_job(job, at, pipeline=pipe)
                else:
                    q.enqueue_job(job, pipeline=pipe)
            pipe.execute()
    return len(jobs)
