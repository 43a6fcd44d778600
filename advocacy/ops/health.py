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
    workers = Worker.all(connection=conn)
    report["workers"] = [{"name": w.name, "state": str(w.get_state()), "queues": w.queue_names(),
                          "last_heartbeat": w.last_heartbeat.isoformat() if w.last_heartbeat else None}
                         for w in workers]
    report["queues"] = {}
    for name in queues.ALL_QUEUES:
        q = queues.queue(name, conn)
        serving = [w.name for w in workers if name in w.queue_names()]
        waiting = q.count
        scheduled = ScheduledJobRegistry(queue=q).count
        ok = bool(serving) or (waiting == 0 and scheduled == 0)
        report["queues"][name] = {"waiting": waiting, "scheduled": scheduled, "workers": len(serving), "ok": ok}
        healthy = healthy and ok
    return healthy, report
