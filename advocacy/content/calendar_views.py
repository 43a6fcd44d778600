"""The content calendar pages (``/studio/calendar``, comms and admins): a month or a week of availability windows
and scheduled shares, and one day's drill-down. Routes of the studio blueprint; JSON at ``GET /api/calendar``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, render_template, request
from flask_login import current_user

from advocacy.auth import roles_required
from advocacy.content import calendar
from advocacy.content.views import EDITORS, LABELS, _zone, bp

VIEWS = ("month", "week")


def _bounds(view: str, anchor: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """First and last day shown (whole weeks, Monday first), and the anchors of the previous and next page."""
    if view == "week":
        first = anchor - dt.timedelta(days=anchor.weekday())
        return first, first + dt.timedelta(days=6), anchor - dt.timedelta(days=7), anchor + dt.timedelta(days=7)
    month = anchor.replace(day=1)
    following = (month + dt.timedelta(days=32)).replace(day=1)
    first = month - dt.timedelta(days=month.weekday())
    last_of_month = following - dt.timedelta(days=1)
    last = last_of_month + dt.timedelta(days=6 - last_of_month.weekday())
    previous = (month - dt.timedelta(days=1)).replace(day=1)
    return first, last, previous, following


def _anchor(value: str, today: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else today
    except ValueError:
        abort(422, description="date: not a date such as 2026-12-01")
        raise AssertionError from None  # abort raises


@bp.get("/calendar")
@roles_required(*EDITORS)
def calendar_page() -> Any:
    """A month (default) or a week: each talking point's availability window as a bar across its days, coloured by
    status, and per day the number of shares waiting to go out, each day linking to its drill-down."""
    zone = _zone()
    today = dt.datetime.now(zone).date()
    view = request.args.get("view", "month")
    if view not in VIEWS:
        view = "month"
    anchor = _anchor(request.args.get("date", ""), today)
    first, last, previous, following = _bounds(view, anchor)
    rng = calendar.calendar(first, last, zone)
    weeks = [rng.days[i:i + 7] for i in range(0, len(rng.days), 7)]
    rows = []
    for week in weeks:
        bars = [w for w in rng.windows if w.start <= week[-1] and w.end >= week[0]]
        rows.append({"days": week, "bars": [
            {"w": w, "col": (max(w.start, week[0]) - week[0]).days + 1,
             "span": (min(w.end, week[-1]) - max(w.start, week[0])).days + 1,
             "cont_before": w.start < week[0] or (w.open_start and w.start == week[0]),
             "cont_after": w.end > week[-1] or (w.open_end and w.end == week[-1])} for w in bars]})
    title = anchor.strftime("%B %Y") if view == "month" else (
        f"Week of {first.strftime('%-d %b')} – {last.strftime('%-d %b %Y')}")
    per_point = calendar.scheduled_by_point(first, last, zone) if view == "week" else {}
    return render_template("content/calendar.html", view=view, per_point=per_point, anchor=anchor, today=today,
                           rows=rows, rng=rng, first=first, last=last, previous=previous, following=following,
                           title=title, month=anchor.month, statuses=calendar.STATUS_ORDER)


@bp.get("/calendar/<day>")
@roles_required(*EDITORS)
def calendar_day(day: str) -> Any:
    """One day: the talking points available, and the shares waiting to go out grouped by talking point and
    network, then one by one (the first 100)."""
    zone = _zone()
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        abort(404)
    detail = calendar.day_detail(date, zone)
    return render_template("content/calendar_day.html", d=detail, labels=LABELS, zone=zone,
                           tz=current_user.timezone, view=request.args.get("view", "month"),
                           timedelta=dt.timedelta)
