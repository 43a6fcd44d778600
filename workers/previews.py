"""The link preview job: fetch one talking point's link page and store its card. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def fetch_link_preview(talking_point_id: int) -> bool:
    """Fetch talking point ``talking_point_id``'s link under the outbound guard and store its preview card, or the
    reason there is none (an unreachable page is stored, not raised). Returns whether a card was found.

    Args:
        talking_point_id: primary key of the talking point.
    """
    app()
    from advocacy.content.link_previews import refresh
    from advocacy.extensions import db

    try:
        preview = refresh(talking_point_id)
        return preview is not None and preview.error is None
    finally:
        db.session.remove()
