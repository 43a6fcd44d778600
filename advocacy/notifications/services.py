"""Notifications: recorded once, sent in one digest per person (daily or weekly), never one mail per item.

The digest tells a person what is new for them (talking points they may share) and what needs their attention
(shares that failed or are paused, accounts to reconnect). A comms channel gets a daily summary through a Slack
incoming webhook when one is configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from email.message import EmailMessage
from typing import Any

from flask import current_app, render_template
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from advocacy import events
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.models import Announcement, AnnouncementStatus, DigestState, Notification
from advocacy.people.models import User
from connectors.base import http_session

log = logging.getLogger(__name__)
PERIODS = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
MAX_PER_RUN = 500


def notify_once(user_id: int, kind: str, key: str, subject: str, body: str) -> bool:
    """Record a notification unless one with ``key`` exists. Returns True when it is new.

    Args:
        user_id: whom it is for.
        kind: account_revoked, reconnect_soon, share_failed.
        key: what makes it the same event (a second call with it changes nothing).
        subject: one line.
        body: a short paragraph.
    """
    db.session.commit()
    if db.session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
        return False
    db.session.add(Notification(user_id=user_id, kind=kind, key=key, subject=subject[:200], body=body))
    try:
        db.session.commit()
    except IntegrityError:  # another worker recorded it a moment ago
        db.session.rollback()
        return False
    log.info("event=notified user_id=%s kind=%s", user_id, kind)
    events.notification_recorded.send(user_id, kind=kind, key=key, subject=subject, body=body)  # push, for one
    return True


def pending(user: User) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.sent_at.is_(None)).order_by(Notification.id)))


def digest_for(user: User, since: dt.datetime) -> dict[str, Any]:
    """What a digest would say to ``user`` about the time since ``since``.

    Talking points an announcement already brought them (on any channel) are left out: nobody hears of the same
    talking point twice. Each talking point comes with its one-tap share buttons (``email.points_for``).
    """
    from advocacy.content.library import approved_for
    from advocacy.notifications.email import points_for

    announced = set(db.session.scalars(select(Announcement.talking_point_id).where(
        Announcement.user_id == user.id, Announcement.status == AnnouncementStatus.SENT)))
    new_points = [tp for tp in approved_for(user)
                  if tp.approved_at and tp.approved_at > since and tp.id not in announced]
    attention = list(db.session.scalars(select(Share).where(
        Share.user_id == user.id, Share.status.in_((ShareStatus.FAILED, ShareStatus.PAUSED)),
        Share.updated_at > since).order_by(Share.id)))
    return {"user": user, "talking_points": new_points, "attention": attention, "notifications": pending(user),
            "public_url": current_app.config["PUBLIC_URL"], "points": points_for(user, new_points)}


def send_due_digests(now: dt.datetime | None = None) -> int:
    """Send each person whose period has passed one digest, if it has something to say. Returns how many went.

    A recipient the mail server refuses for good is skipped until their next period; a temporary failure (4xx, the
    server unreachable) ends the run, and the next poll tries again.
    """
    from advocacy.notifications.channels import RetryLater, Unreachable
    from advocacy.notifications.email import send, smtp_connection

    now = now or utcnow()
    config = current_app.config
    if not config["NOTIFY_SMTP_HOST"]:
        return 0
    last = {row[0]: row[1] for row in db.session.execute(select(DigestState.user_id, DigestState.last_sent_at))}
    people = db.session.scalars(select(User).where(User.active.is_(True), User.digest.in_(tuple(PERIODS)),
                                                   User.opted_in_at.is_not(None)).order_by(User.id)).all()
    sent = 0
    try:
        smtp = smtp_connection()
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("event=digests_postponed reason=%r", str(exc))
        return 0
    with smtp:
        for user in people:
            period = PERIODS[user.digest]
            since = last.get(user.id) or (now - period)
            if user.id in last and now - since < period:
                continue
            content = digest_for(user, since)
            if content["talking_points"] or content["attention"] or content["notifications"]:
                try:
                    send(_message(user, content), smtp)
                except Unreachable as exc:
                    log.info("event=digest_refused user_id=%s reason=%r", user.id, str(exc))
                except RetryLater as exc:
                    log.warning("event=digests_postponed user_id=%s reason=%r", user.id, str(exc))
                    break
                else:
                    sent += 1
                    for item in content["notifications"]:
                        item.sent_at = now
            state = db.session.get(DigestState, user.id) or DigestState(user_id=user.id, last_sent_at=now)
            state.last_sent_at = now
            db.session.add(state)
            db.session.commit()
            if sent >= MAX_PER_RUN:
                break
    log.info("event=digests_sent count=%s", sent)
    return sent


def _message(user: User, content: dict[str, Any]) -> EmailMessage:
    from advocacy.notifications.email import mail_context, message

    count = len(content["talking_points"]) + len(content["attention"]) + len(content["notifications"])
    subject = f"advocacy: {count} thing{'s' if count != 1 else ''} for you"
    context = mail_context(user, content["points"], kind="digest") | content | {"subject": subject}
    return message(user, subject, render_template("notifications/digest.html", **context),
                   render_template("notifications/digest.txt", **context), kind="digest")


def comms_summary(since: dt.datetime) -> dict[str, int]:
    """Counts for the comms channel: shares published and failed since ``since``, and shares paused now."""
    def count(*where: Any) -> int:
        return int(db.session.scalar(select(func.count(Share.id)).where(*where)) or 0)

    return {"published": count(Share.status == ShareStatus.PUBLISHED, Share.published_at > since),
            "failed": count(Share.status == ShareStatus.FAILED, Share.updated_at > since),
            "paused": count(Share.status == ShareStatus.PAUSED),
            "scheduled": count(Share.status.in_((ShareStatus.SCHEDULED, ShareStatus.QUEUED)))}


def post_to_slack(since: dt.datetime) -> bool:
    """Post the comms summary to the Slack incoming webhook, if one is set. Raises on a failed delivery."""
    url = current_app.config["NOTIFY_SLACK_WEBHOOK_URL"]
    if not url:
        return False
    figures = comms_summary(since)
    text = (f"advocacy since {since:%Y-%m-%d %H:%M} UTC: {figures['published']} published, "
            f"{figures['failed']} failed, {figures['paused']} paused, {figures['scheduled']} waiting to go out. "
            f"Operations: {current_app.config['PUBLIC_URL']}/admin/operations")
    with http_session(timeout=current_app.config["HTTP_TIMEOUT"]) as session:
        answer = session.post(url, json={"text": text})
    if answer.status_code >= 300:
        import requests

        raise requests.HTTPError(f"Slack answered {answer.status_code}: {answer.text[:200]}")
    log.info("event=slack_posted published=%s failed=%s", figures["published"], figures["failed"])
    return True
