"""The publish job: the due shares of one block of share ids (``queues.publish_job_id``). The domain decides; this
only opens the context and logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from workers.context import app

log = logging.getLogger(__name__)


def publish_block(block: int, key: str | None = None) -> dict[str, int]:
    """Publish the shares of block ``block`` (share ids ``block * queues.BLOCK`` onwards) due by ``key``'s time;
    returns how many ended in each state. Raises on unexpected errors so RQ records them.

    Args:
        block: the block's number (``queues.block_of``).
        key: the job id's key (``services.job_key`` of the time its shares are due; None: every due share).
    """
    from advocacy.delivery.publishing import publish_block as publish

    return _in_session(lambda: publish(block, key))


def publish_share(share_id: int) -> str:
    """Publish share ``share_id`` alone (a job queued before publishing went by blocks); returns the state it ended
    in.

    Args:
        share_id: primary key of the share to publish.
    """
    from advocacy.delivery.publishing import publish

    return _in_session(lambda: publish(share_id))


def _in_session(run: Callable[[], Any]) -> Any:
    app()
    from advocacy.extensions import db

    session = db.session()
    session.expire_all()  # nothing read before this job is trusted (a worker's session is empty anyway)
    # Every transition is a conditional UPDATE in the database, so the shares and accounts the claim loaded stay
    # readable across the job's commits instead of being loaded again after each one; the session ends with the job.
    session.expire_on_commit = False
    try:
        return run()
    finally:
        db.session.remove()
