"""What /healthz reports: the database, Redis, and which live worker serves each queue."""

from __future__ import annotations

from typing import Any

from rq import Worker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from advocacy.extensions import db, redis_client
from workers import queues


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
        conn = redis_client()
        conn.ping()
        report["redis"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001
        report["redis"] = {"ok": False, "error": type(exc).__name__}
        return False, report
    workers = _processes(Worker.all(connection=conn))
    report["workers"] = workers
    report["queues"] = {}
    for name in queues.ALL_QUEUES:
        q = queues.queue(name, conn)
        serving = [w["name"] for w in workers if name in w["queues"]]
        waiting = q.count
        scheduled = ScheduledJobRegistry(queue=q).count
        ok = bool(serving) or (waiting == 0 and scheduled == 0)
        report["queues"][name] = {"waiting": waiting, "scheduled": scheduled, "workers": len(serving), "ok": ok}
        healthy = healthy and ok
    return healthy, report


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
