"""The migration that brings in LinkedIn's consent year: people already auto-sharing on LinkedIn start their year on
the day of the upgrade (their auto-shares do not all pause at once); nobody else is given a consent."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from advocacy import create_app
from advocacy.extensions import db
from tests.conftest import ROOT
from tests.delivery.test_live_once_migration import _insert, empty_database  # noqa: F401  (fixture)

REVISION = "c4e8a1f2d907"


def test_people_auto_sharing_on_linkedin_start_their_consent_year_at_the_upgrade(empty_database, redis_url, tmp_path):  # noqa: F811
    from flask_migrate import upgrade

    before = ScriptDirectory(str(ROOT / "migrations")).get_revision(REVISION).down_revision
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade(revision=before)
        with db.engine.begin() as conn:
            def person(email: str, topics: str, network: str | None, status: str = "active") -> int:
                user = _insert(conn, "users", email=email, role="employee", active=True, auto_share_topics=topics)
                if network:
                    _insert(conn, "connected_accounts", user_id=user, network=network, status=status,
                            handle=f"h{uuid.uuid4().hex[:6]}")
                return user

            sharer = person("emma@acme.test", "hiring", "linkedin")
            by_hand = person("noah@acme.test", "", "linkedin")  # no auto-share
            revoked = person("ava@acme.test", "hiring", "linkedin", "revoked")  # not connected now
            x_only = person("liam@acme.test", "hiring", "x")
        started = dt.datetime.now(dt.UTC)
        upgrade(revision=REVISION)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT user_id, network, consented_at FROM auto_share_consents")).all()
        assert [(r[0], r[1]) for r in rows] == [(sharer, "linkedin")]
        given = rows[0][2] if isinstance(rows[0][2], dt.datetime) else dt.datetime.fromisoformat(rows[0][2])
        given = given if given.tzinfo else given.replace(tzinfo=dt.UTC)  # SQLite hands back text
        assert abs(given - started) < dt.timedelta(minutes=1)
        assert {by_hand, revoked, x_only}.isdisjoint({r[0] for r in rows})
        db.engine.dispose()
