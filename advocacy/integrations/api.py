"""Content sources (comms) and webhook endpoints with their deliveries (admins) over JSON; the same rules as the
pages (the domain functions check everything), errors as 422 naming the field."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from advocacy.auth import roles_required
from advocacy.content.checks import EDITORS
from advocacy.integrations import sources as feeds
from advocacy.integrations import webhooks as hooks
from advocacy.people.models import Role

sources_blp = Blueprint("api_sources", __name__, url_prefix="/api/sources",
                        description="Content sources: RSS and Atom feeds whose new items become draft talking points")
webhooks_blp = Blueprint("api_webhooks", __name__, url_prefix="/api/webhooks",
                         description="Webhook endpoints and their deliveries (Standard Webhooks signatures)")
ID = validate.Range(min=1, max=2**31 - 1)


class SourceFields(Schema):
    url = fields.String(validate=validate.Length(max=2048), metadata={"description": "the feed (RSS or Atom)"})
    name = fields.String(validate=validate.Length(max=200))
    default_topics = fields.String(validate=validate.Length(max=500), metadata={"description": "topics of drafts"})
    default_team_ids = fields.List(fields.Integer(strict=True, validate=ID),
                                   metadata={"description": "teams the drafts target; empty: everyone"})
    default_disclosure = fields.String(validate=validate.Length(max=200))
    enabled = fields.Boolean()


class SourceIn(SourceFields):
    url = fields.String(required=True, validate=validate.Length(max=2048))


class ItemOut(Schema):
    id = fields.Integer()
    link = fields.String()
    title = fields.String()
    talking_point_id = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why no draft was made of it"})
    seen_at = fields.DateTime()


class SourceOut(Schema):
    id = fields.Integer()
    name = fields.String()
    url = fields.String()
    owner_id = fields.Integer()
    enabled = fields.Boolean()
    default_topics = fields.String()
    default_team_ids = fields.List(fields.Integer(), attribute="team_ids")
    default_disclosure = fields.String()
    last_attempt_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True, metadata={"description": "why the last fetch failed"})
    failures = fields.Integer(metadata={"description": "failed fetches in a row"})
    next_attempt_at = fields.DateTime(allow_none=True)
    items_created = fields.Integer()
    items = fields.Method("_items")

    def _items(self, source: Any) -> list[dict[str, Any]]:
        return ItemOut(many=True).dump(feeds.recent_items(source.id))  # type: ignore[return-value]


@sources_blp.route("")
@roles_required(*EDITORS)
@sources_blp.response(200, SourceOut(many=True))
def list_sources() -> Any:
    """The feeds, with their last attempt, error and latest items."""
    return feeds.sources()


@sources_blp.route("", methods=["POST"])
@roles_required(*EDITORS)
@sources_blp.arguments(SourceIn)
@sources_blp.response(201, SourceOut)
def add_source(data: dict[str, Any]) -> Any:
    """Register a feed (the caller writes its drafts); fetched at once, then periodically."""
    source = feeds.create_source(current_user, **data)
    feeds.fetch_soon(source)
    return source


@sources_blp.route("/<int:source_id>")
@roles_required(*EDITORS)
@sources_blp.response(200, SourceOut)
def get_source(source_id: int) -> Any:
    """One feed."""
    return feeds.get_source(source_id)


@sources_blp.route("/<int:source_id>", methods=["PATCH"])
@roles_required(*EDITORS)
@sources_blp.arguments(SourceFields)
@sources_blp.response(200, SourceOut)
def edit_source(data: dict[str, Any], source_id: int) -> Any:
    """Change a feed's address, name, defaults, or turn it on or off."""
    return feeds.update_source(feeds.get_source(source_id), current_user, **data)


@sources_blp.route("/<int:source_id>", methods=["DELETE"])
@roles_required(*EDITORS)
@sources_blp.response(204)
def delete_source(source_id: int) -> Any:
    """Forget a feed (its drafts stay)."""
    feeds.delete_source(feeds.get_source(source_id), current_user)
    return ""


@sources_blp.route("/<int:source_id>/fetch", methods=["POST"])
@roles_required(*EDITORS)
@sources_blp.response(202, SourceOut)
def fetch_source(source_id: int) -> Any:
    """Fetch a feed now (queued)."""
    source = feeds.get_source(source_id)
    feeds.fetch_soon(source)
    return source


# ------------------------------------------------------------------------------------------------------ webhooks
class EndpointFields(Schema):
    url = fields.String(validate=validate.Length(max=2048))
    events = fields.List(fields.String(validate=validate.OneOf(list(hooks.EVENTS))), validate=validate.Length(min=1))
    description = fields.String(validate=validate.Length(max=200))
    enabled = fields.Boolean()


class EndpointIn(EndpointFields):
    url = fields.String(required=True, validate=validate.Length(max=2048))
    events = fields.List(fields.String(validate=validate.OneOf(list(hooks.EVENTS))), required=True,
                         validate=validate.Length(min=1))


class EndpointOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String(), attribute="event_list")
    description = fields.String()
    enabled = fields.Boolean()
    created_at = fields.DateTime()


class EndpointCreated(EndpointOut):
    secret = fields.Function(hooks.secret_of, metadata={"description": "whsec_… signing secret, shown only here"})


class DeliveryOut(Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    message_id = fields.String(metadata={"description": "the webhook-id header"})
    event = fields.String()
    status = fields.String(metadata={"description": "pending, delivered or failed"})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    last_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True, metadata={"description": "the endpoint's last HTTP status"})
    last_body = fields.String(allow_none=True, metadata={"description": "the start of its last answer"})
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class DeliveriesQuery(Schema):
    endpoint_id = fields.Integer(load_default=None, validate=ID)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))


@webhooks_blp.route("/endpoints")
@roles_required(Role.ADMIN)
@webhooks_blp.response(200, EndpointOut(many=True))
def list_endpoints() -> Any:
    """The endpoints and the events each gets."""
    return hooks.endpoints()


@webhooks_blp.route("/endpoints", methods=["POST"])
@roles_required(Role.ADMIN)
@webhooks_blp.arguments(EndpointIn)
@webhooks_blp.response(201, EndpointCreated)
def add_endpoint(data: dict[str, Any]) -> Any:
    """Register an endpoint; the answer carries its signing secret (only this once)."""
    return hooks.create_endpoint(current_user, **data)


@webhooks_blp.route("/endpoints/<int:endpoint_id>", methods=["PATCH"])
@roles_required(Role.ADMIN)
@webhooks_blp.arguments(EndpointFields)
@webhooks_blp.response(200, EndpointOut)
def edit_endpoint(data: dict[str, Any], endpoint_id: int) -> Any:
    """Change an endpoint, or turn it on or off (a turned-off endpoint is sent nothing)."""
    return hooks.update_endpoint(hooks.get_endpoint(endpoint_id), current_user, **data)


@webhooks_blp.route("/endpoints/<int:endpoint_id>", methods=["DELETE"])
@roles_required(Role.ADMIN)
@webhooks_blp.response(204)
def delete_endpoint(endpoint_id: int) -> Any:
    """Remove an endpoint and its deliveries."""
    hooks.delete_endpoint(hooks.get_endpoint(endpoint_id), current_user)
    return ""


class SecretOut(Schema):
    secret = fields.String(metadata={"description": "the new whsec_… signing secret; the old one stops verifying"})


@webhooks_blp.route("/endpoints/<int:endpoint_id>/secret", methods=["POST"])
@roles_required(Role.ADMIN)
@webhooks_blp.response(200, SecretOut)
def rotate_secret(endpoint_id: int) -> Any:
    """Give an endpoint a new signing secret (returned only here)."""
    return {"secret": hooks.rotate_secret(hooks.get_endpoint(endpoint_id), current_user)}


@webhooks_blp.route("/deliveries")
@roles_required(Role.ADMIN)
@webhooks_blp.arguments(DeliveriesQuery, location="query")
@webhooks_blp.response(200, DeliveryOut(many=True))
def list_deliveries(query: dict[str, Any]) -> Any:
    """The latest deliveries, newest first, with the answers they got."""
    return hooks.deliveries(query["endpoint_id"], query["limit"])


@webhooks_blp.route("/deliveries/<int:delivery_id>/replay", methods=["POST"])
@roles_required(Role.ADMIN)
@webhooks_blp.response(202, DeliveryOut)
def replay_delivery(delivery_id: int) -> Any:
    """Send a delivery again (the same webhook-id, signed afresh)."""
    return hooks.replay(hooks.get_delivery(delivery_id), current_user)
