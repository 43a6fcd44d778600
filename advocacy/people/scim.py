"""SCIM 2.0 provisioning: identity providers (Okta, Microsoft Entra) create, update, deactivate and delete people and
map groups to teams. The views (``scim_views``) only parse and answer; every change goes through here, and a
deactivation through ``people.services.deactivate``, the one function the admin's people page uses too.

People: ``userName`` is kept as given (unique, case-insensitive); the person's e-mail is their primary e-mail, else
the userName when it is an address. A person who exists already (signed in through SSO, or added by an admin) with
that e-mail or externalId is the same person: the identity provider takes them over rather than making a twin.
DELETE deactivates the person and hides them from SCIM; the row stays, so their past posts stay in the archive and
the reports, and provisioning the same userName again brings them back.

Groups: each group is a team. A person may be in several groups (``team_memberships``); their team, the one
targeting by team reads, is the group they were added to most recently among those they are still in.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from scim2_models import (
    Context,
    InvalidValueException,
    NotFoundException,
    PatchOp,
    Resource,
    UniquenessException,
)
from sqlalchemy import delete, func, select

from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people import services
from advocacy.people.models import Role, Team, TeamMembership, User
from advocacy.people.scim_schema import POLICY, ScimGroup, ScimUser
from advocacy.people.scim_tokens import (  # noqa: F401  (the tokens, here too for callers of this module)
    LAST_USED_EVERY,
    PREFIX,
    all_tokens,
    authenticate,
    create_token,
    revoke_token,
)

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------- people
def _load(model: type[Resource[Any]], payload: Any, ctx: Context) -> Any:
    """Validate a request body (raises pydantic's ValidationError carrying the SCIM error)."""
    return model.model_validate(payload, scim_ctx=ctx, scim_policy=POLICY)


def user_resource(user: User, base: str) -> Any:
    kept = json.loads(user.scim_attributes or "{}")
    resource = ScimUser.model_validate({**kept, "schemas": [str(ScimUser.__schema__)], "id": str(user.id),
                                        "userName": user.scim_user_name or user.email, "active": user.active,
                                        "externalId": user.external_id,
                                        "displayName": kept.get("displayName"),
                                        "meta": _meta("User", user.created_at, f"{base}/Users/{user.id}")},
                                       scim_policy=POLICY)
    return resource


def _meta(kind: str, created: Any, location: str) -> dict[str, Any]:
    return {"resourceType": kind, "created": created, "lastModified": created, "location": location}


def _email_of(resource: Any) -> str:
    emails = list(resource.emails or [])
    primary = next((e.value for e in emails if e.primary and e.value), None)
    email = primary or next((e.value for e in emails if e.value), None)
    if not email and "@" in (resource.user_name or ""):
        email = resource.user_name
    email = (email or "").strip()
    if not email or "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise InvalidValueException(detail="emails: an e-mail address is needed (as userName or in emails)")
    return email


def _name_of(resource: Any) -> str:
    name = resource.display_name or (resource.name.formatted if resource.name else None)
    if not name and resource.name:
        name = " ".join(p for p in (resource.name.given_name, resource.name.family_name) if p)
    return (name or resource.user_name.split("@")[0]).strip()[:120] or resource.user_name[:120]


def _live_users() -> Any:
    return select(User).where(User.scim_deleted_at.is_(None))


def get_user(user_id: str) -> User:
    user = db.session.get(User, _id(user_id))
    if user is None or user.scim_deleted_at is not None:
        raise NotFoundException(detail=f"no user {user_id}")
    return user


def _id(value: str) -> int:
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else 0


def _clash(user_name: str, other_than: User | None) -> User | None:
    found = db.session.scalar(select(User).where(func.lower(User.scim_user_name) == user_name.lower()))
    return found if found is not None and found is not other_than else None


def create_user(payload: Any, source: str) -> User:
    """POST /Users: a new person, or an existing one (same e-mail or externalId) taken over by the provider."""
    resource = _load(ScimUser, payload, Context.RESOURCE_CREATION_REQUEST)
    email = _email_of(resource)
    clash = _clash(resource.user_name, None)
    if clash is not None and clash.scim_deleted_at is None:
        raise UniquenessException(detail=f"userName {resource.user_name} is taken")
    user = clash or _same_person(email, resource.external_id)
    if user is None:
        user = User(email=email, name=_name_of(resource), role=Role.EMPLOYEE.value)
        user.set_password(secrets.token_urlsafe(32))  # no local password: SSO, or an admin's reset
        db.session.add(user)
    user.scim_deleted_at = None
    _write(user, resource, source)
    log.info("event=scim_user_created user_id=%s source=%s", user.id, source)
    return user


def _same_person(email: str, external_id: str | None) -> User | None:
    """The person SSO or an admin made already: by externalId, else by e-mail (never one another provider owns)."""
    if external_id:
        found = db.session.scalar(select(User).where(User.external_id == external_id))
        if found is not None:
            return found
    found = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if found is not None and found.scim_user_name and found.scim_deleted_at is None:
        raise UniquenessException(detail=f"{email} is provisioned already as {found.scim_user_name}")
    return found


def _write(user: User, resource: Any, source: str) -> None:
    """Store what the provider said, then deactivate or reactivate through the one domain function."""
    email = _email_of(resource)
    clash = _clash(resource.user_name, user)
    if clash is not None:
        raise UniquenessException(detail=f"userName {resource.user_name} is taken")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower(),
                                               User.id != (user.id or 0))) is not None:
        raise UniquenessException(detail=f"another person has the e-mail {email}")
    user.scim_user_name, user.external_id, user.email = resource.user_name, resource.external_id, email
    user.name = _name_of(resource)
    kept = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
    user.scim_attributes = json.dumps({k: v for k, v in kept.items()
                                       if k in ("name", "displayName", "emails")})
    deactivating = user.active and resource.active is False
    if resource.active is True and not user.active:
        user.active = True
    db.session.flush()
    db.session.commit()
    if deactivating:
        services.deactivate(user, by=None, source=source)


def replace_user(user: User, payload: Any, source: str) -> User:
    """PUT /Users/{id} (Okta's update): the whole resource as sent."""
    resource = _load(ScimUser, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    if resource.active is None:
        resource.active = user.active
    _write(user, resource, source)
    return user


def patch_user(user: User, payload: Any, base: str, source: str) -> User:
    """PATCH /Users/{id}: either dialect (Entra's ``Replace`` with ``"False"``, or the standard one)."""
    patch = _load(PatchOp[ScimUser], payload, Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]
    resource = user_resource(user, base)
    with POLICY:
        patch.patch(resource)
    resource = _load(ScimUser, resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
                                                   scim_policy=POLICY), Context.RESOURCE_REPLACEMENT_REQUEST)
    _write(user, resource, source)
    return user


def delete_user(user: User, source: str) -> None:
    """DELETE /Users/{id}: deactivated (shares cancelled, tokens revoked) and gone from SCIM; the row stays."""
    user.scim_deleted_at = utcnow()
    db.session.execute(delete(TeamMembership).where(TeamMembership.user_id == user.id))
    db.session.commit()
    if user.active:
        services.deactivate(user, by=None, source=source)
    log.info("event=scim_user_deleted user_id=%s source=%s", user.id, source)


def list_users(condition: Any, start: int, count: int) -> tuple[int, list[User]]:
    query = _live_users() if condition is None else _live_users().where(condition)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(db.session.scalars(query.order_by(User.id).offset(start - 1).limit(count))) if count else []
    return total, page


# ------------------------------------------------------------------------------------------------- groups
def _live_groups() -> Any:
    return select(Team).where(Team.scim_managed.is_(True))


def get_group(group_id: str) -> Team:
    team = db.session.get(Team, _id(group_id))
    if team is None or not team.scim_managed:
        raise NotFoundException(detail=f"no group {group_id}")
    return team


def member_ids(team: Team) -> list[int]:
    return [uid for uid, _ in _memberships(team)]


def _memberships(team: Team) -> list[tuple[int, str]]:
    """(user id, display) of the group's members, in the order they joined."""
    return [(uid, display or name) for uid, display, name in db.session.execute(
        select(TeamMembership.user_id, TeamMembership.display, User.name)
        .join(User, User.id == TeamMembership.user_id)
        .where(TeamMembership.team_id == team.id, User.scim_deleted_at.is_(None))
        .order_by(TeamMembership.added_at, TeamMembership.user_id)).all()]


def group_resource(team: Team, base: str, with_members: bool = True) -> Any:
    members = [{"value": str(uid), "display": display, "type": "User", "$ref": f"{base}/Users/{uid}"}
               for uid, display in (_memberships(team) if with_members else [])]
    return ScimGroup.model_validate({"schemas": [str(ScimGroup.__schema__)], "id": str(team.id),
                                     "externalId": team.external_id, "displayName": team.name,
                                     "members": members or None,
                                     "meta": _meta("Group", None, f"{base}/Groups/{team.id}")}, scim_policy=POLICY)


def _members(resource: Any) -> dict[int, str | None]:
    """The people a group resource lists (id -> display); an unknown member is refused (invalidValue), and then
    nothing changes."""
    wanted: dict[int, str | None] = {}
    for member in resource.members or []:
        uid = _id(str(member.value or ""))
        if not uid or db.session.scalar(_live_users().where(User.id == uid)) is None:
            raise InvalidValueException(detail=f"members: no user {member.value}")
        wanted.setdefault(uid, (member.display or "")[:255] or None)
    return wanted


def _team_name(resource: Any, team: Team | None) -> str:
    name = (resource.display_name or "").strip()
    if not name or len(name) > 120:
        raise InvalidValueException(detail="displayName: must be 1 to 120 characters")
    clash = db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
    if clash is not None and clash is not team and (clash.scim_managed or team is not None):
        raise UniquenessException(detail=f"a group called {clash.name} exists already")
    return name


def create_group(payload: Any, source: str) -> Team:
    """POST /Groups: a team (an admin-made team of the same name is taken over), with its members."""
    resource = _load(ScimGroup, payload, Context.RESOURCE_CREATION_REQUEST)
    name = _team_name(resource, None)
    wanted = _members(resource)
    team = db.session.scalar(select(Team).where(func.lower(Team.name) == name.lower())) or Team(name=name)
    team.scim_managed, team.external_id, team.name = True, resource.external_id, name
    db.session.add(team)
    db.session.flush()
    _set_members(team, wanted)
    db.session.commit()
    log.info("event=scim_group_created team_id=%s source=%s members=%s", team.id, source, len(wanted))
    return team


def replace_group(team: Team, payload: Any, source: str) -> Team:
    resource = _load(ScimGroup, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
    _save_group(team, resource)
    return team


def patch_group(team: Team, payload: Any, base: str, source: str) -> Team:
    """PATCH /Groups/{id}: members added and removed (``members[value eq "id"]`` or Entra's value list)."""
    patch = _load(PatchOp[ScimGroup], payload, Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]
    resource = group_resource(team, base)
    with POLICY:
        patch.patch(resource)
    _save_group(team, resource)
    log.info("event=scim_group_patched team_id=%s source=%s", team.id, source)
    return team


def _save_group(team: Team, resource: Any) -> None:
    name = _team_name(resource, team)
    wanted = _members(resource)
    team.name, team.external_id = name, resource.external_id
    _set_members(team, wanted)
    db.session.commit()


def _set_members(team: Team, wanted: dict[int, str | None]) -> None:
    have = {m.user_id: m for m in db.session.scalars(select(TeamMembership).where(TeamMembership.team_id == team.id))}
    gone = set(have) - set(wanted)
    now = utcnow()
    for uid, display in wanted.items():
        if uid in have:
            have[uid].display = display
            continue
        db.session.add(TeamMembership(team_id=team.id, user_id=uid, added_at=now, display=display))
        person = db.session.get(User, uid)
        if person is not None:
            person.team = team  # the most recent group is their team
    if gone:
        db.session.execute(delete(TeamMembership).where(TeamMembership.team_id == team.id,
                                                        TeamMembership.user_id.in_(gone)))
        db.session.flush()
        for uid in gone:
            person = db.session.get(User, uid)
            if person is not None and person.team_id == team.id:
                person.team = _latest_team(uid)


def _latest_team(user_id: int) -> Team | None:
    return db.session.scalar(select(Team).join(TeamMembership, TeamMembership.team_id == Team.id)
                             .where(TeamMembership.user_id == user_id)
                             .order_by(TeamMembership.added_at.desc(), Team.id.desc()).limit(1))


def delete_group(team: Team, source: str) -> None:
    """DELETE /Groups/{id}: the group's memberships go; the team stays (past talking points target it), no longer
    provisioned, and its people move to another group of theirs if they have one."""
    members = list(db.session.scalars(select(TeamMembership.user_id).where(TeamMembership.team_id == team.id)))
    db.session.execute(delete(TeamMembership).where(TeamMembership.team_id == team.id))
    db.session.flush()
    for uid in members:
        person = db.session.get(User, uid)
        if person is not None and person.team_id == team.id:
            person.team = _latest_team(uid)
    team.scim_managed = False
    db.session.commit()
    log.info("event=scim_group_deleted team_id=%s source=%s", team.id, source)


def list_groups(condition: Any, start: int, count: int) -> tuple[int, list[Team]]:
    query = _live_groups() if condition is None else _live_groups().where(condition)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(db.session.scalars(query.order_by(Team.id).offset(start - 1).limit(count))) if count else []
    return total, page
