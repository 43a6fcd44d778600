"""Users, teams, roles and the social-media policy they acknowledge."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    COMMS = "comms"
    EMPLOYEE = "employee"
    ANALYST = "analyst"


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # SCIM: a team provisioned as a group by the identity provider (advocacy.people.scim)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    scim_managed: Mapped[bool] = mapped_column(default=False, server_default=false())

    members: Mapped[list[User]] = relationship(back_populates="team")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.EMPLOYEE.value)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    opted_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    policy_version_acknowledged: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)  # OpenID Connect "sub"
    # auto-share (delivery): topics this person lets go out automatically, within their sharing hours and cap
    auto_share_topics: Mapped[str] = mapped_column(String(500), default="", server_default="")
    share_hours_start: Mapped[int] = mapped_column(default=9, server_default="9")  # local hour, inclusive
    share_hours_end: Mapped[int] = mapped_column(default=18, server_default="18")  # local hour, exclusive
    daily_share_cap: Mapped[int] = mapped_column(default=3, server_default="3")
    digest: Mapped[str] = mapped_column(String(8), default="weekly", server_default="weekly")  # daily, weekly, off
    # Every signed-in session carries the generation it began in; signing out (or "sign out everywhere") moves it
    # on, so a session cookie from before, replayed, no longer signs anyone in (advocacy.auth).
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # SCIM provisioning (advocacy.people.scim): the identity provider's userName and id for this person, the
    # attributes it sent that we keep (JSON), and when it deleted them (the row stays: their posts stay in reports)
    scim_user_name: Mapped[str | None] = mapped_column(String(254), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    scim_attributes: Mapped[str | None] = mapped_column(Text)
    scim_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    team: Mapped[Team | None] = relationship(back_populates="members")

    def set_password(self, password: str) -> None:
        from flask import current_app

        # scrypt by default; the test suite sets a cheap method, since it signs in hundreds of times
        self.password_hash = generate_password_hash(password, current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, *roles: str) -> bool:
        """The role in force: an API token may narrow it for the request it authenticates."""
        return (getattr(self, "token_role", None) or self.role) in roles

    @property
    def opted_in(self) -> bool:
        return self.opted_in_at is not None


class ApiToken(db.Model):
    """A personal token for the JSON API: only its SHA-256 is stored; it acts with ``role``, at most its owner's."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists so a person can tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


class TeamMembership(db.Model):
    """A person's membership of a team provisioned as a SCIM group. A person may be in several groups; their
    ``User.team`` (what targeting by team reads) is the group they were added to most recently, among those they
    are still in."""

    __tablename__ = "team_memberships"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    display: Mapped[str | None] = mapped_column(String(255))  # the member's name as the identity provider sent it


class ScimToken(db.Model):
    """The bearer token one identity provider provisions with over SCIM: only its SHA-256 is stored."""

    __tablename__ = "scim_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the identity provider, e.g. "Okta" or "Microsoft Entra"
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class PolicyVersion(db.Model):
    """One published version of the organisation's social-media policy (Markdown)."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body_markdown: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
