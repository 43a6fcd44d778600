"""The migrations: one head, a schema that matches the models, and a full round trip down and up again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from advocacy import create_app
from advocacy.extensions import db
from tests.conftest import ROOT


def test_the_migrations_have_a_single_head():
    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    assert len(heads) == 1, f"merge the branches: {heads}"


@pytest.fixture()
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: SQLite, or a throwaway PostgreSQL database beside ``TEST_DATABASE_URL``'s."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    from advocacy.config import parse_database_url

    server = create_engine(parse_database_url(url), isolation_level="AUTOCOMMIT")
    name = f"advocacy_migrations_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def test_upgrade_matches_the_models_and_downgrade_undoes_it(empty_database, redis_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert drift == [], f"the models and the migrations differ: {drift}"
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert {"shares", "fanouts", "talking_point_images"} <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()
