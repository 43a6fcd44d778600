"""advocacy: a self-hosted employee brand-advocacy content scheduler.

``create_app`` is the only way in: nothing connects to anything when this package is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from advocacy import config as settings

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_UMASK = 0o077  # files 0600, folders 0700
log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application.

    Args:
        config: overrides applied after the defaults and the ``ADVOCACY_*`` environment (tests use this).
    """
    values = settings.load(config)
    instance_path = Path(values["INSTANCE_PATH"] or ROOT / "instance").resolve()
    os.umask(PRIVATE_UMASK)  # every file this process (and what it starts: embedded Redis, workers) creates is private
    settings.finish(values, instance_path)
    _private_files(instance_path, values["SQLALCHEMY_DATABASE_URI"])

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(values)
    app.url_map.converters["int"] = _DatabaseInteger
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(values["SQLALCHEMY_DATABASE_URI"]))
    app.config.update(
        # the largest image a talking point may carry, plus room for the form around it; larger bodies get a 413
        MAX_CONTENT_LENGTH=values["MEDIA_MAX_BYTES"] + 1_000_000,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=values["ENV"] == "production",
        WTF_CSRF_CHECK_DEFAULT=False,  # advocacy.auth checks CSRF on every cookie-authenticated write
        API_TITLE="advocacy",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
    )
    _logging(app)

    from advocacy.extensions import api, csrf, db, limiter, login, migrate

    db.init_app(app)
    if values["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            _sqlite_pragmas(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login.init_app(app)
    csrf.init_app(app)
    api.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage(values["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "advocacy-limits")
    limiter.init_app(app)

    from advocacy import models, security  # noqa: F401  (models: every table registered before anything queries)
    from advocacy.delivery.reactions import subscribe

    subscribe()  # delivery hears what content and people tell it (advocacy.events), on every path
    from advocacy.integrations.webhooks import subscribe as webhooks_outbox

    webhooks_outbox()  # the events webhook endpoints subscribe to are written to the outbox
    from advocacy.content.reactions import subscribe as content_reactions
    from advocacy.reach.reactions import subscribe as reach_reactions

    content_reactions()  # a deactivated person leaves named-person targeting
    reach_reactions()  # … and the leaderboard
    from advocacy.notifications.preference_views import init_app as init_announcing

    init_announcing(app)  # approvals announced where each person chose; their Notifications preferences
    from advocacy.reach.participation_views import init_app as init_participation

    init_participation(app)  # Reach: participation by channel (table, CSV, JSON)
    from advocacy.notifications.slack import init_app as init_slack

    init_slack(app)  # the Slack app: its channel, admin page, interactivity endpoint and DM updates
    from advocacy.auth import init_app as init_auth

    init_auth(app)
    from advocacy.people import sso

    sso.init_app(app)
    security.init_app(app)

    from advocacy.accounts.views import bp as accounts_bp
    from advocacy.api import init_errors
    from advocacy.api import register as register_api
    from advocacy.content.views import bp as content_bp
    from advocacy.delivery.views import bp as delivery_bp
    from advocacy.ops.views import bp as ops_bp
    from advocacy.people.views import bp as people_bp
    from advocacy.reach.views import bp as reach_bp

    for bp in (people_bp, accounts_bp, content_bp, delivery_bp, reach_bp, ops_bp):
        app.register_blueprint(bp)
    from advocacy.audit.views import bp as audit_bp
    from advocacy.content.views import admin_bp as screening_bp
    from advocacy.integrations.views import bp as integrations_bp

    for bp in (screening_bp, audit_bp, integrations_bp):
        app.register_blueprint(bp)
    from advocacy.people.scim_admin import bp as scim_admin_bp
    from advocacy.people.scim_views import bp as scim_bp

    app.register_blueprint(scim_bp)  # /scim/v2: identity providers provision people and teams
    app.register_blueprint(scim_admin_bp)  # /admin/scim and `advocacy scim …`: their tokens
    from advocacy.notifications.oneclick_views import init_app as init_oneclick

    init_oneclick(app)  # /go/<token>: the one-tap share links in e-mail, Teams and push; the e-mail channel
    from advocacy.notifications.setup_views import init_app as init_notify_setup

    init_notify_setup(app)  # Teams and push channels, their setup pages, the web app manifest and service worker
    register_api(api)
    init_errors(app, api)

    from advocacy.reach.links import install as install_click_path

    install_click_path(app)  # /r/<code> answered before Flask's request machinery: the hot path
    security.install(app)  # the security headers on every answer, the click path's included
    if values["PROXY_COUNT"]:  # outermost: the click path, the login limiter and the logs see the visitor's address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=values["PROXY_COUNT"],  # type: ignore[method-assign]
                                x_proto=values["PROXY_COUNT"], x_host=values["PROXY_COUNT"])

    from advocacy.cli import register_commands

    register_commands(app)
    return app


class _DatabaseInteger(IntegerConverter):
    """``<int:…>`` in every route stops at the largest id a database column holds: bigger numbers are a 404."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _private_files(instance_path: Path, database_url: str) -> None:
    """The instance folder 0700; the SQLite database 0600 from its creation on (SQLite gives its -wal and -shm files
    the database file's mode). Files of an older installation are tightened too."""
    private = [(instance_path, 0o700)]
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        database = Path(database_url[len("sqlite:///"):].split("?")[0])
        if database.parent.is_dir() and not database.exists():
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        private += [(database.with_name(database.name + suffix), 0o600) for suffix in ("", "-wal", "-shm")]
    for path, mode in private:
        try:
            if path.exists() and path.stat().st_mode & 0o777 != mode:
                path.chmod(mode)
        except OSError as exc:  # not ours to change (a shared folder): say so, do not refuse to start
            log.warning("event=file_mode_unchanged path=%s error=%s", path, exc)


def _limiter_storage(redis_url: str) -> str:
    """Login limits live in Redis so every web process counts together; one embedded process counts in memory."""
    if not redis_url:
        return "memory://"
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(engine: Any) -> None:
    """WAL lets the web and the workers read while one writes; foreign keys are off by default in SQLite."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        cursor.close()


def _logging(app: Flask) -> None:
    level = getattr(logging, app.config["LOG_LEVEL"])
    root = logging.getLogger()
    if not any(getattr(h, "_advocacy", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
        handler._advocacy = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("advocacy").setLevel(level)
    logging.getLogger("workers").setLevel(level)
    logging.getLogger("connectors").setLevel(level)
