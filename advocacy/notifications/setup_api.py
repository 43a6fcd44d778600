"""The same setup over JSON: my push subscriptions (what the preferences page's script sends), my Teams webhook,
a team's Teams webhook. Each calls the domain function the page calls (``destinations``)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from advocacy.auth import roles_required
from advocacy.extensions import db
from advocacy.notifications import destinations
from advocacy.people.models import Role, Team

blp = Blueprint("api_notify_setup", __name__, url_prefix="/api",
                description="Where I get notifications: phone or browser push, Microsoft Teams")


class PushKeys(Schema):
    p256dh = fields.String(required=True)
    auth = fields.String(required=True)


class PushSubscriptionIn(Schema):
    endpoint = fields.String(required=True)
    keys = fields.Nested(PushKeys, required=True)
    expirationTime = fields.Raw(allow_none=True, load_default=None)  # noqa: N815 - the browser's own name


class PushEndpointIn(Schema):
    endpoint = fields.String(required=True)


class PushDeviceOut(Schema):
    id = fields.Integer()
    device = fields.String()
    created_at = fields.DateTime()


class PushSetupOut(Schema):
    public_key = fields.String(metadata={"description": "the VAPID key for PushManager.subscribe()"})
    devices = fields.Nested(PushDeviceOut, many=True)


class TeamsWebhookIn(Schema):
    url = fields.String(required=True, allow_none=True,
                        metadata={"description": "the Workflows webhook URL; null or empty removes it"})


class TeamsWebhookOut(Schema):
    set = fields.Boolean()
    host = fields.String(allow_none=True)


def _device() -> str:
    agent = request.user_agent.string or ""
    browser = next((b for b in ("Edg", "Firefox", "Chrome", "Safari") if b in agent), "Browser")
    system = next((s for s in ("Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux") if s in agent), "")
    return f"{'Edge' if browser == 'Edg' else browser}{' on ' + system if system else ''}"


@blp.route("/me/push-subscriptions", methods=["GET"])
@roles_required()
@blp.response(200, PushSetupOut)
def my_push() -> Any:
    """The key to subscribe with, and my devices that get notifications."""
    from advocacy.notifications.push import public_key

    return {"public_key": public_key(), "devices": destinations.subscriptions(current_user.id)}


@blp.route("/me/push-subscriptions", methods=["POST"])
@roles_required()
@blp.arguments(PushSubscriptionIn)
@blp.response(201, PushDeviceOut)
def add_push(data: dict[str, Any]) -> Any:
    """Keep this browser's subscription (``PushSubscription.toJSON()``); the same endpoint again updates it."""
    return destinations.add_subscription(current_user.id, data, _device())


@blp.route("/me/push-subscriptions", methods=["DELETE"])
@roles_required()
@blp.arguments(PushEndpointIn)
@blp.response(204)
def remove_push(data: dict[str, Any]) -> Any:
    """Forget this browser's subscription (it turned notifications off)."""
    destinations.remove_subscription(current_user.id, data["endpoint"])


def _webhook(row: Any) -> dict[str, Any]:
    return {"set": row is not None, "host": row.url_hint if row is not None else None}


@blp.route("/me/teams-webhook", methods=["PUT"])
@roles_required()
@blp.arguments(TeamsWebhookIn)
@blp.response(200, TeamsWebhookOut)
def my_teams(data: dict[str, Any]) -> Any:
    """Set or remove the Workflows webhook my own Teams cards go to (as the preferences page does)."""
    return _webhook(destinations.set_teams_webhook(data["url"] or "", user_id=current_user.id))


@blp.route("/admin/teams/<int:team_id>/teams-webhook", methods=["PUT"])
@roles_required(Role.ADMIN, Role.COMMS)
@blp.arguments(TeamsWebhookIn)
@blp.response(200, TeamsWebhookOut)
def team_teams(data: dict[str, Any], team_id: int) -> Any:
    """Set or remove a team's Teams channel webhook (as the Teams channels page does)."""
    if db.session.get(Team, team_id) is None:
        abort(404, message=f"no team {team_id}")
    return _webhook(destinations.set_teams_webhook(data["url"] or "", team_id=team_id))
