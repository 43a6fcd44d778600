"""The e-mail channel over real SMTP to the SMTP sandbox: one mail with a button per connected network, whose link
confirms on GET and shares once on POST through the real worker and the X sandbox; SMTP refusals map onto the
channel contract; the sandbox refuses what a real server refuses."""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications import channels
from tests.conftest import run_jobs
from tests.delivery.support import Sandbox, approved, employee

pytestmark = pytest.mark.timeout(120)


class Mailbox:
    """The SMTP sandbox: its listener address and its control API."""

    def __init__(self, url: str, server: str) -> None:
        self.url = url
        parts = urlsplit(server)
        self.host, self.port = parts.hostname or "127.0.0.1", int(parts.port or 25)

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_sandbox/messages", params={"to": to} if to else {}, timeout=5)
        return list(answer.json()["messages"])

    def fault(self, **spec: Any) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=spec, timeout=5).raise_for_status()


@pytest.fixture()
def mailbox(app: Any, sandbox: dict[str, str]) -> Mailbox:
    box = Mailbox(sandbox["smtp"], sandbox["smtp_server"])
    requests.post(f"{box.url}/_sandbox/reset", timeout=5).raise_for_status()
    app.config.update(NOTIFY_SMTP_HOST=box.host, NOTIFY_SMTP_PORT=box.port, NOTIFY_SMTP_STARTTLS=False,
                      NOTIFY_MAIL_FROM="advocacy@acme.test")
    return box


@pytest.fixture()
def x(app: Any, sandbox: dict[str, str], policy: Any) -> Sandbox:
    return Sandbox(sandbox["x"])


def buttons(html: str) -> dict[str, str]:
    """The mail's share buttons: network -> link."""
    return {network: url for url, network in
            re.findall(r'<a href="([^"]+)" data-network="([a-z]+)" class="share-button"', html)}


def test_the_mail_has_a_button_per_connected_network_and_one_tap_shares_once(app, x, mailbox, client):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    email = channels.get("email")
    assert email is not None and email.label == "E-mail" and email.available_for(emma)

    delivered = email.announce(emma, [tp])
    assert delivered.reference
    mails = mailbox.messages("emma@acme.test")
    assert len(mails) == 1
    mail = mails[0]
    assert mail["subject"] == "New to share: We are hiring" and mail["to"] == ["emma@acme.test"]
    assert mail["headers"]["List-Unsubscribe"].startswith("<http://advocacy.test/go/unsubscribe/")
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://advocacy.test/preferences#notifications" in mail["html"]
    assert "Come build the platform with us." in mail["html"] and "Come build the platform with us." in mail["text"]
    shown = buttons(mail["html"])
    assert shown["x"].startswith("http://advocacy.test/go/")  # the one network emma connected ...
    assert "Share on X" in mail["html"] and "Share on LinkedIn" not in mail["html"]  # ... has the one share button
    assert shown["x"] in mail["text"]  # the text part carries the same links

    link = urlsplit(shown["x"]).path
    for _ in range(2):  # a scanner follows the link, then the person opens it: nothing is posted
        page = client.get(link)
        assert page.status_code == 200 and "Share on X" in page.get_data(as_text=True)
    assert db.session.scalars(select(Share)).all() == []
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore
    assert client.post(link, data={"csrf_token": token}).status_code == 303
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    assert share.channel == "email" and share.status == "published"
    assert len(x.posts()) == 1
    assert client.post(link, data={"csrf_token": token}).status_code == 409  # second use refused
    run_jobs(app)
    assert len(x.posts()) == 1


def test_smtp_refusals_map_onto_the_channel_contract(app, x, mailbox):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    email = channels.get("email")
    assert email is not None

    mailbox.fault(rcpt="emma@acme.test", code=451, message="4.7.1 Greylisted, try again later")
    with pytest.raises(channels.RetryLater) as later:
        email.announce(emma, [tp])
    assert later.value.seconds > 0 and "451" not in str(later.value.seconds)

    mailbox.fault(rcpt="emma@acme.test", code=550, message="5.1.1 User unknown")
    with pytest.raises(channels.Unreachable) as gone:
        email.announce(emma, [tp])
    assert "550" in str(gone.value) and "emma@acme.test" in str(gone.value)
    assert mailbox.messages() == []

    app.config["NOTIFY_SMTP_PORT"] = free_port()  # nothing listens there: connection refused
    with pytest.raises(channels.RetryLater):
        email.announce(emma, [tp])


def free_port() -> int:
    from advocacy.cli import free_port as port

    return port()


def send_raw(box: Mailbox, to: str, body: bytes) -> None:
    with smtplib.SMTP(box.host, box.port, timeout=5) as smtp:
        smtp.sendmail("advocacy@acme.test", [to], body)


def test_the_smtp_sandbox_refuses_what_a_real_server_refuses(app, mailbox):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as dead:
        send_raw(mailbox, "someone@nowhere.invalid", b"Subject: hi\r\n\r\nhello\r\n")
    assert dead.value.recipients["someone@nowhere.invalid"][0] == 550
    with pytest.raises(smtplib.SMTPDataError) as long_line:
        send_raw(mailbox, "emma@acme.test", b"Subject: hi\r\n\r\n" + b"a" * 999 + b"\r\n")
    assert long_line.value.smtp_code == 500
    send_raw(mailbox, "emma@acme.test", b"Subject: ok\r\n\r\n" + b"a" * 998 + b"\r\n")  # 998 is the limit
    requests.post(f"{mailbox.url}/_sandbox/config", json={"max_size": 2000}, timeout=5).raise_for_status()
    big = EmailMessage()
    big["Subject"], big["From"], big["To"] = "big", "advocacy@acme.test", "emma@acme.test"
    big.set_content("word " * 1000)
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as too_big:
        with smtplib.SMTP(mailbox.host, mailbox.port, timeout=5) as smtp:
            smtp.send_message(big)
    assert too_big.value.smtp_code == 552
    requests.post(f"{mailbox.url}/_sandbox/config", json={"max_size": 10 * 1024 * 1024}, timeout=5)
    assert [m["subject"] for m in mailbox.messages("emma@acme.test")] == ["ok"]
    inbox = requests.get(mailbox.url, timeout=5).text
    assert "emma@acme.test" in inbox and ">ok<" in inbox


def test_one_click_unsubscribe_takes_email_off_the_channels(app, x, mailbox, client):
    from advocacy.notifications import preferences as prefs

    emma = employee("emma@acme.test", "emma_acme")
    prefs.update(emma, {"channels": ["email"]})
    channels.get("email").announce(emma, [approved()])  # type: ignore[union-attr]
    header = mailbox.messages("emma@acme.test")[0]["headers"]["List-Unsubscribe"]
    link = urlsplit(header.strip("<>")).path
    assert client.get(link).status_code == 200 and prefs.of(emma)["channels"] == ["email"]  # a GET changes nothing
    done = client.post(link, data={"List-Unsubscribe": "One-Click"})  # RFC 8058, as a mail provider sends it
    assert done.status_code == 204
    db.session.expire_all()
    assert "email" not in prefs.of(emma)["channels"]
    assert client.post("/go/unsubscribe/forged-token", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_the_digest_carries_buttons_and_leaves_out_what_an_announcement_brought(app, x, mailbox, client):
    import datetime as dt

    from advocacy.models_base import utcnow
    from advocacy.notifications import services as notify
    from advocacy.notifications.models import Announcement, AnnouncementStatus

    emma = employee("emma@acme.test", "emma_acme", digest="daily")
    announced = approved(title="Already announced")
    approved(title="Fresh talking point")
    db.session.add(Announcement(user_id=emma.id, talking_point_id=announced.id, channel="slack",
                                status=AnnouncementStatus.SENT, due_at=utcnow(), sent_at=utcnow()))
    db.session.commit()
    assert notify.send_due_digests(utcnow() + dt.timedelta(minutes=1)) == 1
    mail = mailbox.messages("emma@acme.test")[0]
    assert "Fresh talking point" in mail["html"] and "Already announced" not in mail["html"]
    assert "Already announced" not in mail["text"]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = urlsplit(buttons(mail["html"])["x"]).path
    page = client.get(link)
    assert page.status_code == 200 and "Fresh talking point" in page.get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)  # type: ignore
    assert client.post(link, data={"csrf_token": token}).status_code == 303
    assert db.session.scalars(select(Share)).one().channel == "email"

    stop = urlsplit(mail["headers"]["List-Unsubscribe"].strip("<>")).path
    assert client.post(stop, data={"List-Unsubscribe": "One-Click"}).status_code == 204
    db.session.expire_all()
    assert db.session.get(type(emma), emma.id).digest == "off"


def test_after_a_refusal_the_preferences_page_offers_the_address_again(app, x, mailbox, browser):
    from advocacy.notifications import preferences as prefs

    emma = employee("emma@acme.test", "emma_acme")
    prefs.mark_unreachable(emma.id, "email")
    db.session.commit()
    browser.login("emma@acme.test")
    page = browser.get("/preferences").get_data(as_text=True)
    assert 'id="email-heading"' in page and "The mail server refused" in page
    assert browser.post("/preferences/email/again").status_code == 302
    db.session.expire_all()
    assert "email" not in prefs.of(emma)["unreachable"]
    page = browser.get("/preferences").get_data(as_text=True)
    assert "Mail goes to <strong>emma@acme.test</strong>" in page


def test_the_api_sends_to_my_address_again(app, x, browser):
    from advocacy.notifications import preferences as prefs

    emma = employee("emma@acme.test", "emma_acme")
    prefs.mark_unreachable(emma.id, "email")
    db.session.commit()
    browser.login("emma@acme.test")
    answer = browser.api("POST", "/api/me/email/again")
    assert answer.status_code == 200
    assert answer.get_json() == {"address": "emma@acme.test", "unreachable": False}
