"""Database upkeep the embedded default needs and a database server does on its own.

SQLite keeps no statistics unless asked: without them its query planner cannot tell a selective index from one that
reads a whole year (the Reach pages chose the publication-day index over the status, channel and metrics indexes).
PostgreSQL's autovacuum analyzes changed tables itself, so nothing is done there.
"""

from __future__ import annotations

import logging

from sqlalchemy import text

from advocacy.extensions import db

log = logging.getLogger(__name__)
ANALYSIS_LIMIT = 1000  # rows SQLite samples per index: approximate statistics in milliseconds, whatever the size


def refresh_statistics() -> bool:
    """Refresh the query planner's statistics on SQLite (``ANALYZE`` with ``analysis_limit``); False on a database
    server, which keeps its own."""
    if db.engine.dialect.name != "sqlite":
        return False
    with db.engine.connect() as connection:
        connection.execute(text(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}"))
        connection.execute(text("ANALYZE"))
        connection.commit()
    log.info("event=sqlite_statistics_refreshed analysis_limit=%s", ANALYSIS_LIMIT)
    return True
