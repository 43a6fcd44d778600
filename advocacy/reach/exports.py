"""CSV exports of the reports that had none: the leaderboard, the results log, the rate cards and my impact.

Each is a JSON API operation (documented in the OpenAPI document, reached with a token of the page's role) that the
page's "CSV" button links to. Rows come from the same report functions as the pages, are streamed, and every cell
goes through :func:`advocacy.security.csv_cell` (the one CSV helper: a cell a spreadsheet would run as a formula is
neutralised). Bad dates are a 422 naming ``from`` or ``to`` before anything streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import select

from advocacy.auth import roles_required
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import Role, User
from advocacy.reach import reports, services
from advocacy.reach.models import Result
from advocacy.reach.views import _csv_response, _csv_stream

blp = Blueprint("api_reach_exports", __name__, url_prefix="/api/reach", description="Reach reports as CSV")
READERS = (Role.ANALYST, Role.COMMS, Role.ADMIN)
CSV = {"200": {"description": "CSV, streamed (formula-like cells neutralised)",
               "content": {"text/csv": {"schema": {"type": "string"}}}}}


class RangeArgs(Schema):
    from_ = fields.String(data_key="from", metadata={"description": "first day, ISO date (default 30 days back)"})
    to = fields.String(metadata={"description": "last day, ISO date (default today)"})


def _filters(**extra: Any) -> reports.Filters:
    from dataclasses import replace

    filters = reports.parse_filters({k: v for k, v in request.args.items() if k in ("from", "to")})
    return replace(filters, **extra) if extra else filters


LEADERBOARD_COLUMNS = ["rank", "user_id", "name", "shares", "unique_clicks", "engagements", "points"]


@blp.route("/leaderboard.csv", methods=["GET"])
@roles_required()
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses=CSV)
def leaderboard_csv(_args: dict[str, Any]) -> Any:
    """The leaderboard page as CSV: people ranked by points in the range (those who opted out left out)."""
    standings = reports.standings(_filters())
    rows = ([i, s.user_id, s.name, s.shares, s.unique_clicks, s.engagements, s.points]
            for i, s in enumerate(standings, 1))
    return _csv_response(_csv_stream(LEADERBOARD_COLUMNS, rows), "leaderboard.csv", len(standings))


RESULT_COLUMNS = ["result_id", "occurred_on", "kind", "note", "share_id", "network", "talking_point_id",
                  "user_id", "person", "recorded_at"]


def _result_rows(filters: reports.Filters, user_id: int | None) -> Iterator[list[Any]]:
    """Recorded results whose day is in the range, oldest first, a page per query (a long log streams)."""
    after = 0
    while True:
        stmt = (select(Result, Share.network, Share.talking_point_id, User.name)
                .join(Share, Share.id == Result.share_id).join(User, User.id == Result.user_id)
                .where(Result.occurred_on >= filters.date_from, Result.occurred_on <= filters.date_to,
                       Result.id > after).order_by(Result.id).limit(1000))
        if user_id is not None:
            stmt = stmt.where(Result.user_id == user_id)
        page = db.session.execute(stmt).all()
        for r, network, tp_id, person in page:
            yield [r.id, r.occurred_on.isoformat(), r.kind, r.note, r.share_id, network, tp_id, r.user_id, person,
                   r.created_at.isoformat()]
        if len(page) < 1000:
            return
        after = page[-1][0].id


@blp.route("/results.csv", methods=["GET"])
@roles_required(*READERS)
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses=CSV)
def results_csv(_args: dict[str, Any]) -> Any:
    """The results log: every tangible outcome (lead, hire, press contact) recorded in the range, with its share,
    network, talking point and person."""
    return _csv_response(_csv_stream(RESULT_COLUMNS, _result_rows(_filters(), None)), "results.csv")


RATE_CARD_COLUMNS = ["network", "version", "effective_from", "cpm", "cpc", "per_engagement", "currency", "note",
                     "created_at"]


@blp.route("/rate-cards.csv", methods=["GET"])
@roles_required(*READERS)
@blp.doc(responses=CSV)
def rate_cards_csv() -> Any:
    """The rate cards page as CSV: every version per network with the date it took effect."""
    cards = services.rate_cards()
    rows = ([c.network, c.version, c.effective_from.isoformat(), c.cpm, c.cpc, c.per_engagement, c.currency,
             c.note, c.created_at.isoformat()] for c in cards)
    return _csv_response(_csv_stream(RATE_CARD_COLUMNS, rows), "rate-cards.csv", len(cards))


@blp.route("/me/impact.csv", methods=["GET"])
@roles_required()
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses=CSV)
def impact_csv(_args: dict[str, Any]) -> Any:
    """My impact page as CSV: each of my shares in the range with its figures, as the reach reports count them."""
    rows = reports.share_rows(_filters(user_id=current_user.id))
    first = next(rows, None)
    header = list(first) if first else ["share_id"]

    def values() -> Iterator[list[Any]]:
        if first is not None:
            yield list(first.values())
            yield from (list(r.values()) for r in rows)

    return _csv_response(_csv_stream(header, values()), "my-impact.csv")


@blp.route("/me/results.csv", methods=["GET"])
@roles_required()
@blp.arguments(RangeArgs, location="query")
@blp.doc(responses=CSV)
def my_results_csv(_args: dict[str, Any]) -> Any:
    """The results I recorded in the range (my impact page's list), as CSV."""
    return _csv_response(_csv_stream(RESULT_COLUMNS, _result_rows(_filters(), current_user.id)), "my-results.csv")
