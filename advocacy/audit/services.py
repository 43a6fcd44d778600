"""Recording actions, and reading the log and the archive of posts for compliance review.

The log is append-only: ``record`` only inserts, and the ORM refuses to update or delete a recorded event.
Services record their own actions in the same transaction as the change. Shares and connected accounts belong to
other areas, so their events (share, connect, disconnect) are recorded by listeners on those models:
whatever code path creates or changes them, the log sees it. What was posted is in the archive (published
shares, read from the database of record, with the tracked link as the connectors put it in the post).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.audit.models import AuditEvent
from advocacy.delivery.models import Share, ShareStatus
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import User

ACTIONS = (
    "create", "edit", "submit", "suggest", "comment", "approve", "reject", "withdraw", "delete_post",
    "share", "connect", "disconnect", "opt_in", "opt_out", "policy_published", "policy_acknowledged",
    "screening_rule_changed", "user_added", "user_changed", "team_saved",
)


def record(actor: User | int | None, action: str, subject_type: str = "", subject_id: int | None = None,
           **detail: Any) -> AuditEvent:
    """Add an event to the session; it is committed with the change it describes.

    Args:
        actor: who did it (a user, a user id, or None for the system).
        action: one of ``ACTIONS``.
        subject_type: what it was done to (talking_point, share, account, policy, user, screening_rule).
        subject_id: the id of that thing.
        detail: a few JSON-serialisable facts (never a token or a password).
    """
    actor_id = actor.id if isinstance(actor, User) else actor
    item = AuditEvent(actor_id=actor_id, action=action, subject_type=subject_type, subject_id=subject_id,
                      detail=json.dumps(detail, ensure_ascii=False, default=str), at=utcnow())
    db.session.add(item)
    return item


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise DomainError("the audit log is append-only", "audit")


def _insert(connection: Any, actor_id: int | None, action: str, subject_type: str, subject_id: int | None,
            **detail: Any) -> None:
    connection.execute(insert(AuditEvent).values(
        actor_id=actor_id, action=action, subject_type=subject_type, subject_id=subject_id,
        detail=json.dumps(detail, ensure_ascii=False, default=str), at=utcnow()))


@event.listens_for(Share, "after_insert")
def _share_created(_mapper: Any, connection: Any, share: Share) -> None:
    _insert(connection, share.user_id, "share", "share", share.id, talking_point_id=share.talking_point_id,
            network=share.network, status=share.status)


@event.listens_for(ConnectedAccount, "after_insert")
def _account_connected(_mapper: Any, connection: Any, account: ConnectedAccount) -> None:
    _insert(connection, account.user_id, "connect", "account", account.id, network=account.network)


@event.listens_for(ConnectedAccount, "after_update")
def _account_changed(_mapper: Any, connection: Any, account: ConnectedAccount) -> None:
    history = db.inspect(account).attrs.status.history
    if not history.has_changes():
        return
    before = history.deleted[0] if history.deleted else None
    if account.status == AccountStatus.DISCONNECTED:
        _insert(connection, account.user_id, "disconnect", "account", account.id, network=account.network)
    elif account.status == AccountStatus.ACTIVE and before != AccountStatus.ACTIVE:
        _insert(connection, account.user_id, "connect", "account", account.id, network=account.network)


def events(action: str | None = None, actor_id: int | None = None, limit: int = 1000) -> list[AuditEvent]:
    """The newest events first.

    Args:
        action: only this action.
        actor_id: only this person's actions.
        limit: at most this many.
    """
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(query))


def event_rows(items: Iterable[AuditEvent]) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id,
             "actor": e.actor.email if e.actor else "", "action": e.action, "subject_type": e.subject_type,
             "subject_id": e.subject_id, "detail": json.loads(e.detail or "{}")} for e in items]


def posted(network: str, text: str, tracked_link: str, with_image: bool) -> tuple[str, str]:
    """(the post's text, where its tracked link went) as the connectors send a share: X, Mastodon and Bluesky append
    the tracked link to the text after a space (unless the text holds it already); LinkedIn does so only for a post
    with images, and otherwise carries the link as the post's article card, outside the text.

    Args:
        network: the share's network.
        text: the share's composed text (copy, hashtags, disclosure line).
        tracked_link: the share's ``/r/<code>`` address.
        with_image: whether the post carried the talking point's image.
    """
    if network == "linkedin" and not with_image:
        return text, "article card"
    return (text if tracked_link in text else f"{text} {tracked_link}"), "text"


def archive(since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Everything posted, as the network received it: the text with its tracked link, where that link leads, the
    network, time, person and whether it was deleted since.

    Each row: ``text`` is the post's text exactly as sent (the tracked link included where the connector puts it in
    the text), ``copy`` the words without the link, ``tracked_link`` the ``/r/<code>`` address in the post,
    ``link_in`` where it went (``text``, or LinkedIn's ``article card``), and ``destination`` where the tracked link
    sends readers (the link approved when the share was made, with its UTM parameters). Whether a LinkedIn post had
    an image is judged by its talking point's approved image.

    Args:
        since: only posts published at or after this (aware) time.
        until: only posts published before this (aware) time.
    """
    from flask import current_app

    from advocacy.content.models import PostDeletion, TalkingPointImage
    from advocacy.reach.links import destination

    query = (select(Share, PostDeletion).outerjoin(PostDeletion, PostDeletion.share_id == Share.id)
             .where(Share.status == ShareStatus.PUBLISHED).order_by(Share.published_at, Share.id))
    if since:
        query = query.where(Share.published_at >= since)
    if until:
        query = query.where(Share.published_at < until)
    found = db.session.execute(query).all()
    tp_ids = {s.talking_point_id for s, _ in found}
    with_image = set(db.session.scalars(select(TalkingPointImage.talking_point_id).where(
        TalkingPointImage.talking_point_id.in_(tp_ids), TalkingPointImage.approved.is_(True)))) if tp_ids else set()
    base = current_app.config["PUBLIC_URL"]
    rows = []
    for s, d in found:
        tracked = f"{base}/r/{s.code}"
        text, link_in = posted(s.network, s.text, tracked, s.talking_point_id in with_image)
        rows.append({"share_id": s.id, "talking_point_id": s.talking_point_id, "user_id": s.user_id,
                     "user": s.user.email, "network": s.network, "text": text, "copy": s.text,
                     "tracked_link": tracked, "link_in": link_in,
                     "destination": destination(s.id, s.network, s.talking_point_id, s.link),
                     "published_at": s.published_at.isoformat() if s.published_at else "",
                     "post_id": s.post_id or "", "post_url": s.post_url or "",
                     "deleted_at": d.deleted_at.isoformat() if d else ""})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV (nested values as JSON); cells that a spreadsheet would run as a formula are quoted with '
    (:func:`advocacy.security.csv_cell`, as every CSV export)."""
    from advocacy.security import csv_cell

    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return out.getvalue()

