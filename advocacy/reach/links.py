"""Tracked links: the hot path behind ``/r/<code>``.

Per request the redirect does the least it can while staying durable: a code → (share, destination) lookup cached
in the process, a salted hash of the visitor, and one INSERT of a raw ``click_events`` row committed before the
visitor gets the redirect. Nothing is buffered in memory or in Redis, so a graceful restart of the web process (or a
Redis flush) cannot lose a click the visitor was already answered for. Bot classification, unique counting and the
per-day rollup happen later in the background (:mod:`advocacy.reach.rollup`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from flask import Flask, current_app
from sqlalchemy import Engine, event, select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.reach.models import VisitorSalt

if TYPE_CHECKING:
    import psycopg

CODE = re.compile(r"[A-Za-z0-9_-]{4,16}")
CACHE_SIZE = 20_000
UA_MAX = 512
_COLUMNS = "INSERT INTO click_events (share_id, day, visitor, user_agent) VALUES "
_SQLITE_INSERT = _COLUMNS + "(?, ?, ?, ?)"
_PG_INSERT = (_COLUMNS + "($1, $2, $3, $4)").encode()


class _Cache:
    """Per-app, per-process state of the hot path: resolved codes (bounded LRU), today's salt and, on PostgreSQL,
    the engine the clicks are written through."""

    def __init__(self) -> None:
        self.targets: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self.salt_day: dt.date | None = None
        self.salt = ""
        self.writer: _PgWriter | None = None  # PostgreSQL: the click writer
        self.engine: Engine | None = None  # the app's engine, known after the first click recorded in this process


def _cache(app: Flask) -> _Cache:
    cache = app.extensions.get("advocacy.reach.links")
    if cache is None:
        cache = app.extensions["advocacy.reach.links"] = _Cache()
    return cache


def destination(share_id: int, network: str, tp_id: int, link: str) -> str:
    """The share's link with UTM parameters naming network, talking point and share.

    Args:
        share_id: the share's id (``utm_content``).
        network: the share's network (``utm_source``).
        tp_id: the talking point's id (``utm_campaign``).
        link: the share's link (the talking point's approved link when the share was made); its own ``utm_*``
            parameters are replaced.
    """
    c = current_app.config
    fields = {"talking_point": tp_id, "share": share_id, "network": network}
    parts = urlparse(link)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [("utm_source", network), ("utm_medium", c["UTM_MEDIUM"]),
              ("utm_campaign", c["REACH_UTM_CAMPAIGN"].format(**fields)),
              ("utm_content", c["REACH_UTM_CONTENT"].format(**fields))]
    return urlunparse(parts._replace(query=urlencode(query)))


def resolve(code: str) -> tuple[int, str] | None:
    """(share id, destination) of a tracked-link code; ``None`` for anything that is not one of ours.

    Args:
        code: the path segment after ``/r/``, untrusted.
    """
    if not CODE.fullmatch(code):
        return None
    cache = _cache(current_app._get_current_object())  # type: ignore[attr-defined]
    hit = cache.targets.get(code)
    if hit is not None:
        cache.targets.move_to_end(code)
        return hit
    row = db.session.execute(  # the share's own link: what was approved when it was made, never a pending edit
        select(Share.id, Share.network, Share.talking_point_id, Share.link).where(Share.code == code)
    ).first()
    db.session.rollback()  # end the read transaction now: the hot path keeps no connection checked out
    if row is None:
        return None
    hit = (row[0], destination(row[0], row[1], row[2], row[3]))
    cache.targets[code] = hit
    if len(cache.targets) > CACHE_SIZE:
        cache.targets.popitem(last=False)
    return hit


def salt_for(day: dt.date) -> str:
    """The random salt of ``day`` (UTC), shared by every process through the database; created on first use.

    Args:
        day: the UTC day of the click.
    """
    cache = _cache(current_app._get_current_object())  # type: ignore[attr-defined]
    if cache.salt_day == day:
        return cache.salt
    salt = db.session.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day))
    if salt is None:
        try:
            db.session.add(VisitorSalt(day=day, salt=secrets.token_hex(32)))
            db.session.commit()
        except Exception:  # noqa: BLE001 - another process created it first: read theirs
            db.session.rollback()
        salt = db.session.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day))
    db.session.rollback()
    assert salt is not None
    cache.salt_day, cache.salt = day, salt
    return salt


def visitor_hash(salt: str, remote_addr: str, user_agent: str) -> str:
    """A salted hash of address and user agent: unique visitors per day without keeping the address.

    Args:
        salt: the day's salt (:func:`salt_for`).
        remote_addr: the visitor's address; hashed, never stored.
        user_agent: the visitor's user agent.
    """
    return hashlib.blake2b(f"{remote_addr}|{user_agent}".encode(), key=salt.encode()[:64], digest_size=16).hexdigest()


def record(share_id: int, remote_addr: str, user_agent: str, now: dt.datetime | None = None) -> None:
    """Write one raw click, committed before returning.

    SQLite: one INSERT and a commit in WAL mode with ``synchronous=NORMAL``. PostgreSQL: one INSERT in its own
    transaction (autocommit: one round trip) committed asynchronously (``synchronous_commit=off`` on the click
    writer's connections only). Both survive a crash of the process; a crash of the machine or the database server
    may lose the clicks of the last fraction of a second (README, *Tracked links*).

    Args:
        share_id: the share whose link was followed.
        remote_addr: the visitor's address (hashed with the day's salt, never stored).
        user_agent: the visitor's user agent (kept until the rollup classifies it, then deleted with the event).
        now: the click's time (aware UTC); now by default.
    """
    day = (now or dt.datetime.now(dt.UTC)).date()
    visitor = visitor_hash(salt_for(day), remote_addr, user_agent)
    cache = _cache(current_app._get_current_object())  # type: ignore[attr-defined]
    if cache.engine is None:
        cache.engine = db.engine
    _write(cache, cache.engine, share_id, day, visitor, user_agent)


def _write(cache: _Cache, engine: Engine, share_id: int, day: dt.date, visitor: str, user_agent: str) -> None:
    # no NUL in the stored user agent on either backend (to libpq a text parameter ends at the first NUL)
    user_agent = user_agent[:UA_MAX].replace("\x00", "")
    if engine.dialect.name == "sqlite":
        _insert_sqlite(engine, (share_id, day.isoformat(), visitor, user_agent))
    else:
        if cache.writer is None:
            cache.writer = _PgWriter(engine)
        cache.writer.write([b"%d" % share_id, day.isoformat().encode(), visitor.encode(),
                            user_agent.encode("utf-8", "replace")])


def _insert_sqlite(engine: Engine, values: tuple[Any, ...]) -> None:
    # The DB-API connection straight from the pool: one statement and a commit, nothing else on the hot path.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_SQLITE_INSERT, values)
        cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()  # back to the pool


class _PgWriter:
    """The click writer of an app in a process, on PostgreSQL: its own autocommit connections opened with
    ``synchronous_commit=off`` (in the start-up packet: no extra round trip), each with the INSERT prepared once
    when it opens. A click is one ``PQexecPrepared`` at the libpq level: one round trip, no cursor, no adaptation,
    no pool checkout or reset, no ping (a connection the server dropped is replaced and the click written again,
    once)."""

    KEEP = 4  # idle connections kept; more are opened when more threads write at once, then closed

    def __init__(self, engine: Engine) -> None:
        import psycopg  # here, not at the top: a web worker on SQLite never loads the driver (+9 MiB)
        from psycopg import pq

        self.psycopg, self.ok, self.connection_ok = psycopg, pq.ExecStatus.COMMAND_OK, pq.ConnStatus.OK
        _, params = engine.dialect.create_connect_args(engine.url)
        params.pop("context", None)  # SQLAlchemy's adapters: every value goes as text here
        options = params.pop("options", "")
        self.params = {**params, "client_encoding": "utf8",
                       "options": f"{options} -c synchronous_commit=off".strip()}
        self.idle: list[psycopg.Connection[Any]] = []
        self.pid = os.getpid()
        event.listen(engine, "engine_disposed", self.close)  # disposing of the app's engine closes these too

    def close(self, *_: Any) -> None:
        """Close the idle connections (those of a forked parent are left alone)."""
        idle, self.idle = self.idle, []
        if self.pid == os.getpid():
            for connection in idle:
                connection.close()

    def _open(self) -> psycopg.Connection[Any]:
        connection = self.psycopg.connect(autocommit=True, **self.params)
        result = connection.pgconn.prepare(b"click", _PG_INSERT)
        if result.status != self.ok:
            connection.close()
            raise self.psycopg.errors.error_from_result(result)
        return connection

    def write(self, values: list[bytes]) -> None:
        """Insert one ``click_events`` row (share id, day, visitor, user agent as UTF-8 text), committed when this
        returns."""
        if self.pid != os.getpid():  # a forked child: the parent's connections are not ours to use or close
            self.idle, self.pid = [], os.getpid()
        for attempt in (1, 2):
            try:
                connection = self.idle.pop()  # atomic: threads of a threaded worker never share a connection
            except IndexError:
                connection = self._open()
            result = connection.pgconn.exec_prepared(b"click", values)
            if result.status == self.ok:
                if len(self.idle) < self.KEEP:
                    self.idle.append(connection)
                else:
                    connection.close()
                return
            if connection.pgconn.status == self.connection_ok:  # refused (a share deleted meanwhile): still good
                self.idle.append(connection)
                raise self.psycopg.errors.error_from_result(result)
            connection.close()
            if attempt == 1:
                # the server dropped this connection (a restart while it sat idle): write it again on a new one.
                # Had the server gone away during this very INSERT after committing it, the raw click would
                # count twice (the unique visitors would not); a rare trade for no ping per click.
                continue
            raise self.psycopg.errors.error_from_result(result)


def follow(code: str, remote_addr: str, user_agent: str, count: bool = True) -> str | None:
    """Resolve a tracked link and, when ``count``, record the click. ``None`` for codes that are not ours.

    Args:
        code: the path segment after ``/r/``.
        remote_addr: the visitor's address.
        user_agent: the visitor's user agent ("" when absent; classified as a bot later).
        count: False for requests that are not clicks (HEAD).
    """
    target = resolve(code)
    if target is None:
        return None
    if count:
        record(target[0], remote_addr, user_agent)
    return target[1]


# ------------------------------------------------------------------------------------------------- the hot path
NOT_FOUND = (b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Link not found</title></head>\n'
             b"<body><h1>Link not found</h1><p>This link is not one of ours, or it was mistyped.</p></body></html>\n")


class ClickPath:
    """WSGI middleware answering ``GET|HEAD /r/<code>`` before Flask's request machinery (sessions, login, CSRF,
    before-request hooks) runs: the lookup, the durable write and the redirect are all a click needs.

    Everything else goes to the wrapped app; the blueprint keeps an identical ``/r/<code>`` route for ``url_for``
    and for deployments that mount the app without this middleware.
    """

    def __init__(self, app: Flask, wrapped: Any) -> None:
        self.app = app
        self.wrapped = wrapped
        self.cache = _cache(app)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if not path.startswith("/r/") or method not in ("GET", "HEAD"):
            return self.wrapped(environ, start_response)
        target = self._cached(path[3:], environ, method == "GET")
        if target is None:  # a code not resolved in this process yet, a new day, a 404: the full path
            with self.app.app_context():
                try:
                    target = follow(path[3:], environ.get("REMOTE_ADDR") or "", environ.get("HTTP_USER_AGENT", ""),
                                    count=method == "GET")
                finally:
                    db.session.remove()
        if target is None:
            start_response("404 NOT FOUND", [("Content-Type", "text/html; charset=utf-8"),
                                             ("Content-Length", str(len(NOT_FOUND))), ("Cache-Control", "no-store")])
            return [NOT_FOUND] if method == "GET" else []
        start_response("302 FOUND", [("Location", target), ("Content-Length", "0"), ("Cache-Control", "no-store"),
                                     ("Referrer-Policy", "no-referrer")])
        return []


    def _cached(self, code: str, environ: dict[str, Any], count: bool) -> str | None:
        """The click of a code this process already resolved, on a day whose salt it already read: no app context,
        no session, only the write. ``None`` when the full path is needed."""
        cache = self.cache
        hit = cache.targets.get(code)
        engine = cache.engine
        if hit is None or engine is None:
            return None
        day = dt.datetime.now(dt.UTC).date()
        if cache.salt_day != day:
            return None
        with contextlib.suppress(KeyError):  # another thread evicted it meanwhile
            cache.targets.move_to_end(code)
        if count:
            user_agent = environ.get("HTTP_USER_AGENT", "")
            visitor = visitor_hash(cache.salt, environ.get("REMOTE_ADDR") or "", user_agent)
            _write(cache, engine, hit[0], day, visitor, user_agent)
        return hit[1]


def install(app: Flask) -> None:
    """Put the click path in front of the app (``create_app`` calls this)."""
    app.wsgi_app = ClickPath(app, app.wsgi_app)  # type: ignore[method-assign]
