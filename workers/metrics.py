"""The metrics fetch-back job: due shares' figures from their networks. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def fetch_due_metrics() -> int:
    """Fetch metrics for every share whose next step is due; returns how many snapshots were stored."""
    app()
    from advocacy.extensions import db
    from advocacy.reach.metrics import fetch_due
    from advocacy.reach.rollup import create_share_stats

    try:
        create_share_stats()  # a share published since the last rollup gets its schedule now
        return fetch_due()
    finally:
        db.session.remove()
