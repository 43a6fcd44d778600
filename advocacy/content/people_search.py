"""Finding people and teams to target a talking point: the editor's type-ahead, and the plain e-mail field that
stands in for it without JavaScript.

A search is two bounded queries (names or e-mails that start with the term, then ones that contain it), each at most
``limit`` rows, so 50,000 people answer as fast as 50; e-mails are matched on ``lower(email)`` as sign-in does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import Team, User

_SPLIT = re.compile(r"[\s,;]+")


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(q: str, limit: int = 20) -> list[User]:
    """Active people whose name (or a word of it) or e-mail starts with ``q``, then those that contain it; by name.

    Args:
        q: what was typed (case-insensitive).
        limit: at most this many people.
    """
    term = _escape(q.strip().lower())
    if not term:
        return []
    name, email = func.lower(User.name), func.lower(User.email)
    base = select(User).options(joinedload(User.team)).where(User.active.is_(True)).order_by(User.name, User.id)
    starts = or_(name.like(f"{term}%", escape="\\"), name.like(f"% {term}%", escape="\\"),
                 email.like(f"{term}%", escape="\\"))
    found = list(db.session.scalars(base.where(starts).limit(limit)))
    if len(found) < limit:
        contains = or_(name.like(f"%{term}%", escape="\\"), email.like(f"%{term}%", escape="\\"))
        seen = [u.id for u in found] or [0]
        found += db.session.scalars(base.where(contains, User.id.not_in(seen)).limit(limit - len(found)))
    return found


def search_teams(q: str, limit: int = 20) -> list[Team]:
    """Teams whose name contains ``q`` (case-insensitive), by name."""
    term = _escape(q.strip().lower())
    if not term:
        return []
    return list(db.session.scalars(select(Team).where(func.lower(Team.name).like(f"%{term}%", escape="\\"))
                                   .order_by(Team.name).limit(limit)))


def split_emails(text: str) -> list[str]:
    """The addresses in a field of e-mails separated by commas, semicolons, spaces or new lines (in order, once)."""
    out: list[str] = []
    for part in _SPLIT.split(text or ""):
        part = part.strip().lower()
        if part and part not in out:
            out.append(part)
    return out


def people_by_email(text: str, field: str = "people_emails") -> list[User]:
    """The active people the addresses in ``text`` belong to, in the order given.

    Raises:
        DomainError: naming ``field`` and every address no active person has.
    """
    emails = split_emails(text)
    if len(emails) > 10_000:
        raise DomainError("lists more than 10,000 addresses", field)
    if not emails:
        return []
    found = {u.email.lower(): u for u in db.session.scalars(
        select(User).where(func.lower(User.email).in_(emails), User.active.is_(True)))}
    unknown = [e for e in emails if e not in found]
    if unknown:
        listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise DomainError(f"no active person has the address {listed}", field)
    return [found[e] for e in emails]


def people(ids: Iterable[int]) -> list[User]:
    """These people (active or not), by name: the chips a form shows for the people already targeted."""
    wanted = list(ids)
    if not wanted:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(wanted)).order_by(User.name)))
