"""The webhook jobs: send one delivery, or every delivery that is due. Thin: the domain decides and records."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def deliver_webhook(delivery_id: int) -> bool | None:
    """Attempt delivery ``delivery_id`` if it is due; the answer (or its absence) is recorded on it and a failed
    attempt is scheduled again from the database, so the job itself never fails for an endpoint's sake.

    Args:
        delivery_id: primary key of the webhook delivery.
    """
    app()
    from advocacy.extensions import db
    from advocacy.integrations.webhooks import deliver

    try:
        return deliver(delivery_id)
    finally:
        db.session.remove()


def deliver_due_webhooks() -> int:
    """Attempt every pending delivery that is due (periodic: retries, and deliveries whose job was lost)."""
    app()
    from advocacy.extensions import db
    from advocacy.integrations.webhooks import deliver_due

    try:
        return deliver_due()
    finally:
        db.session.remove()
