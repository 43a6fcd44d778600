"""The auto-share fan-out job: one approved talking point to every opted-in person. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def fan_out(talking_point_id: int) -> int:
    """Place the auto-shares of an approved talking point; returns how many shares were created.

    Args:
        talking_point_id: the talking point (the job's progress is written to a ``FanOut`` row).
    """
    app()
    from advocacy.delivery.fanout import run
    from advocacy.extensions import db

    try:
        return run(talking_point_id)
    finally:
        db.session.remove()
