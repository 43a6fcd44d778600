"""Talking points: writing, review with four eyes, targeting, screening, the text each network receives, recall.

Workflow::

    draft ──submit──► in_review ──approve (not the author)──► approved ──(available_until passes)──► expired
      ▲                  │  ▲                                    │
      └────reject────────┘  └──────────── edit ──────────────────┘
    any of them ──withdraw──► withdrawn (queued shares cancelled, live posts listed for deletion)

Every change adds a revision (a JSON snapshot) and an audit event. Everything is checked before anything is stored,
so a rejected save leaves the stored talking point as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from flask import current_app
from sqlalchemy import exists, false, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from advocacy.audit.services import record
from advocacy.content import link_previews, screening
from advocacy.content.models import (
    NETWORKS,
    Comment,
    PostDeletion,
    Revision,
    ScreeningRule,
    Status,
    TalkingPoint,
    TalkingPointImage,
    Target,
    Variant,
)
from advocacy.errors import Conflict, DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import Role, Team, User

log = logging.getLogger(__name__)
EDITORS = (Role.COMMS, Role.ADMIN)
MAX_TEXT = 10_000
MAX_ID = 2**31 - 1
HASHTAG_RE = re.compile(r"#?[\w\u200c\u200d]+")
FIELDS = ("title", "link", "hashtags", "disclosure", "topics", "available_from", "available_until",
          "employees_may_edit", "target_everyone", "team_ids", "user_ids", "variants")


# --------------------------------------------------------------------------------------------------- checking input
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


def snapshot(tp: TalkingPoint) -> dict[str, Any]:
    """What a revision stores: every field that makes up the talking point."""
    return {"title": tp.title, "link": tp.link, "hashtags": tp.hashtags, "disclosure": tp.disclosure,
            "topics": tp.topics, "status": tp.status, "employees_may_edit": tp.employees_may_edit,
            "available_from": tp.available_from.isoformat() if tp.available_from else None,
            "available_until": tp.available_until.isoformat() if tp.available_until else None,
            "target_everyone": tp.target_everyone, "team_ids": tp.team_ids, "user_ids": tp.user_ids,
            "variants": [{"network": v.network, "text": v.text} for v in tp.variants],
            "image": image_meta(tp.image)}


def image_meta(image: TalkingPointImage | None) -> dict[str, Any] | None:
    """What a revision (and the audit log) keeps of an image: everything but its bytes."""
    if image is None:
        return None
    return {"content_type": image.content_type, "size": image.size, "sha256": image.sha256,
            "filename": image.filename, "alt": image.alt_text}


# what each snapshot key is called when a change to it is shown ("Changed in this review: text, link by …")
CHANGE_NAMES = {"variants": "text", "link": "link", "image": "image", "title": "title", "hashtags": "hashtags",
                "disclosure": "disclosure", "topics": "topics", "available_from": "availability",
                "available_until": "availability", "employees_may_edit": "employee editing",
                "target_everyone": "targeting", "team_ids": "targeting", "user_ids": "targeting"}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What a change touched, by the names people read (``text``, ``link``, ``image``, ``targeting``…).

    Args:
        before: the ``snapshot`` before the change.
        after: the ``snapshot`` after it.
    """
    out: list[str] = []
    for key, name in CHANGE_NAMES.items():
        if before.get(key) != after.get(key) and name not in out:
            out.append(name)
    if out == ["image"] and before.get("image") and after.get("image") and \
            before["image"]["sha256"] == after["image"]["sha256"]:
        return ["image alt text"]
    return out


def _revise(tp: TalkingPoint, user: User, changed: Sequence[str]) -> None:
    db.session.flush()
    tp.revisions.append(Revision(version=tp.version, user_id=user.id, cycle=tp.review_cycle,
                                 changed=",".join(changed)[:500],
                                 snapshot=json.dumps(snapshot(tp), ensure_ascii=False)))


# ---------------------------------------------------------------------------------------------------- the workflow
def _editor(user: User, doing: str) -> None:
    if not user.has_role(*EDITORS):
        raise NotAllowed(f"only comms staff {doing}")


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


def review_changes(tp: TalkingPoint) -> list[tuple[User, list[str]]]:
    """Who changed the version now under review, and what, since the last approval (the current review cycle), in
    the order they first changed it: none of them may approve or reject it."""
    out: dict[int, tuple[User, list[str]]] = {}
    for rev in db.session.scalars(select(Revision).where(Revision.talking_point_id == tp.id,
                                                         Revision.cycle == tp.review_cycle)
                                  .order_by(Revision.version)):
        user, fields = out.setdefault(rev.user_id, (rev.user, []))
        fields.extend(f for f in (rev.fields or ["changes"]) if f not in fields)
    return list(out.values())


def four_eyes_refusal(tp: TalkingPoint, user: User) -> str | None:
    """Why ``user`` may not approve or reject the version under review (they wrote it, or changed it since the last
    approval), or None."""
    if user.id == tp.author_id:
        return "four eyes: a second person must approve what you wrote"
    for editor, fields in review_changes(tp):
        if editor.id == user.id:
            changed = ", ".join(f for f in fields if f != "created") or "it"
            return (f"four eyes: you changed this version ({changed}) since it was last approved; a person who did "
                    "not change it must review it")
    return None


def _four_eyes(tp: TalkingPoint, user: User) -> None:
    refusal = four_eyes_refusal(tp, user)
    if refusal:
        raise NotAllowed(refusal)


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
    record(approver, "approve", "talking_point", tp.id, version=tp.version)
    db.session.commit()
    log.info("event=talking_point_approved talking_point_id=%s user_id=%s", tp.id, approver.id)


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

    Returns how many shares were cancelled. Posts already live stay up until deleted (see ``live_posts``).
    """
    from advocacy.delivery.models import Share, ShareStatus
    from advocacy.delivery.services import cancel

    _editor(user, "withdraw talking points")
    if tp.status == Status.WITHDRAWN:
        raise Conflict("this talking point is withdrawn already", "status")
    reason = _text(reason, "reason", 2000)
    tp.status = Status.WITHDRAWN
    tp.withdrawn_at = utcnow()
    tp.withdrawn_by_id = user.id
    db.session.commit()  # first: no new share can be created from here on
    pending = db.session.scalars(select(Share).where(
        Share.talking_point_id == tp.id,
        Share.status.in_((ShareStatus.SCHEDULED, ShareStatus.QUEUED, ShareStatus.PAUSED)))).all()
    cancelled = sum(cancel(s, "the talking point was withdrawn") for s in pending)
    record(user, "withdraw", "talking_point", tp.id, cancelled=cancelled, reason=reason)
    db.session.commit()
    log.info("event=talking_point_withdrawn talking_point_id=%s user_id=%s cancelled=%s", tp.id, user.id, cancelled)
    return cancelled


# ---------------------------------------------------------------------------------------------------------- image
def check_image(data: bytes) -> str:
    """The content type of an uploaded image, from its magic bytes; raises ``DomainError`` naming ``image``."""
    from advocacy.content.media import sniff

    if not data:
        raise DomainError("is empty: choose a PNG, JPEG, GIF or WebP file", "image")
    limit = current_app.config["MEDIA_MAX_BYTES"]
    if len(data) > limit:
        raise DomainError(f"is {len(data):,} bytes; the limit is {limit:,} bytes", "image")
    content_type = sniff(data)
    if content_type is None:
        raise DomainError("is not a PNG, JPEG, GIF or WebP image (judged by its content, not its name)", "image")
    return content_type


def check_alt(value: Any) -> str:
    """Alt text: required (screen readers read it, every network takes it), at most 1000 characters."""
    from advocacy.content.media import MAX_ALT

    return _text(value, "image_alt", MAX_ALT, required=True)


def _editable(tp: TalkingPoint, user: User) -> None:
    _editor(user, "change talking points' images")
    if tp.status == Status.WITHDRAWN:
        raise Conflict("a withdrawn talking point cannot be edited; write a new one", "status")


def set_image(tp: TalkingPoint, user: User, data: bytes, alt_text: str, filename: str = "") -> TalkingPoint:
    """Attach an image to a talking point, or replace the one it has. A content edit: a new version, and an approved
    talking point goes back to review; shares keep the image approved earlier until a second person approves.

    Everything is checked before anything is stored: a refused upload leaves the talking point and its image as
    they were.

    Args:
        tp: the talking point.
        user: comms staff.
        data: the file's bytes (PNG, JPEG, GIF or WebP by content, at most ``ADVOCACY_MEDIA_MAX_BYTES``).
        alt_text: the description screen readers read out (1 to 1000 characters).
        filename: the uploaded file's name, kept for display only.
    """
    import hashlib
    import os.path

    _editable(tp, user)
    content_type = check_image(data)
    alt = check_alt(alt_text)
    name = os.path.basename((filename or "").replace("\\", "/")).strip() or "image"
    image = TalkingPointImage(content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                              filename=name[-255:], alt_text=alt, data=data, uploaded_by_id=user.id)
    if tp.image is not None and (tp.image.sha256, tp.image.alt_text) == (image.sha256, alt):
        return tp  # the same file with the same words: nothing changes
    _swap(tp, user, image, "image_set")
    return tp


def set_image_alt(tp: TalkingPoint, user: User, alt_text: str) -> TalkingPoint:
    """Change the alt text of a talking point's image (a content edit, like ``set_image``)."""
    _editable(tp, user)
    alt = check_alt(alt_text)
    current = tp.image
    if current is None:
        raise DomainError("this talking point has no image yet: upload one with its alt text", "image")
    if current.alt_text == alt:
        return tp
    image = TalkingPointImage(content_type=current.content_type, size=current.size, sha256=current.sha256,
                              filename=current.filename, alt_text=alt, data=current.data, uploaded_by_id=user.id)
    _swap(tp, user, image, "image_alt")
    return tp


def remove_image(tp: TalkingPoint, user: User) -> TalkingPoint:
    """Take the image off a talking point (a content edit, like ``set_image``)."""
    _editable(tp, user)
    if tp.image is None:
        return tp
    _swap(tp, user, None, "image_removed")
    return tp


def _swap(tp: TalkingPoint, user: User, image: TalkingPointImage | None, change: str) -> None:
    old = tp.image
    if old is not None:
        old.current = False
    if image is not None:
        image.talking_point_id, image.current = tp.id, True
        db.session.add(image)
    db.session.flush()
    db.session.expire(tp, ["image"])
    _changed(tp, user, ["image alt text" if change == "image_alt" else "image"], change=change,
             image=image_meta(image), commit=False)
    _drop_unused(tp)
    db.session.commit()
    log.info("event=talking_point_image talking_point_id=%s user_id=%s change=%s version=%s", tp.id, user.id,
             change, tp.version)


def _approve_image(tp: TalkingPoint) -> None:
    """The image as written becomes the one shares carry (none, if it has none)."""
    current, approved = tp.image, tp.approved_image
    if approved is not None and approved is not current:
        approved.approved = False
    if current is not None:
        current.approved = True
    db.session.flush()
    db.session.expire(tp, ["approved_image"])
    _drop_unused(tp)


def _drop_unused(tp: TalkingPoint) -> None:
    """Delete the talking point's images that are neither as written nor approved."""
    from sqlalchemy import delete

    db.session.execute(delete(TalkingPointImage).where(
        TalkingPointImage.talking_point_id == tp.id, TalkingPointImage.current.is_(False),
        TalkingPointImage.approved.is_(False)).execution_options(synchronize_session="fetch"))


def shared_image(talking_point_id: int) -> TalkingPointImage | None:
    """The image shares of this talking point carry (the one its last approval covered), bytes loaded; None when it
    has none. One query, which brings the bytes only when there is an image."""
    from sqlalchemy.orm import undefer

    return db.session.scalar(
        select(TalkingPointImage).options(undefer(TalkingPointImage.data))
        .where(TalkingPointImage.talking_point_id == talking_point_id, TalkingPointImage.approved.is_(True)))


def may_see(tp: TalkingPoint, user: User) -> bool:
    """Comms see every talking point; others those aimed at them now, their own suggestions, and those they shared."""
    from advocacy.delivery.models import Share

    if user.has_role(*EDITORS) or tp.author_id == user.id or tp in approved_for(user):
        return True
    return db.session.scalar(select(Share.id).where(Share.talking_point_id == tp.id,
                                                    Share.user_id == user.id).limit(1)) is not None


def viewable_image(tp: TalkingPoint, user: User) -> TalkingPointImage | None:
    """The image ``user`` may see of ``tp``: comms and the author the one as written now, everyone else the approved
    one; None when there is none or the person may not see the talking point."""
    if not may_see(tp, user):
        return None
    if user.has_role(*EDITORS) or tp.author_id == user.id:
        return tp.image
    return tp.approved_image


def image_findings(tp: TalkingPoint) -> list[screening.Finding]:
    """A warning for each network that would refuse the talking point's image (too large, a type it does not take),
    to be seen before approving: shares there would fail."""
    from advocacy.content.media import LABELS, pixels

    image = tp.image
    if image is None:
        return []
    count = pixels(image.data)  # the header only; this page is the one place the bytes are read for it
    findings = []
    for network, label in LABELS.items():
        why = image.refusal(network, count)
        if why:
            findings.append(screening.Finding(
                rule="image", label="Image", action=screening.WARN, network=network, start=0, end=0, excerpt="",
                message=f"{why}, so shares on {label} will fail: use a smaller image or another format"))
    return findings


def _next_cycle(tp: TalkingPoint) -> None:
    """End the review cycle of the version under review, if, and only if, nobody saved a change or approved it since
    ``tp`` was read (a conditional UPDATE: an edit and an approval racing each other never both win)."""
    done = db.session.execute(
        update(TalkingPoint).where(TalkingPoint.id == tp.id, TalkingPoint.version == tp.version,
                                   TalkingPoint.review_cycle == tp.review_cycle,
                                   TalkingPoint.status == Status.IN_REVIEW)
        .values(review_cycle=tp.review_cycle + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the talking point changed while you were looking at it: look at it again", "version")
    set_committed_value(tp, "review_cycle", tp.review_cycle + 1)


def _next_version(tp: TalkingPoint) -> None:
    """Claim the next version of ``tp`` unless someone saved a version or approved it since it was read."""
    done = db.session.execute(
        update(TalkingPoint).where(TalkingPoint.id == tp.id, TalkingPoint.version == tp.version,
                                   TalkingPoint.review_cycle == tp.review_cycle)
        .values(version=tp.version + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("someone else saved or approved this talking point meanwhile: look at it again", "version")
    set_committed_value(tp, "version", tp.version + 1)


def _changed(tp: TalkingPoint, user: User, changed: Sequence[str], *, commit: bool = True, **detail: Any) -> bool:
    """Record a saved change: a new version (made in the current review cycle, by ``user``, touching ``changed``), and
    back to review if it was approved. Commits unless told not to."""
    back_to_review = tp.status == Status.APPROVED
    if back_to_review:
        tp.status = Status.IN_REVIEW
        tp.approved_by_id = None
        tp.approved_at = None
        tp.submitted_at = utcnow()
    _next_version(tp)
    _revise(tp, user, changed)
    record(user, "edit", "talking_point", tp.id, version=tp.version, back_to_review=back_to_review,
           changed=list(changed), **detail)
    if commit:
        db.session.commit()
    log.info("event=talking_point_edited talking_point_id=%s user_id=%s version=%s back_to_review=%s", tp.id,
             user.id, tp.version, back_to_review)
    return back_to_review


# --------------------------------------------------------------------------------------------------------- recall
def live_posts(tp: TalkingPoint) -> list[Any]:
    """Published shares of ``tp`` still up on their network (not deleted through advocacy)."""
    from advocacy.delivery.models import Share, ShareStatus

    return list(db.session.scalars(
        select(Share).where(Share.talking_point_id == tp.id, Share.status == ShareStatus.PUBLISHED,
                            ~exists().where(PostDeletion.share_id == Share.id))
        .order_by(Share.published_at)))


def is_deleted(share_id: int) -> bool:
    return db.session.scalar(select(PostDeletion.id).where(PostDeletion.share_id == share_id)) is not None


def delete_post(share: Any, actor: User) -> None:
    """Delete a published share's post from its network (its author, or comms staff for a recall).

    Args:
        share: a published share.
        actor: the employee who posted it, or comms staff.
    """
    from advocacy.accounts.models import AccountStatus
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import fresh_access_token
    from advocacy.delivery.models import ShareStatus
    from connectors.base import ConnectorError, Rejected

    if actor.id != share.user_id and not actor.has_role(*EDITORS):
        raise NotAllowed("only the person who posted it, or comms staff, can delete a post")
    if share.status != ShareStatus.PUBLISHED or not share.post_id:
        raise DomainError("only a published post can be deleted", "share_id")
    if is_deleted(share.id):
        raise Conflict("this post is deleted already", "share_id")
    account = share.account
    if account is None or account.status != AccountStatus.ACTIVE or not account.access_token_encrypted:
        raise DomainError(f"the {share.network} account is no longer connected: the post must be deleted on "
                          f"{share.network} directly", "share_id")
    try:
        connector_for(share.network).delete(fresh_access_token(account), share.post_id)
    except Rejected as exc:
        if exc.status != 404:  # 404: the network no longer has it, which is what we wanted
            raise DomainError(f"{share.network} refused to delete the post: {exc.message}", "share_id") from None
    except ConnectorError as exc:
        raise DomainError(f"{share.network} did not delete the post ({type(exc).__name__}): {exc.message}; "
                          "try again", "share_id") from None
    db.session.add(PostDeletion(share_id=share.id, deleted_by_id=actor.id))
    record(actor, "delete_post", "share", share.id, talking_point_id=share.talking_point_id, network=share.network)
    db.session.commit()
    log.info("event=post_deleted share_id=%s user_id=%s network=%s", share.id, actor.id, share.network)


# ------------------------------------------------------------------------------------------------------ screening
def screening_rules() -> list[screening.Rule]:
    """The catalogue with the admins' settings applied."""
    stored = {r.key: r for r in db.session.scalars(select(ScreeningRule))}
    rules = []
    for spec in screening.CATALOGUE:
        row = stored.get(spec.key)
        rules.append(screening.merge(spec, row.enabled, row.action, row.params) if row
                     else screening.merge(spec, True, spec.action, "{}"))
    return rules


def update_rule(admin: User, key: str, *, enabled: bool, action: str, params: Mapping[str, Any]) -> screening.Rule:
    """An admin changes one screening rule.

    Args:
        admin: an admin.
        key: the rule's key.
        enabled: whether it runs.
        action: block or warn.
        params: the rule's parameters (limit, terms, markers, region, text).
    """
    if not admin.has_role(Role.ADMIN):
        raise NotAllowed("only admins change screening rules")
    values = screening.clean_settings(key, action, params)
    row = db.session.get(ScreeningRule, key) or ScreeningRule(key=key)
    current = json.loads(row.params or "{}") if row.params else {}
    row.enabled, row.action, row.params = enabled, action, json.dumps(current | values, ensure_ascii=False)
    row.updated_at, row.updated_by_id = utcnow(), admin.id
    db.session.add(row)
    record(admin, "screening_rule_changed", "screening_rule", None, key=key, enabled=enabled, rule_action=action,
           params=values)
    db.session.commit()
    return next(r for r in screening_rules() if r.key == key)


def tracked_link_placeholder() -> str:
    """A link as long as the tracked link each share gets, for counting lengths."""
    return f"{current_app.config['PUBLIC_URL']}/r/{'x' * 8}"


def screen_talking_point(tp: TalkingPoint) -> list[tuple[int, Variant, list[screening.Finding]]]:
    """Findings for each variant: generic copy is measured against each network without its own variant."""
    rules = screening_rules()
    own = {v.network for v in tp.variants}
    result = []
    for i, variant in enumerate(tp.variants):
        networks = [variant.network] if variant.network != "generic" else [
            n for n in screening.LENGTH_NETWORKS if n not in own]
        text = _compose(tp, variant.text)
        result.append((i, variant, screening.screen(text, networks=networks, link=tracked_link_placeholder(),
                                                    disclosure=tp.disclosure, rules=rules)))
    return result


def _refusal(findings: Sequence[screening.Finding]) -> str:
    return "screening blocked it: " + "; ".join(f.describe() for f in findings)


def _screen_or_refuse(tp: TalkingPoint) -> None:
    for i, variant, findings in screen_talking_point(tp):
        blocked = screening.blocking(findings)
        if blocked:
            raise DomainError(f"{variant.network} copy: {_refusal(blocked)}", f"variants.{i}.text")


def check_employee_copy(tp: TalkingPoint, network: str, text: str) -> str:
    """An employee's own wording for a share, screened; returns the composed text or raises ``DomainError``.

    Args:
        tp: the talking point shared.
        network: where it goes.
        text: the employee's edit of the copy.
    """
    text = _text(text, "text", MAX_TEXT, required=True)
    if not tp.employees_may_edit and text != tp.copy_for(network).strip():
        raise NotAllowed("this talking point must be shared as written: its copy may not be edited")
    composed = _compose(tp, text)
    findings = screening.screen(composed, networks=[network], link=tracked_link_placeholder(),
                                disclosure=tp.disclosure, rules=screening_rules())
    blocked = screening.blocking(findings)
    if blocked:
        raise DomainError(_refusal(blocked), "text")
    return composed


def preview(tp: TalkingPoint, network: str, text: str | None = None) -> dict[str, Any]:
    """What a share would say on ``network`` and what screening finds in it (nothing is refused here)."""
    composed = _compose(tp, text if text is not None else tp.copy_for(network))
    findings = screening.screen(composed, networks=[network] if network in screening.LENGTH_NETWORKS else [],
                                link=tracked_link_placeholder(), disclosure=tp.disclosure, rules=screening_rules())
    full = f"{composed} {tracked_link_placeholder()}"
    length = screening.measure(full, network) if network in screening.LENGTH_NETWORKS else len(full)
    return {"network": network, "text": composed, "length": length, "findings": [f.as_dict() for f in findings],
            "blocked": bool(screening.blocking(findings))}


# ------------------------------------------------------------------------------------------------- what goes out
def _compose(tp: TalkingPoint, body: str) -> str:
    """Copy, the hashtags it lacks, then the locked disclosure line, always last and always whole.

    The line counts as present only when the copy ends with exactly its words, each a whole token; anything else
    (the line inside a longer word, "(not #iworkforacme)", the line mid-text) gets the line appended, so no wording
    can remove it. Screening flags such mangled copies on top (``screening._check_disclosure_intact``).
    """
    body = body.strip()
    line = (tp.disclosure or "").split()
    if line:  # ends with the line as whole words: take it off here, so it stays last after the hashtags
        end = re.search(r"(?:^|\s)" + r"\s+".join(re.escape(w) for w in line) + r"$", body)
        if end:
            body = body[:end.start()].rstrip()
    parts = [body]
    missing = [h for h in tp.hashtags.split() if h and h.lower() not in body.lower()]
    if missing:
        parts.append(" ".join(missing))
    if line:
        parts.append(" ".join(line))
    return " ".join(p for p in parts if p)


def compose(tp: TalkingPoint, network: str, text: str | None = None) -> str:
    """The text that goes out: copy, hashtags not already in it, then the locked disclosure line.

    ``text`` is an employee's own wording: it is checked (may the copy be edited? does screening block it?) and a
    ``DomainError`` naming the field ``text`` refuses the share before anything is stored.
    """
    if text is not None:
        return check_employee_copy(tp, network, text)
    return _compose(tp, tp.copy_for(network))


# ------------------------------------------------------------------------------------------ targeting and library
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
    ))


def audience(tp: TalkingPoint) -> list[User]:
    """Everyone ``tp`` is aimed at (active people of any role)."""
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if not tp.target_everyone:
        query = query.where(or_(User.id.in_(tp.user_ids or [0]), User.team_id.in_(tp.team_ids or [0])))
    return list(db.session.scalars(query))


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def library(q: str = "", status: str = "", limit: int = 500) -> list[TalkingPoint]:
    """Past and present talking points, newest first; ``q`` finds every word in title, copy, hashtags, topics or link.

    Args:
        q: words to search for (all must match, anywhere, case-insensitive).
        status: only this status (``expired`` means approved and past its window).
        limit: at most this many.
    """
    query = select(TalkingPoint).order_by(TalkingPoint.created_at.desc(), TalkingPoint.id.desc()).limit(limit)
    for term in (q or "").split()[:10]:
        pattern = _like(term)
        query = query.where(or_(
            TalkingPoint.title.ilike(pattern, escape="\\"), TalkingPoint.hashtags.ilike(pattern, escape="\\"),
            TalkingPoint.topics.ilike(pattern, escape="\\"), TalkingPoint.link.ilike(pattern, escape="\\"),
            exists().where(Variant.talking_point_id == TalkingPoint.id, Variant.text.ilike(pattern, escape="\\"))))
    now = utcnow()
    if status == Status.EXPIRED:
        query = query.where(TalkingPoint.status == Status.APPROVED, TalkingPoint.available_until <= now)
    elif status:
        query = query.where(TalkingPoint.status == status)
    return list(db.session.scalars(query))


def teams() -> list[Team]:
    return list(db.session.scalars(select(Team).order_by(Team.name)))


def people(ids: Iterable[int] | None = None) -> list[User]:
    query = select(User).where(User.active.is_(True)).order_by(User.name)
    if ids is not None:
        query = query.where(User.id.in_(list(ids)))
    return list(db.session.scalars(query))


# ------------------------------------------------------------------------------------ previews while composing
def length_limits() -> dict[str, int]:
    """Each network's length limit as the enabled screening rules set it (a network without one is absent)."""
    return {str(r.params["network"]): int(r.params["limit"]) for r in screening_rules()
            if r.kind == "length" and r.enabled}


def draft_previews(copy: Mapping[str, str], hashtags: str = "", disclosure: str = "") -> list[dict[str, Any]]:
    """What each network would receive from a talking point still being written, with its length and findings.

    Nothing is stored and nothing is refused: this feeds the studio's previews and counters as comms staff type.

    Args:
        copy: the copy by network (``generic`` is used on every network without its own).
        hashtags: the talking point's hashtags (added when the copy does not carry them).
        disclosure: the locked disclosure line (added to every share and counted in its length).
    """
    problem = None
    try:
        tags = _hashtags(hashtags)
    except DomainError as exc:  # half-typed hashtags: preview without them and say why, do not refuse
        tags, problem = "", exc.message
    draft = TalkingPoint(hashtags=tags, disclosure=(disclosure or "").strip()[:200])
    limits, rules, link = length_limits(), screening_rules(), tracked_link_placeholder()
    out = []
    for network in screening.LENGTH_NETWORKS:
        body = (copy.get(network) or "").strip() or (copy.get("generic") or "").strip()
        if not body:
            continue
        composed = _compose(draft, body[:MAX_TEXT])
        findings = [f.as_dict() for f in screening.screen(composed, networks=[network], link=link,
                                                           disclosure=draft.disclosure, rules=rules)]
        if problem:
            findings.insert(0, {"rule": "hashtags", "label": "Hashtags", "action": screening.BLOCK,
                                "message": problem, "start": 0, "end": 0, "excerpt": "", "network": None})
        out.append({"network": network, "text": composed, "length": screening.measure(f"{composed} {link}", network),
                    "limit": limits.get(network), "findings": findings,
                    "blocked": any(f["action"] == screening.BLOCK for f in findings)})
    return out


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
