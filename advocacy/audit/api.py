"""The audit log and the archive of posts over JSON, or as CSV with ``format=csv``."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from advocacy.audit import services
from advocacy.auth import roles_required
from advocacy.people.models import Role

blp = Blueprint("api_audit", __name__, url_prefix="/api/audit", description="Audit log and archive of posts")
READERS = (Role.ADMIN, Role.COMMS)


class EventsQuery(Schema):
    action = fields.String(load_default=None, validate=validate.OneOf(services.ACTIONS))
    actor_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100_000))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ArchiveQuery(Schema):
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))

    @validates_schema
    def _order(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("must be after since", "until")


def _export(rows: list[dict[str, Any]], fmt: str, name: str) -> Any:
    if fmt == "csv":
        return Response(services.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    return jsonify(rows)


@blp.route("/events")
@roles_required(*READERS)
@blp.arguments(EventsQuery, location="query")
@blp.response(200)
def events(query: dict[str, Any]) -> Any:
    """Who did what and when, newest first (JSON, or CSV with ``format=csv``)."""
    rows = services.event_rows(services.events(query["action"], query["actor_id"], query["limit"]))
    return _export(rows, query["format"], "audit-log")


@blp.route("/archive")
@roles_required(*READERS)
@blp.arguments(ArchiveQuery, location="query")
@blp.response(200)
def archive(query: dict[str, Any]) -> Any:
    """The exact text of everything posted, with network and time (JSON, or CSV with ``format=csv``)."""
    return _export(services.archive(query["since"], query["until"]), query["format"], "archive")
