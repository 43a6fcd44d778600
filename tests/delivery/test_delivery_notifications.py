"""Token lifecycle and notifications: refresh ahead of expiry, one notice per revoked account, reconnect reminders,
a digest per person over SMTP (never one mail per item) and the comms channel's Slack summary."""

from __future__ import annotations

import datetime as dt
import json
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.config import ConfigError, load
from advocacy.delivery import services, tokens
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications import services as notify
from advocacy.notifications.models import Notification
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee


def account_of(user: Any) -> ConnectedAccount:
    db.session.expire_all()
    return db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == user.id)).one()


def test_tokens_about_to_expire_are_refreshed_ahead(app, x):
    emma = employee("emma@acme.test", "emma_acme")
    account = account_of(emma)
    account.expires_at = utcnow() + dt.timedelta(minutes=10)
    old = account.access_token_encrypted
    db.session.commit()
    report = tokens.refresh_expiring()
    assert report["refreshed"] == 1 and report["revoked"] == 0
    account = account_of(emma)
    assert account.access_token_encrypted != old and account.expires_at > utcnow() + dt.timedelta(hours=1)
    assert tokens.refresh_expiring()["refreshed"] == 0  # nothing is due any more


def test_a_revoked_account_is_marked_and_its_owner_told_once(app, x):
    emma = employee("emma@acme.test", "emma_acme")
    x.revoke("emma_acme")
    account = account_of(emma)
    account.expires_at = utcnow() + dt.timedelta(minutes=10)
    db.session.commit()
    assert tokens.refresh_expiring()["revoked"] == 1
    assert account_of(emma).status == AccountStatus.REVOKED
    services_share = None
    try:  # sharing on it is refused until the person reconnects
        services_share = services.create_share(emma, approved(), "x")
    except Exception as exc:  # noqa: BLE001
        assert "connect your x account" in str(exc)
    assert services_share is None
    tokens.revoke(account_of(emma), "again")  # a second discovery of the same revocation
    notes = db.session.scalars(select(Notification).where(Notification.user_id == emma.id)).all()
    assert [n.kind for n in notes] == ["account_revoked"]


def test_people_are_reminded_once_before_a_token_that_cannot_be_refreshed_runs_out(app, x):
    emma = employee("emma@acme.test", "emma_acme")
    account = account_of(emma)
    account.refresh_token_encrypted = None  # like LinkedIn's 60-day tokens without refresh
    account.expires_at = utcnow() + dt.timedelta(days=3)
    db.session.commit()
    assert tokens.remind_expiring() == 1
    assert tokens.remind_expiring() == 0
    note = db.session.scalars(select(Notification).where(Notification.user_id == emma.id)).one()
    assert note.kind == "reconnect_soon" and "Reconnect" in note.subject


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp(app: Any) -> Any:
    from advocacy.cli import free_port

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(NOTIFY_SMTP_HOST="127.0.0.1", NOTIFY_SMTP_PORT=port, NOTIFY_SMTP_STARTTLS=False)
    yield inbox
    controller.stop()


def test_one_digest_per_person_with_what_is_new_and_what_needs_attention(app, x, smtp):
    emma = employee("emma@acme.test", "emma_acme", digest="daily")
    emma_id = emma.id
    employee("quiet@acme.test", None, digest="off")
    x.fault(status=400, count=1, path_prefix="/2/tweets", method="POST")
    share_id = services.create_share(emma, approved(title="Old news"), "x").id
    run_jobs(app)  # the share fails
    approved(title="Fresh talking point")
    assert notify.notify_once(emma_id, "account_revoked", "k1", "Reconnect your x account", "Paused until you do.")
    assert not notify.notify_once(emma_id, "account_revoked", "k1", "Reconnect your x account", "Paused.")
    announced = len(smtp.messages)  # "Old news" was announced by e-mail when approved (the default channel)
    assert notify.send_due_digests() == 1
    digests = smtp.messages[announced:]
    assert len(digests) == 1  # one mail, however many items
    mail = digests[0]
    body = next(part.get_payload(decode=True).decode() for part in mail.walk()
                if part.get_content_type() == "text/plain")
    assert mail["To"] == "emma@acme.test" and "Fresh talking point" in body
    assert f"share {share_id} on x: failed" in body and body.count("Reconnect your x account") == 1
    assert notify.send_due_digests() == 0  # a day has not passed
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.sent_at.is_(None))) == 0
    assert notify.send_due_digests(utcnow() + dt.timedelta(days=1, minutes=1)) == 0  # nothing new: no mail
    assert len(smtp.messages) == announced + 1


def test_the_comms_channel_gets_a_slack_summary(app, x):
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.config["NOTIFY_SLACK_WEBHOOK_URL"] = f"http://127.0.0.1:{server.server_port}/hook"
        emma = employee("emma@acme.test", "emma_acme")
        services.create_share(emma, approved(), "x")
        run_jobs(app)
        assert notify.post_to_slack(utcnow() - dt.timedelta(days=1)) is True
        assert len(received) == 1 and "1 published, 0 failed" in received[0]["text"]
        app.config["NOTIFY_SLACK_WEBHOOK_URL"] = f"http://127.0.0.1:{server.server_port}/missing"
        Hook.do_POST = lambda self: (self.send_response(404), self.end_headers())  # type: ignore[method-assign]
        with pytest.raises(Exception, match="404"):
            notify.post_to_slack(utcnow())
    finally:
        server.shutdown()


@pytest.mark.parametrize(("variable", "value"), [
    ("ADVOCACY_DELIVERY_BUDGETS", "x:everyone:60:5"),
    ("ADVOCACY_DELIVERY_BUDGETS", "x:app:0:5"),
    ("ADVOCACY_NOTIFY_SLACK_WEBHOOK_URL", "ftp://hooks.example"),
    ("ADVOCACY_DELIVERY_LEASE_SECONDS", "0"),
    ("ADVOCACY_WORKER_FORK", "maybe"),
])
def test_bad_delivery_settings_name_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load(None, {variable: value})
