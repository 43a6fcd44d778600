"""The delivery sweeper: the periodic safety net that makes Redis disposable. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def sweep_shares() -> dict[str, int]:
    """Recover shares of dead workers, re-queue due shares Redis lost, resume reconnected accounts' shares."""
    app()
    from advocacy.delivery.services import sweep
    from advocacy.extensions import db

    try:
        return sweep()
    finally:
        db.session.remove()
