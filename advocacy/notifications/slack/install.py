"""Installing the Slack app into a workspace (OAuth v2) and matching people to its members by e-mail."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import func, select

from advocacy.accounts.crypto import encrypt
from advocacy.audit.services import record
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.channels import RetryLater, Unreachable
from advocacy.notifications.slack.client import SCOPES, SlackError, bot_client, call, web_client
from advocacy.notifications.slack.models import SlackInstallation, SlackPerson
from advocacy.people.models import User

log = logging.getLogger(__name__)
RECHECK_NOT_FOUND = dt.timedelta(hours=12)  # a person not found is looked up again after this


def configured() -> bool:
    config = current_app.config
    return bool(config["SLACK_CLIENT_ID"] and config["SLACK_CLIENT_SECRET"] and config["SLACK_SIGNING_SECRET"])


def current_installation() -> SlackInstallation | None:
    return db.session.scalars(select(SlackInstallation).where(SlackInstallation.revoked_at.is_(None))
                              .order_by(SlackInstallation.id.desc()).limit(1)).first()


def authorize_url(redirect_uri: str) -> tuple[str, str]:
    """Where to send the admin to install the app, and the ``state`` to check when Slack sends them back."""
    if not configured():
        raise DomainError("set ADVOCACY_SLACK_CLIENT_ID, _CLIENT_SECRET and _SIGNING_SECRET first", "slack")
    state = secrets.token_urlsafe(24)
    query = urlencode({"client_id": current_app.config["SLACK_CLIENT_ID"], "scope": ",".join(SCOPES),
                       "redirect_uri": redirect_uri, "state": state})
    return f"{current_app.config['SLACK_AUTHORIZE_URL']}?{query}", state


def finish_install(admin: User, code: str, redirect_uri: str) -> SlackInstallation:
    """Exchange the code for the bot token (``oauth.v2.access``) and keep it, encrypted."""
    config = current_app.config
    try:
        answer = call(web_client(), "oauth_v2_access", client_id=config["SLACK_CLIENT_ID"],
                      client_secret=config["SLACK_CLIENT_SECRET"], code=code, redirect_uri=redirect_uri)
    except (SlackError, RetryLater, Unreachable) as exc:
        raise DomainError(f"Slack did not install the app: {exc}", "slack") from None
    granted = set(str(answer.get("scope", "")).split(","))
    missing = [s for s in SCOPES if s not in granted]
    if answer.get("token_type") != "bot" or missing:
        raise DomainError(f"Slack granted no bot token with {', '.join(missing) or 'the scopes'}", "slack")
    for old in db.session.scalars(select(SlackInstallation).where(SlackInstallation.revoked_at.is_(None))):
        old.revoked_at = utcnow()
    team = answer.get("team") or {}
    installation = SlackInstallation(team_id=team.get("id", ""), team_name=team.get("name", ""),
                                     bot_user_id=answer.get("bot_user_id", ""), scope=answer.get("scope", ""),
                                     token_encrypted=encrypt(answer["access_token"]), installed_by_id=admin.id)
    db.session.add(installation)
    db.session.execute(SlackPerson.__table__.delete())  # another workspace: people are matched again
    db.session.flush()
    record(admin, "connect", "slack_workspace", installation.id, team=installation.team_name)
    db.session.commit()
    log.info("event=slack_installed team_id=%s", installation.team_id)
    return installation


def uninstall(admin: User) -> None:
    installation = current_installation()
    if installation is None:
        return
    installation.revoked_at = utcnow()
    record(admin, "disconnect", "slack_workspace", installation.id)
    db.session.commit()


def slack_user_id(user: User, *, refresh: bool = False) -> str | None:
    """The person's Slack member id, found by their e-mail and kept; None when they are not in the workspace.

    Raises ``RetryLater`` when Slack is rate limiting the lookup.
    """
    installation = current_installation()
    if installation is None:
        return None
    known = db.session.get(SlackPerson, user.id)
    fresh = known is not None and known.team_id == installation.team_id and (
        known.slack_user_id is not None or utcnow() - known.checked_at < RECHECK_NOT_FOUND)
    if fresh and not refresh:
        assert known is not None
        return known.slack_user_id
    client = bot_client()
    assert client is not None
    try:
        member = call(client, "users_lookupByEmail", email=user.email)["user"]
        found = None if member.get("deleted") else str(member["id"])
    except Unreachable:
        found = None
    known = known or SlackPerson(user_id=user.id)
    known.team_id, known.slack_user_id, known.checked_at = installation.team_id, found, utcnow()
    db.session.add(known)
    db.session.commit()
    return found


def look_up_again(user: User) -> bool:
    """Look ``user`` up in the workspace now (they joined Slack or confirmed their e-mail); True when found, and
    then the Slack channel is tried for them again. Raises ``RetryLater`` when Slack is rate limiting."""
    from advocacy.notifications import preferences

    found = slack_user_id(user, refresh=True) is not None
    if found:
        preferences.channel_set_up(user.id, "slack")
    return found


def forget(user_id: int) -> None:
    """The person left the workspace: not reachable there until they are found again."""
    known = db.session.get(SlackPerson, user_id)
    if known is not None:
        known.slack_user_id, known.checked_at = None, utcnow()
        db.session.commit()


def person_for(team_id: str, slack_id: str) -> User | None:
    """Who a Slack member is here: someone matched by e-mail before, or now (``users.info``: their e-mail, which
    Slack shows only once the member confirmed it)."""
    row = db.session.scalars(select(SlackPerson).where(SlackPerson.team_id == team_id,
                                                       SlackPerson.slack_user_id == slack_id)).first()
    if row is not None:
        return db.session.get(User, row.user_id)
    installation, client = current_installation(), bot_client()
    if installation is None or client is None or installation.team_id != team_id or not slack_id:
        return None
    try:
        member = call(client, "users_info", user=slack_id)["user"]
    except (RetryLater, Unreachable, SlackError):
        return None
    email = str((member.get("profile") or {}).get("email") or "")
    user = db.session.scalars(select(User).where(func.lower(User.email) == email.lower())).first() if email else None
    if user is None or member.get("deleted"):
        return None
    known = db.session.get(SlackPerson, user.id) or SlackPerson(user_id=user.id)
    known.team_id, known.slack_user_id, known.checked_at = team_id, slack_id, utcnow()
    db.session.add(known)
    db.session.commit()
    return user
