"""The periodic jobs, declared once with stable ids.

Each periodic job runs on a queue a worker serves (``default`` unless said otherwise) and is kept armed by RQ's
scheduler, which ``advocacy worker`` runs: :func:`arm` schedules the next run of every job whose next run is not
scheduled yet, under an id made of the job's stable id and its time slot, so any number of workers arming at once
schedule each run once. A finished run arms the one after it (:func:`run`).

Add a job by appending a ``Periodic`` to ``PERIODIC``; keep ids stable (they name the jobs in Redis).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from redis import Redis

from workers import queues

log = logging.getLogger(__name__)
RUNNER = "workers.schedule.run"
RESULT_SECONDS = 60  # the least a finished run is kept (see ``result_ttl``)
FAILURE_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Periodic:
    id: str  # stable: it names the job in Redis
    func: str  # dotted path of a job function taking no arguments
    every: int  # seconds between runs
    queue: str = queues.DEFAULT
    setting: str | None = None  # the app setting (seconds) that overrides ``every``, if any


PERIODIC: tuple[Periodic, ...] = (
    Periodic("reach-rollup-clicks", "workers.reach.rollup_clicks", 60, setting="REACH_ROLLUP_SECONDS"),
    Periodic("reach-fetch-metrics", "workers.metrics.fetch_due_metrics", 300, setting="REACH_METRICS_POLL_SECONDS"),
    Periodic("delivery-sweep", "workers.sweeper.sweep_shares", 30, setting="DELIVERY_SWEEP_SECONDS"),
    Periodic("delivery-refresh-tokens", "workers.tokens.refresh_tokens", 300, setting="DELIVERY_TOKEN_CHECK_SECONDS"),
    Periodic("notify-digests", "workers.digest.send_digests", 3600, setting="NOTIFY_DIGEST_POLL_SECONDS"),
    Periodic("notify-announcements-sweep", "workers.announce.sweep_announcements", 300),
    Periodic("sources-fetch-feeds", "workers.sources.fetch_due_sources", 60, setting="SOURCES_POLL_SECONDS"),
    Periodic("webhooks-deliver", "workers.webhooks.deliver_due_webhooks", 30, setting="WEBHOOKS_POLL_SECONDS"),
    Periodic("db-refresh-statistics", "workers.maintenance.refresh_statistics", 3600),
)
BY_ID = {p.id: p for p in PERIODIC}


def intervals_from(config: Any) -> dict[str, int]:
    """Seconds between runs by periodic id, from the app settings named by each job's ``setting``.

    Args:
        config: the app's config mapping.
    """
    return {p.id: int(config[p.setting]) for p in PERIODIC if p.setting and config.get(p.setting)}


def _every(p: Periodic, intervals: dict[str, int] | None) -> int:
    return max(1, (intervals or {}).get(p.id, p.every))


def job_id(p: Periodic, slot: int) -> str:
    return f"periodic-{p.id}-{slot}"


def arm(connection: Redis, intervals: dict[str, int] | None = None, now: float | None = None) -> list[str]:
    """Schedule the next run of every periodic job; returns the job ids (already-scheduled ones included).

    Args:
        connection: Redis client.
        intervals: seconds between runs by periodic id, overriding the declared ones (from settings).
        now: epoch seconds (tests).
    """
    return [_arm_one(connection, p, _every(p, intervals), now or time.time()) for p in PERIODIC]


def run(periodic_id: str, every: int) -> Any:
    """Run one periodic job, then arm its next run (also when it failed: the failure stays recorded by RQ).

    Args:
        periodic_id: the stable id from ``PERIODIC``.
        every: seconds until the next run.
    """
    from rq import get_current_job

    p = BY_ID[periodic_id]
    module, name = p.func.rsplit(".", 1)
    try:
        return getattr(importlib.import_module(module), name)()
    finally:
        job = get_current_job()
        if job is not None:
            jid = _arm_one(job.connection, p, every, time.time())
            log.info("event=periodic_armed periodic_id=%s job_id=%s", p.id, jid)


def result_ttl(every: int) -> int:
    """Seconds RQ keeps a finished run (its job hash and result) of a job run every ``every`` seconds: until the next
    run is due, and at least ``RESULT_SECONDS``.

    Nothing reads a run's result (the job's work is in the database); the finished job is kept only so that arming
    does not schedule that run again: a host whose clock is behind works out the slot that already ran, and finds it.
    Kept longer, the results pile up in Redis (a sweep every 30 s kept 600 s: 20 finished jobs with their result
    streams, about 130 KiB, for that job alone); kept this long, each periodic job has one or two at any time.
    """
    return max(every, RESULT_SECONDS)


def _arm_one(connection: Redis, p: Periodic, every: int, now: float) -> str:
    slot = int(now // every) + 1
    jid = job_id(p, slot)
    q = queues.queue(p.queue, connection)
    if q.fetch_job(jid) is None:
        q.enqueue_at(dt.datetime.fromtimestamp(slot * every, dt.UTC), RUNNER, p.id, every, job_id=jid,
                     result_ttl=result_ttl(every), failure_ttl=FAILURE_SECONDS, description=f"periodic {p.id}")
    return jid
