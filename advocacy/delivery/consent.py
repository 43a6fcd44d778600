"""Consent to automatic LinkedIn posting, renewed every year.

Posting on someone's LinkedIn automatically (auto-share) needs their consent, given again every 365 days (LinkedIn's
terms for posting on a member's behalf; PLATFORMS-2026 §4: the longest LinkedIn grant, the programmatic refresh
token, is 365 days fixed). The person ticks "Post to LinkedIn for me automatically" on their preferences page, or
renews with one click there or on the feed's banner. Reminders go out 14 and 3 days before it lapses (the
notifications the token-expiry reminders use). A lapsed consent: the fan-out places no LinkedIn auto-share for them
(``audience_clause``), and an auto-share already placed is paused when it comes due (``rules.consent_hold``), with the
reason shown, until they renew: renewing releases it.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from advocacy.delivery import services
from advocacy.delivery.models import AutoShareConsent, Share, ShareStatus
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.services import notify_once
from advocacy.people.models import User

log = logging.getLogger(__name__)
NETWORK = "linkedin"
YEAR = dt.timedelta(days=365)
REMIND_DAYS = (14, 3)
PAUSED = "paused: renew your consent to automatic LinkedIn posting"


def consented_at(user_id: int) -> dt.datetime | None:
    return db.session.scalar(select(AutoShareConsent.consented_at).where(
        AutoShareConsent.user_id == user_id, AutoShareConsent.network == NETWORK))


def lapses_at(user_id: int) -> dt.datetime | None:
    """When the person's consent lapses (None: they never gave it, or withdrew it)."""
    at = consented_at(user_id)
    return at + YEAR if at is not None else None


def valid(user_id: int, now: dt.datetime | None = None) -> bool:
    until = lapses_at(user_id)
    return until is not None and until > (now or utcnow())


def status(user: User, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the preferences page and the banner show: given?, when it lapses, lapsed?, lapsing soon?"""
    now = now or utcnow()
    until = lapses_at(user.id)
    return {"given": until is not None, "lapses_at": until, "lapsed": until is not None and until <= now,
            "soon": until is not None and now < until <= now + dt.timedelta(days=max(REMIND_DAYS)),
            "paused": paused_count(user.id)}


def audience_clause(at: Any) -> ColumnElement[bool]:
    """The fan-out's condition over ``User`` and ``ConnectedAccount``: a LinkedIn account needs a consent in force."""
    from advocacy.accounts.models import ConnectedAccount

    return or_(ConnectedAccount.network != NETWORK, exists().where(
        AutoShareConsent.user_id == User.id, AutoShareConsent.network == NETWORK,
        AutoShareConsent.consented_at > at - YEAR))


def hold_reason(share: Share, now: dt.datetime) -> str | None:
    """Why an auto-share coming due may not go out now (a LinkedIn one without a consent in force), or None."""
    if not share.auto or share.network != NETWORK:
        return None
    return None if valid(share.user_id, now) else PAUSED


def give(user: User, now: dt.datetime | None = None) -> int:
    """Record (or renew) the person's consent from now, and release their LinkedIn auto-shares it paused.

    Returns how many paused shares were released.
    """
    now = now or utcnow()
    row = db.session.get(AutoShareConsent, (user.id, NETWORK))
    if row is None:
        db.session.add(AutoShareConsent(user_id=user.id, network=NETWORK, consented_at=now))
    else:
        row.consented_at = now
    db.session.commit()
    log.info("event=linkedin_consent_given user_id=%s", user.id)
    return release(user)


def withdraw(user: User) -> None:
    """The person no longer lets advocacy post to LinkedIn for them automatically."""
    row = db.session.get(AutoShareConsent, (user.id, NETWORK))
    if row is not None:
        db.session.delete(row)
        db.session.commit()
        log.info("event=linkedin_consent_withdrawn user_id=%s", user.id)


def paused_count(user_id: int) -> int:
    return len(_paused(user_id))


def _paused(user_id: int) -> list[Share]:
    return list(db.session.scalars(select(Share).where(
        Share.user_id == user_id, Share.status == ShareStatus.PAUSED, Share.last_error == PAUSED)))


def release(user: User) -> int:
    """The person's LinkedIn auto-shares paused for a lapsed consent go out again (at their time, or now)."""
    released = 0
    for share in _paused(user.id):
        at = max(share.scheduled_at, utcnow())
        if services._transition(share.id, (ShareStatus.PAUSED,), ShareStatus.SCHEDULED, scheduled_at=at,
                                last_error="consent to automatic LinkedIn posting renewed"):
            services.enqueue(share.id, at)
            released += 1
    if released:
        log.info("event=linkedin_consent_released user_id=%s shares=%s", user.id, released)
    return released


def remind_lapsing(now: dt.datetime | None = None) -> int:
    """Tell people, once per reminder day (14 and 3 days before), that their consent is about to lapse."""
    now = now or utcnow()
    sent = 0
    bounds = sorted(REMIND_DAYS, reverse=True)
    for days, nearer in zip(bounds, [*bounds[1:], 0], strict=True):  # 14: lapsing in 3-14 days; 3: in 0-3 days
        rows = db.session.execute(select(AutoShareConsent.user_id, AutoShareConsent.consented_at).join(
            User, User.id == AutoShareConsent.user_id).where(
            AutoShareConsent.network == NETWORK, User.active.is_(True),
            AutoShareConsent.consented_at > now - YEAR + dt.timedelta(days=nearer),
            AutoShareConsent.consented_at <= now - YEAR + dt.timedelta(days=days))).all()
        for user_id, given in rows:
            day = (given + YEAR).date().isoformat()
            sent += notify_once(user_id, "linkedin_consent", f"linkedin-consent:{user_id}:{given.date()}:{days}",
                                f"Renew automatic LinkedIn posting before {day}",
                                f"You let advocacy post to LinkedIn for you automatically until {day}. Renew it with "
                                f"one click on your auto-share preferences page; otherwise your LinkedIn auto-shares "
                                f"pause then (nothing else changes).")
    return sent
