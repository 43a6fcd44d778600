"""The migration that adds "one live share per talking point, person and network" to an older database that already
holds duplicates: it keeps one of each group (the one being published, else the newest) and cancels the others with a
reason, instead of failing on the unique index."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from advocacy import create_app
from advocacy.extensions import db
from tests.conftest import ROOT

REVISION = "f6b2d8e41c07"


@pytest.fixture()
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: SQLite, or a throwaway PostgreSQL database beside ``TEST_DATABASE_URL``'s."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'live-once.db'}"
        return
    from advocacy.config import parse_database_url

    server = sa.create_engine(parse_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"advocacy_live_once_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _insert(conn: Any, table: str, **values: Any) -> int:
    """Insert a row giving every required column a plain value (the schema of that revision, reflected)."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for column in reflected.columns:
        if column.name in row or column.nullable or column.server_default is not None or column.primary_key:
            continue
        kind = column.type.python_type if hasattr(column.type, "python_type") else str
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        row[column.name] = {bool: False, int: 0, dt.datetime: dt.datetime(2026, 11, 1, tzinfo=dt.UTC)}.get(
            kind, f"{column.name}-{uuid.uuid4().hex[:8]}")
    return int(conn.execute(reflected.insert().values(**row).returning(reflected.c.id)).scalar_one())


def test_duplicate_live_shares_in_an_old_database_do_not_break_the_migration(empty_database, redis_url, tmp_path):
    from flask_migrate import upgrade

    before = ScriptDirectory(str(ROOT / "migrations")).get_revision(REVISION).down_revision
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade(revision=before)
        with db.engine.begin() as conn:
            user = _insert(conn, "users", email="emma@acme.test", role="employee", active=True)
            tp = _insert(conn, "talking_points", status="approved", author_id=user)

            def share(status: str, network: str = "x") -> int:
                return _insert(conn, "shares", talking_point_id=tp, user_id=user, network=network, status=status,
                               code=uuid.uuid4().hex[:12], auto=False, in_doubt=False, attempts=0)

            older, newer = share("queued"), share("scheduled")  # twice on X: the newer is kept
            posting, later = share("publishing", "linkedin"), share("queued", "linkedin")  # one is being posted
            published, failed = share("published", "bluesky"), share("failed", "bluesky")  # neither is pending
            alone = share("paused", "mastodon")
        upgrade(revision=REVISION)
        with db.engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT id, status FROM shares")).all())
            reasons = dict(conn.execute(sa.text("SELECT id, last_error FROM shares WHERE status = 'cancelled'")).all())
            assert rows == {older: "cancelled", newer: "scheduled", posting: "publishing", later: "cancelled",
                            published: "published", failed: "failed", alone: "paused"}
            assert "newer share" in reasons[older] and "newer share" in reasons[later]
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:  # from now on the database holds it
            _insert(conn, "shares", talking_point_id=tp, user_id=user, network="x", status="queued",
                    code=uuid.uuid4().hex[:12], auto=False, in_doubt=False, attempts=0)
        db.engine.dispose()
