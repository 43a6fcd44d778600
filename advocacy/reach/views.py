"""The tracked-link redirect, the reach reports, rate cards, the impact page, leaderboard and CSV exports."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from advocacy.auth import public, roles_required
from advocacy.delivery.models import Share, ShareStatus
from advocacy.errors import DomainError, NotAllowed, NotFound
from advocacy.extensions import db
from advocacy.people.models import Role
from advocacy.reach import links, reports, services, spend
from advocacy.reach.models import ResultKind, ShareStats
from advocacy.security import csv_cell

bp = Blueprint("reach", __name__)
READERS = (Role.ANALYST, Role.COMMS, Role.ADMIN)
EDITORS = (Role.COMMS, Role.ADMIN)


@bp.route("/r/<path:code>", methods=["GET", "HEAD"])
@public
def follow(code: str) -> Any:
    """Redirect a tracked link to its talking point's link and record the click (HEAD requests are not clicks).

    Anything that is not one of our codes gets a plain 404 page: this never redirects to a URL from the request.
    """
    target = links.follow(code, request.remote_addr or "", request.headers.get("User-Agent", ""),
                          count=request.method == "GET")
    if target is None:
        return render_template("reach/unknown_link.html"), 404, {"Cache-Control": "no-store"}
    response = redirect(target, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# ------------------------------------------------------------------------------------------------------ reports
def _filters() -> reports.Filters:
    return reports.parse_filters(request.args)


def _options() -> dict[str, Any]:
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import Team, User

    networks = reports.networks()
    conn = db.session.connection()  # plain rows: the ORM's row processing cost more than the query (2,000 people)
    return {
        "teams": db.session.execute(select(Team.id, Team.name).order_by(Team.name)).all(),
        "talking_points": _choices(conn.execute(select(TalkingPoint.id, TalkingPoint.title)
                                                .order_by(TalkingPoint.id.desc()).limit(500)),
                                   request.args.get("talking_point")),
        "people": _choices(conn.execute(select(User.id, User.name).order_by(User.name).limit(2000)),
                           request.args.get("person")),
        "networks": networks,
    }


def _choices(pairs: Iterable[Any], selected: str | None) -> Markup:
    """``<option>`` elements for (id, text) pairs, built in Python: 2,000 people through a Jinja loop took a
    fifth of the dashboard's time (the ids are integers: only the text needs escaping)."""
    chosen = (selected or "").strip()
    picked = int(chosen) if chosen.isdigit() and len(chosen) <= 12 else None
    return Markup("".join(f'<option value="{int(value)}"{" selected" if value == picked else ""}>'
                          f'{html.escape(text or "", quote=False)}</option>' for value, text in pairs))


@bp.get("/reach")
@roles_required(*READERS)
def report() -> Any:
    """Reach by talking point, team, network, person or day, with filters, a chart, EMV and amplification.

    The table shows a page of rows (``page``, ``per_page``), sorted by any of its columns (``sort``, ``order``) and
    filtered by name (``q``); the organisation total and the charts cover every row.
    """
    args = request.args
    try:
        group = reports.parse_group(args.get("group"))
        filters = _filters()
        paging = reports.parse_paging(args)
    except DomainError as exc:
        return render_template("reach/index.html", error=exc, args=args, options=_options()), 422
    rep = reports.report(group, filters, paging)
    top = _ranking(rep, "talking_point", filters, limit=5)
    points = reports.over_time(filters)
    def report_url(endpoint: str = "reach.report", **changes: Any) -> str:
        """This report's address with the same filters and paging, but for ``changes`` (page, sort, …)."""
        values: dict[str, Any] = {"group": group, **filters.query(), **paging.query(**changes)}
        return url_for(endpoint, **values)

    return render_template("reach/index.html", error=None, args=args, rep=rep, top=top, paging=paging,
                           report_url=report_url, sort_labels=SORT_LABELS,
                           per_page_choices=(25, 50, 100, reports.MAX_PER_PAGE),
                           points=points, amplification=reports.amplification(filters),
                           spend=spend.summary(filters), pending=_pending(group, filters),
                           query=filters.query(), options=_options(), **_charts(group, rep, filters, points))


_GROUP_COLUMNS = {"talking_point": ShareStats.talking_point_id, "team": ShareStats.team_id,
                  "network": ShareStats.network, "person": ShareStats.user_id, "day": ShareStats.day}


@dataclass(frozen=True)
class Pending:
    """Shares whose network figures have not been fetched yet (the metrics schedule has not reached its first step),
    with when the first of them is due: a figure these shares lack is *pending*, not *unavailable* and not 0."""

    shares: int
    due: dt.datetime | None


def _pending(group: str, filters: reports.Filters) -> dict[str, Any]:
    column = _GROUP_COLUMNS[group]
    # the waiting shares found through the index on metrics_due_at (the shares still on their schedule), then
    # looked up by key: filtered as one statement, SQLite walks the day index over the whole range instead
    unfetched = aliased(ShareStats)
    scheduled = unfetched.metrics_due_at >= dt.datetime.min.replace(tzinfo=dt.UTC)  # IS NOT NULL, as a range
    waiting = [ShareStats.metrics_at.is_(None), ShareStats.metrics_due_at.is_not(None), *reports._where(filters),
               ShareStats.share_id.in_(select(unfetched.share_id).where(scheduled, unfetched.metrics_at.is_(None)))]
    rows = db.session.execute(select(column, func.count(), func.min(ShareStats.metrics_due_at))
                              .where(*waiting).group_by(column)).all()
    by_key = {str(key): Pending(int(n), due) for key, n, due in rows}
    total = Pending(sum(p.shares for p in by_key.values()),
                    min((p.due for p in by_key.values() if p.due is not None), default=None))
    return {"rows": by_key, "total": total}


SORT_LABELS = {"label": "name", "shares": "Shares", "clicks": "Clicks", "unique_clicks": "Unique clicks",
               "bot_hits": "Link-preview bots", "likes": "Likes", "reposts": "Reposts", "replies": "Replies",
               "quotes": "Quotes", "impressions": "Impressions", "results": "Results",
               "potential_reach": "Potential reach (estimated)", "emv_measured": "EMV measured",
               "emv_estimated": "EMV estimated"}


def _charts(group: str, rep: reports.Report, filters: reports.Filters, points: list[Any]) -> dict[str, Any]:
    """The dashboard's charts, over the same report services as the table (by team, by network, over time)."""
    by = {g: _ranking(rep, g, filters) for g in ("team", "network")}
    reach = reports.potential_reach_by_day(filters)
    series = [(name, color, values, _polyline(values)) for name, color, values in (
        ("Unique clicks", "#0a58ca", [p.unique_clicks for p in points]),
        ("Engagement gained", "#116329", [p.engagement or 0 for p in points]),
        ("Potential reach of that day's shares (estimated)", "#8250df", [reach.get(p.day, 0) for p in points]))]
    return {"by_team": by["team"], "by_network": by["network"], "series": series,
            "leaders": reports.standings(filters, limit=10)}


def _ranking(rep: reports.Report, group: str, filters: reports.Filters,
             limit: int | None = None) -> list[reports.Ranked]:
    """:func:`reports.ranking`, from the table when it already holds those rows in that order (the same grouping,
    the default order, no name filter, its first page holding them all): one statement fewer."""
    p = rep.paging
    if (rep.group == group and p is not None and p.sort is None and not p.q and p.page == 1
            and (p.per_page is None or min(rep.count, limit or rep.count) <= p.per_page)):
        return [reports.Ranked(r.key, r.label, r.unique_clicks, r.shares) for r in rep.rows[:limit]]
    return reports.ranking(group, filters, limit)


def _polyline(values: list[int]) -> str:
    """SVG polyline points for a day series on the 600 × 170 chart, scaled to the series' own peak."""
    peak = max([1, *values])
    step = 600 / max(len(values) - 1, 1)
    return "".join(f"{round(i * step, 1)},{round(170 - v * 160 / peak, 1)} " for i, v in enumerate(values))


def _csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(["unavailable" if v is None else csv_cell(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_response(stream: Iterator[str], filename: str, total: int | None = None) -> Response:
    response = Response(stream_with_context(stream), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    if total is not None:
        response.headers["X-Total-Rows"] = str(total)  # lets a client show progress while the rows stream
    return response


REPORT_COLUMNS = ["group", "key", "label", "shares", "potential_reach_estimated", "clicks", "unique_clicks",
                  "bot_hits", "likes", "reposts", "replies", "quotes", "impressions", "engagements", "results",
                  "emv_measured", "emv_estimated", "rate_cards"]


def report_csv_rows(rep: reports.Report) -> Iterator[list[Any]]:
    for row in [*rep.rows, rep.total]:
        yield [rep.group, "" if row.key is None else row.key, row.label, row.shares, row.potential_reach,
               row.clicks, row.unique_clicks, row.bot_hits,
               *[(getattr(row, f).value if getattr(row, f) else None)
                 for f in ("likes", "reposts", "replies", "quotes", "impressions", "engagements")],
               row.results, row.emv_measured, row.emv_estimated, " ".join(row.rate_cards)]


@bp.get("/reach/export.csv")
@roles_required(*READERS)
def export_report() -> Any:
    """The report on the page, as CSV: every row of every page in the page's order (``sort``, ``order``), those the
    name filter ``q`` keeps, the same figures, the organisation total last."""
    try:
        group = reports.parse_group(request.args.get("group"))
        filters = _filters()
        paging = reports.parse_paging(request.args)
    except DomainError as exc:
        return Response(f"{exc.field}: {exc.message}\n", status=422, mimetype="text/plain")
    rep = reports.report(group, filters, replace(paging, page=1, per_page=None))
    return _csv_response(_csv_stream(REPORT_COLUMNS, report_csv_rows(rep)), f"reach-by-{group}.csv",
                         len(rep.rows) + 1)


@bp.get("/reach/shares.csv")
@roles_required(*READERS)
def export_shares() -> Any:
    """Every share in the range with its figures, streamed row by row (large exports start at once)."""
    try:
        filters = _filters()
    except DomainError as exc:
        return Response(f"{exc.field}: {exc.message}\n", status=422, mimetype="text/plain")
    total = db.session.scalar(select(func.count()).select_from(ShareStats).where(*reports._where(filters)))
    rows = reports.share_rows(filters)
    first = next(rows, None)
    header = list(first) if first else ["share_id"]

    def values() -> Iterator[list[Any]]:
        if first is not None:
            yield list(first.values())
            for r in rows:
                yield list(r.values())

    return _csv_response(_csv_stream(header, values()), "reach-shares.csv", total)


# --------------------------------------------------------------------------------------------------- per share
@bp.get("/reach/shares/<int:share_id>")
@roles_required()
def share_detail(share_id: int) -> Any:
    """One share's figures: clicks per day, every metrics snapshot, results, and its EMV with the rate card."""
    try:
        detail = services.share_detail(share_id, current_user)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    return render_template("reach/share.html", d=detail, formula=reports.FORMULA_MEASURED,
                           formula_estimated=reports.FORMULA_ESTIMATED)


# -------------------------------------------------------------------------------------------------- rate cards
@bp.get("/reach/rate-cards")
@roles_required(*READERS)
def rate_cards() -> Any:
    """Rate cards per network, every version with the date it took effect."""
    return render_template("reach/rate_cards.html", cards=services.rate_cards(), form={}, errors={})


@bp.post("/reach/rate-cards")
@roles_required(*EDITORS)
def add_rate_card() -> Any:
    """Add a new rate card version; on bad input show the form again with what was typed."""
    form = {k: request.form.get(k, "") for k in ("network", "effective_from", "cpm", "cpc", "per_engagement",
                                                  "currency", "note")}
    try:
        card = services.add_rate_card(current_user, form)
    except DomainError as exc:
        return render_template("reach/rate_cards.html", cards=services.rate_cards(), form=form,
                               errors={exc.field: exc.message}), 422
    flash(f"Rate card {card.network} v{card.version} takes effect on {card.effective_from.isoformat()}.", "success")
    return redirect(url_for("reach.rate_cards"))


# ------------------------------------------------------------------------------------------- impact, leaderboard
def _impact(form: dict[str, str] | None = None, errors: dict[str | None, str] | None = None) -> str:
    filters = reports.parse_filters({"from": "", "to": ""} | {k: v for k, v in request.args.items()
                                                              if k in ("from", "to")})
    own = reports.Filters(filters.date_from, filters.date_to, user_id=current_user.id)
    mine = reports.standings(own, include_opted_out=True, limit=1)
    shares = db.session.scalars(select(Share).where(Share.user_id == current_user.id,
                                                    Share.status == ShareStatus.PUBLISHED)
                                .order_by(Share.published_at.desc()).limit(100)).all()
    stats = {s.share_id: s for s in db.session.scalars(
        select(ShareStats).where(ShareStats.share_id.in_([s.id for s in shares])))}
    return render_template("reach/me.html", me=mine[0] if mine else None, report=reports.report("network", own),
                           shares=shares, stats=stats, results=services.results_of(current_user),
                           kinds=ResultKind.ALL, opted_out=services.leaderboard_opted_out(current_user),
                           form=form or {}, errors=errors or {}, filters=filters)


@bp.get("/reach/me")
@roles_required()
def impact() -> Any:
    """The signed-in person's own impact: shares, clicks, engagement, points and recorded results."""
    try:
        return _impact()
    except DomainError as exc:
        flash(f"{exc.field}: {exc.message}", "error")
        return redirect(url_for("reach.impact"))


@bp.post("/reach/me/results")
@roles_required()
def record_result() -> Any:
    """Record a tangible outcome of one of the person's shares."""
    form = {k: request.form.get(k, "") for k in ("share_id", "kind", "occurred_on", "note")}
    try:
        services.record_result(current_user, form)
    except DomainError as exc:
        return _impact(form, {exc.field: exc.message}), 422
    flash("Result recorded: it shows in the reach reports.", "success")
    return redirect(url_for("reach.impact"))


@bp.post("/reach/me/leaderboard")
@roles_required()
def leaderboard_preference() -> Any:
    """Show or hide the person on the leaderboard."""
    opt_out = request.form.get("opt_out") == "1"
    services.set_leaderboard_opt_out(current_user, opt_out)
    flash("You are hidden from the leaderboard." if opt_out else "You are on the leaderboard.", "success")
    return redirect(url_for("reach.impact"))


@bp.get("/reach/leaderboard")
@roles_required()
def leaderboard() -> Any:
    """People ranked by points in the range (those who opted out are not shown)."""
    try:
        filters = reports.parse_filters({k: v for k, v in request.args.items() if k in ("from", "to")})
    except DomainError as exc:
        flash(f"{exc.field}: {exc.message}", "error")
        return render_template("reach/leaderboard.html", standings=[], filters=None), 422
    return render_template("reach/leaderboard.html", standings=reports.standings(filters), filters=filters)
