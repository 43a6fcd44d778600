"""The talking point workflow: writing, submitting, review with four eyes, comments, withdrawal.

Workflow::

    draft ──submit──► in_review ──approve (not the author)──► approved ──(available_until passes)──► expired
      ▲                  │  ▲                                    │
      └────reject────────┘  └──────────── edit ──────────────────┘
    any of them ──withdraw──► withdrawn (queued shares cancelled, live posts listed for deletion)

Every change adds a revision (a JSON snapshot, see ``versions``) and an audit event. Everything is checked before
anything is stored (``checks``), so a rejected save leaves the stored talking point as it was. Images, the text that
goes out, the library and recall have modules of their own (``images``, ``composing``, ``library``, ``recall``).
"""

from __future__ import annotations

import logging
from typing import Any

from advocacy.audit.services import record
from advocacy.content import link_previews
from advocacy.content.checks import EDITORS, FIELDS, _apply, _editor, _text, clean
from advocacy.content.composing import _screen_or_refuse, screen_talking_point
from advocacy.content.images import _approve_image
from advocacy.content.models import Comment, Status, TalkingPoint
from advocacy.content.versions import _changed, _four_eyes, _next_cycle, _revise, changed_fields, snapshot
from advocacy.errors import Conflict, DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import User

log = logging.getLogger(__name__)


def create_talking_point(author: User, *, title: str, link: str, text: str | None = None, hashtags: str = "",
                         disclosure: str = "", **fields: Any) -> TalkingPoint:
    """A new draft. Input is checked before anything is stored.

    Args:
        author: comms staff writing it.
        title: shown to employees in their feed.
        link: the http(s) page the share points to.
        text: shorthand for one generic copy variant.
        hashtags: added to every share that does not carry them already.
        disclosure: the locked line appended to every share (e.g. #iworkforacme).
        fields: any other field of ``FIELDS`` (variants, topics, availability window, targeting, edit permission).
    """
    _editor(author, "write talking points")
    data = {"title": title, "link": link, "hashtags": hashtags, "disclosure": disclosure, **fields}
    if text is not None:
        data["text"] = text
    values = clean(data)
    tp = TalkingPoint(author_id=author.id, status=Status.DRAFT, version=1)
    _apply(tp, values)
    db.session.add(tp)
    _revise(tp, author, ["created"])
    record(author, "create", "talking_point", tp.id, version=1)
    db.session.commit()
    log.info("event=talking_point_created talking_point_id=%s user_id=%s", tp.id, author.id)
    link_previews.link_saved(tp.id)  # its page's preview card, fetched in the background
    return tp


def update_talking_point(tp: TalkingPoint, user: User, **data: Any) -> TalkingPoint:
    """Edit a talking point; an approved one goes back to review. A new version is recorded.

    Args:
        tp: the talking point.
        user: comms staff editing it.
        data: the fields to change (as for ``create_talking_point``).
    """
    _editor(user, "edit talking points")
    if tp.status == Status.WITHDRAWN:
        raise Conflict("a withdrawn talking point cannot be edited; write a new one", "status")
    unknown = set(data) - set(FIELDS) - {"text"}
    if unknown:
        raise DomainError(f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    values = clean(data, tp)
    before = snapshot(tp)
    _apply(tp, values)
    db.session.flush()
    after = snapshot(tp)
    if after == before:
        db.session.commit()
        return tp
    _changed(tp, user, changed_fields(before, after))
    if tp.link != before["link"]:
        link_previews.link_saved(tp.id)  # a new page: a new preview card
    return tp


def set_link_title(tp: TalkingPoint, user: User, title: str | None) -> TalkingPoint:
    """Give the talking point's link a title of its own (LinkedIn shows it on the article card), or None/empty for
    its page's own. A content edit like any other: a new version, an approved talking point goes back to review,
    and whoever sets it may not approve that version.

    Args:
        tp: the talking point.
        user: comms staff.
        title: at most 300 characters; empty or None: the page's own title.
    """
    _editor(user, "edit talking points")
    if tp.status == Status.WITHDRAWN:
        raise Conflict("a withdrawn talking point cannot be edited; write a new one", "status")
    before = snapshot(tp)
    preview = link_previews.set_title(tp.id, title)
    db.session.flush()
    if snapshot(tp) == before:
        db.session.commit()
        return tp
    _changed(tp, user, ["link title"], link_title=preview.edited_title)
    return tp


def suggest(user: User, *, title: str, link: str, text: str, hashtags: str = "", topics: str = "") -> TalkingPoint:
    """An employee proposes a talking point; it enters review like any other (and is screened on the way).

    Args:
        user: the employee suggesting it (its author: they can never approve it).
        title: what it is about.
        link: the http(s) page to share.
        text: suggested copy.
        hashtags: optional hashtags.
        topics: optional topic tags.
    """
    values = clean({"title": title, "link": link, "text": text, "hashtags": hashtags, "topics": topics})
    tp = TalkingPoint(author_id=user.id, status=Status.DRAFT, version=1, suggested=True)
    _apply(tp, values)
    _screen_or_refuse(tp)
    tp.status = Status.IN_REVIEW
    tp.submitted_at = utcnow()
    db.session.add(tp)
    _revise(tp, user, ["created"])
    record(user, "suggest", "talking_point", tp.id)
    db.session.commit()
    log.info("event=talking_point_suggested talking_point_id=%s user_id=%s", tp.id, user.id)
    link_previews.link_saved(tp.id)
    return tp


def submit(tp: TalkingPoint, user: User) -> None:
    """Send a draft to review once the screening engine finds nothing that blocks it."""
    _editor(user, "submit talking points for review")
    if tp.status != Status.DRAFT:
        raise DomainError(f"only a draft can be submitted; this one is {tp.status.replace('_', ' ')}", "status")
    _screen_or_refuse(tp)
    tp.status = Status.IN_REVIEW
    tp.submitted_at = utcnow()
    record(user, "submit", "talking_point", tp.id, version=tp.version)
    db.session.commit()
    log.info("event=talking_point_submitted talking_point_id=%s user_id=%s", tp.id, user.id)
    from advocacy import events

    events.talking_point_submitted.send(tp)  # reviewers are asked (in Slack, when it is installed)


def approve(tp: TalkingPoint, approver: User) -> None:
    """Four eyes: the approver is comms staff, never the author, and changed nothing of this version since the last
    approval; the copy is screened again. The approval covers the version the approver saw: a change saved meanwhile
    refuses it."""
    _editor(approver, "approve talking points")
    _four_eyes(tp, approver)
    if tp.status != Status.IN_REVIEW:
        raise DomainError(f"only a talking point in review can be approved; this one is {tp.status}", "status")
    _screen_or_refuse(tp)
    _next_cycle(tp)
    tp.status = Status.APPROVED
    tp.approved_by_id = approver.id
    tp.approved_at = utcnow()
    tp.approved_version, tp.approved_link = tp.version, tp.link  # what shares carry from now on
    _approve_image(tp)  # from now on shares carry the image this approval covers
    record(approver, "approve", "talking_point", tp.id, version=tp.version,  # findings: what the archive shows
           findings=[{"variant": v.network, **f.as_dict()} for _i, v, fs in screen_talking_point(tp) for f in fs])
    db.session.commit()
    log.info("event=talking_point_approved talking_point_id=%s user_id=%s", tp.id, approver.id)
    from advocacy import events

    events.talking_point_approved.send(tp)


def reject(tp: TalkingPoint, reviewer: User, reason: str) -> None:
    """Send a talking point in review back to draft with the reason (four eyes: not your own)."""
    _editor(reviewer, "review talking points")
    reason = _text(reason, "reason", 2000, required=True)
    _four_eyes(tp, reviewer)
    if tp.status != Status.IN_REVIEW:
        raise DomainError(f"only a talking point in review can be rejected; this one is {tp.status}", "status")
    tp.status = Status.DRAFT
    tp.comments.append(Comment(user_id=reviewer.id, kind="rejection", body=reason))
    record(reviewer, "reject", "talking_point", tp.id, version=tp.version, reason=reason)
    db.session.commit()
    log.info("event=talking_point_rejected talking_point_id=%s user_id=%s", tp.id, reviewer.id)


def comment(tp: TalkingPoint, user: User, body: str) -> Comment:
    """A note on a talking point from comms staff or its author."""
    if not user.has_role(*EDITORS) and user.id != tp.author_id:
        raise NotAllowed("only comms staff and the author comment on a talking point")
    item = Comment(user_id=user.id, kind="comment", body=_text(body, "body", 2000, required=True))
    tp.comments.append(item)
    db.session.flush()
    record(user, "comment", "talking_point", tp.id, comment_id=item.id)
    db.session.commit()
    return item


def withdraw(tp: TalkingPoint, user: User, reason: str = "") -> int:
    """Withdraw a talking point: it leaves every feed and each of its queued or scheduled shares is cancelled.

    Returns how many shares were cancelled (delivery hears ``events.talking_point_withdrawn`` and cancels them).
    Posts already live stay up until deleted (see ``live_posts``).
    """
    from advocacy import events

    _editor(user, "withdraw talking points")
    if tp.status == Status.WITHDRAWN:
        raise Conflict("this talking point is withdrawn already", "status")
    reason = _text(reason, "reason", 2000)
    tp.status = Status.WITHDRAWN
    tp.withdrawn_at = utcnow()
    tp.withdrawn_by_id = user.id
    db.session.commit()  # first: no new share can be created from here on
    cancelled = events.total(events.talking_point_withdrawn.send(tp, reason=reason))
    record(user, "withdraw", "talking_point", tp.id, cancelled=cancelled, reason=reason)
    db.session.commit()
    log.info("event=talking_point_withdrawn talking_point_id=%s user_id=%s cancelled=%s", tp.id, user.id, cancelled)
    return cancelled
