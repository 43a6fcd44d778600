"""Checking a talking point's fields, and who may write one: every value is checked before anything is stored,
and a refusal is a ``DomainError`` naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select

from advocacy.content.models import NETWORKS, TalkingPoint, Target, Variant
from advocacy.errors import DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.people.models import Role, Team, User

EDITORS = (Role.COMMS, Role.ADMIN)
MAX_TEXT = 10_000
MAX_ID = 2**31 - 1
HASHTAG_RE = re.compile(r"#?[\w\u200c\u200d]+")
FIELDS = ("title", "link", "hashtags", "disclosure", "topics", "available_from", "available_until",
          "employees_may_edit", "target_everyone", "team_ids", "user_ids", "variants")


def check_link(link: str) -> str:
    link = (link or "").strip()
    parsed = urlparse(link)
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise DomainError("must be an http:// or https:// address", "link")
    if len(link) > 2048:
        raise DomainError("must be at most 2048 characters", "link")
    return link


def _text(value: Any, name: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError("must be text", name)
    value = value.strip()
    if required and not value:
        raise DomainError("must not be empty", name)
    if len(value) > limit:
        raise DomainError(f"must be at most {limit} characters (it has {len(value)})", name)
    return value


def _hashtags(value: Any) -> str:
    raw = _text(value, "hashtags", 500)
    tags = []
    for token in re.split(r"[\s,]+", raw):
        if not token:
            continue
        if not HASHTAG_RE.fullmatch(token) or token == "#":
            raise DomainError(f"{token!r} is not a hashtag (letters, digits and _ after one #)", "hashtags")
        tags.append(token if token.startswith("#") else f"#{token}")
    return " ".join(dict.fromkeys(tags))


def _topics(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    raw = _text(value, "topics", 500)
    return " ".join(dict.fromkeys(t.lower() for t in re.split(r"[\s,]+", raw) if t))


def _when(value: Any, name: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise DomainError("is not a date and time such as 2026-12-01T09:30:00+00:00", name) from None
    if not isinstance(value, dt.datetime):
        raise DomainError("is not a date and time", name)
    if value.tzinfo is None:
        raise DomainError("must include a timezone", name)
    return value.astimezone(dt.UTC)


def _ids(value: Any, name: str, model: type) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple):
        raise DomainError("must be a list of ids", name)
    ids: list[int] = []
    for item in value:
        try:
            ids.append(int(item))
        except (TypeError, ValueError):
            raise DomainError(f"{item!r} is not an id", name) from None
    if any(not 1 <= i <= MAX_ID for i in ids):
        raise DomainError(f"ids are whole numbers from 1 to {MAX_ID}", name)
    ids = list(dict.fromkeys(ids))
    found = set(db.session.scalars(select(model.id).where(model.id.in_(ids)))) if ids else set()  # type: ignore[attr-defined]
    missing = [i for i in ids if i not in found]
    if missing:
        raise DomainError(f"no {'team' if model is Team else 'person'} with id {missing[0]}", name)
    return ids


def _variants(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, list | tuple) or not value:
        raise DomainError("add at least one copy variant", "variants")
    out = []
    for i, item in enumerate(value):
        network, text = (item.get("network", "generic"), item.get("text")) if isinstance(item, Mapping) else item
        if network not in NETWORKS:
            raise DomainError(f"must be one of {', '.join(NETWORKS)}", f"variants.{i}.network")
        out.append((network, _text(text, f"variants.{i}.text", MAX_TEXT, required=True)))
    return out


def _bool(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes"}
    return bool(value)


def clean(data: Mapping[str, Any], current: TalkingPoint | None = None) -> dict[str, Any]:
    """Check every field of a talking point; returns clean values or raises ``DomainError`` naming the field.

    Args:
        data: the fields given (an edit may give only some; ``text`` is shorthand for one generic variant).
        current: the talking point being edited, whose values fill the fields not given.
    """
    def given(name: str) -> bool:
        return name in data or current is None

    def old(name: str) -> Any:
        return getattr(current, name) if current is not None else None

    out: dict[str, Any] = {}
    out["title"] = _text(data.get("title"), "title", 200, required=True) if given("title") else old("title")
    out["link"] = check_link(data.get("link", "")) if given("link") else old("link")
    out["hashtags"] = _hashtags(data.get("hashtags")) if given("hashtags") else old("hashtags")
    out["disclosure"] = _text(data.get("disclosure"), "disclosure", 200) if given("disclosure") else old("disclosure")
    out["topics"] = _topics(data.get("topics")) if given("topics") else old("topics")
    out["available_from"] = (_when(data.get("available_from"), "available_from") if given("available_from")
                             else old("available_from"))
    out["available_until"] = (_when(data.get("available_until"), "available_until") if given("available_until")
                              else old("available_until"))
    if out["available_from"] and out["available_until"] and out["available_until"] <= out["available_from"]:
        raise DomainError("must be after available from", "available_until")
    out["employees_may_edit"] = _bool(data.get("employees_may_edit"), old("employees_may_edit") is not False)
    out["target_everyone"] = _bool(data.get("target_everyone"), old("target_everyone") is not False)
    out["team_ids"] = _ids(data.get("team_ids"), "team_ids", Team) if given("team_ids") else current.team_ids  # type: ignore[union-attr]
    out["user_ids"] = _ids(data.get("user_ids"), "user_ids", User) if given("user_ids") else current.user_ids  # type: ignore[union-attr]
    if not out["target_everyone"] and not (out["team_ids"] or out["user_ids"]):
        raise DomainError("choose the whole organisation, at least one team, or at least one person", "targets")
    if data.get("variants") is not None:
        out["variants"] = _variants(data["variants"])
    elif "text" in data or current is None:
        out["variants"] = [("generic", _text(data.get("text"), "text", MAX_TEXT, required=True))]
    else:
        out["variants"] = [(v.network, v.text) for v in current.variants]
    return out


def _apply(tp: TalkingPoint, values: Mapping[str, Any]) -> None:
    for name in ("title", "link", "hashtags", "disclosure", "topics", "available_from", "available_until",
                 "employees_may_edit", "target_everyone"):
        setattr(tp, name, values[name])
    if [(v.network, v.text) for v in tp.variants] != values["variants"]:
        tp.variants = [Variant(network=n, text=t) for n, t in values["variants"]]
    wanted = [(t, None) for t in values["team_ids"]] + [(None, u) for u in values["user_ids"]]
    if [(t.team_id, t.user_id) for t in tp.targets] != wanted:
        tp.targets = [Target(team_id=t, user_id=u) for t, u in wanted]


def _editor(user: User, doing: str) -> None:
    if not user.has_role(*EDITORS):
        raise NotAllowed(f"only comms staff {doing}")
