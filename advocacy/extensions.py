"""Flask extensions, created unbound; ``create_app`` binds them. Nothing here opens a connection."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
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
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
api = Api()
limiter = Limiter(get_remote_address, headers_enabled=True)


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
