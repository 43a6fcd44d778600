"""An employee's time zone, auto-share choices (topics, sharing hours, daily cap) and digest frequency."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import User

TOPIC = re.compile(r"^[\w-]{1,40}$")
DIGESTS = ("daily", "weekly", "off")
FIELDS = ("timezone", "auto_share_topics", "share_hours_start", "share_hours_end", "daily_share_cap", "digest")


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows (the tzdata package on machines without a system database)."""
    return frozenset(zoneinfo.available_timezones())


def of(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in FIELDS}


def _hour(value: Any, field: str, low: int, high: int) -> int:
    try:
        hour = int(str(value).strip())
    except (TypeError, ValueError):
        raise DomainError(f"must be a whole hour from {low} to {high}", field) from None
    if not low <= hour <= high:
        raise DomainError(f"must be a whole hour from {low} to {high}", field)
    return hour


def update(user: User, data: Mapping[str, Any]) -> User:
    """Check every given field, then store them all (or nothing: a bad field leaves the stored choices as they were).

    Args:
        user: whose preferences.
        data: any of ``FIELDS``; topics as a list or a space/comma separated string.
    """
    values = of(user)
    if "timezone" in data:
        zone = str(data["timezone"] or "").strip()
        if zone not in time_zones():
            raise DomainError("is not a time zone such as Europe/Paris or America/New_York", "timezone")
        values["timezone"] = zone
    if "auto_share_topics" in data:
        raw = data["auto_share_topics"]
        words = raw if isinstance(raw, list | tuple) else re.split(r"[\s,]+", str(raw or ""))
        topics = list(dict.fromkeys(str(w).strip().lower().lstrip("#") for w in words if str(w).strip()))
        bad = [t for t in topics if not TOPIC.match(t)]
        if bad:
            raise DomainError(f"{bad[0]!r} is not a topic (letters, digits, - and _)", "auto_share_topics")
        if len(" ".join(topics)) > 500:
            raise DomainError("must be at most 500 characters", "auto_share_topics")
        values["auto_share_topics"] = " ".join(topics)
    if "share_hours_start" in data:
        values["share_hours_start"] = _hour(data["share_hours_start"], "share_hours_start", 0, 23)
    if "share_hours_end" in data:
        values["share_hours_end"] = _hour(data["share_hours_end"], "share_hours_end", 1, 24)
    if values["share_hours_end"] <= values["share_hours_start"]:
        raise DomainError("must be later than the first sharing hour", "share_hours_end")
    if "daily_share_cap" in data:
        try:
            cap = int(str(data["daily_share_cap"]).strip())
        except (TypeError, ValueError):
            raise DomainError("must be a whole number from 0 to 50", "daily_share_cap") from None
        if not 0 <= cap <= 50:
            raise DomainError("must be a whole number from 0 to 50", "daily_share_cap")
        values["daily_share_cap"] = cap
    if "digest" in data:
        if data["digest"] not in DIGESTS:
            raise DomainError(f"must be one of {', '.join(DIGESTS)}", "digest")
        values["digest"] = data["digest"]
    for name, value in values.items():
        setattr(user, name, value)
    db.session.commit()
    return user
