"""Every share in a range with its figures, streamed (the per-share CSV)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, tuple_

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.people.models import Team, User
from advocacy.reach.models import RateCard, ShareStats
from advocacy.reach.reports.filters import Filters, _where
from advocacy.reach.reports.rows import emv

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
