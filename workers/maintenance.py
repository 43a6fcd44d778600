"""Database upkeep as a periodic job. Thin: ``advocacy.ops.maintenance`` decides."""

from __future__ import annotations

from workers.context import app


def refresh_statistics() -> bool:
    """Refresh the query planner's statistics (SQLite; a database server keeps its own)."""
    app()
    from advocacy.extensions import db
    from advocacy.ops.maintenance import refresh_statistics as refresh

    try:
        return refresh()
    finally:
        db.session.remove()
