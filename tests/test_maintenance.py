"""Database upkeep: on SQLite the planner's statistics are refreshed by a periodic job (a database server keeps its
own), so the indexes the Reach pages rely on are chosen in a real installation, not only after a bench's ANALYZE."""

from __future__ import annotations

from sqlalchemy import text

from advocacy.extensions import db
from tests.conftest import run_jobs
from workers import queues, schedule


def test_the_statistics_job_is_armed_and_refreshes_sqlites_statistics(app, make_user, redis):
    assert any(i.startswith("periodic-db-refresh-statistics-") for i in schedule.arm(redis))
    for name in ("emma", "noah", "mia"):
        make_user(f"{name}@acme.test")
    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        assert not db.session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"))
    db.session.rollback()
    queues.queue(queues.DEFAULT, redis).enqueue(schedule.RUNNER, "db-refresh-statistics", 3600)
    run_jobs(app)
    if sqlite:  # the tables' indexes now have statistics the planner reads
        rows = dict(db.session.execute(text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'users'")).all())
        assert rows and all(stat.split()[0] == "3" for stat in rows.values()), rows  # three people counted
    else:
        from advocacy.ops.maintenance import refresh_statistics

        assert refresh_statistics() is False  # PostgreSQL's autovacuum analyzes on its own
