"""Single sign-on with OpenID Connect (Authlib): people are created on their first sign-in, role and team from claims.

Configured by ``ADVOCACY_OIDC_ISSUER`` and the client id and secret the identity provider issued; without an issuer
the sign-in page offers local accounts only. The ID token's signature, issuer, audience, expiry and nonce are checked
by Authlib against the provider's published keys; the request carries PKCE (S256) and a state value.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from advocacy.config import role_pairs
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import Team, User

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    if not app.config["OIDC_ISSUER"]:
        return
    from authlib.integrations.flask_client import OAuth  # with joserfc: ~10 MiB, loaded only when SSO is configured

    oauth = app.extensions["advocacy.oauth"] = OAuth(app)  # one per app: Authlib caches clients by name
    oauth.register(
        "sso",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"] or None,
        server_metadata_url=f"{app.config['OIDC_ISSUER']}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                       "timeout": app.config["HTTP_TIMEOUT"]},
    )


def enabled() -> bool:
    return bool(current_app.config["OIDC_ISSUER"])


def client() -> Any:
    return current_app.extensions["advocacy.oauth"].create_client("sso")


def role_from(claims: dict[str, Any]) -> str:
    """The first mapped group wins, in the order the mapping lists them; otherwise the default role."""
    groups = claims.get(current_app.config["OIDC_ROLE_CLAIM"]) or []
    if isinstance(groups, str):
        groups = [groups]
    for group, role in role_pairs(current_app.config["OIDC_ROLE_MAP"]).items():
        if group in groups:
            return role
    return str(current_app.config["OIDC_DEFAULT_ROLE"])


def user_for(claims: dict[str, Any]) -> User:
    """The person these verified claims describe: found by subject, else by verified e-mail, else created."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise DomainError("the identity provider sent no subject", "sub")
    user = db.session.scalar(select(User).where(User.sso_subject == subject))
    email = str(claims.get("email") or "").strip()
    if user is None and email and claims.get("email_verified"):
        user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if user is not None:
            user.sso_subject = subject
            log.info("event=sso_linked user_id=%s", user.id)
    if user is None:
        if not email:
            raise DomainError("the identity provider sent no e-mail address", "email")
        user = User(email=email, name=str(claims.get("name") or email.split("@")[0])[:120], role=role_from(claims),
                    sso_subject=subject, team=_team(claims))
        user.set_password(secrets.token_urlsafe(32))  # no local password: this person signs in through SSO
        db.session.add(user)
        db.session.flush()
        log.info("event=sso_user_created user_id=%s role=%s", user.id, user.role)
    db.session.commit()
    return user


def _team(claims: dict[str, Any]) -> Team | None:
    name = str(claims.get(current_app.config["OIDC_TEAM_CLAIM"]) or "").strip()[:120]
    if not name:
        return None
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    return team
