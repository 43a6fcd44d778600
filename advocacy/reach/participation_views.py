"""Participation by channel on the Reach page (a table under the report, with the report's filters), as CSV, and
over JSON (``GET /api/reach/participation``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, request
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields

from advocacy.auth import roles_required
from advocacy.errors import DomainError
from advocacy.reach import participation, reports
from advocacy.reach.views import READERS, _csv_stream

bp = Blueprint("participation", __name__)
blp = ApiBlueprint("api_participation", __name__, url_prefix="/api/reach",
                   description="Participation by channel: people notified, people who shared, rate, time to share")


def init_app(app: Flask) -> None:
    from advocacy.extensions import api

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.jinja_env.globals["participation_table"] = table


def table() -> list[participation.Row] | None:
    """The rows for the Reach page's filters (None when the filters are bad: the page shows that error already)."""
    try:
        return participation.participation(reports.parse_filters(request.args))
    except DomainError:
        return None


@bp.get("/reach/participation.csv")
@roles_required(*READERS)
def export() -> Any:
    """Participation by channel as CSV, for the Reach page's filters (``from``, ``to``, ``team``, ``talking_point``,
    ``person``)."""
    rows = participation.participation(reports.parse_filters(request.args))
    body = "".join(_csv_stream(participation.HEADER, (r.csv() for r in rows)))  # seven rows: no need to stream
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="participation.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


class ParticipationArgs(Schema):
    class Meta:
        unknown = "exclude"

    from_ = fields.Date(data_key="from", metadata={"description": "first day (UTC), default 30 days ago"})
    to = fields.Date(metadata={"description": "last day (UTC), default today"})
    team = fields.Integer()
    talking_point = fields.Integer()
    person = fields.Integer()


class ParticipationOut(Schema):
    channel = fields.String()
    label = fields.String()
    people_notified = fields.Integer(allow_none=True, metadata={"description": "null: the channel announces nothing"})
    people_shared = fields.Integer()
    share_rate = fields.Float(allow_none=True, metadata={"description": "of the people notified there, the share "
                                                                        "who shared from it (0..1)"})
    median_seconds_to_share = fields.Float(allow_none=True)


@blp.route("/participation")
@roles_required(*READERS)
@blp.arguments(ParticipationArgs, location="query")
@blp.response(200, ParticipationOut(many=True))
def api_participation(_args: dict[str, Any]) -> Any:
    """Participation by channel (web, api, auto, slack, teams, email, push) over the date range and filters."""
    return [r.as_dict() for r in participation.participation(reports.parse_filters(request.args))]
