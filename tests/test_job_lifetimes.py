"""Jobs whose outcome lives in the database keep no result in Redis once they ran: an approved talking point's
announcement run, its delivery batches and its link preview fetch. Kept, each cost Redis about 5 KiB (the job and its
result stream) for ten minutes or a day, nobody reading it."""

from __future__ import annotations

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from advocacy.content.link_previews import link_preview
from advocacy.extensions import db
from advocacy.notifications.models import Announcement, AnnouncementRun
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee
from workers import queues


def _jobs(redis) -> dict[str, str]:
    """The default queue's waiting and scheduled jobs: id → function."""
    q = queues.queue(queues.DEFAULT, redis)
    ids = q.get_job_ids() + q.scheduled_job_registry.get_job_ids()
    return {i: Job.fetch(i, connection=redis, serializer=JSONSerializer).func_name for i in ids}


def _run_all(app, redis) -> None:
    """Run every job, the scheduled ones too (as RQ's scheduler would when their time comes)."""
    q = queues.queue(queues.DEFAULT, redis)
    for job_id in q.scheduled_job_registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        q.scheduled_job_registry.remove(job)
        q.enqueue_job(job)
    run_jobs(app)


def test_an_approvals_announcement_and_link_preview_jobs_leave_nothing_in_redis_once_run(app, redis):
    app.config["LINK_PREVIEWS"] = True
    for name in ("emma", "noah"):
        employee(f"{name}@acme.test", f"{name}_acme")
    tp = approved()
    tp_id = tp.id
    queued = _jobs(redis)
    announce = f"announce-{tp_id}"
    assert queued.get(announce) == "workers.announce.announce"
    previews = [i for i, func in queued.items() if func == "workers.previews.fetch_link_preview"]
    assert len(previews) == 1, queued
    for _ in range(3):  # the run queues the deliveries (notify-<talking point>-<run>-<batch>), which run next
        _run_all(app, redis)
    db.session.rollback()
    run_id = db.session.scalars(select(AnnouncementRun.id).where(AnnouncementRun.talking_point_id == tp_id)).one()
    deliveries = {f"notify-{tp_id}-{run_id}-1"}
    statuses = set(db.session.scalars(select(Announcement.status).where(Announcement.talking_point_id == tp_id)))
    assert statuses and "queued" not in statuses, statuses  # the deliveries ran
    card = link_preview(tp_id)
    assert card is not None and card.fetched_at is not None  # the fetch ran (a card, or why there is none)
    finished = queues.queue(queues.DEFAULT, redis).finished_job_registry.get_job_ids()
    for job_id in {announce, *previews, *deliveries}:
        assert not redis.exists(f"rq:job:{job_id}", f"rq:results:{job_id}"), job_id
        assert job_id not in finished, job_id
    assert not [k for k in redis.scan_iter(f"rq:*notify-{tp_id}-*")]  # no other batch's either
