"""Reach figures over JSON: reports, per-share detail, rate cards, results, leaderboard and preferences."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from advocacy.auth import roles_required
from advocacy.people.models import Role
from advocacy.reach import reports, services

blp = Blueprint("api_reach", __name__, url_prefix="/api/reach", description="Reach reports")
READERS = (Role.ANALYST, Role.COMMS, Role.ADMIN)


class FigureOut(Schema):
    value = fields.Integer(allow_none=True, metadata={"description": "null: no share's network provides it"})
    reported_by = fields.Integer(metadata={"description": "shares whose network reported this figure"})
    shares = fields.Integer()


class RowOut(Schema):
    key = fields.Raw(allow_none=True)
    label = fields.String()
    shares = fields.Integer()
    potential_reach = fields.Integer(metadata={"description": "estimated: followers at share time"})
    clicks = fields.Integer(metadata={"description": "measured: hits by people (link-preview bots excluded)"})
    unique_clicks = fields.Integer(metadata={"description": "measured: distinct visitors per share per day"})
    bot_hits = fields.Integer()
    likes = fields.Nested(FigureOut, allow_none=True)
    reposts = fields.Nested(FigureOut, allow_none=True)
    replies = fields.Nested(FigureOut, allow_none=True)
    quotes = fields.Nested(FigureOut, allow_none=True)
    impressions = fields.Nested(FigureOut, allow_none=True)
    engagements = fields.Nested(FigureOut, allow_none=True)
    results = fields.Integer()
    emv_measured = fields.Float(metadata={"description": "a number, in the rate cards' currency"})
    emv_estimated = fields.Float(metadata={"description": "a number, in the rate cards' currency"})
    rate_cards = fields.List(fields.String())
    without_rate_card = fields.Integer()


class RateCardOut(Schema):
    id = fields.Integer()
    network = fields.String()
    version = fields.Integer()
    effective_from = fields.Date()
    cpm = fields.Float()
    cpc = fields.Float()
    per_engagement = fields.Float()
    currency = fields.String()
    note = fields.String()


class ReportOut(Schema):
    group = fields.String()
    date_from = fields.Date(attribute="filters.date_from")
    date_to = fields.Date(attribute="filters.date_to")
    rows = fields.List(fields.Nested(RowOut))
    total = fields.Nested(RowOut)
    cards = fields.List(fields.Nested(RateCardOut))
    currency = fields.String()
    formula_measured = fields.String()
    formula_estimated = fields.String()
    page = fields.Integer(attribute="paging.page")
    per_page = fields.Integer(attribute="paging.per_page")
    pages = fields.Integer()
    count = fields.Integer(metadata={"description": "rows over every page (those the name filter keeps)"})


class ReportArgs(Schema):
    group = fields.String(metadata={"description": "talking_point (default), team, network, person or day"})
    from_ = fields.String(data_key="from", metadata={"description": "first publication day, ISO date"})
    to = fields.String(metadata={"description": "last publication day, ISO date (default today)"})
    network = fields.String()
    team = fields.String()
    talking_point = fields.String()
    person = fields.String()
    page = fields.String(metadata={"description": "page of rows, from 1"})
    per_page = fields.String(metadata={"description": f"rows per page, 1 to {reports.MAX_PER_PAGE} "
                                                      f"(default {reports.PER_PAGE})"})
    sort = fields.String(metadata={"description": f"sort column: {', '.join(reports.SORTS)}"})
    order = fields.String(metadata={"description": "asc or desc (default: names ascending, figures descending)"})
    q = fields.String(metadata={"description": "only rows whose name contains this"})


@blp.route("/report", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut)
def report(_args: dict[str, Any]) -> Any:
    """Figures per talking point, team, network, person or day for shares published in the range, a page of rows
    at a time (``page``, ``per_page``, ``sort``, ``order``, ``q``); ``total`` covers every row."""
    return reports.report(reports.parse_group(request.args.get("group")), reports.parse_filters(request.args),
                          reports.parse_paging(request.args))


@blp.route("/talking-points", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, RowOut(many=True))
def by_talking_point() -> Any:
    """Shares, clicks and potential reach per talking point over the last year."""
    return services.by_talking_point().rows


class RateCardIn(Schema):
    network = fields.String(required=True)
    effective_from = fields.String(required=True)
    cpm = fields.String(required=True)
    cpc = fields.String(required=True)
    per_engagement = fields.String(required=True)
    currency = fields.String(load_default="EUR")
    note = fields.String(load_default="")


@blp.route("/rate-cards", methods=["GET"])
@roles_required(*READERS)
@blp.response(200, RateCardOut(many=True))
def rate_cards() -> Any:
    """Every rate card version of every network."""
    return services.rate_cards()


@blp.route("/rate-cards", methods=["POST"])
@roles_required(Role.COMMS, Role.ADMIN)
@blp.arguments(RateCardIn)
@blp.response(201, RateCardOut)
def add_rate_card(values: dict[str, Any]) -> Any:
    """Add a new version of a network's rate card, effective from a date."""
    return services.add_rate_card(current_user, values)


class ResultIn(Schema):
    share_id = fields.Raw(required=True)
    kind = fields.String(required=True, metadata={"description": "lead, hire, press or other"})
    occurred_on = fields.String(load_default="")
    note = fields.String(load_default="")


class ResultOut(Schema):
    id = fields.Integer()
    share_id = fields.Integer()
    kind = fields.String()
    note = fields.String()
    occurred_on = fields.Date()


@blp.route("/results", methods=["POST"])
@roles_required()
@blp.arguments(ResultIn)
@blp.response(201, ResultOut)
def record_result(values: dict[str, Any]) -> Any:
    """Record a tangible outcome (lead, hire, press contact) of one of your shares."""
    return services.record_result(current_user, values)


class StandingOut(Schema):
    user_id = fields.Integer()
    name = fields.String()
    shares = fields.Integer()
    unique_clicks = fields.Integer()
    engagements = fields.Integer()
    points = fields.Integer()


class RangeArgs(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()


@blp.route("/leaderboard", methods=["GET"])
@roles_required()
@blp.arguments(RangeArgs, location="query")
@blp.response(200, StandingOut(many=True))
def leaderboard(_args: dict[str, Any]) -> Any:
    """People ranked by points (those who opted out are left out)."""
    return reports.standings(reports.parse_filters({k: v for k, v in request.args.items() if k in ("from", "to")}))


class PreferenceIn(Schema):
    leaderboard_opt_out = fields.Boolean(required=True)


@blp.route("/me/preferences", methods=["PUT"])
@roles_required()
@blp.arguments(PreferenceIn)
@blp.response(200, PreferenceIn)
def preferences(values: dict[str, Any]) -> Any:
    """Show or hide yourself on the leaderboard."""
    services.set_leaderboard_opt_out(current_user, values["leaderboard_opt_out"])
    return {"leaderboard_opt_out": services.leaderboard_opted_out(current_user)}


class SnapshotOut(Schema):
    fetched_at = fields.DateTime()
    step = fields.Integer()
    likes = fields.Integer(allow_none=True)
    reposts = fields.Integer(allow_none=True)
    replies = fields.Integer(allow_none=True)
    quotes = fields.Integer(allow_none=True)
    impressions = fields.Integer(allow_none=True)
    found = fields.Boolean()


class ShareDetailOut(Schema):
    share_id = fields.Integer(attribute="share.id")
    network = fields.String(attribute="share.network")
    potential_reach = fields.Integer(attribute="stats.followers", allow_none=True)
    clicks = fields.Integer(attribute="stats.hits", allow_none=True)
    unique_clicks = fields.Integer(attribute="stats.unique_clicks", allow_none=True)
    bot_hits = fields.Integer(attribute="stats.bot_hits", allow_none=True)
    likes = fields.Integer(attribute="stats.likes", allow_none=True)
    reposts = fields.Integer(attribute="stats.reposts", allow_none=True)
    replies = fields.Integer(attribute="stats.replies", allow_none=True)
    quotes = fields.Integer(attribute="stats.quotes", allow_none=True)
    impressions = fields.Integer(attribute="stats.impressions", allow_none=True)
    snapshots = fields.List(fields.Nested(SnapshotOut))
    rate_card = fields.Nested(RateCardOut, attribute="card", allow_none=True)
    emv_measured = fields.Float(allow_none=True, metadata={"description": "a number, in the rate card's currency"})
    emv_estimated = fields.Float(allow_none=True, metadata={"description": "a number, in the rate card's currency"})


@blp.route("/shares/<int:share_id>", methods=["GET"])
@roles_required()
@blp.response(200, ShareDetailOut)
def share_detail(share_id: int) -> Any:
    """One share's figures (null: the network does not provide it), snapshots and EMV."""
    return services.share_detail(share_id, current_user)
