"""The click rollup job: raw clicks → per-share, per-day counts. Thin: the domain does the counting."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def rollup_clicks() -> int:
    """Roll up pending clicks; returns how many raw events were counted. Raises so RQ records failures."""
    app()
    from advocacy.extensions import db
    from advocacy.reach.rollup import rollup

    try:
        return rollup()
    finally:
        db.session.remove()


def rebuild_totals() -> int:
    """Recreate the report totals from the raw tables (``advocacy reach rebuild-totals`` as a job); returns how many
    shares were totalled."""
    app()
    from advocacy.extensions import db
    from advocacy.reach.totals import rebuild

    try:
        shares = rebuild()
        db.session.commit()
        log.info("event=reach_totals_rebuilt shares=%s", shares)
        return shares
    finally:
        db.session.remove()
