"""The content calendar and the people picker over JSON: ``GET /api/calendar`` (what ``/studio/calendar`` shows)
and ``GET /api/people/search`` (the talking point editor's type-ahead)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from advocacy.auth import roles_required
from advocacy.content import calendar, people_search
from advocacy.people.models import Role

blp = Blueprint("api_calendar", __name__, url_prefix="/api", description="Content calendar and people picker")
EDITORS = (Role.COMMS, Role.ADMIN)


class CalendarQuery(Schema):
    from_ = fields.Date(required=True, data_key="from", metadata={"description": "first local date, e.g. 2026-12-01"})
    to = fields.Date(required=True, metadata={"description": f"last local date (inclusive), at most "
                                                             f"{calendar.MAX_DAYS} days after from"})
    tz = fields.String(load_default=None, metadata={"description": "IANA timezone; default: the caller's own"})

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data["to"] < data["from_"]:
            raise ValidationError("must be on or after from", "to")
        if (data["to"] - data["from_"]).days + 1 > calendar.MAX_DAYS:
            raise ValidationError(f"the range may span at most {calendar.MAX_DAYS} days", "to")
        if data.get("tz"):
            try:
                ZoneInfo(data["tz"])
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationError("is not a known timezone such as Europe/Berlin", "tz") from None


class CalendarWindowOut(Schema):
    talking_point_id = fields.Function(lambda w: w.talking_point.id)
    title = fields.Function(lambda w: w.talking_point.title)
    status = fields.String(attribute="state", metadata={"description": "draft, in_review, approved, expired, "
                                                                       "withdrawn"})
    start = fields.Date(metadata={"description": "first day shown (clipped to the range)"})
    end = fields.Date(metadata={"description": "last day shown (clipped to the range)"})
    open_start = fields.Boolean(metadata={"description": "it began before the range"})
    open_end = fields.Boolean(metadata={"description": "it goes on after the range, or has no end"})


class CalendarDayOut(Schema):
    date = fields.Date()
    scheduled = fields.Integer(metadata={"description": "shares scheduled or queued to go out that day"})
    talking_point_ids = fields.List(fields.Integer(), metadata={"description": "talking points available that day"})


class CalendarOut(Schema):
    timezone = fields.String()
    windows = fields.List(fields.Nested(CalendarWindowOut))
    days = fields.List(fields.Nested(CalendarDayOut))


@blp.route("/calendar", methods=["GET"])
@roles_required(*EDITORS)
@blp.arguments(CalendarQuery, location="query")
@blp.response(200, CalendarOut)
def calendar_range(query: dict[str, Any]) -> Any:
    """The content calendar from ``from`` to ``to``: each talking point's availability window and, per day, the
    shares waiting to go out (as the calendar page shows them)."""
    name = query.get("tz") or current_user.timezone
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    rng = calendar.calendar(query["from_"], query["to"], zone)
    days = [{"date": d, "scheduled": rng.scheduled.get(d, 0),
             "talking_point_ids": [w.talking_point.id for w in rng.live_on(d)]} for d in rng.days]
    return {"timezone": zone.key, "windows": rng.windows, "days": days}


class PeopleSearchQuery(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100),
                      metadata={"description": "the start of a name or e-mail, or any part of them"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class PickablePersonOut(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    team = fields.Function(lambda u: u.team.name if u.team else None)


class PickableTeamOut(Schema):
    id = fields.Integer()
    name = fields.String()


class PeopleSearchOut(Schema):
    people = fields.List(fields.Nested(PickablePersonOut))
    teams = fields.List(fields.Nested(PickableTeamOut))


@blp.route("/people/search", methods=["GET"])
@roles_required(*EDITORS)
@blp.arguments(PeopleSearchQuery, location="query")
@blp.response(200, PeopleSearchOut)
def search_people(query: dict[str, Any]) -> Any:
    """Active people whose name or e-mail starts with (first) or contains ``q``, and teams whose name does, for
    targeting a talking point (at most ``limit`` of each)."""
    return {"people": people_search.search(query["q"], query["limit"]),
            "teams": people_search.search_teams(query["q"], query["limit"])}

