"""Sign-in, policy acknowledgement and opt-in."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from advocacy import events
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import PolicyVersion, Role, Team, User

log = logging.getLogger(__name__)


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def create_user(email: str, name: str, password: str, role: str = Role.EMPLOYEE, team: Team | None = None) -> User:
    if role not in {r.value for r in Role}:
        raise DomainError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}", "role")
    if db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower())):
        raise DomainError(f"a user with e-mail {email} exists already", "email")
    user = User(email=email.strip(), name=name, role=str(role), team=team)
    user.set_password(password)
    db.session.add(user)
    return user


def current_policy() -> PolicyVersion | None:
    return db.session.scalar(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))


def has_acknowledged_current(user: User) -> bool:
    policy = current_policy()
    return policy is None or user.policy_version_acknowledged == policy.version


def acknowledge_policy(user: User, version: int) -> None:
    policy = current_policy()
    if policy is None or policy.version != version:
        raise DomainError("the policy changed while you were reading it; please read the current version", "version")
    from advocacy.audit.services import record

    user.policy_version_acknowledged = version
    record(user, "policy_acknowledged", "policy", policy.id, version=version)
    db.session.commit()
    released = events.total(events.policy_acknowledged.send(user, version=version))  # held shares go out
    log.info("event=policy_acknowledged user_id=%s version=%s released=%s", user.id, version, released)


def opt_in(user: User) -> None:
    if not has_acknowledged_current(user):
        raise DomainError("acknowledge the current social-media policy before opting in", "policy")
    if user.opted_in_at is None:
        from advocacy.audit.services import record

        user.opted_in_at = utcnow()
        record(user, "opt_in", "user", user.id)
        db.session.commit()
        log.info("event=opted_in user_id=%s", user.id)


def opt_out(user: User) -> None:
    """Stop sharing: cancel pending shares (delivery hears ``person_opted_out``) and forget every stored token."""
    from advocacy.accounts.models import ConnectedAccount
    from advocacy.accounts.services import disconnect
    from advocacy.audit.services import record

    user.opted_in_at = None
    db.session.commit()  # first: no share goes out from here on
    cancelled = events.total(events.person_opted_out.send(user))
    for account in db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == user.id)):
        disconnect(account)
    record(user, "opt_out", "user", user.id, cancelled=cancelled)
    db.session.commit()
    log.info("event=opted_out user_id=%s cancelled=%s", user.id, cancelled)


def policies() -> list[PolicyVersion]:
    """Every published version, newest first."""
    return list(db.session.scalars(select(PolicyVersion).order_by(PolicyVersion.version.desc())))


def publish_policy(admin: User, title: str, body_markdown: str) -> PolicyVersion:
    """Publish a new version of the social-media policy (admins).

    Everyone must acknowledge it again; until they do, their queued and scheduled shares are held (paused) and they
    cannot share.

    Args:
        admin: an admin.
        title: the policy's title.
        body_markdown: the policy text in Markdown.
    """
    from advocacy.audit.services import record
    from advocacy.errors import NotAllowed

    if not admin.has_role(Role.ADMIN):
        raise NotAllowed("only admins publish the social-media policy")
    title = (title or "").strip()
    body = (body_markdown or "").strip()
    if not title:
        raise DomainError("must not be empty", "title")
    if len(title) > 200:
        raise DomainError("must be at most 200 characters", "title")
    if not body:
        raise DomainError("must not be empty", "body_markdown")
    if len(body) > 100_000:
        raise DomainError("must be at most 100000 characters", "body_markdown")
    current = current_policy()
    policy = PolicyVersion(version=(current.version if current else 0) + 1, title=title, body_markdown=body)
    db.session.add(policy)
    db.session.flush()
    record(admin, "policy_published", "policy", policy.id, version=policy.version)
    db.session.commit()
    held = events.total(events.policy_published.send(policy))  # delivery holds shares not yet out
    log.info("event=policy_published version=%s user_id=%s held_shares=%s", policy.version, admin.id, held)
    return policy


def render_markdown(text: str) -> str:
    """Markdown as HTML with raw HTML disabled and only safe link schemes (CommonMark, markdown-it-py)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("js-default").render(text or "")


# ------------------------------------------------------------------------------------ admin: people and teams
MIN_PASSWORD = 12


def people_and_teams() -> tuple[list[User], list[Team]]:
    """Everyone (active first, then by name) and every team, for the admin pages."""
    users = list(db.session.scalars(select(User).order_by(User.active.desc(), User.name)))
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    return users, teams


def _team(team_id: object) -> Team | None:
    if team_id in (None, ""):
        return None
    try:
        number = int(str(team_id))
    except ValueError:
        raise DomainError("is not a team", "team_id") from None
    team = db.session.get(Team, number) if 1 <= number <= 2**31 - 1 else None
    if team is None:
        raise DomainError(f"no team with id {team_id}", "team_id")
    return team


def _role(role: str) -> str:
    if role not in {r.value for r in Role}:
        raise DomainError(f"must be one of {', '.join(r.value for r in Role)}", "role")
    return role


def add_person(admin: User, *, email: str, name: str, role: str, team_id: object, password: str) -> User:
    """An admin adds a person with a role, a team and a first password (they can use single sign-on instead).

    Args:
        admin: who adds.
        email: the person's e-mail, their sign-in name.
        name: how they are shown.
        role: employee, comms, analyst or admin.
        team_id: their team's id, or empty.
        password: at least 12 characters.
    """
    from advocacy.audit.services import record

    email, name = (email or "").strip(), (name or "").strip()
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        raise DomainError("must be an e-mail address such as ana@example.com", "email")
    if not name or len(name) > 120:
        raise DomainError("must be 1 to 120 characters", "name")
    role, team = _role(role), _team(team_id)
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(f"must be at least {MIN_PASSWORD} characters", "password")
    user = create_user(email, name, password, role, team)
    db.session.flush()
    record(admin, "user_added", "user", user.id, role=role, team_id=team.id if team else None)
    db.session.commit()
    log.info("event=user_added user_id=%s role=%s by=%s", user.id, role, admin.id)
    return user


def update_person(admin: User, user: User, *, role: str, team_id: object, active: bool) -> None:
    """An admin changes a person's role, team, or whether they may sign in. Admins cannot lock themselves out.

    Args:
        admin: who changes it.
        user: the person changed.
        role: their new role.
        team_id: their team's id, or empty for none.
        active: False deactivates the account (sign-in refused, shares not yet out cancelled: delivery hears
            ``person_deactivated``).
    """
    from advocacy.audit.services import record

    role, team = _role(role), _team(team_id)
    if user.id == admin.id and (role != Role.ADMIN or not active):
        raise DomainError("you cannot remove your own admin role or deactivate yourself", "role")
    before = (user.role, user.team_id, user.active)
    user.role, user.team, user.active = role, team, bool(active) or before[2]  # deactivate() turns it off
    record(admin, "user_changed", "user", user.id, role=role, team_id=team.id if team else None, active=bool(active),
           was=f"{before[0]}/{before[1]}/{before[2]}")
    db.session.commit()
    if before[2] and not active:
        deactivate(user, by=admin)  # the same as an identity provider's deactivation over SCIM
    log.info("event=user_changed user_id=%s role=%s active=%s by=%s", user.id, role, bool(active), admin.id)


def deactivate(user: User, by: User | None = None, source: str = "admin") -> int:
    """A person leaves: every path that deactivates someone (the admin's people page, SCIM ``active=false`` or
    DELETE from the identity provider) comes through here.

    Their sign-in and sessions end, their API tokens stop working (they belong to an inactive person), every
    network token is revoked at the network and deleted, and ``person_deactivated`` tells the other stages: delivery
    cancels their scheduled and queued shares, content takes them out of named-person targeting, reach takes them
    off the leaderboard. Their past posts stay in the archive and the reports. Returns the shares cancelled.

    Args:
        user: the person.
        by: the admin who did it; None when the identity provider did.
        source: ``admin`` or ``scim:<identity provider>``, for the audit log.
    """
    from advocacy.accounts.models import ConnectedAccount
    from advocacy.accounts.services import disconnect
    from advocacy.audit.services import record

    user.active = False
    user.session_generation = (user.session_generation or 0) + 1  # every session cookie of theirs ends now
    db.session.commit()  # first: no share goes out and nobody signs in from here on
    cancelled = events.total(events.person_deactivated.send(user, by=by))
    for account in db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == user.id)):
        disconnect(account)
    if by is None:  # an admin's change is recorded by update_person already
        record(None, "user_changed", "user", user.id, active=False, source=source, cancelled=cancelled)
    db.session.commit()
    log.info("event=user_deactivated user_id=%s source=%s cancelled=%s", user.id, source, cancelled)
    return cancelled


def save_team(admin: User, name: str, team: Team | None = None) -> Team:
    """Create a team, or rename ``team``; names are unique (case-insensitive).

    Args:
        admin: who does it.
        name: 1 to 120 characters.
        team: the team to rename; None creates one.
    """
    from advocacy.audit.services import record

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise DomainError("must be 1 to 120 characters", "name")
    clash = db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
    if clash is not None and clash is not team:
        raise DomainError(f"a team called {clash.name} exists already", "name")
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    else:
        team.name = name
    db.session.flush()
    record(admin, "team_saved", "team", team.id, name=name)
    db.session.commit()
    return team
