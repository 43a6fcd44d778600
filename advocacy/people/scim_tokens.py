"""SCIM tokens: the bearer tokens identity providers present at ``/scim/v2``, created and revoked by an admin
(``scim_admin``) and checked on every SCIM request. Kept apart from ``scim`` so that the admin page and the check load
without the SCIM schema library (scim2-models, pydantic, lark: ~16 MiB a web worker needs only for /scim/v2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from sqlalchemy import select

from advocacy.errors import DomainError, NotFound
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import ScimToken, User

log = logging.getLogger("advocacy.people.scim")
PREFIX = "scim_"
LAST_USED_EVERY = dt.timedelta(minutes=1)  # how fresh "last used" is kept: providers send thousands of requests


# ------------------------------------------------------------------------------------------------- tokens
def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(admin: User | None, name: str) -> tuple[ScimToken, str]:
    """A bearer token for one identity provider; returns it with its secret, which is never shown again.

    Args:
        admin: who creates it (None from the command line).
        name: the identity provider, e.g. "Okta" (1 to 100 characters).
    """
    from advocacy.audit.services import record

    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("must be 1 to 100 characters", "name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ScimToken(name=name, prefix=secret[:13], token_hash=_digest(secret),
                      created_by_id=admin.id if admin else None)
    db.session.add(token)
    db.session.flush()
    record(admin, "user_changed", "scim_token", token.id, created=name)
    db.session.commit()
    log.info("event=scim_token_created token_id=%s name=%s", token.id, name)
    return token, secret


def revoke_token(admin: User | None, token_id: int) -> ScimToken:
    from advocacy.audit.services import record

    token = db.session.get(ScimToken, token_id)
    if token is None:
        raise NotFound("no such SCIM token", "token_id")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(admin, "user_changed", "scim_token", token.id, revoked=token.name)
        db.session.commit()
        log.info("event=scim_token_revoked token_id=%s", token.id)
    return token


def all_tokens() -> list[ScimToken]:
    return list(db.session.scalars(select(ScimToken).order_by(ScimToken.created_at.desc())))


def authenticate(secret: str) -> ScimToken | None:
    """The identity provider's token behind ``Authorization: Bearer scim_…``; None if unknown or revoked."""
    if not secret.startswith(PREFIX):
        return None
    token = db.session.scalar(select(ScimToken).where(ScimToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_EVERY:  # not a write per request
        token.last_used_at = now
        db.session.commit()
    return token
