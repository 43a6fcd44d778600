"""What the shares in a report cost on the networks that charge per post (X), from the price each share was sent at
(``Share.price_micros``, recorded by the worker), beside EMV: the same filters as the report (its ``ShareStats``
rows: day published, network, team, talking point, person)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from advocacy.delivery.costs import money, usd
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.reach import reports
from advocacy.reach.models import ShareStats


def by_network(filters: reports.Filters) -> dict[str, Decimal]:
    """Spend per network for the report's shares (networks that charged nothing are left out).

    Driven from the priced shares (the partial index ``ix_shares_priced``, a few networks' shares at most) looked up
    in ``share_stats`` by key: as a plain join SQLite walks the range's ``share_stats`` rows (every share of a year)
    and looks each share up, even when none has a price."""
    priced = aliased(Share)
    rows = db.session.execute(
        select(ShareStats.network, func.sum(Share.price_micros)).join(Share, Share.id == ShareStats.share_id)
        .where(ShareStats.share_id.in_(select(priced.id).where(priced.price_micros.is_not(None))),
               *reports._where(filters), Share.price_micros.is_not(None)).group_by(ShareStats.network))
    return {network: usd(int(total or 0)) for network, total in rows}


def summary(filters: reports.Filters) -> dict[str, object]:
    """For the dashboard: X spend (shown as money), and per network (the by-network report's column)."""
    spent = by_network(filters)
    return {"x": money(spent.get("x", Decimal(0))), "by_network": {n: money(v) for n, v in spent.items()},
            "total": money(sum(spent.values(), Decimal(0)))}
