"""Talking points and their per-network copy."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import User


class Status:
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # never stored: an approved talking point past its ``available_until``
    ALL = (DRAFT, IN_REVIEW, APPROVED, WITHDRAWN)


NETWORKS = ("generic", "x", "linkedin", "mastodon", "bluesky", "threads")


class TalkingPoint(db.Model):
    __tablename__ = "talking_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    link: Mapped[str] = mapped_column(String(2048))
    hashtags: Mapped[str] = mapped_column(String(500), default="")
    disclosure: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=Status.DRAFT, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    available_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    available_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    topics: Mapped[str] = mapped_column(String(500), default="")  # space-separated topic tags
    employees_may_edit: Mapped[bool] = mapped_column(default=True)
    target_everyone: Mapped[bool] = mapped_column(default=True)  # False: only the teams and people targeted
    version: Mapped[int] = mapped_column(default=1)
    suggested: Mapped[bool] = mapped_column(default=False)  # proposed by an employee
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the review cycle under way: every edit since the last approval belongs to it; each approval starts the next
    review_cycle: Mapped[int] = mapped_column(default=1, server_default="1")
    # what the last approval covered (shares carry it, never a pending edit): its version and its link
    approved_version: Mapped[int | None] = mapped_column()
    approved_link: Mapped[str | None] = mapped_column(String(2048))

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])
    variants: Mapped[list[Variant]] = relationship(
        back_populates="talking_point", cascade="all, delete-orphan", order_by="Variant.id"
    )
    targets: Mapped[list[Target]] = relationship(cascade="all, delete-orphan", order_by="Target.id")
    comments: Mapped[list[Comment]] = relationship(cascade="all, delete-orphan", order_by="Comment.id")
    revisions: Mapped[list[Revision]] = relationship(cascade="all, delete-orphan", order_by="Revision.version")
    # the image as written now, and the one its last approval covered (what shares carry): see TalkingPointImage
    image: Mapped[TalkingPointImage | None] = relationship(
        primaryjoin="and_(TalkingPoint.id == TalkingPointImage.talking_point_id, TalkingPointImage.current)",
        viewonly=True, uselist=False)
    approved_image: Mapped[TalkingPointImage | None] = relationship(
        primaryjoin="and_(TalkingPoint.id == TalkingPointImage.talking_point_id, TalkingPointImage.approved)",
        viewonly=True, uselist=False)

    def copy_for(self, network: str) -> str:
        """The suggested copy for ``network``: its own (first) variant, else the generic one."""
        by_network: dict[str, str] = {}
        for v in self.variants:
            by_network.setdefault(v.network, v.text)
        return by_network.get(network) or by_network.get("generic") or ""

    def state(self, now: dt.datetime | None = None) -> str:
        """The status people see: ``expired`` once an approved talking point is past its window."""
        now = now or utcnow()
        if self.status == Status.APPROVED and self.available_until and self.available_until <= now:
            return Status.EXPIRED
        return self.status

    @property
    def shared_link(self) -> str:
        """The link a share made now carries: the one the last approval covered (never an edit waiting for review)."""
        return self.approved_link or self.link

    @property
    def team_ids(self) -> list[int]:
        return [t.team_id for t in self.targets if t.team_id is not None]

    @property
    def user_ids(self) -> list[int]:
        return [t.user_id for t in self.targets if t.user_id is not None]


class Variant(db.Model):
    """Suggested copy for one network (or ``generic`` for every network without its own)."""

    __tablename__ = "variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    network: Mapped[str] = mapped_column(String(32), default="generic")
    text: Mapped[str] = mapped_column(Text)

    talking_point: Mapped[TalkingPoint] = relationship(back_populates="variants")


class Target(db.Model):
    """One team or one person a talking point is aimed at (with ``target_everyone`` off)."""

    __tablename__ = "talking_point_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class Comment(db.Model):
    """A reviewer's or author's note; ``kind`` is ``comment`` or ``rejection``."""

    __tablename__ = "talking_point_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="comment")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class Revision(db.Model):
    """A snapshot (JSON) of a talking point as saved at one version; every change adds one.

    ``changed`` names what the change touched (``created``, or fields such as ``text``, ``link``, ``image``,
    ``targeting``, comma-separated); ``cycle`` is the talking point's review cycle it was made in, so the people who
    changed the version now in review are known (none of them may approve it).
    """

    __tablename__ = "talking_point_revisions"
    __table_args__ = (UniqueConstraint("talking_point_id", "version", name="uq_talking_point_revisions_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    version: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    snapshot: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cycle: Mapped[int] = mapped_column(default=1, server_default="1")
    changed: Mapped[str] = mapped_column(String(500), default="", server_default="")

    user: Mapped[User] = relationship()

    @property
    def fields(self) -> list[str]:
        return [f for f in self.changed.split(",") if f]


class TalkingPointImage(db.Model):
    """The image of a talking point, its bytes in the database (every web and worker host reads the same one).

    A talking point has at most one ``current`` image (as written now) and one ``approved`` image (the one its last
    approval covered: what shares carry); usually the same row. The bytes and the alt text of a row never change: a
    new upload, or new alt text, is a new row, so the approved image stays as approved while an edit waits for
    review. A row that is neither is deleted. ``data`` is loaded only when asked for.
    """

    __tablename__ = "talking_point_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    talking_point_id: Mapped[int] = mapped_column(ForeignKey("talking_points.id"), index=True)
    current: Mapped[bool] = mapped_column(default=False, server_default=false())
    approved: Mapped[bool] = mapped_column(default=False, server_default=false())
    content_type: Mapped[str] = mapped_column(String(32))  # from the magic bytes, never from the upload
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for display only
    alt_text: Mapped[str] = mapped_column(String(1000))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def refusal(self, network: str, pixels: int | None = None) -> str | None:
        """Why ``network`` would refuse this image (too large, a type it does not take, too many ``pixels`` when
        given), or None."""
        from advocacy.content.media import refusal

        return refusal(network, self.size, self.content_type, pixels)


class ScreeningRule(db.Model):
    """An admin's setting for one rule of the screening engine; a rule without a row uses its defaults."""

    __tablename__ = "screening_rules"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    action: Mapped[str] = mapped_column(String(8), default="block")  # block | warn
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PostDeletion(db.Model):
    """A recall: a published share's post deleted from its network (by the employee or comms)."""

    __tablename__ = "post_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id"), unique=True)
    deleted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deleted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
