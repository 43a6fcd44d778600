"""The ``advocacy worker`` process: an RQ worker (with RQ's scheduler) that outlives a Redis restart, and keeps the
periodic jobs armed even after Redis lost them.

RQ's worker quits its loop when Redis goes away; a worker that was not asked to stop is started again here after a
pause, so a Redis restart or failover needs no operator. A small thread re-arms the periodic jobs every few seconds
(arming is idempotent: one job id per time slot), so a flushed Redis gets its sweeper back within seconds, and the
sweeper puts back every share Redis lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import redis
from redis import Redis
from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

from workers import queues, schedule

log = logging.getLogger(__name__)
REARM_SECONDS = 5.0
RESTART_PAUSE = 1.0
MAINTENANCE_SECONDS = 30  # how soon another worker takes over RQ's scheduler when its holder died
WORKER_TTL = 60  # a worker that died (SIGKILL, lost host) leaves the worker list, and /healthz, within a minute


def _keep_armed(conn: Redis, intervals: Mapping[str, int], stop: threading.Event,
                current: dict[str, BaseWorker]) -> None:
    while not stop.wait(REARM_SECONDS):
        try:
            schedule.arm(conn, dict(intervals))
            _revive_scheduler(current.get("worker"))
        except redis.exceptions.RedisError as exc:
            log.warning("event=arm_failed error=%s", type(exc).__name__)


def _revive_scheduler(worker: BaseWorker | None) -> None:
    """Start RQ's scheduler again when its process died (a Redis restart kills it).

    RQ does the same in its maintenance tasks, but those run between jobs: an idle worker waiting on a queue would
    leave every scheduled job (and periodic job) waiting with it.
    """
    scheduler = getattr(worker, "scheduler", None)
    if scheduler is None:
        return
    process = getattr(scheduler, "_process", None)
    if process is None or not process.is_alive():
        scheduler.acquire_locks(auto_start=True)
        if getattr(scheduler, "_process", None) is not None:
            log.warning("event=scheduler_revived worker=%s", worker.name if worker else "")


def run(connect: Callable[[], Redis], names: Sequence[str], *, burst: bool, with_scheduler: bool,
        logging_level: str, intervals: Mapping[str, int], fork: bool = False) -> None:
    """Serve ``names`` until asked to stop (or, with ``burst``, until the queues are empty).

    Args:
        connect: returns the Redis client (called again after a lost connection).
        names: queues in priority order.
        burst: stop when the queues are empty.
        with_scheduler: run RQ's scheduler and keep the periodic jobs armed.
        logging_level: RQ's log level.
        intervals: seconds between runs by periodic id.
        fork: run each job in a forked work horse (RQ's ``Worker``) rather than in this process (``SimpleWorker``).
    """
    stop = threading.Event()
    current: dict[str, BaseWorker] = {}
    conn = connect()
    if with_scheduler:
        schedule.arm(conn, dict(intervals))
        if not burst:
            threading.Thread(target=_keep_armed, args=(conn, intervals, stop, current), name="arm",
                             daemon=True).start()
    try:
        while True:
            worker_class: type[BaseWorker] = Worker if fork else SimpleWorker
            worker = worker_class([queues.queue(n, conn) for n in names], connection=conn, serializer=JSONSerializer,
                                  maintenance_interval=MAINTENANCE_SECONDS, worker_ttl=WORKER_TTL)
            current["worker"] = worker
            try:
                worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=logging_level)
            except redis.exceptions.RedisError as exc:  # Redis not there (yet) when the worker registers
                log.warning("event=worker_redis_unavailable error=%s", type(exc).__name__)
            if burst or getattr(worker, "_shutdown_requested_date", None) is not None:
                return
            log.warning("event=worker_restart reason=loop_ended pause=%s", RESTART_PAUSE)
            time.sleep(RESTART_PAUSE)
    finally:
        stop.set()
