"""Personal API tokens: created with a role no wider than their owner's, shown once, stored as a hash, revocable."""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlalchemy import select

from advocacy.errors import DomainError, NotFound
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import ApiToken, User

log = logging.getLogger(__name__)
PREFIX = "adv_"
# The roles a token may carry, by its owner's role: never more than the owner, sometimes less.
GRANTABLE = {"admin": ("admin", "comms", "analyst", "employee"), "comms": ("comms", "employee"),
             "employee": ("employee",), "analyst": ("analyst",)}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(user: User, name: str, role: str) -> tuple[ApiToken, str]:
    """Make a token; returns it with its secret, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("must be 1 to 100 characters", "name")
    # a request authenticated by a narrower token grants no more than that token's role (never the owner's)
    granting = getattr(user, "token_role", None) or user.role
    if role not in GRANTABLE.get(granting, ()):
        raise DomainError(f"must be one of {', '.join(GRANTABLE.get(granting, ()))} for your role", "role")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, role=role, prefix=secret[:12], token_hash=_digest(secret))
    db.session.add(token)
    db.session.commit()
    log.info("event=api_token_created user_id=%s token_id=%s role=%s", user.id, token.id, role)
    return token, secret


def effective_role(token_role: str, owner_role: str) -> str | None:
    """The lesser of the role a token was issued with and its owner's role now (None: they share no role).

    Roles are ordered by :data:`GRANTABLE` (a role is above the roles it may grant): an admin token of a person
    demoted to employee acts as employee; an analyst token of a person now employee acts as nothing.
    """
    common = [r for r in GRANTABLE.get(token_role, ()) if r in GRANTABLE.get(owner_role, ())]
    return max(common, key=lambda r: len(GRANTABLE[r]), default=None)


def authenticate(secret: str) -> User | None:
    """The user a bearer token stands for, with the lesser of the token's role and the owner's current role in force;
    None for unknown or revoked tokens, tokens of deactivated people, and tokens their owner's role no longer covers.

    Every bearer request comes through here, and the owner is read afresh each time: a demotion or a deactivation
    takes effect on their tokens at the next request.
    """
    if not secret.startswith(PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    role = effective_role(token.role, token.user.role)
    if role is None:
        log.info("event=api_token_refused token_id=%s reason=owner_role", token.id)
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    user = token.user
    user.token_role = role  # type: ignore[attr-defined]  (not a column: lives for this request only)
    return user


def of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))


def revoke(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("no such token", "token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
        log.info("event=api_token_revoked user_id=%s token_id=%s", user.id, token.id)
