"""The content sources jobs: fetch the feeds that are due, or one feed now. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def fetch_due_sources() -> int:
    """Fetch every feed whose next fetch is due (periodic); returns the drafts made. A broken feed keeps its error
    on the sources page and backs off; it never fails the job."""
    app()
    from advocacy.extensions import db
    from advocacy.integrations.sources import fetch_due

    try:
        return fetch_due()
    finally:
        db.session.remove()


def fetch_source(source_id: int) -> int:
    """Fetch feed ``source_id`` now if it is due (comms pressed "Fetch now"); returns the drafts made.

    Args:
        source_id: primary key of the content source.
    """
    app()
    from advocacy.extensions import db
    from advocacy.integrations import sources

    try:
        return sources.fetch_source(source_id)
    finally:
        db.session.remove()
