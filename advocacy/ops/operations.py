"""What the operations page shows: queues, workers and the queues each serves, shares by state, failed shares with
their errors, posting budgets, the month's X spend and the shares its cap holds, and auto-share fan-outs."""

from __future__ import annotations

from typing import Any

from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from advocacy.delivery import budgets, costs
from advocacy.delivery.models import FanOut, Share, ShareStatus
from advocacy.extensions import db, redis_client
from advocacy.ops import health
from workers import queues


def overview(failed_limit: int = 100) -> dict[str, Any]:
    """Everything the page shows, gathered in one place (the view stays thin)."""
    healthy, report = health.check()
    by_status = dict(db.session.execute(select(Share.status, func.count(Share.id)).group_by(Share.status)).all())
    due = db.session.scalar(select(func.min(Share.scheduled_at)).where(Share.status == ShareStatus.SCHEDULED))
    failed = list(db.session.scalars(select(Share).where(Share.status.in_((ShareStatus.FAILED, ShareStatus.PAUSED)))
                                     .order_by(Share.updated_at.desc()).limit(failed_limit)))
    conn = redis_client() if report.get("redis", {}).get("ok") else None
    failed_jobs = {n: FailedJobRegistry(queue=queues.queue(n, conn)).count for n in queues.ALL_QUEUES} if conn else {}
    return {
        "healthy": healthy, "report": report,
        "by_status": {s: by_status.get(s, 0) for s in ShareStatus.ALL},
        "next_due": due, "failed": failed, "failed_jobs": failed_jobs,
        "budgets": budgets.usage(conn) if conn else [],
        "x_spend": _x_spend(failed_limit),
        "fanouts": list(db.session.scalars(select(FanOut).order_by(FanOut.id.desc()).limit(10))),
    }


def _x_spend(limit: int) -> dict[str, Any]:
    """This month's X spend (UTC), the cap, and the shares the cap holds until next month, with their reason."""
    held = list(db.session.scalars(select(Share).where(
        Share.status == ShareStatus.SCHEDULED, Share.last_error.like("held: X monthly spend cap%"))
        .order_by(Share.scheduled_at, Share.id).limit(limit)))
    return {"spent": costs.money(costs.spent("x")), "prices": costs.prices(), "held": held,
            "held_count": costs.held_over_cap()}
