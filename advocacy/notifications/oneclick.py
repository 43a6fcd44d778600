"""One-tap share links: signed, expiring, single-use links that e-mail, Teams and push put behind their buttons.

A link names one person, one talking point, one network and the channel that carried it. It is signed with the app's
``SECRET_KEY`` by itsdangerous (``URLSafeTimedSerializer``, its own salt), so it cannot be forged or altered, and it
expires after ``NOTIFY_LINK_MAX_AGE_SECONDS``. Opening it (``GET /go/<token>``,
``advocacy.notifications.oneclick_views``) only shows a confirmation: mail scanners that follow links post nothing.
The share is made by the page's POST, through ``delivery.services.create_share`` with the link's channel, so every
rule of the web holds. A link is used once: its random id goes into ``oneclick_uses`` (unique) at the moment the share
is made.

The token identifies the person: a valid link needs no login. It acts only for the person it was sent to; when
someone else is signed in in that browser, the page refuses (it never shares on the signed-in person's account).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow

if TYPE_CHECKING:
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User

SALT = "advocacy.notifications.oneclick"
SHARE, REFUSE = "share", "refuse"  # what a link does: share on a network, or say "not for me"


class OneClickUse(db.Model):
    """A one-tap link that was used (its ``jti`` is unique, so a link is used once, whatever the race)."""

    __tablename__ = "oneclick_uses"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    network: Mapped[str] = mapped_column(String(32))  # empty for "not for me"
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # share or refuse
    share_id: Mapped[int | None] = mapped_column(ForeignKey("shares.id"))
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LinkRefused(Exception):  # noqa: N818 - a refusal shown to the person, not a bug
    """A link that cannot be used; ``reason`` is the sentence the page shows, ``status`` its HTTP status."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Link:
    """What a verified token says."""

    jti: str
    user_id: int
    talking_point_id: int
    network: str
    channel: str
    action: str
    issued_at: dt.datetime


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _token(user: User, talking_point: TalkingPoint, network: str, channel: str, action: str) -> str:
    from advocacy.delivery.models import SHARE_CHANNELS

    if channel not in SHARE_CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(SHARE_CHANNELS)}, got {channel!r}")
    payload = {"j": secrets.token_hex(12), "u": user.id, "t": talking_point.id, "n": network, "c": channel,
               "a": action}
    return str(_serializer().dumps(payload))


def _url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/go/{token}"


def share_link(user: User, talking_point: TalkingPoint, network: str, channel: str) -> str:
    """An absolute URL (under ``PUBLIC_URL``) that lets ``user`` share ``talking_point`` on ``network`` in one tap.

    Args:
        user: the person it is sent to (the only person it acts for).
        talking_point: an approved talking point aimed at them.
        network: where the share will post (x, linkedin, mastodon, bluesky, threads).
        channel: what carries the link (email, teams, push, slack); recorded on the share.
    """
    return _url(_token(user, talking_point, network, channel, SHARE))


def refuse_link(user: User, talking_point: TalkingPoint, channel: str) -> str:
    """An absolute URL on which ``user`` says "not for me" about ``talking_point`` (a confirmation, then a POST)."""
    return _url(_token(user, talking_point, "", channel, REFUSE))


def verify(token: str, *, check_age: bool = True) -> Link:
    """The link a token names, if its signature holds and it has not expired. Raises ``LinkRefused``.

    Whether it was used already, and whether the person may still share, is checked by the page.

    Args:
        token: the last part of the link's URL.
        check_age: refuse an expired link (False: only the signature counts, for the status of a share it made).
    """
    max_age = current_app.config["NOTIFY_LINK_MAX_AGE_SECONDS"]
    try:
        payload, issued = _serializer().loads(token, max_age=max_age if check_age else None, return_timestamp=True)
    except SignatureExpired:
        days = max_age / 86400
        ago = f"{days:g} days" if days >= 1 else f"{max_age // 3600 or 1} hours"
        raise LinkRefused(f"This link has expired (links work for {ago}). Open the feed to share this talking "
                          "point.", 410) from None
    except BadSignature:
        raise LinkRefused("This link is not valid: it was changed or not made by this site.", 400) from None
    try:
        return _link(payload, issued)
    except (KeyError, TypeError, ValueError):  # signed by us with another shape (an older version): not usable
        raise LinkRefused("This link is not valid: it was changed or not made by this site.", 400) from None


def _link(payload: Any, issued: dt.datetime) -> Link:
    return Link(jti=str(payload["j"]), user_id=int(payload["u"]), talking_point_id=int(payload["t"]),
                network=str(payload["n"]), channel=str(payload["c"]), action=str(payload["a"]),
                issued_at=issued if issued.tzinfo else issued.replace(tzinfo=dt.UTC))


def used(link: Link) -> OneClickUse | None:
    """The record of ``link``'s use, or None while it is unused."""
    return db.session.get(OneClickUse, link.jti)
