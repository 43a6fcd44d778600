"""The token job: refresh tokens ahead of expiry and remind people to reconnect. Thin: the domain decides."""

from __future__ import annotations

import logging

from workers.context import app

log = logging.getLogger(__name__)


def refresh_tokens() -> dict[str, int]:
    """Refresh expiring tokens (revoked accounts are marked and their owners told once); send reminders."""
    app()
    from advocacy.delivery.tokens import refresh_expiring
    from advocacy.extensions import db

    try:
        return refresh_expiring()
    finally:
        db.session.remove()
