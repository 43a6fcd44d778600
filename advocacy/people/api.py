"""The social-media policy and the advocacy programme over JSON."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from advocacy.auth import roles_required
from advocacy.people import services
from advocacy.people.models import Role

blp = Blueprint("api_policy", __name__, url_prefix="/api/policy", description="Social-media policy and opt-in")


class PolicyOut(Schema):
    version = fields.Integer()
    title = fields.String()
    body_markdown = fields.String()
    published_at = fields.DateTime()


class PolicyIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body_markdown = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class AcknowledgeIn(Schema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))


class MeOut(Schema):
    id = fields.Integer()
    email = fields.String()
    opted_in = fields.Boolean()
    policy_version_acknowledged = fields.Integer(allow_none=True)
    acknowledged_current = fields.Function(lambda u: services.has_acknowledged_current(u))


@blp.route("", methods=["GET"])
@roles_required()
@blp.response(200, PolicyOut)
def current() -> Any:
    """The current version of the policy."""
    policy = services.current_policy()
    if policy is None:
        abort(404, message="no policy has been published yet")
    return policy


@blp.route("/versions", methods=["GET"])
@roles_required(Role.ADMIN, Role.COMMS)
@blp.response(200, PolicyOut(many=True))
def versions() -> Any:
    """Every published version, newest first."""
    return services.policies()


@blp.route("", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.arguments(PolicyIn)
@blp.response(201, PolicyOut)
def publish(data: dict[str, Any]) -> Any:
    """Publish a new version: everyone must acknowledge it again, and their pending shares wait until they do."""
    return services.publish_policy(current_user, data["title"], data["body_markdown"])


@blp.route("/acknowledge", methods=["POST"])
@roles_required()
@blp.arguments(AcknowledgeIn)
@blp.response(200, MeOut)
def acknowledge(data: dict[str, Any]) -> Any:
    """Acknowledge the version of the policy I read."""
    services.acknowledge_policy(current_user, data["version"])
    return current_user


@blp.route("/opt-in", methods=["POST"])
@roles_required()
@blp.response(200, MeOut)
def opt_in() -> Any:
    """Join the advocacy programme (after acknowledging the current policy)."""
    services.opt_in(current_user)
    return current_user


@blp.route("/opt-out", methods=["POST"])
@roles_required()
@blp.response(200, MeOut)
def opt_out() -> Any:
    """Leave the programme: pending shares are cancelled and stored tokens deleted."""
    services.opt_out(current_user)
    return current_user
