"""Finding talking points: what an employee may share now (approved, in its window, aimed at them), who a talking
point reaches, the searchable library, the review queue, and who may see one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import selectinload

from advocacy.content.checks import EDITORS
from advocacy.content.models import Status, TalkingPoint, Target, Variant
from advocacy.content.versions import four_eyes_refusal
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import Team, User


def is_available(tp: TalkingPoint, now: dt.datetime | None = None) -> bool:
    """Approved and inside its availability window."""
    now = now or utcnow()
    return (tp.status == Status.APPROVED and (tp.available_from is None or tp.available_from <= now)
            and (tp.available_until is None or tp.available_until > now))


def approved_for(user: User) -> list[TalkingPoint]:
    """What the employee may share now: approved, inside its window, and aimed at the whole organisation, at the
    person's team or at the person."""
    now = utcnow()
    aimed = or_(Target.user_id == user.id, Target.team_id == user.team_id if user.team_id else false())
    return list(db.session.scalars(
        select(TalkingPoint).where(
            TalkingPoint.status == Status.APPROVED,
            or_(TalkingPoint.available_from.is_(None), TalkingPoint.available_from <= now),
            or_(TalkingPoint.available_until.is_(None), TalkingPoint.available_until > now),
            or_(TalkingPoint.target_everyone, exists().where(Target.talking_point_id == TalkingPoint.id, aimed)),
        ).order_by(TalkingPoint.approved_at.desc(), TalkingPoint.id.desc())
        # the feed reads every card's copy and image: two queries for all of them, not two per card
        .options(selectinload(TalkingPoint.variants), selectinload(TalkingPoint.approved_image))
    ))


def audience(tp: TalkingPoint) -> list[User]:
    """Everyone ``tp`` is aimed at (active people of any role)."""
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if not tp.target_everyone:
        query = query.where(or_(User.id.in_(tp.user_ids or [0]), User.team_id.in_(tp.team_ids or [0])))
    return list(db.session.scalars(query))


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _topic(topic: str) -> Any:
    """Talking points tagged ``topic`` (one of the space-separated words in ``topics``, case-insensitive)."""
    padded = func.lower(" " + func.coalesce(TalkingPoint.topics, "") + " ")
    return padded.like(_like(f" {topic.lower()} "), escape="\\")


def _filters(q: str, status: str, topic: str, author: int | None, skip: str = "") -> list[Any]:
    """The WHERE clauses of the library's filters, leaving out ``skip`` (a facet counts with the others only)."""
    where: list[Any] = []
    for term in (q or "").split()[:10]:
        pattern = _like(term)
        where.append(or_(
            TalkingPoint.title.ilike(pattern, escape="\\"), TalkingPoint.hashtags.ilike(pattern, escape="\\"),
            TalkingPoint.topics.ilike(pattern, escape="\\"), TalkingPoint.link.ilike(pattern, escape="\\"),
            exists().where(Variant.talking_point_id == TalkingPoint.id, Variant.text.ilike(pattern, escape="\\"))))
    now = utcnow()
    if status and skip != "status":
        where.append(_status(status, now))
    if topic and skip != "topic":
        where.append(_topic(topic.split()[0] if topic.split() else topic))
    if author and skip != "author":
        where.append(TalkingPoint.author_id == author)
    return where


def _status(status: str, now: dt.datetime) -> Any:
    ended = TalkingPoint.available_until <= now
    if status == Status.EXPIRED:
        return and_(TalkingPoint.status == Status.APPROVED, ended)
    if status == Status.APPROVED:  # approved and still in (or before) its window; past it, it shows as expired
        return and_(TalkingPoint.status == Status.APPROVED, or_(TalkingPoint.available_until.is_(None), ~ended))
    return TalkingPoint.status == status


def library(q: str = "", status: str = "", limit: int = 500, topic: str = "", author: int | None = None
            ) -> list[TalkingPoint]:
    """Past and present talking points, newest first; ``q`` finds every word in title, copy, hashtags, topics or link.

    Args:
        q: words to search for (all must match, anywhere, case-insensitive).
        status: only this status as people see it (``expired``: approved and past its window; ``approved``: not).
        limit: at most this many.
        topic: only those tagged with this topic.
        author: only those written by this person (id).
    """
    query = select(TalkingPoint).where(*_filters(q, status, topic, author)).order_by(
        TalkingPoint.created_at.desc(), TalkingPoint.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def library_facets(q: str = "", status: str = "", topic: str = "", author: int | None = None) -> dict[str, Any]:
    """How many talking points each filter value would show, the other filters applied (status, topic, author).

    Returns:
        ``{"status": {status: n}, "topics": [(topic, n)], "authors": [(id, name, n)]}``; statuses, topics and authors
        counted in SQL except topics, split from the matching rows' ``topics`` column (one short column per row).
    """
    now = utcnow()
    expired = and_(TalkingPoint.status == Status.APPROVED, TalkingPoint.available_until <= now)
    state = case((expired, Status.EXPIRED), else_=TalkingPoint.status)
    by_status = {s: int(n) for s, n in db.session.execute(
        select(state, func.count()).where(*_filters(q, status, topic, author, "status")).group_by(state))}
    topics: dict[str, int] = {}
    for value in db.session.scalars(select(TalkingPoint.topics).where(*_filters(q, status, topic, author, "topic"))):
        for word in {w.lower() for w in (value or "").split()}:
            topics[word] = topics.get(word, 0) + 1
    authors = db.session.execute(
        select(User.id, User.name, func.count(TalkingPoint.id)).join(User, User.id == TalkingPoint.author_id)
        .where(*_filters(q, status, topic, author, "author")).group_by(User.id, User.name).order_by(User.name))
    return {"status": by_status, "total": sum(by_status.values()),
            "topics": sorted(topics.items(), key=lambda item: (-item[1], item[0])),
            "authors": [(int(i), name, int(n)) for i, name, n in authors]}


def teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def people(ids: Iterable[int] | None = None) -> list[User]:
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if ids is not None:
        query = query.where(User.id.in_(list(ids)))
    return list(db.session.scalars(query))


def audience_size(target_everyone: bool, team_ids: Iterable[int], user_ids: Iterable[int]) -> int:
    """How many active people a targeting choice reaches (the organisation, or these teams and people).

    Args:
        target_everyone: the whole organisation.
        team_ids: teams aimed at.
        user_ids: people aimed at.
    """
    from sqlalchemy import func

    query = select(func.count()).select_from(User).where(User.active.is_(True))
    if not target_everyone:
        query = query.where(or_(User.id.in_(list(user_ids) or [0]), User.team_id.in_(list(team_ids) or [0])))
    return int(db.session.scalar(query) or 0)


def review_queue(user: User) -> list[TalkingPoint]:
    """Talking points waiting for review, oldest first: the ones ``user`` may approve (neither written nor changed by
    them in this review) first."""
    waiting = db.session.scalars(select(TalkingPoint).where(TalkingPoint.status == Status.IN_REVIEW)
                                 .order_by(TalkingPoint.created_at, TalkingPoint.id)).all()
    return sorted(waiting, key=lambda tp: four_eyes_refusal(tp, user) is not None)


def may_see(tp: TalkingPoint, user: User) -> bool:
    """Comms see every talking point; others those aimed at them now, their own suggestions, and those they shared."""
    from advocacy.delivery.models import Share

    if user.has_role(*EDITORS) or tp.author_id == user.id or tp in approved_for(user):
        return True
    return db.session.scalar(select(Share.id).where(Share.talking_point_id == tp.id,
                                                    Share.user_id == user.id).limit(1)) is not None
