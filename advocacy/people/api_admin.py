"""People, teams and personal API tokens over JSON: what the admin pages and the tokens page do, through the same
domain functions (``advocacy.people.services``, ``advocacy.people.tokens``)."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from advocacy.auth import end_sessions, roles_required
from advocacy.extensions import db
from advocacy.people import services, tokens
from advocacy.people.models import Role, Team, User

people_blp = Blueprint("api_people", __name__, url_prefix="/api/admin",
                       description="People, roles and teams (admins)")
tokens_blp = Blueprint("api_tokens", __name__, url_prefix="/api/tokens", description="My personal API tokens")

ROLES = [r.value for r in Role]
ID = validate.Range(min=1, max=2**31 - 1)


class PersonOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    team_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    opted_in = fields.Boolean()


class PersonIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.String(load_default=Role.EMPLOYEE.value, validate=validate.OneOf(ROLES))
    team_id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=ID)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=services.MIN_PASSWORD,
                                                                                     max=1000))


class PersonFields(Schema):
    """Any of role, team and active; what is left out stays as it is."""

    role = fields.String(validate=validate.OneOf(ROLES))
    team_id = fields.Integer(allow_none=True, strict=True, validate=ID)
    active = fields.Boolean(metadata={"description": "false deactivates: sign-in refused, pending shares cancelled, "
                                                     "network tokens revoked"})


class TeamOut(Schema):
    id = fields.Integer()
    name = fields.String()
    members = fields.Function(lambda t: sum(1 for u in t.members if u.active),
                              metadata={"description": "active people in the team"})


class TeamIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


def _person(user_id: int) -> User:
    user = db.session.get(User, user_id) if 1 <= user_id <= 2**31 - 1 else None
    if user is None:
        abort(404, message=f"no person {user_id}")
    return user


@people_blp.route("/people", methods=["GET"])
@roles_required(Role.ADMIN)
@people_blp.response(200, PersonOut(many=True))
def list_people() -> Any:
    """Everyone, active first, with their role, team and whether they may sign in."""
    return services.people_and_teams()[0]


@people_blp.route("/people", methods=["POST"])
@roles_required(Role.ADMIN)
@people_blp.arguments(PersonIn)
@people_blp.response(201, PersonOut)
def add_person(data: dict[str, Any]) -> Any:
    """Add a person with a role, a team and a first password (the people page's form)."""
    return services.add_person(current_user, email=data["email"], name=data["name"], role=data["role"],
                               team_id=data["team_id"], password=data["password"])


@people_blp.route("/people/<int:user_id>", methods=["GET"])
@roles_required(Role.ADMIN)
@people_blp.response(200, PersonOut)
def get_person(user_id: int) -> Any:
    """One person."""
    return _person(user_id)


@people_blp.route("/people/<int:user_id>", methods=["PATCH"])
@roles_required(Role.ADMIN)
@people_blp.arguments(PersonFields)
@people_blp.response(200, PersonOut)
def update_person(data: dict[str, Any], user_id: int) -> Any:
    """Change a person's role, team, or whether they may sign in (admins cannot demote or deactivate themselves)."""
    user = _person(user_id)
    services.update_person(current_user, user, role=data.get("role", user.role),
                           team_id=data["team_id"] if "team_id" in data else user.team_id,
                           active=data.get("active", user.active))
    return user


@people_blp.route("/people/<int:user_id>/sign-out", methods=["POST"])
@roles_required(Role.ADMIN)
@people_blp.response(204)
def sign_out_person(user_id: int) -> Any:
    """Sign a person out everywhere (their API tokens are left as they are)."""
    end_sessions(_person(user_id), actor=current_user)


@people_blp.route("/teams", methods=["GET"])
@roles_required(Role.ADMIN)
@people_blp.response(200, TeamOut(many=True))
def list_teams() -> Any:
    """Every team, with how many active people are in it."""
    return services.people_and_teams()[1]


@people_blp.route("/teams", methods=["POST"])
@roles_required(Role.ADMIN)
@people_blp.arguments(TeamIn)
@people_blp.response(201, TeamOut)
def add_team(data: dict[str, Any]) -> Any:
    """Create a team (names are unique, whatever their case)."""
    return services.save_team(current_user, data["name"])


@people_blp.route("/teams/<int:team_id>", methods=["PATCH"])
@roles_required(Role.ADMIN)
@people_blp.arguments(TeamIn)
@people_blp.response(200, TeamOut)
def rename_team(data: dict[str, Any], team_id: int) -> Any:
    """Rename a team."""
    team = db.session.get(Team, team_id) if 1 <= team_id <= 2**31 - 1 else None
    if team is None:
        abort(404, message=f"no team {team_id}")
    return services.save_team(current_user, data["name"], team)


# ------------------------------------------------------------------------------------------------------ tokens
class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    prefix = fields.String(metadata={"description": "the first characters of the secret, to recognise it"})
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreated(TokenOut):
    secret = fields.String(metadata={"description": "shown this once, never again"})


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    role = fields.String(required=True, validate=validate.OneOf(ROLES),
                         metadata={"description": "no wider than the role of the session or token asking"})


@tokens_blp.route("", methods=["GET"])
@roles_required()
@tokens_blp.response(200, TokenOut(many=True))
def list_tokens() -> Any:
    """My tokens, newest first, with when each was last used."""
    return tokens.of(current_user)


@tokens_blp.route("", methods=["POST"])
@roles_required()
@tokens_blp.arguments(TokenIn)
@tokens_blp.response(201, TokenCreated)
def create_token(data: dict[str, Any]) -> Any:
    """Create a token; its secret is in this answer only."""
    token, secret = tokens.create(current_user, data["name"], data["role"])
    token.secret = secret  # type: ignore[attr-defined]  (not a column: this answer only)
    return token


@tokens_blp.route("/<int:token_id>", methods=["DELETE"])
@roles_required()
@tokens_blp.response(204)
def revoke_token(token_id: int) -> Any:
    """Revoke one of my tokens at once."""
    tokens.revoke(current_user, token_id)


# ------------------------------------------------------------------------------------- SCIM tokens (admins)
class ScimTokenOut(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "the identity provider, e.g. Okta"})
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class ScimTokenCreated(ScimTokenOut):
    secret = fields.String(metadata={"description": "shown this once: give it to the identity provider"})


class ScimTokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


@people_blp.route("/scim-tokens", methods=["GET"])
@roles_required(Role.ADMIN)
@people_blp.response(200, ScimTokenOut(many=True))
def list_scim_tokens() -> Any:
    """The SCIM tokens, one per identity provider (the SCIM provisioning page)."""
    from advocacy.people import scim

    return scim.all_tokens()


@people_blp.route("/scim-tokens", methods=["POST"])
@roles_required(Role.ADMIN)
@people_blp.arguments(ScimTokenIn)
@people_blp.response(201, ScimTokenCreated)
def create_scim_token(data: dict[str, Any]) -> Any:
    """Create a SCIM token for an identity provider; its secret is in this answer only."""
    from advocacy.people import scim

    token, secret = scim.create_token(current_user, data["name"])
    token.secret = secret  # type: ignore[attr-defined]
    return token


@people_blp.route("/scim-tokens/<int:token_id>", methods=["DELETE"])
@roles_required(Role.ADMIN)
@people_blp.response(204)
def revoke_scim_token(token_id: int) -> Any:
    """Revoke a SCIM token: the identity provider's next request gets a 401."""
    from advocacy.people import scim

    scim.revoke_token(current_user, token_id)
