"""Versions and review cycles: every saved change is a new version with a revision (a JSON snapshot, what it changed,
the review cycle it belongs to); an approval ends the cycle. Four eyes: nobody who wrote or changed the version
under review may approve or reject it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from advocacy.audit.services import record
from advocacy.content.models import Revision, Status, TalkingPoint, TalkingPointImage
from advocacy.errors import Conflict, NotAllowed
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import User

log = logging.getLogger(__name__)


def snapshot(tp: TalkingPoint) -> dict[str, Any]:
    """What a revision stores: every field that makes up the talking point."""
    return {"title": tp.title, "link": tp.link, "hashtags": tp.hashtags, "disclosure": tp.disclosure,
            "topics": tp.topics, "status": tp.status, "employees_may_edit": tp.employees_may_edit,
            "available_from": tp.available_from.isoformat() if tp.available_from else None,
            "available_until": tp.available_until.isoformat() if tp.available_until else None,
            "target_everyone": tp.target_everyone, "team_ids": tp.team_ids, "user_ids": tp.user_ids,
            "variants": [{"network": v.network, "text": v.text} for v in tp.variants],
            "image": image_meta(tp.image), "link_title": _link_title(tp)}


def _link_title(tp: TalkingPoint) -> str | None:
    """The title comms gave the link (LinkedIn's article title), or None for the page's own."""
    from advocacy.content.link_previews import link_preview

    preview = link_preview(tp.id) if tp.id is not None else None
    return preview.edited_title if preview is not None else None


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
                "target_everyone": "targeting", "team_ids": "targeting", "user_ids": "targeting",
                "link_title": "link title"}


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
