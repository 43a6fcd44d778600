"""What /healthz reports: the database, Redis, and which live worker serves each queue.

Redis is asked with a short timeout of its own, so a stalled Redis (a long ``DEBUG SLEEP``, a frozen host) is
reported down within seconds instead of holding the health check as long as it stalls.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from redis import ConnectionPool, Redis
from rq import Worker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from advocacy.extensions import db, redis_client
from workers import queues

PROBE_TIMEOUT = 2.0  # seconds the health check waits for Redis
REDIS_DOWN = ("Redis is not answering: nothing is posted or moved meanwhile, and nothing is lost. Shares wait in the "
              "database; workers keep retrying and carry on by themselves when Redis is back.")


def check() -> tuple[bool, dict[str, Any]]:
    """Returns (healthy, report). Unhealthy: no database, no Redis, or a queue with work and no worker serving it."""
    report: dict[str, Any] = {}
    healthy = True
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        db.session.rollback()
        report["database"] = {"ok": False, "error": type(exc).__name__}
        healthy = False
    try:
        conn = _probe()
        conn.ping()
        workers = _processes(Worker.all(connection=conn))
        found: dict[str, Any] = {}
        for name in queues.ALL_QUEUES:
            q = queues.queue(name, conn)
            serving = [w["name"] for w in workers if name in w["queues"]]
            waiting = q.count
            scheduled = ScheduledJobRegistry(queue=q).count
            ok = bool(serving) or (waiting == 0 and scheduled == 0)
            found[name] = {"waiting": waiting, "scheduled": scheduled, "workers": len(serving), "ok": ok}
            healthy = healthy and ok
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        report["redis"] = {"ok": False, "error": type(exc).__name__, "message": REDIS_DOWN}
        return False, report
    report["redis"] = {"ok": True}
    report["workers"] = workers
    report["queues"] = found
    return healthy, report


def _probe() -> Redis:
    """A client of the app's Redis that gives up after ``PROBE_TIMEOUT`` (made once per app)."""
    client: Redis | None = current_app.extensions.get("advocacy.redis-probe")
    if client is None:
        pool = redis_client().connection_pool
        kwargs = dict(pool.connection_kwargs, socket_timeout=PROBE_TIMEOUT, socket_connect_timeout=PROBE_TIMEOUT)
        client = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class, **kwargs))
        current_app.extensions["advocacy.redis-probe"] = client
    return client


def _processes(workers: list[Worker]) -> list[dict[str, Any]]:
    """One entry per worker process: an ``advocacy worker`` runs several RQ worker loops (its publishing threads),
    each registered in Redis; ``loops`` counts them, ``state`` is busy when any of them is."""
    by_process: dict[tuple[Any, Any], list[Worker]] = {}
    for w in sorted(workers, key=lambda w: w.birth_date.timestamp() if w.birth_date else 0):
        by_process.setdefault((w.hostname, w.pid) if w.pid else (w.name, None), []).append(w)
    out = []
    for loops in by_process.values():
        states = [str(w.get_state()) for w in loops]
        beats = [w.last_heartbeat for w in loops if w.last_heartbeat]
        out.append({"name": loops[0].name, "state": "busy" if "busy" in states else states[0],
                    "queues": list(dict.fromkeys(q for w in loops for q in w.queue_names())), "loops": len(loops),
                    "last_heartbeat": max(beats).isoformat() if beats else None})
    return out
