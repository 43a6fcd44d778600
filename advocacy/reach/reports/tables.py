"""Report tables: the rows per talking point, team, network, person or day, paged, sorted and totalled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.people.models import Team, User
from advocacy.reach import totals
from advocacy.reach.models import RateCard
from advocacy.reach.reports.filters import SORT_FIGURES, Filters, Paging, parse_group
from advocacy.reach.reports.rows import Report, Row, _Sums
from advocacy.reach.reports.source import _cards, _day, _parts, _totals_plan
from advocacy.reach.totals import VALUES


def report(group: str, filters: Filters, paging: Paging | None = None) -> Report:
    """Figures per ``group`` for the shares published in the filters' range, with the organisation's total row.

    The rows are chosen, sorted and counted in SQL over the summed figures (the report totals, or the per-share rows
    when a talking point or person is filtered on); only the requested page's rows are folded into :class:`Row`s.
    The total covers every row, not only the page (and not only the rows the name filter keeps).

    Args:
        group: one of ``GROUPS``.
        filters: range and filters (:func:`parse_filters`).
        paging: page, sort and name filter (:func:`parse_paging`); ``None``: every row in the default order.
    """
    group = parse_group(group)
    cards = _cards()
    currency = next(iter({c.currency for c in cards.values()}), "EUR")
    parts = _parts(group, filters)
    if parts is None:
        return Report(group, filters, [], Row(key=None, label="Organisation"), [], currency, count=0, paging=paging)
    sums = [totals.total(parts.c[v]) for v in VALUES]
    rates: dict[int, tuple[int, int, int] | None] = {}

    total = _total(_total_parts(group, filters, parts), cards, rates)

    keyed, label, order = _keyed(group, parts, cards, paging or Paging(per_page=None))
    stmt = keyed.add_columns(func.count().over().label("rows")).order_by(*order)
    if paging is not None and paging.per_page is not None:
        stmt = stmt.limit(paging.per_page).offset((paging.page - 1) * paging.per_page)
    found = db.session.execute(stmt).all()
    picked = [(r[0], r[1]) for r in found]
    count = found[0][-1] if found else 0
    if not found and paging is not None and paging.page > 1:  # past the last page: how many are there?
        count = db.session.scalar(select(func.count()).select_from(keyed.subquery())) or 0
    summed: dict[Any, _Sums] = {}
    results: dict[Any, int] = {}
    if picked:
        fold = select(parts.c.k, parts.c.card, *sums).group_by(parts.c.k, parts.c.card)
        wanted = {k for k, _ in picked}
        if len(picked) <= 500:
            fold = fold.where(parts.c.k.in_(list(wanted)))
        for r in db.session.execute(fold):
            if r[2] and r[0] in wanted:
                acc = summed.get(r[0]) or summed.setdefault(r[0], _Sums())
                acc.add([int(x or 0) for x in r[2:20]], cards.get(r[1]) if r[1] else None, rates)
                results[r[0]] = results.get(r[0], 0) + int(r[20] or 0)
    rows = []
    for k, lbl in picked:
        key = None if group == "team" and k == totals.NO_TEAM else k
        row = (summed.get(k) or _Sums()).row(key, lbl if group != "day" else _day(k).isoformat())
        row.results = results.get(k, 0)
        if group == "day":
            row.key = _day(k)
        rows.append(row)
    used = [c for c in cards.values() if f"{c.network} v{c.version}" in total.rate_cards]
    return Report(group, filters, rows, total, sorted(used, key=lambda c: (c.network, c.version)), currency,
                  count=count, paging=paging)


def _total_parts(group: str, filters: Filters, parts: Any) -> Any:
    """The rows to sum for the organisation total: the same figures as ``parts`` in a grain with few keys (every
    grain of the report totals sums to the same figures), or ``parts`` itself for the per-share rows."""
    plan = _totals_plan(group, filters)
    if plan is None or plan[0] in ("network", "team"):
        return parts
    grain = "network" if filters.team_id is None else "team"
    return totals.range_parts(grain, "key", filters.date_from, filters.date_to, filters.network, filters.team_id)


def _total(parts: Any, cards: dict[int, RateCard], rates: dict[int, tuple[int, int, int] | None]) -> Row:
    """The organisation's row: the figures of ``parts`` summed per rate card (its EMV, per card)."""
    everything = _Sums()
    results = 0
    if parts is not None:
        for r in db.session.execute(select(parts.c.card, *[totals.total(parts.c[v]) for v in VALUES])
                                    .group_by(parts.c.card)):
            if r[1]:
                everything.add([int(x or 0) for x in r[1:19]], cards.get(r[0]) if r[0] else None, rates)
                results += int(r[19] or 0)
    if not everything.values[0]:
        return Row(key=None, label="Organisation")
    total = everything.row(None, "Organisation")
    total.results = results
    return total


@dataclass(frozen=True)
class Ranked:
    """A report row for a chart: its label, unique clicks and shares."""

    key: Any
    label: str
    unique_clicks: int
    shares: int


def ranking(group: str, filters: Filters, limit: int | None = None) -> list[Ranked]:
    """The rows of a report in its default order (most unique clicks first; by day: oldest first) with only their
    unique clicks and shares, in one statement: the charts' bars.

    Args:
        group: one of ``GROUPS``.
        filters: range and filters.
        limit: the first rows only.
    """
    parts = _parts(parse_group(group), filters, ("shares", "unique_clicks"))
    if parts is None:
        return []
    keyed, _, order = _keyed(group, parts, {}, Paging(per_page=None))
    stmt = keyed.order_by(*order).limit(limit) if limit else keyed.order_by(*order)
    return [Ranked(None if group == "team" and k == totals.NO_TEAM else (_day(k) if group == "day" else k),
                   _day(k).isoformat() if group == "day" else label, int(u or 0), int(n or 0))
            for k, label, u, n in db.session.execute(stmt)]


def _keyed(group: str, parts: Any, cards: dict[int, RateCard], paging: Paging) -> tuple[Any, Any, list[Any]]:
    """(the rows' keys and labels, name-filtered; the label column; the ORDER BY of ``paging``).

    The figures are summed per key first (only those the order needs), then joined to the labels: one join per row
    of the report, not one per row of the totals."""
    sums: dict[str, Any] = {"shares": totals.total(parts.c.shares),
                            "unique_clicks": totals.total(parts.c.unique_clicks)}
    if paging.sort in SORT_FIGURES:
        sums["sort"] = totals.total(parts.c[SORT_FIGURES[paging.sort]])
    elif paging.sort in ("emv_measured", "emv_estimated"):
        sums["sort"] = _emv_order(parts, cards, paging.sort == "emv_measured")
    elif paging.sort is not None and paging.sort != "label":  # a network figure, and how many shares gave it
        sums["sort"] = totals.total(parts.c[paging.sort])
        sums["sort_n"] = totals.total(parts.c[f"{paging.sort}_n"])
    per = (select(parts.c.k.label("k"), *[v.label(name) for name, v in sums.items()]).group_by(parts.c.k)
           .having(sums["shares"] > 0).subquery())
    k = per.c.k
    joins: list[tuple[Any, Any]] = []
    if group == "person":
        label: Any = func.coalesce(User.name, cast(k, String))
        joins.append((User, User.id == k))
    elif group == "talking_point":
        label = func.coalesce(TalkingPoint.title, cast(k, String))
        joins.append((TalkingPoint, TalkingPoint.id == k))
    elif group == "team":
        label = func.coalesce(Team.name, "(no team)")
        joins.append((Team, Team.id == k))
    elif group == "network":
        from advocacy.accounts.networks import LABELS

        label = case(LABELS, value=k, else_=k)
    else:
        label = cast(k, String)
    stmt = select(k, label.label("label"), per.c.unique_clicks, per.c.shares).select_from(per)
    for model, on in joins:
        stmt = stmt.outerjoin(model, on)
    if paging.q:
        stmt = stmt.where(func.lower(label).contains(paging.q.lower(), autoescape=True))
    default = [k] if group == "day" else [per.c.unique_clicks.desc(), per.c.shares.desc(), label, k]
    if paging.sort is None:
        return stmt, label, default
    if paging.sort == "label":
        return stmt, label, [_direction(k if group == "day" else label, paging), *default]
    if "sort_n" in sums:  # shares whose network never gave the figure ("unavailable") go last either way
        return stmt, label, [case((per.c.sort_n == 0, 1), else_=0), _direction(per.c.sort, paging), *default]
    return stmt, label, [_direction(per.c.sort, paging), *default]


def _direction(column: Any, paging: Paging) -> Any:
    return column.desc() if paging.descending else column.asc()


def _emv_order(parts: Any, cards: dict[int, RateCard], measured: bool) -> Any:
    """Earned media value in 1/10,000,000 of the currency unit, exact integers (the rates have four decimals), for
    sorting: the same per-card formula as :func:`emv`, before rounding."""
    whens = []
    for card in cards.values():
        cpm, cpc, per = (int((r * 10_000).to_integral_value()) for r in (card.cpm, card.cpc, card.per_engagement))
        value = (parts.c.impressions * cpm + parts.c.unique_clicks * (cpc * 1000)
                 + parts.c.engagements * (per * 1000)) if measured else parts.c.est_followers * cpm
        whens.append((parts.c.card == card.id, value))
    return func.sum(case(*whens, else_=0)) if whens else literal(0)
