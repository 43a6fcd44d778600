"""Where, how often and when a person hears about new talking points: their choice, or the admins' defaults.

``of(user)`` is what applies to a person (their own row, else the defaults); ``update`` checks every field and stores
them all or nothing (a bad field raises ``DomainError`` naming it). The page and the JSON API both go through here.
Quiet hours are ``HH:MM`` in the person's own time zone (``User.timezone``, which the same form can change).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.notifications.channels import CHANNEL_NAMES
from advocacy.notifications.models import NotificationDefaults, NotificationPreference
from advocacy.people.models import User

FREQUENCIES = ("instant", "daily", "weekly")
FREQUENCY_LABELS = {"instant": "As they come", "daily": "Once a day at most", "weekly": "Once a week at most"}
BUILT_IN = {"channels": ["email"], "frequency": "instant", "quiet_start": None, "quiet_end": None}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def split(text: str) -> list[str]:
    return [c for c in (text or "").split(",") if c]


def hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def defaults() -> dict[str, Any]:
    row = db.session.get(NotificationDefaults, 1)
    if row is None:
        return dict(BUILT_IN)
    return {"channels": split(row.channels), "frequency": row.frequency, "quiet_start": row.quiet_start,
            "quiet_end": row.quiet_end}


def of(user: User) -> dict[str, Any]:
    """What applies to ``user``: channels in order, frequency, quiet hours (minutes or None), time zone, and
    whether these are the defaults (they chose nothing yet)."""
    row = db.session.get(NotificationPreference, user.id)
    chosen = defaults() if row is None else {
        "channels": split(row.channels), "frequency": row.frequency, "quiet_start": row.quiet_start,
        "quiet_end": row.quiet_end}
    return {**chosen, "timezone": user.timezone, "default": row is None,
            "unreachable": split(row.unreachable) if row is not None else []}


def as_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """The API's and the form's shape: quiet hours as ``HH:MM`` (or null)."""
    return {"channels": list(values["channels"]), "frequency": values["frequency"],
            "quiet_start": hhmm(values["quiet_start"]), "quiet_end": hhmm(values["quiet_end"]),
            **({"timezone": values["timezone"]} if "timezone" in values else {})}


def _channels(raw: Any) -> list[str]:
    names = raw if isinstance(raw, list | tuple) else re.split(r"[\s,]+", str(raw or ""))
    picked = list(dict.fromkeys(str(n).strip().lower() for n in names if str(n).strip()))
    bad = [n for n in picked if n not in CHANNEL_NAMES]
    if bad:
        raise DomainError(f"{bad[0]!r} is not a channel (one of {', '.join(CHANNEL_NAMES)})", "channels")
    return picked


def _minutes(raw: Any, field: str) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    found = _TIME.match(str(raw).strip())
    if not found:
        raise DomainError("must be a time such as 22:00 (24-hour HH:MM)", field)
    return int(found.group(1)) * 60 + int(found.group(2))


def _checked(current: dict[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(current)
    if "channels" in data:
        values["channels"] = _channels(data["channels"])
    if "frequency" in data:
        if data["frequency"] not in FREQUENCIES:
            raise DomainError(f"must be one of {', '.join(FREQUENCIES)}", "frequency")
        values["frequency"] = data["frequency"]
    for field in ("quiet_start", "quiet_end"):
        if field in data:
            values[field] = _minutes(data[field], field)
    if (values["quiet_start"] is None) != (values["quiet_end"] is None):
        missing = "quiet_end" if values["quiet_end"] is None else "quiet_start"
        raise DomainError("give both ends of the quiet hours, or neither", missing)
    if values["quiet_start"] is not None and values["quiet_start"] == values["quiet_end"]:
        raise DomainError("must differ from the start of the quiet hours", "quiet_end")
    return values


def update(user: User, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check every given field, then store them all (a bad field stores nothing and names itself).

    Args:
        user: whose preferences.
        data: any of channels (a list in order, or a comma separated string), frequency, quiet_start and quiet_end
            (``HH:MM`` or empty), timezone (an IANA name).
    """
    from advocacy.delivery.preferences import time_zones

    values = _checked(of(user), data)
    if "timezone" in data:
        zone = str(data["timezone"] or "").strip()
        if zone not in time_zones():
            raise DomainError("is not a time zone such as Europe/Paris or America/New_York", "timezone")
        user.timezone = zone
    row = db.session.get(NotificationPreference, user.id) or NotificationPreference(user_id=user.id, unreachable="")
    row.channels = ",".join(values["channels"])
    row.frequency, row.quiet_start, row.quiet_end = values["frequency"], values["quiet_start"], values["quiet_end"]
    db.session.add(row)
    db.session.commit()
    return of(user)


def update_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """The admins' defaults, checked as a person's choice is (no time zone: each person's own applies)."""
    values = _checked(defaults(), data)
    row = db.session.get(NotificationDefaults, 1) or NotificationDefaults(id=1)
    row.channels = ",".join(values["channels"])
    row.frequency, row.quiet_start, row.quiet_end = values["frequency"], values["quiet_start"], values["quiet_end"]
    db.session.add(row)
    db.session.commit()
    return defaults()


def mark_unreachable(user_id: int, channel: str) -> None:
    """``channel`` said the person is gone: it is not tried for them again until they set it up again."""
    row = db.session.get(NotificationPreference, user_id)
    if row is None:
        user = db.session.get(User, user_id)
        chosen = defaults()["channels"] if user is not None else []
        row = NotificationPreference(user_id=user_id, channels=",".join(chosen), frequency=defaults()["frequency"],
                                     quiet_start=defaults()["quiet_start"], quiet_end=defaults()["quiet_end"],
                                     unreachable="")
        db.session.add(row)
    gone = split(row.unreachable or "")
    if channel not in gone:
        row.unreachable = ",".join([*gone, channel])


def channel_set_up(user_id: int, channel: str) -> None:
    """A channel's set-up finished for the person (matched in Slack, a push subscription, a Teams URL): it is tried
    again. Each channel's set-up calls this; it commits."""
    row = db.session.get(NotificationPreference, user_id)
    if row is not None and channel in split(row.unreachable or ""):
        row.unreachable = ",".join(c for c in split(row.unreachable) if c != channel)
        db.session.commit()
