"""Tokens at rest: never stored in plaintext (SQLite file, PostgreSQL dump), and keys rotate without loss."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select

from advocacy.accounts import crypto
from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.services import token_of
from advocacy.extensions import db
from tests.conftest import connect_x


def connected(browser_factory, make_user, policy) -> tuple[str, str]:
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma_acme")
    account = db.session.scalars(select(ConnectedAccount)).one()
    token = token_of(account)
    assert token.access_token and token.refresh_token
    return token.access_token, token.refresh_token


def dump(app) -> bytes:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.commit()
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        with db.engine.connect() as conn:  # fold the WAL into the main file so the scan sees everything
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                    if path.with_name(path.name + "-wal").exists() else b"")
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed: cannot scan a PostgreSQL dump")
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return subprocess.run(["pg_dump", "--data-only", parts._replace(scheme="postgresql").geturl()],
                          capture_output=True, check=True, timeout=60).stdout


def test_no_token_is_stored_in_plaintext(app, browser_factory, make_user, policy):
    access, refresh = connected(browser_factory, make_user, policy)
    raw = dump(app)
    assert b"emma_acme" in raw  # the scan does see the data
    assert access.encode() not in raw and refresh.encode() not in raw


def test_rotation_re_encrypts_everything_with_the_new_key(app, browser_factory, make_user, policy):
    access, refresh = connected(browser_factory, make_user, policy)
    old = app.config["TOKEN_KEYS"]
    new = Fernet.generate_key().decode()
    app.config["TOKEN_KEYS"] = f"{new},{old}"
    app.extensions.pop("advocacy.fernet", None)
    done = crypto.rotate()
    assert done.values == 2 and "connected_accounts.access_token_encrypted" in done.columns
    account = db.session.scalars(select(ConnectedAccount)).one()
    only_new = MultiFernet([Fernet(new)])
    assert only_new.decrypt(account.access_token_encrypted.encode()).decode() == access
    assert only_new.decrypt(account.refresh_token_encrypted.encode()).decode() == refresh
    with pytest.raises(InvalidToken):
        MultiFernet([Fernet(old)]).decrypt(account.access_token_encrypted.encode())


def test_rotate_keys_command(app, browser_factory, make_user, policy):
    access, _ = connected(browser_factory, make_user, policy)
    new = Fernet.generate_key().decode()
    app.config["TOKEN_KEYS"] = f"{new},{app.config['TOKEN_KEYS']}"
    app.extensions.pop("advocacy.fernet", None)
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 values" in result.output
    account = db.session.scalars(select(ConnectedAccount)).one()
    db.session.refresh(account)
    assert Fernet(new).decrypt(account.access_token_encrypted.encode()).decode() == access
