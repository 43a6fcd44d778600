"""What the shares in a report cost on the networks that charge per post (X), from the price each share was sent at
(``Share.price_micros``, recorded by the worker), beside EMV: the same filters as the report (its ``ShareStats``
rows: day published, network, team, talking point, person)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from advocacy.delivery.costs import money, usd
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.reach import reports
from advocacy.reach.models import ShareStats


def by_network(filters: reports.Filters) -> dict[str, Decimal]:
    """Spend per network for the report's shares (networks that charged nothing are left out).

    Nothing to add up while no share has a price (no network charging per post in use): one look at the partial
    index ``ix_shares_priced`` answers that, where the join below walks every ``share_stats`` row of the range on
    SQLite (its planner does not drive from that index). Driving from the priced shares always (an ``IN`` on them)
    halves a year-long range when a third of the shares are priced but costs a 30-day range 5× as much."""
    if db.session.scalar(select(Share.id).where(Share.price_micros.is_not(None)).limit(1)) is None:
        return {}
    rows = db.session.execute(
        select(ShareStats.network, func.sum(Share.price_micros)).join(Share, Share.id == ShareStats.share_id)
        .where(*reports._where(filters), Share.price_micros.is_not(None)).group_by(ShareStats.network))
    return {network: usd(int(total or 0)) for network, total in rows}


def summary(filters: reports.Filters) -> dict[str, object]:
    """For the dashboard: X spend (shown as money), and per network (the by-network report's column)."""
    spent = by_network(filters)
    return {"x": money(spent.get("x", Decimal(0))), "by_network": {n: money(v) for n, v in spent.items()},
            "total": money(sum(spent.values(), Decimal(0)))}
