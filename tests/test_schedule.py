"""The periodic jobs' runs do not pile up in Redis: a finished run is kept only until the next one is due (at least a
minute), long enough that arming again does not schedule the run that just finished."""

from __future__ import annotations

import time

from rq.job import Job
from rq.serializers import JSONSerializer

from tests.conftest import run_jobs
from workers import queues, schedule


def _run_due(redis, job_id: str) -> None:
    """Move a scheduled run onto its queue, as RQ's scheduler does when its time comes, and run it."""
    q = queues.queue(queues.DEFAULT, redis)
    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    q.scheduled_job_registry.remove(job)
    q.enqueue_job(job)


def test_a_finished_periodic_run_is_kept_until_the_next_is_due_not_ten_minutes(app, redis):
    sweep = schedule.BY_ID["delivery-sweep"]
    every = sweep.every  # 30 s: kept the minimum, a minute
    past = time.time() - 3 * every
    job_id = next(i for i in schedule.arm(redis, now=past) if i.startswith("periodic-delivery-sweep-"))
    _run_due(redis, job_id)
    run_jobs(app)

    job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    assert job.get_status() == "finished"
    kept = schedule.result_ttl(every)
    assert kept == schedule.RESULT_SECONDS == 60
    # the finished job and its result expire within a minute (they were kept ten: 20 sweeps' results at a time)
    for key in (f"rq:job:{job_id}", f"rq:results:{job_id}"):
        assert 0 < redis.ttl(key) <= kept, (key, redis.ttl(key))
    # its next run is armed (and has no TTL: it waits for its time)
    armed = [i for i in schedule.arm(redis) if i.startswith("periodic-delivery-sweep-")]
    assert armed and armed[0] != job_id and redis.ttl(f"rq:job:{armed[0]}") == -1
    # a host whose clock is behind arms the slot that just ran: the finished run is found, not scheduled again
    assert job_id in schedule.arm(redis, now=past)
    assert Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status() == "finished"
    assert job_id not in queues.queue(queues.DEFAULT, redis).scheduled_job_registry.get_job_ids()


def test_a_rare_periodic_run_is_kept_until_the_next_is_due(app, redis):
    digests = schedule.BY_ID["notify-digests"]
    assert schedule.result_ttl(digests.every) == digests.every == 3600  # one finished run at a time
    job_id = next(i for i in schedule.arm(redis, now=time.time() - 2 * digests.every)
                  if i.startswith("periodic-notify-digests-"))
    _run_due(redis, job_id)
    run_jobs(app)
    assert Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status() == "finished"
    assert 600 < redis.ttl(f"rq:job:{job_id}") <= 3600
