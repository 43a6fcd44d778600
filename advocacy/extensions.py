"""Flask extensions, created unbound; ``create_app`` binds them. Nothing here opens a connection."""

from __future__ import annotations

from typing import Any

import click
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
login = LoginManager()
csrf = CSRFProtect()
api = Api()
limiter = Limiter(get_remote_address, headers_enabled=True)


class DeferredMigrate:
    """Flask-Migrate, bound on first use. Alembic (with Mako and Pygments) is some 12 MiB in every process that
    imports it, and a web worker never migrates: ``create_app`` leaves a stand-in in ``app.extensions["migrate"]``
    and a ``db`` command group that bind the real thing when ``flask_migrate.upgrade`` (or ``flask db …``) first
    reaches for them."""

    def init_app(self, app: Any, db: Any, directory: str) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, db, directory)
        app.cli.add_command(_DeferredGroup("db", help="Perform database migrations (Flask-Migrate)."))


class _PendingMigrate:
    def __init__(self, app: Any, db: Any, directory: str) -> None:
        self._args = (app, db, directory)

    def bind(self) -> Any:
        app, db, directory = self._args
        if isinstance(app.extensions.get("migrate"), _PendingMigrate):
            from flask_migrate import Migrate

            Migrate(app, db, directory=directory)  # replaces this stand-in and the ``db`` group with the real ones
        return app.extensions["migrate"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.bind(), name)


class _DeferredGroup(click.Group):
    """``advocacy db …``: Flask-Migrate's command group (its options, its callback, its commands), imported when
    the group is used."""

    @staticmethod
    def _real() -> click.Group:
        from flask_migrate.cli import db as group

        return group

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return self._real().get_params(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        self.callback = self._real().callback
        return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._real().get_command(ctx, cmd_name)


migrate = DeferredMigrate()


def redis_client() -> Redis:
    """The app's Redis client, created on first use: ``REDIS_URL``, or the embedded server in the instance folder."""
    from flask import current_app

    client = current_app.extensions.get("advocacy.redis")
    if client is None:
        from workers import queues

        url = current_app.config["REDIS_URL"]
        client = queues.connect(url) if url else queues.embedded_redis(current_app.instance_path)
        current_app.extensions["advocacy.redis"] = client
    return client
