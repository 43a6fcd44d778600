"""Deployment hardening: private files at rest, the visitor's real address behind a reverse proxy (and only from a
trusted one), and the security headers on every answer, the tracked-link redirect's included."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from advocacy import create_app
from advocacy.extensions import db
from advocacy.reach.models import ClickEvent
from tests.reach.conftest import HUMAN, Factory

PROXY = "10.0.0.2"  # the reverse proxy's address, what the web app sees connecting


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------------------------------------ files at rest
def test_the_instance_folder_database_and_secrets_are_private(tmp_path, redis_url):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "REDIS_URL": redis_url})
    with app.app_context():
        db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
        db.session.execute(text("INSERT INTO probe VALUES (1)"))
        db.session.commit()
        database = instance / "advocacy.db"
        files = [database, instance / "advocacy.db-wal", instance / "advocacy.db-shm", instance / "secret_key",
                 instance / "token_keys"]
        assert all(f.exists() for f in files), sorted(p.name for p in instance.iterdir())
        assert mode(instance) == 0o700
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
        db.engine.dispose()


def test_an_older_installations_files_are_tightened_at_start(tmp_path, redis_url):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    database = instance / "advocacy.db"
    database.touch()
    database.chmod(0o644)
    create_app({"INSTANCE_PATH": str(instance), "REDIS_URL": redis_url})
    assert (mode(instance), mode(database)) == (0o700, 0o600)


def test_the_embedded_redis_files_are_private(tmp_path, redis_url):
    from workers import queues

    create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "REDIS_URL": redis_url})
    folder = tmp_path / "embedded"
    folder.mkdir()
    try:
        client = queues.embedded_redis(folder)
        client.set("probe", "1")
        client.save()
        server = queues._embedded[str(folder / "redis.db")][1]
        files = [folder / "redis.db", Path(server.socket_file), Path(server.logfile),
                 Path(server.redis_configuration_filename), Path(server.settingregistryfile)]
        assert {f.name: oct(mode(f)) for f in files} == {f.name: "0o600" for f in files}
    finally:
        queues.stop_embedded(folder)


# ---------------------------------------------------------------------------------------- behind a reverse proxy
@pytest.fixture()
def share(app, make_user):
    """A published share of emma's, with its tracked link."""
    factory = Factory(make_user)
    return factory.share(make_user("emma@acme.test"), factory.talking_point())


@pytest.fixture()
def behind_proxy(settings):
    settings["PROXY_COUNT"] = 1
    return settings


def follow(client, share, forwarded_for: str):
    return client.open(f"/r/{share.code}", headers={"User-Agent": HUMAN, "X-Forwarded-For": forwarded_for},
                       environ_base={"REMOTE_ADDR": PROXY})


def visitors() -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(ClickEvent.visitor)))


def test_behind_one_proxy_each_visitor_counts_apart(behind_proxy, app, client, share):
    for visitor in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert follow(client, share, visitor).status_code == 302
    assert follow(client, share, "203.0.113.66, 198.51.100.1").status_code == 302  # a forged hop is not trusted
    assert len(visitors()) == 3


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(app, client, share):
    for forged in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert follow(client, share, forged).status_code == 302
    assert len(visitors()) == 1  # all from the connecting address: a visitor cannot pose as many


def test_behind_one_proxy_the_login_limit_keys_on_each_visitor(behind_proxy, app, client, make_user):
    make_user("emma@acme.test")

    def attempt(visitor: str, email: str, password: str = "wrong password"):
        return client.post("/login", data={"email": email, "password": password},
                           headers={"X-Forwarded-For": visitor}, environ_base={"REMOTE_ADDR": PROXY})

    app.config["WTF_CSRF_ENABLED"] = False
    for i in range(10):  # an attacker guessing at ten accounts from one address
        assert attempt("198.51.100.9", f"nobody{i}@acme.test").status_code == 401
    assert attempt("198.51.100.9", "someone@acme.test").status_code == 429
    from tests.conftest import PASSWORD

    assert attempt("198.51.100.10", "emma@acme.test", PASSWORD).status_code == 302  # everyone else signs in


# ------------------------------------------------------------------------------------------------------ headers
def test_the_tracked_link_redirect_carries_the_security_headers(app, client, share):
    for answer in (client.get(f"/r/{share.code}", headers={"User-Agent": HUMAN}), client.get("/r/unknown-code")):
        assert answer.status_code in (302, 404)
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["X-Frame-Options"] == "DENY"
    redirect = client.get(f"/r/{share.code}", headers={"User-Agent": HUMAN})
    assert redirect.headers.getlist("Referrer-Policy") == ["no-referrer"]  # its own policy, not doubled
    page = client.get("/login")
    assert page.headers.getlist("Content-Security-Policy") == [page.headers["Content-Security-Policy"]]
