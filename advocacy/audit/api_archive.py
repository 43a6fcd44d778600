"""The archive export over JSON: ``GET /api/archive/export?from=&to=&format=jsonl|eml`` (admins and comms, the audit
page's roles), streamed. See :mod:`advocacy.audit.archive_export`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from advocacy.audit import archive_export
from advocacy.auth import roles_required
from advocacy.people.models import Role

blp = Blueprint("api_archive", __name__, url_prefix="/api/archive",
                description="Archive export for compliance archivers")
READERS = (Role.ADMIN, Role.COMMS)


class ExportQuery(Schema):
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day of publication (UTC, ISO date), inclusive"})
    to = fields.Date(load_default=None, metadata={"description": "last day of publication (UTC, ISO date), inclusive"})
    format = fields.String(load_default="jsonl", validate=validate.OneOf(["jsonl", "eml"]),
                           metadata={"description": "jsonl: JSON Lines; eml: an mbox of RFC 5322 messages, one "
                                                    "per post"})

    @validates_schema
    def _order(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("must be on or after from", "to")


def _start(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


@blp.route("/export", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(ExportQuery, location="query")
@blp.doc(responses={"200": {"description": "every post published in the range, streamed", "content": {
    "application/x-ndjson": {"schema": {"type": "string"}},
    "application/mbox": {"schema": {"type": "string", "format": "binary"}}}}})
def export(query: dict[str, Any]) -> Any:
    """Everything posted in the range (deleted-from-network posts marked), with its approver, screening findings at
    approval, network, account handle, post id and URL and the exact text with its tracked link."""
    since = _start(query["from_"])
    until = _start(query["to"] + dt.timedelta(days=1)) if query["to"] else None
    rows = archive_export.records(since, until)
    span = f"{query['from_'] or 'start'}_{query['to'] or 'now'}"
    if query["format"] == "eml":
        body, mimetype, name = archive_export.mbox(rows), "application/mbox", f"archive-{span}.mbox"
    else:
        body, mimetype, name = archive_export.jsonl(rows), "application/x-ndjson", f"archive-{span}.jsonl"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
