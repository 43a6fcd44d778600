"""Workers that ride out Redis: an outage at start and mid-campaign (longer than their retry pause), a stall longer
than their registration's TTL, and a SIGKILL of the worker holding RQ's scheduler lock.

Each test runs its own ``redis-server`` (``private_redis``), so stopping or stalling it touches no Redis anyone
else uses, ``TEST_REDIS_URL``'s included.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis
from rq.utils import str_to_date
from sqlalchemy import func, select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.delivery.support import Sandbox, approved, employee
from tests.faults.conftest import Workers, wait_until_settled
from tests.faults.test_fault_kills import assert_exactly_once
from workers import queues

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

NOW = 30  # shares due at once; the others are spread over the next 6 to 20 s
OUTAGE = 6.0  # seconds Redis stays away: several of the workers' retry pauses (capped at 1 s here)
PEOPLE = 20
POINTS = 5


def wait_for(what: Callable[[], Any], timeout: float, message: str | Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.1)


def pending() -> int:
    """Shares not yet published (scheduled, queued or being published)."""
    db.session.rollback()
    return db.session.scalar(select(func.count(Share.id)).where(
        Share.status.in_(("scheduled", "queued", "publishing")))) or 0


def healthz(client: Any) -> tuple[int, dict[str, Any]]:
    answer = client.get("/healthz")
    return answer.status_code, answer.get_json()


def serving(client: Any) -> dict[str, int]:
    """Worker loops serving each queue, as /healthz reports them ({} while it is not healthy)."""
    status, report = healthz(client)
    if status != 200:
        return {}
    return {name: q["workers"] for name, q in report["queues"].items()}


def listed(client: Any) -> list[tuple[list[str], int]]:
    """(queues, loops) of each worker process /healthz lists."""
    status, report = healthz(client)
    return [(w["queues"], w["loops"]) for w in report.get("workers", [])]


def all_alive(pool: Workers) -> list[int]:
    dead = [p.pid for p in pool.procs if p.poll() is not None]
    assert not dead, f"worker processes exited: {dead}\n{pool.tail()}"
    return [p.pid for p in pool.procs]


def all_logged(pool: Workers, text: str) -> bool:
    logs = [p.read_text(errors="replace") for p in pool.logs.glob("worker-*.log")]
    return len(logs) == len(pool.procs) and all(text in log for log in logs)


def redis_reported_down(client: Any) -> dict[str, Any]:
    status, report = healthz(client)
    if status == 503 and not report["redis"]["ok"]:
        return report
    return {}


def test_workers_ride_out_redis_outages_at_start_and_mid_campaign(fast, private_redis, workers, app, client, sandbox,
                                                                  policy):
    x = Sandbox(sandbox["x"])
    x.configure(latency_ms=150)
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(PEOPLE)]
    points = [approved(title=f"Point {n}", text=f"Read about point {n}.") for n in range(POINTS)]

    private_redis.kill()  # Redis is away before any worker starts
    pool = workers(fast | {"WORKER_RECONNECT_MAX_SECONDS": 1.0, "LOG_LEVEL": "INFO"})
    pool.start(2)
    report = wait_for(lambda: redis_reported_down(client), 10, "/healthz did not report Redis down")
    assert report["ok"] is False and "Redis is not answering" in report["redis"]["message"]
    # every worker has met the outage (on a loaded machine a process can take longer to start than the outage lasts)
    wait_for(lambda: all_logged(pool, "event=worker_redis_unavailable"), 120,
             lambda: f"the workers never tried Redis while it was away\n{pool.tail()}")
    time.sleep(OUTAGE)  # the fault itself: Redis stays away this long
    pids = all_alive(pool)
    private_redis.start()
    wait_for(lambda: serving(client) == {"publish": 2, "default": 2}, 60,
             lambda: f"the workers did not register once Redis was there: {healthz(client)}\n{pool.tail()}")

    rng = random.Random(13)
    pairs = [(user, point) for point in points for user in users]
    ids = [services.create_share(user, point, "x").id for user, point in pairs[:NOW]]  # due now; the rest later
    ids += [services.create_share(user, point, "x", at=utcnow() + dt.timedelta(seconds=rng.uniform(6, 20))).id
            for user, point in pairs[NOW:]]
    wait_for(lambda: len(x.posts()) >= 10 and pending() > 0, 60, "the campaign did not get under way")
    private_redis.kill()  # mid-campaign: shares being posted, queued and waiting; everything Redis held is lost
    wait_for(lambda: redis_reported_down(client), 10, "/healthz did not report Redis down mid-campaign")
    time.sleep(OUTAGE)
    assert all_alive(pool) == pids
    private_redis.start()

    wait_until_settled(len(ids), 180, pool)
    assert_exactly_once(x, ids)
    assert all_alive(pool) == pids
    wait_for(lambda: serving(client) == {"publish": 2, "default": 2}, 30,
             lambda: f"/healthz did not recover: {healthz(client)}")
    # every loop is back, the publishing threads' too (ADVOCACY_WORKER_THREADS, 4 by default)
    wait_for(lambda: listed(client) == [(["publish", "default"], 4)] * 2, 30,
             lambda: f"not every loop came back: {listed(client)}\n{pool.tail()}")
    log = "".join(p.read_text() for p in pool.logs.glob("worker-*.log"))
    assert "event=worker_redis_unavailable" in log and "event=redis_available" in log


def test_a_worker_registers_again_after_a_redis_stall_longer_than_its_ttl(fast, private_redis, workers, app, client):
    ttl = 3
    pool = workers(fast | {"WORKER_TTL": ttl, "WORKER_THREADS": 2, "LOG_LEVEL": "INFO"})
    pool.start(1)
    wait_for(lambda: listed(client) == [(["publish", "default"], 2)], 60,
             lambda: f"the worker did not register: {healthz(client)}\n{pool.tail()}")

    # the stall starts while one loop is a moment into a job (RQ lengthens a busy worker's registration to the job's
    # TTL, about a minute): its registration must expire all the same, like the idle loop's
    conn = Redis.from_url(private_redis.url)
    running = queues.queue("default", conn).enqueue(time.sleep, 2 * ttl + 2)
    wait_for(lambda: running.get_status(refresh=True) == "started", 30, lambda: f"no loop took the job\n{pool.tail()}")
    assert all(0 < conn.ttl(key) <= ttl for key in conn.smembers("rq:workers")), "a registration outlives WORKER_TTL"
    stalled = Redis.from_url(private_redis.url)
    stall = threading.Thread(target=lambda: stalled.execute_command("DEBUG", "SLEEP", 2 * ttl))
    stall.start()
    time.sleep(0.2)
    wait_for(lambda: redis_reported_down(client), 10, "/healthz did not report the stalled Redis down")
    stall.join(30)
    ended = time.monotonic()
    wait_for(lambda: listed(client) == [(["publish", "default"], 2)], 10,  # one heartbeat is 0.75 s here
             lambda: f"/healthz did not list the worker and its queues again: {healthz(client)}\n{pool.tail()}")
    print(f"listed again {time.monotonic() - ended:.2f} s after a {2 * ttl} s stall (worker TTL {ttl} s)")
    assert serving(client) == {"publish": 1, "default": 1}
    def logged() -> str:
        return "".join(p.read_text() for p in pool.logs.glob("worker-*.log"))

    # the stall did expire the registration: this is the recovery (the worker writes the line just after it is listed
    # again, which /healthz can show first)
    wait_for(lambda: len(set(re.findall(r"event=worker_registered_again worker=(\S+)", logged()))) == 2, 10,
             lambda: f"the two loops did not both log registering again:\n{pool.tail()}")
    # and the job that ran through the stall finished on the loop that was busy
    wait_for(lambda: running.get_status(refresh=True) == "finished", 30,
             lambda: f"the job running through the stall ended {running.get_status(refresh=True)}\n{pool.tail()}")
    all_alive(pool)


def scheduler_holder(conn: Redis, pool: Workers) -> Any:
    """The worker process holding RQ's scheduler lock of the ``default`` queue (where the sweeper runs)."""
    name = conn.get("rq:scheduler-lock:default")
    pid = name and conn.hget(f"rq:scheduler:{name.decode()}", "pid")
    if not pid:
        return None
    try:
        group = os.getpgid(int(pid))  # the scheduler is forked by its worker, in the worker's process group
    except ProcessLookupError:
        return None
    return next((p for p in pool.procs if p.pid == group and p.poll() is None), None)


def last_sweep(conn: Redis, enqueued_after: float) -> float:
    """When the last sweep moved onto its queue after ``enqueued_after`` (epoch) ended (epoch; 0: none)."""
    ended = 0.0
    for key in conn.scan_iter("rq:job:periodic-delivery-sweep-*"):
        enqueued_at, ended_at = conn.hmget(key, ["enqueued_at", "ended_at"])
        if enqueued_at and ended_at and _epoch(enqueued_at) > enqueued_after:
            ended = max(ended, _epoch(ended_at))
    return ended


def _epoch(stamp: bytes) -> float:
    when = str_to_date(stamp.decode())
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


def test_sweeper_runs_soon_after_the_scheduler_holder_is_killed(fast, private_redis, workers, app):
    lock = 10
    pool = workers(fast | {"DELIVERY_SWEEP_SECONDS": 1, "WORKER_SCHEDULER_LOCK_SECONDS": lock})
    pool.start(3)
    conn = Redis.from_url(private_redis.url)
    start = time.time()
    wait_for(lambda: last_sweep(conn, start), 60, lambda: f"the sweeper never ran\n{pool.tail()}")
    holder = wait_for(lambda: scheduler_holder(conn, pool), 30, "no worker holds the scheduler lock")

    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(10)
    pool.procs.remove(holder)
    killed = time.time()
    # the first sweep moved onto the queue after the kill (not one already queued) shows the scheduler is back
    wait_for(lambda: last_sweep(conn, killed + 0.5), lock + 30,
             lambda: f"no sweep within {lock + 30} s of the SIGKILL\n{pool.tail()}")
    recovery = last_sweep(conn, killed + 0.5) - killed
    print(f"the sweeper ran {recovery:.1f} s after the scheduler holder was SIGKILLed (lock {lock} s)")
    assert recovery <= lock + 15, recovery  # lock's end, a keeper round, the scheduler's start, a sweep (RQ: 61 s+)


def test_a_share_posted_while_redis_went_away_is_never_posted_again(fast, private_redis, workers, app, sandbox,
                                                                     policy):
    """Redis goes away while a share is being posted: the post lands and the share is marked published in the
    database, but RQ cannot record the job's end. Redis comes back with the job still "started"; the sweeper and a
    new run of the same job find the share published and post nothing."""
    from advocacy.extensions import redis_client
    from workers import queues

    x = Sandbox(sandbox["x"])
    settings = fast | {"WORKER_RECONNECT_MAX_SECONDS": 1.0, "HTTP_TIMEOUT": 10, "DELIVERY_LEASE_SECONDS": 60,
                       "WORKER_THREADS": 1, "LOG_LEVEL": "INFO"}
    app.config.update(DELIVERY_LEASE_SECONDS=60)  # the job's timeout (half the lease) is set where it is queued
    pool = workers(settings)
    pool.start(1)
    user = employee("emma@acme.test", "emma_acme")
    point = approved()
    conn = Redis.from_url(private_redis.url)
    wait_for(lambda: conn.scard("rq:workers:publish") == 1, 60, lambda: f"no worker registered\n{pool.tail()}")
    x.configure(latency_ms=2500)

    def status() -> str:
        db.session.rollback()
        return db.session.scalar(select(Share.status).where(Share.id == share_id)) or ""

    share_id = services.create_share(user, point, "x").id
    def started() -> list[str]:
        pattern = f"rq:job:{queues.publish_job_id(share_id, '*')}"  # the share's block's jobs
        return [k.decode().removeprefix("rq:job:") for k in conn.scan_iter(pattern)
                if conn.hget(k, "status") == b"started"]

    job_id = wait_for(started, 30, "the worker did not start the share's job")[0]
    wait_for(lambda: status() == "publishing", 10, "the share was not claimed")
    time.sleep(0.5)  # the fault's moment: the worker is now waiting on the network (2.5 s)
    private_redis.stop_keeping_data()
    wait_for(lambda: status() == "published", 30, "the post did not land while Redis was away")
    time.sleep(2)  # the job's end meets no Redis; the worker retries meanwhile
    assert all_alive(pool)
    private_redis.start()
    assert conn.hget(f"rq:job:{job_id}", "status") == b"started"  # RQ never learned the job ended

    app.extensions.pop("advocacy.redis", None)
    queues.enqueue_publish(redis_client(), share_id, key="again")  # a new run of the share's job, as a re-queue does
    # a publish job keeps no result: RQ deletes it once it ran
    wait_for(lambda: not conn.exists(f"rq:job:{queues.publish_job_id(share_id, 'again')}"), 60,
             lambda: f"the new run did not finish\n{pool.tail()}")
    time.sleep(fast["DELIVERY_SWEEP_SECONDS"] * 2)  # and a sweep or two
    assert len(x.posts()) == 1 and status() == "published"
    log = "".join(p.read_text() for p in pool.logs.glob("worker-*.log"))
    assert f"event=skip block={queues.block_of(share_id)} claimed=0" in log  # the new run found it published: no claim
    all_alive(pool)
