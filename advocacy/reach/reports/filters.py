"""Report filters: the date range and dimensions, the paging, sorting and name filter, the grouping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from advocacy.errors import DomainError
from advocacy.reach.models import ShareStats

GROUPS = ("talking_point", "team", "network", "person", "day")


PER_PAGE = 50  # report rows on a page
MAX_PER_PAGE = 200
MAX_NAME_FILTER = 100
# sortable columns of a report table: the row label, the summed figures (column of the totals), the network figures
# (unavailable last) and earned media value
SORT_FIGURES = {"shares": "shares", "clicks": "hits", "unique_clicks": "unique_clicks", "bot_hits": "bot_hits",
                "potential_reach": "followers", "results": "results"}
SORTS = ("label", *SORT_FIGURES, "likes", "reposts", "replies", "quotes", "impressions", "emv_measured",
         "emv_estimated")


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
