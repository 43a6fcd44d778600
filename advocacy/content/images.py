"""A talking point's image: checked by content, kept in the database; a change is an edit (a new version, back to
review), while shares keep carrying the image the last approval covered.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import select

from advocacy.content import screening
from advocacy.content.checks import EDITORS, _editor, _text
from advocacy.content.library import may_see
from advocacy.content.models import Status, TalkingPoint, TalkingPointImage
from advocacy.content.versions import _changed, image_meta
from advocacy.errors import Conflict, DomainError
from advocacy.extensions import db
from advocacy.people.models import User

log = logging.getLogger(__name__)


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


@lru_cache(maxsize=4)  # a few images' bytes per process at most (each under ADVOCACY_MEDIA_MAX_BYTES)
def shared_media(image_id: int, key: str) -> tuple[bytes, str, str, str] | None:
    """The bytes, content type, alt text and file name of image ``image_id``, read once per process: a row's bytes and
    alt text never change (a new upload or new words are a new row), and ``key`` (its hash and alt text, as the
    share's claim read them) tells it from a later row that got the same id back. None: no such row any more.

    Args:
        image_id: the approved image's id, from the share's claim (``services.claim_for_publishing``).
        key: its ``sha256`` and ``alt_text``, joined by a space.
    """
    from sqlalchemy.orm import undefer

    image = db.session.scalar(select(TalkingPointImage).options(undefer(TalkingPointImage.data))
                              .where(TalkingPointImage.id == image_id))
    if image is None or f"{image.sha256} {image.alt_text}" != key:  # changed since the claim read it
        return None
    found = (image.data, image.content_type, image.alt_text, image.filename)
    db.session.expunge(image)  # the bytes stay here, not in the session's identity map as well
    return found


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
