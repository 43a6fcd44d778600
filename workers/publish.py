"""The publish job: one share, by id. The domain decides; this only opens the context and logs."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def publish_share(share_id: int) -> str:
    """Publish share ``share_id``; returns the state it ended in. Raises on unexpected errors so RQ records them.

    Args:
        share_id: primary key of the share to publish.
    """
    app()
    from advocacy.delivery.publishing import publish
    from advocacy.extensions import db

    session = db.session()
    session.expire_all()  # nothing read before this job is trusted (a worker's session is empty anyway)
    # Every transition is a conditional UPDATE in the database, so the share and account the claim loaded stay
    # readable across the job's commits instead of being loaded again after each one; the session ends with the job.
    session.expire_on_commit = False
    try:
        return publish(share_id)
    finally:
        db.session.remove()
