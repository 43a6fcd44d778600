"""Reports marketing can defend: figures by talking point, team, network, person or day, with EMV.

Every report reads ``share_stats`` (one row per published share, lifetime figures) for the shares published in the
date range, so the organisation total, the sum of the teams and the sum of the people are the same numbers. Each
figure says where it comes from:

* measured: unique clicks on our tracked links, and what the network reported (likes, reposts, replies, quotes,
  impressions). A figure no share in a row reported is ``None`` ("unavailable"), never 0.
* estimated: potential reach, the followers at share time.

The figures come from the report totals (:mod:`advocacy.reach.totals`: sums per day, cumulative per month, kept by
the jobs that change the per-share rows) unless a talking point or a person is filtered on, which selects few
shares: those read ``share_stats`` directly. Both give the same numbers (``ADVOCACY_REACH_PREAGGREGATED=false``
reads the per-share rows everywhere).

Earned media value uses the rate card in effect on the day each share was published::

    measured  = impressions / 1000 × CPM + unique clicks × CPC + engagements × value per engagement
    estimated = followers at share time / 1000 × CPM        (only for shares whose network gave no impressions)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import String, case, cast, func, literal, or_, select, tuple_

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.content.models import TalkingPoint
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import Team, User
from advocacy.reach import totals
from advocacy.reach.models import ClickDaily, MetricSnapshot, RateCard, ReachPreference, Result, ShareStats
from advocacy.reach.totals import VALUES

GROUPS = ("talking_point", "team", "network", "person", "day")
FORMULA_MEASURED = "impressions / 1000 × CPM + unique clicks × CPC + engagements × value per engagement"
FORMULA_ESTIMATED = "followers at share time / 1000 × CPM (shares whose network gives no impressions)"
ENGAGEMENT_COLS = (ShareStats.likes, ShareStats.reposts, ShareStats.replies, ShareStats.quotes)
CENT = Decimal("0.01")
PER_PAGE = 50  # report rows on a page
MAX_PER_PAGE = 200
MAX_NAME_FILTER = 100
# sortable columns of a report table: the row label, the summed figures (column of the totals), the network figures
# (unavailable last) and earned media value
SORT_FIGURES = {"shares": "shares", "clicks": "hits", "unique_clicks": "unique_clicks", "bot_hits": "bot_hits",
                "potential_reach": "followers", "results": "results"}
SORTS = ("label", *SORT_FIGURES, "likes", "reposts", "replies", "quotes", "impressions", "emv_measured",
         "emv_estimated")


# ----------------------------------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class Filters:
    date_from: dt.date
    date_to: dt.date
    network: str | None = None
    team_id: int | None = None
    talking_point_id: int | None = None
    user_id: int | None = None

    def query(self) -> dict[str, str]:
        """The filters as query-string arguments (for links and the CSV export)."""
        q = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        for key, value in (("network", self.network), ("team", self.team_id),
                           ("talking_point", self.talking_point_id), ("person", self.user_id)):
            if value is not None:
                q[key] = str(value)
        return q


def _date(args: Mapping[str, Any], name: str, default: dt.date) -> dt.date:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return default
    if len(raw) > 10:
        raise DomainError("must be a date such as 2026-01-31", name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise DomainError("must be a date such as 2026-01-31", name) from None


def _id(args: Mapping[str, Any], name: str) -> int | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise DomainError("must be a number", name)
    return int(raw)


def parse_filters(args: Mapping[str, Any], today: dt.date | None = None) -> Filters:
    """Filters from query arguments; bad, reversed or absurd ranges raise ``DomainError`` naming the field.

    Args:
        args: ``from``, ``to`` (ISO dates, default the last 30 days), ``network``, ``team``, ``talking_point``,
            ``person``.
        today: the current UTC day (tests).
    """
    today = today or dt.datetime.now(dt.UTC).date()
    date_to = _date(args, "to", today)
    date_from = _date(args, "from", date_to - dt.timedelta(days=29))
    if date_from > date_to:
        raise DomainError("must be on or before the end date", "from")
    if date_from.year < 2000:
        raise DomainError("must be in the year 2000 or later", "from")
    if date_to > today + dt.timedelta(days=366):
        raise DomainError("must not be more than a year in the future", "to")
    longest = current_app.config["REACH_MAX_RANGE_DAYS"]
    if (date_to - date_from).days + 1 > longest:
        raise DomainError(f"the range must be at most {longest} days", "from")
    network = str(args.get("network") or "").strip() or None
    if network is not None and (len(network) > 32 or not network.replace("_", "").isalnum()):
        raise DomainError("must be a network name such as x", "network")
    return Filters(date_from, date_to, network, _id(args, "team"), _id(args, "talking_point"), _id(args, "person"))


@dataclass(frozen=True)
class Paging:
    """Which rows of a report: a page of ``per_page`` rows (``None``: every row) in ``sort`` order (``None``: the
    group's default, most unique clicks first; by day: oldest first), of the rows whose label contains ``q``."""

    page: int = 1
    per_page: int | None = PER_PAGE
    sort: str | None = None
    descending: bool = True
    q: str = ""

    def query(self, **changes: Any) -> dict[str, str]:
        """The paging as query-string arguments (with ``changes``), for page and sort links."""
        values = {"page": self.page, "per_page": self.per_page, "sort": self.sort,
                  "order": None if self.sort is None else ("desc" if self.descending else "asc"),
                  "q": self.q or None} | changes
        return {k: str(v) for k, v in values.items()
                if v is not None and not (k == "page" and v == 1) and not (k == "per_page" and v == PER_PAGE)}


def _whole(args: Mapping[str, Any], name: str, default: int, highest: int) -> int:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= highest:
        raise DomainError(f"must be a whole number from 1 to {highest}", name)
    return int(raw)


def parse_paging(args: Mapping[str, Any]) -> Paging:
    """Page, rows per page, sort column and order, and name filter from query arguments; bad ones raise
    ``DomainError`` naming the field.

    Args:
        args: ``page`` (from 1), ``per_page`` (1 to ``MAX_PER_PAGE``, default ``PER_PAGE``), ``sort`` (one of
            ``SORTS``), ``order`` (``asc`` or ``desc``; default: names ascending, figures descending), ``q`` (the
            row's name contains it, case-insensitive).
    """
    page = _whole(args, "page", 1, 999_999_999)
    per_page = _whole(args, "per_page", PER_PAGE, MAX_PER_PAGE)
    sort = str(args.get("sort") or "").strip() or None
    if sort is not None and sort not in SORTS:
        raise DomainError(f"must be one of {', '.join(SORTS)}", "sort")
    order = str(args.get("order") or "").strip() or None
    if order not in (None, "asc", "desc"):
        raise DomainError("must be asc or desc", "order")
    if order is not None and sort is None:
        raise DomainError("needs a sort column", "order")
    q = str(args.get("q") or "").strip()
    if len(q) > MAX_NAME_FILTER:
        raise DomainError(f"must be at most {MAX_NAME_FILTER} characters", "q")
    descending = order == "desc" if order else sort != "label"
    return Paging(page, per_page, sort, descending, q)


def parse_group(value: str | None) -> str:
    group = (value or "talking_point").strip()
    if group not in GROUPS:
        raise DomainError(f"must be one of {', '.join(GROUPS)}", "group")
    return group


def _where(f: Filters) -> list[Any]:
    conds: list[Any] = [ShareStats.day >= f.date_from, ShareStats.day <= f.date_to]
    if f.network:
        conds.append(ShareStats.network == f.network)
    if f.team_id is not None:
        conds.append(ShareStats.team_id == f.team_id)
    if f.talking_point_id is not None:
        conds.append(ShareStats.talking_point_id == f.talking_point_id)
    if f.user_id is not None:
        conds.append(ShareStats.user_id == f.user_id)
    return conds


# ------------------------------------------------------------------------------------------------------- rows
@dataclass(frozen=True)
class Figure:
    """A measured network figure over a row's shares: ``value`` is None when no share's network reported it."""

    value: int | None
    reported_by: int  # shares whose network gave this figure
    shares: int

    def __str__(self) -> str:
        return "unavailable" if self.value is None else str(self.value)


@dataclass
class Row:
    key: Any
    label: str
    shares: int = 0
    potential_reach: int = 0  # estimated: followers at share time
    clicks: int = 0  # measured: human hits on tracked links
    unique_clicks: int = 0  # measured: distinct visitors per share per day
    bot_hits: int = 0  # link-preview fetchers and other bots, counted apart
    likes: Figure | None = None
    reposts: Figure | None = None
    replies: Figure | None = None
    quotes: Figure | None = None
    impressions: Figure | None = None
    engagements: Figure | None = None
    results: int = 0
    emv_measured: Decimal = Decimal(0)
    emv_estimated: Decimal = Decimal(0)
    rate_cards: list[str] = field(default_factory=list)  # "x v2" for every card that produced a figure
    without_rate_card: int = 0  # shares on a network with no card in effect: no EMV for them


@dataclass
class Report:
    group: str
    filters: Filters
    rows: list[Row]
    total: Row
    cards: list[RateCard]
    currency: str = "EUR"
    formula_measured: str = FORMULA_MEASURED
    formula_estimated: str = FORMULA_ESTIMATED
    count: int = 0  # rows in the report (the name filter applied), over every page
    paging: Paging | None = None  # None: every row

    @property
    def pages(self) -> int:
        per = self.paging.per_page if self.paging else None
        return max(1, -(-self.count // per)) if per else 1


def _group_column(group: str) -> Any:
    return {"talking_point": ShareStats.talking_point_id, "team": ShareStats.team_id,
            "network": ShareStats.network, "person": ShareStats.user_id, "day": ShareStats.day}[group]


class _Sums:
    """One report row being summed: the figures of its (key, rate card) groups, then its EMV per group."""

    __slots__ = ("values", "emv_measured", "emv_estimated", "labels", "without_rate_card")

    def __init__(self) -> None:
        # shares, followers, hits, uniques, bots, (sum, count) of likes, reposts, replies, quotes, impressions,
        # engagements, then the followers of shares without impressions
        self.values = [0] * 18
        self.emv_measured = Decimal(0)
        self.emv_estimated = Decimal(0)
        self.labels: set[str] = set()
        self.without_rate_card = 0

    def add(self, values: list[int], card: RateCard | None, rates: dict[int, tuple[int, int, int] | None]) -> None:
        self.values = [a + b for a, b in zip(self.values, values, strict=True)]
        if card is None:
            self.without_rate_card += values[0]
            return
        measured, estimated = _emv_fast(card, rates, values[13], values[3], values[15], values[17])
        self.emv_measured += measured
        self.emv_estimated += estimated
        self.labels.add(f"{card.network} v{card.version}")

    def merge(self, other: _Sums) -> None:
        self.values = [a + b for a, b in zip(self.values, other.values, strict=True)]
        self.emv_measured += other.emv_measured
        self.emv_estimated += other.emv_estimated
        self.labels |= other.labels
        self.without_rate_card += other.without_rate_card

    def row(self, key: Any, label: str) -> Row:
        v = self.values
        shares = v[0]

        def figure(i: int) -> Figure:  # frozen dataclass, built without its per-field __setattr__ (2,000 rows)
            f = object.__new__(Figure)
            f.__dict__.update(value=None if v[i + 1] == 0 else v[i], reported_by=v[i + 1], shares=shares)
            return f

        return Row(key=key, label=label, shares=shares, potential_reach=v[1], clicks=v[2], unique_clicks=v[3],
                   bot_hits=v[4], likes=figure(5), reposts=figure(7), replies=figure(9), quotes=figure(11),
                   impressions=figure(13), engagements=figure(15), emv_measured=self.emv_measured,
                   emv_estimated=self.emv_estimated, rate_cards=sorted(self.labels, key=_card_order),
                   without_rate_card=self.without_rate_card)


def _emv_fast(card: RateCard, rates: dict[int, tuple[int, int, int] | None], impressions: int, unique_clicks: int,
              engagements: int, followers_without_impressions: int) -> tuple[Decimal, Decimal]:
    """:func:`emv` in integer arithmetic (the rates have four decimals): the same cents, a tenth of the time."""
    if card.id not in rates:
        scaled = [r * 10_000 for r in (card.cpm, card.cpc, card.per_engagement)]
        rates[card.id] = None if any(x != x.to_integral_value() for x in scaled) else \
            (int(scaled[0]), int(scaled[1]) * 1000, int(scaled[2]) * 1000)
    rate = rates[card.id]
    if rate is None:
        return emv(card, impressions, unique_clicks, engagements, followers_without_impressions)
    cpm, cpc, per_engagement = rate  # in 1/10,000,000 of the currency unit per unit
    measured = Decimal(impressions * cpm + unique_clicks * cpc + engagements * per_engagement).scaleb(-7)
    estimated = Decimal(followers_without_impressions * cpm).scaleb(-7)
    return measured.quantize(CENT), estimated.quantize(CENT)


def emv(card: RateCard, impressions: int, unique_clicks: int, engagements: int,
        followers_without_impressions: int) -> tuple[Decimal, Decimal]:
    """(measured, estimated) earned media value under ``card``, rounded to cents.

    Args:
        card: the rate card in effect on the share's publication day.
        impressions: impressions the network reported.
        unique_clicks: unique clicks on the tracked links.
        engagements: likes + reposts + replies + quotes the network reported.
        followers_without_impressions: followers at share time of shares whose network gave no impressions.
    """
    measured = (Decimal(impressions) / 1000 * card.cpm + unique_clicks * card.cpc
                + engagements * card.per_engagement)
    estimated = Decimal(followers_without_impressions) / 1000 * card.cpm
    return measured.quantize(CENT), estimated.quantize(CENT)


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


def _cards() -> dict[int, RateCard]:
    """Every rate card by id, read once per request."""
    if has_request_context() and "reach_cards" in g:
        return g.reach_cards  # type: ignore[no-any-return]
    cards = {c.id: c for c in db.session.scalars(select(RateCard))}
    if has_request_context():
        g.reach_cards = cards
    return cards


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


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _parts(group: str, filters: Filters, values: tuple[str, ...] = VALUES) -> Any:
    """The signed rows (``k``, ``card``, ``VALUES``) whose sums per ``k`` are the report's rows: from the report
    totals (:func:`advocacy.reach.totals.range_parts`; only ``values``) or one row per share; ``None`` when there is
    nothing."""
    plan = _totals_plan(group, filters)
    if plan is not None:
        return totals.range_parts(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id,
                                  values)
    s = ShareStats
    # results per share, looked up by share (indexed) rather than counted for every share there is
    results = select(func.count()).where(Result.share_id == s.share_id).correlate(s).scalar_subquery()
    any_engagement = or_(*(c.is_not(None) for c in ENGAGEMENT_COLS))
    engagement = sum((func.coalesce(c, 0) for c in ENGAGEMENT_COLS), literal(0))
    key = func.coalesce(s.team_id, totals.NO_TEAM) if group == "team" else _group_column(group)
    cols = [literal(1).label("shares"), func.coalesce(s.followers, 0).label("followers"),
            func.coalesce(s.hits, 0).label("hits"), func.coalesce(s.unique_clicks, 0).label("unique_clicks"),
            func.coalesce(s.bot_hits, 0).label("bot_hits")]
    for name in ("likes", "reposts", "replies", "quotes", "impressions"):
        col = getattr(s, name)
        cols += [func.coalesce(col, 0).label(name), case((col.is_not(None), 1), else_=0).label(f"{name}_n")]
    cols += [case((any_engagement, engagement), else_=0).label("engagements"),
             case((any_engagement, 1), else_=0).label("engagements_n"),
             case((s.impressions.is_(None), func.coalesce(s.followers, 0)), else_=0).label("est_followers"),
             results.label("results")]
    return select(key.label("k"), func.coalesce(s.rate_card_id, 0).label("card"), *cols).where(
        *_where(filters)).subquery()


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


def _card_order(label: str) -> tuple[str, int]:
    network, _, version = label.rpartition(" v")
    return network, int(version) if version.isdigit() else 0


def _totals_plan(group: str, filters: Filters) -> tuple[str, str] | None:
    """(grain, grouping) of the report totals that answer ``group`` under ``filters``; None: read the per-share rows
    (a talking point or a person selects few shares; by talking point within a team is not pre-aggregated)."""
    if (not current_app.config["REACH_PREAGGREGATED"] or filters.talking_point_id is not None
            or filters.user_id is not None):
        return None
    in_team = filters.team_id is not None
    plan = {"talking_point": None if in_team else ("talking_point", "key"), "person": ("person", "key"),
            "team": ("team", "key"), "network": ("team" if in_team else "network", "network"),
            "day": ("team" if in_team else "network", "day")}[group]
    return plan if plan is not None and _ready() else None


def _ready() -> bool:
    """:func:`totals.ready`, asked once per request (a dashboard runs a dozen reports)."""
    if not has_request_context():
        return totals.ready()
    if "reach_totals_ready" not in g:
        g.reach_totals_ready = totals.ready()
    return bool(g.reach_totals_ready)


# ------------------------------------------------------------------------------------------------ over time
@dataclass(frozen=True)
class DayPoint:
    day: dt.date
    unique_clicks: int
    clicks: int
    engagement: int | None  # gained that day (fetched snapshots); None: nothing reported


def over_time(filters: Filters) -> list[DayPoint]:
    """Clicks (on the day they happened) and engagement gained (on the day it was fetched), day by day, for the
    shares the filters select, within the range.

    Args:
        filters: range and filters.
    """
    if _totals_plan("day", filters) is not None:
        clicks, gained = {}, {}
        for day, u, h, g, g_n in totals.activity_rows(filters.date_from, filters.date_to, filters.network,
                                                      filters.team_id):
            clicks[day] = (u, h)
            gained[day] = g if g_n else None
        return _points(filters, clicks, gained)
    conds = _where(filters)
    clicks = dict((d, (u, h)) for d, u, h in db.session.execute(
        select(ClickDaily.day, func.sum(ClickDaily.unique_clicks), func.sum(ClickDaily.hits))
        .join(ShareStats, ShareStats.share_id == ClickDaily.share_id)
        .where(ClickDaily.day >= filters.date_from, ClickDaily.day <= filters.date_to, *conds)
        .group_by(ClickDaily.day)))
    gained = dict(db.session.execute(
        select(MetricSnapshot.day, func.sum(MetricSnapshot.engagement_delta))
        .join(ShareStats, ShareStats.share_id == MetricSnapshot.share_id)
        .where(MetricSnapshot.day >= filters.date_from, MetricSnapshot.day <= filters.date_to, *conds)
        .group_by(MetricSnapshot.day)).all())
    return _points(filters, clicks, gained)


def networks() -> list[str]:
    """Every network with a published share (for the filter), from the report totals once they are built."""
    if current_app.config["REACH_PREAGGREGATED"] and _ready():
        return sorted(totals.networks())
    return sorted(n for (n,) in db.session.execute(select(ShareStats.network).distinct()))


def potential_reach_by_day(filters: Filters) -> dict[dt.date, int]:
    """Potential reach (estimated: followers at share time) of the shares published each day of the range.

    Args:
        filters: range and filters.
    """
    plan = _totals_plan("day", filters)
    if plan is not None:
        parts = totals.range_parts(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id,
                                   ("followers",))
        if parts is None:
            return {}
        stmt = select(parts.c.k, totals.total(parts.c.followers)).group_by(parts.c.k)
    else:
        stmt = (select(ShareStats.day, func.coalesce(func.sum(ShareStats.followers), 0))
                .where(*_where(filters)).group_by(ShareStats.day))
    return {_day(k): int(v or 0) for k, v in db.session.execute(stmt)}


def _points(filters: Filters, clicks: dict[Any, Any], gained: dict[Any, Any]) -> list[DayPoint]:
    days = (filters.date_to - filters.date_from).days + 1
    points = []
    for i in range(days):
        day = filters.date_from + dt.timedelta(days=i)
        u, h = clicks.get(day, (0, 0))
        g = gained.get(day)
        points.append(DayPoint(day, int(u or 0), int(h or 0), None if g is None else int(g)))
    return points


# ---------------------------------------------------------------------------------------------- amplification
@dataclass(frozen=True)
class Amplification:
    network: str
    employee_reach: int  # estimated: followers at share time, summed over the range's shares
    brand_handle: str | None
    brand_followers: int | None  # None: the brand account is not connected (or its network hides followers)

    @property
    def ratio(self) -> float | None:
        if not self.brand_followers:
            return None
        return round(self.employee_reach / self.brand_followers, 2)


def amplification(filters: Filters) -> list[Amplification]:
    """Employees' potential reach against the brand's own channel on each network, where it is connected."""
    brands = dict(part.split(":", 1) for part in current_app.config["REACH_BRAND_ACCOUNTS"].split(",")
                  if ":" in part)
    out = []
    plan = _totals_plan("network", filters)
    if plan is None:
        reaches = list(db.session.execute(
            select(ShareStats.network, func.coalesce(func.sum(ShareStats.followers), 0))
            .where(*_where(filters)).group_by(ShareStats.network).order_by(ShareStats.network)))
    else:
        summed: dict[str, int] = {}
        for r in totals.range_rows(*plan, filters.date_from, filters.date_to, filters.network, filters.team_id):
            summed[r[0]] = summed.get(r[0], 0) + r[3]  # (network, card, shares, followers, …)
        reaches = sorted(summed.items())
    for network, reach in reaches:
        handle = brands.get(network)
        followers = None
        if handle:
            followers = db.session.scalar(select(ConnectedAccount.followers).where(
                ConnectedAccount.network == network, func.lower(ConnectedAccount.handle) == handle.lower(),
                ConnectedAccount.status == AccountStatus.ACTIVE).limit(1))
        out.append(Amplification(network, int(reach), handle, followers))
    return out


# ------------------------------------------------------------------------------------------------ leaderboard
@dataclass(frozen=True)
class Standing:
    user_id: int
    name: str
    shares: int
    unique_clicks: int
    engagements: int
    points: int


def points_expression() -> Any:
    c = current_app.config
    engagement = sum((func.coalesce(col, 0) for col in ENGAGEMENT_COLS), literal(0))
    return (func.count() * c["REACH_POINTS_PER_SHARE"]
            + func.sum(ShareStats.unique_clicks) * c["REACH_POINTS_PER_CLICK"]
            + func.sum(engagement) * c["REACH_POINTS_PER_ENGAGEMENT"])


def standings(filters: Filters, include_opted_out: bool = False, limit: int | None = 50) -> list[Standing]:
    """People ranked by points in the range; those who opted out of the leaderboard are left out.

    Args:
        filters: range and filters.
        include_opted_out: True for a person's own figures.
        limit: how many to return.
    """
    if _totals_plan("person", filters) is not None:
        return _standings_from_totals(filters, include_opted_out, limit)
    engagement = sum((func.coalesce(col, 0) for col in ENGAGEMENT_COLS), literal(0))
    points = points_expression()
    stmt = (select(ShareStats.user_id, User.name, func.count(), func.sum(ShareStats.unique_clicks),
                   func.sum(engagement), points.label("points"))
            .join(User, User.id == ShareStats.user_id).where(*_where(filters))
            .group_by(ShareStats.user_id, User.name).order_by(points.desc(), User.name, ShareStats.user_id))
    if not include_opted_out:
        stmt = stmt.outerjoin(ReachPreference, ReachPreference.user_id == ShareStats.user_id).where(
            or_(ReachPreference.user_id.is_(None), ReachPreference.leaderboard_opt_out.is_(False)))
    if limit:
        stmt = stmt.limit(limit)
    return [Standing(r[0], r[1], r[2], int(r[3] or 0), int(r[4] or 0), int(r[5] or 0))
            for r in db.session.execute(stmt)]


def _standings_from_totals(filters: Filters, include_opted_out: bool, limit: int | None) -> list[Standing]:
    c = current_app.config
    parts = totals.range_parts("person", "key", filters.date_from, filters.date_to, filters.network, filters.team_id,
                               ("shares", "unique_clicks", "engagements"))
    if parts is None:
        return []
    shares, uniques, engagements = (totals.total(parts.c[v]) for v in ("shares", "unique_clicks", "engagements"))
    points = (shares * c["REACH_POINTS_PER_SHARE"] + uniques * c["REACH_POINTS_PER_CLICK"]
              + engagements * c["REACH_POINTS_PER_ENGAGEMENT"])
    per = (select(parts.c.k, shares.label("shares"), uniques.label("uniques"), engagements.label("engagements"),
                  points.label("points")).group_by(parts.c.k).having(shares > 0).subquery())
    # summed per person first, then joined to the people: a join per person, not per totals row
    stmt = (select(per.c.k, User.name, per.c.shares, per.c.uniques, per.c.engagements, per.c.points)
            .join(User, User.id == per.c.k).order_by(per.c.points.desc(), User.name, per.c.k))
    if not include_opted_out:
        stmt = stmt.outerjoin(ReachPreference, ReachPreference.user_id == per.c.k).where(
            or_(ReachPreference.user_id.is_(None), ReachPreference.leaderboard_opt_out.is_(False)))
    if limit:
        stmt = stmt.limit(limit)
    return [Standing(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in db.session.execute(stmt)]


# -------------------------------------------------------------------------------------------------- per share
SHARE_PAGE = 2000


def _share_pages(filters: Filters) -> Iterator[Any]:
    """Share rows in (day, share id) order, a page per query: no server-side cursor has to outlive a transaction
    while a streamed response is written (PostgreSQL closes such cursors at commit)."""
    after: tuple[Any, int] | None = None
    while True:
        stmt = (select(ShareStats, TalkingPoint.title, User.name, Team.name)
                .join(TalkingPoint, TalkingPoint.id == ShareStats.talking_point_id)
                .join(User, User.id == ShareStats.user_id).outerjoin(Team, Team.id == ShareStats.team_id)
                .where(*_where(filters)).order_by(ShareStats.day, ShareStats.share_id).limit(SHARE_PAGE))
        if after is not None:
            stmt = stmt.where(tuple_(ShareStats.day, ShareStats.share_id) > after)
        page = db.session.execute(stmt).all()
        yield from page
        if len(page) < SHARE_PAGE:
            return
        after = (page[-1][0].day, page[-1][0].share_id)


def share_rows(filters: Filters) -> Iterator[dict[str, Any]]:
    """Every share in the range with its figures, streamed from the database (for the per-share CSV).

    Args:
        filters: range and filters.
    """
    cards = {c.id: c for c in db.session.scalars(select(RateCard))}
    for s, title, person, team in _share_pages(filters):
        card = cards.get(s.rate_card_id) if s.rate_card_id else None
        eng = sum(v for v in (s.likes, s.reposts, s.replies, s.quotes) if v is not None)
        has_eng = any(v is not None for v in (s.likes, s.reposts, s.replies, s.quotes))
        measured = estimated = None
        if card is not None:
            measured, estimated = emv(card, s.impressions or 0, s.unique_clicks, eng,
                                      (s.followers or 0) if s.impressions is None else 0)
        yield {"share_id": s.share_id, "day": s.day.isoformat(), "network": s.network, "talking_point": title,
               "team": team or "", "person": person, "potential_reach_estimated": s.followers,
               "clicks": s.hits, "unique_clicks": s.unique_clicks, "bot_hits": s.bot_hits,
               "likes": s.likes, "reposts": s.reposts, "replies": s.replies, "quotes": s.quotes,
               "impressions": s.impressions, "engagements": eng if has_eng else None,
               "emv_measured": measured, "emv_estimated": estimated,
               "rate_card": f"{card.network} v{card.version}" if card else ""}

