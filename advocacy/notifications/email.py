"""E-mail: talking points announced in one mail, each with a one-tap share button per network.

``announce(user, talking_points)`` sends one message (HTML with a plain-text alternative) listing each talking point
with its link's card and the copy as it will post, and one button per network the person has connected ("Share on
X": a signed, expiring, single-use link, ``oneclick.share_link(..., channel="email")``), plus a button per share
dialog the feed offers for the networks they have not connected, "Not for me" and "Open in advocacy". A button opens a
confirmation page; the share is made by that page's POST, so a mail scanner following the links posts nothing.

The message carries ``List-Unsubscribe`` (an https link, with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``,
RFC 8058: it takes e-mail off the person's channels) and a link to the notification preferences.

SMTP answers map onto the channel contract: a temporary failure (a 4xx reply, a refused or dropped connection) is
``RetryLater``; the server refusing the recipient for good (5xx on RCPT) is ``Unreachable``. The digest
(``notifications.services``) builds its talking points with the same buttons (``points_for``).
"""

from __future__ import annotations

import logging
import smtplib
import socket
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from advocacy.notifications import channels, oneclick

if TYPE_CHECKING:
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User

log = logging.getLogger(__name__)
TEMPORARY_RETRY_SECONDS = 300.0  # a 4xx reply: the server asks to try later, without saying when
CONNECT_RETRY_SECONDS = 60.0  # the server could not be reached
UNSUBSCRIBE_SALT = "advocacy.notifications.email.unsubscribe"


def smtp_connection() -> smtplib.SMTP:
    """A connection to the configured SMTP server (STARTTLS and login as configured)."""
    c = current_app.config
    smtp = smtplib.SMTP(c["NOTIFY_SMTP_HOST"], c["NOTIFY_SMTP_PORT"], timeout=c["HTTP_TIMEOUT"])
    if c["NOTIFY_SMTP_STARTTLS"]:
        smtp.starttls()
    if c["NOTIFY_SMTP_USERNAME"]:
        smtp.login(c["NOTIFY_SMTP_USERNAME"], c["NOTIFY_SMTP_PASSWORD"])
    return smtp


def send(message: EmailMessage, smtp: smtplib.SMTP | None = None) -> None:
    """Send one message (on ``smtp``, or a connection of its own), mapping SMTP failures onto the channel contract.

    Raises:
        channels.RetryLater: a 4xx reply, or the server could not be reached; nothing was accepted.
        channels.Unreachable: the server refused the recipient for good (5xx on RCPT).
    """
    try:
        if smtp is not None:
            smtp.send_message(message)
            return
        with smtp_connection() as own:
            own.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        refusals = list(exc.recipients.items())
        if refusals and all(code >= 500 for _, (code, _text) in refusals):
            address, (code, text) = refusals[0]
            raise channels.Unreachable(f"the mail server refused {address}: {code} {_said(text)}") from None
        raise channels.RetryLater(TEMPORARY_RETRY_SECONDS, f"the mail server said try later: {refusals}") from None
    except smtplib.SMTPResponseException as exc:  # on connect, MAIL FROM or DATA
        if 400 <= exc.smtp_code < 500:
            raise channels.RetryLater(TEMPORARY_RETRY_SECONDS,
                                      f"the mail server said try later: {exc.smtp_code} {_said(exc.smtp_error)}"
                                      ) from None
        raise  # a 5xx on the message or the sender: this app's mail or settings are wrong, not the person
    except (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, socket.gaierror) as exc:
        raise channels.RetryLater(CONNECT_RETRY_SECONDS, f"the mail server could not be reached: {exc}") from None


def _said(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


# ------------------------------------------------------------------------------------------------- content
def connected_networks(user_id: int) -> list[str]:
    """The networks ``user_id`` has connected and may post to, in the order they connected them."""
    from sqlalchemy import select

    from advocacy.accounts.models import AccountStatus, ConnectedAccount
    from advocacy.extensions import db

    return list(db.session.scalars(select(ConnectedAccount.network).where(
        ConnectedAccount.user_id == user_id, ConnectedAccount.status == AccountStatus.ACTIVE)
        .order_by(ConnectedAccount.id)))


def points_for(user: User, talking_points: list[TalkingPoint], channel: str = "email") -> list[dict[str, Any]]:
    """Each talking point as a mail shows it: its link's card, the copy as it will post, and its buttons.

    Buttons: one per connected network (``Share on X``), then one per share dialog the feed offers for networks
    not connected; each is a one-tap link for ``channel``. Plus "Not for me" and the feed.
    """
    from advocacy.accounts.networks import INTENT_LABELS, LABELS
    from advocacy.content import composing
    from advocacy.content.link_previews import link_preview

    connected = [n for n in connected_networks(user.id) if n in LABELS]
    dialogs = [n for n in INTENT_LABELS if n not in connected]
    public_url = current_app.config["PUBLIC_URL"]
    points = []
    for tp in talking_points:
        first = connected[0] if connected else None
        copy = composing.preview(tp, first, None, user.id)["text"] if first else tp.copy_for("generic")
        buttons = [{"network": n, "label": f"Share on {LABELS[n]}", "dialog": False,
                    "url": oneclick.share_link(user, tp, n, channel)} for n in connected]
        buttons += [{"network": n, "label": f"Open {INTENT_LABELS[n]} share dialog", "dialog": True,
                     "url": oneclick.share_link(user, tp, n, channel)} for n in dialogs]
        card = link_preview(tp.id)
        points.append({"tp": tp, "wording": copy, "on": LABELS.get(first, "") if first else "",
                       "site": (card.site_name if card else None) or _host(tp.link),
                       "title": (card.shown_title if card else None) or tp.link,
                       "description": card.description if card else None, "buttons": buttons,
                       "not_for_me": oneclick.refuse_link(user, tp, channel),
                       "feed": f"{public_url}/feed#card-{tp.id}"})
    return points


def _host(link: str) -> str:
    return link.split("/")[2] if "//" in link else link


UNSUBSCRIBE_KINDS = ("announce", "digest")  # e-mail off the announcement channels; the digest off


def unsubscribe_link(user: User, kind: str = "announce") -> str:
    """The link that stops one kind of mail to ``user`` (RFC 8058 one-click POST, or a page to confirm on GET)."""
    token = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps({"u": user.id, "k": kind})
    return f"{current_app.config['PUBLIC_URL']}/go/unsubscribe/{token}"


def unsubscribe_target(token: str) -> tuple[int, str] | None:
    """Whose unsubscribe link ``token`` is and what it stops, or None when it was not made here."""
    try:
        payload = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(token)
        kind = str(payload["k"])
        return (int(payload["u"]), kind) if kind in UNSUBSCRIBE_KINDS else None
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def message(user: User, subject: str, html: str, text: str, kind: str = "announce") -> EmailMessage:
    """A message to ``user`` with a plain-text body, an HTML alternative and the unsubscribe headers for ``kind``."""
    mail = EmailMessage()
    mail["Subject"] = " ".join(subject.split())[:200]  # one line, whatever a title holds
    mail["From"] = current_app.config["NOTIFY_MAIL_FROM"]
    mail["To"] = user.email
    mail["Message-ID"] = make_msgid(domain=current_app.config["NOTIFY_MAIL_FROM"].rpartition("@")[2] or None)
    mail["List-Unsubscribe"] = f"<{unsubscribe_link(user, kind)}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


def mail_context(user: User, points: list[dict[str, Any]], kind: str = "announce") -> dict[str, Any]:
    """What the mail templates need besides their own content: the links at the foot of every mail."""
    public_url = current_app.config["PUBLIC_URL"]
    return {"user": user, "points": points, "public_url": public_url,
            "preferences_url": f"{public_url}/preferences#notifications",
            "unsubscribe_url": unsubscribe_link(user, kind)}


# ------------------------------------------------------------------------------------------------ the channel
class EmailChannel:
    name = "email"
    label = "E-mail"

    def available_for(self, user: User) -> bool:
        return bool(user.active and user.email and current_app.config["NOTIFY_SMTP_HOST"])

    def announce(self, user: User, talking_points: list[TalkingPoint]) -> channels.Delivered:
        """One mail listing ``talking_points``, each with its one-tap buttons; the Message-ID is the reference."""
        points = points_for(user, talking_points)
        subject = (f"New to share: {talking_points[0].title}" if len(talking_points) == 1
                   else f"{len(talking_points)} new talking points to share")
        context = mail_context(user, points) | {"subject": subject}
        mail = message(user, subject, render_template("notifications/announce_email.html", **context),
                       render_template("notifications/announce_email.txt", **context))
        send(mail)
        log.info("event=email_announced user_id=%s talking_points=%s", user.id, len(talking_points))
        return channels.Delivered(reference=str(mail["Message-ID"]))


channels.register(EmailChannel())
