"""Reach services: rate cards, the results log, leaderboard preferences and the per-share detail.

The click path lives in :mod:`advocacy.reach.links`, the rollup in :mod:`advocacy.reach.rollup`, metrics fetch-back
in :mod:`advocacy.reach.metrics` and the reports in :mod:`advocacy.reach.reports`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, update

from advocacy.delivery.models import Share
from advocacy.errors import DomainError, NotAllowed, NotFound
from advocacy.extensions import db
from advocacy.people.models import Role, User
from advocacy.reach import totals
from advocacy.reach.models import (
    ClickDaily,
    MetricSnapshot,
    RateCard,
    ReachPreference,
    Result,
    ResultKind,
    ShareStats,
)
from advocacy.reach.reports import Filters, emv, report
from advocacy.reach.rollup import card_for, cards_by_network

log = logging.getLogger(__name__)
MAX_RATE = Decimal("1000000")


# ------------------------------------------------------------------------------------------------ rate cards
def _rate(values: dict[str, Any], name: str) -> Decimal:
    raw = str(values.get(name, "")).strip()
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise DomainError("must be a number such as 12.50", name) from None
    if not rate.is_finite() or rate < 0 or rate > MAX_RATE:
        raise DomainError("must be a number from 0 to 1,000,000", name)
    return rate.quantize(Decimal("0.0001"))


def add_rate_card(author: User, values: dict[str, Any]) -> RateCard:
    """Add a new version of a network's rate card, effective from a date; re-assign the shares it now covers.

    Args:
        author: the comms or admin user adding it.
        values: ``network``, ``effective_from`` (ISO date), ``cpm``, ``cpc``, ``per_engagement``, optional
            ``currency`` and ``note``.
    """
    network = str(values.get("network", "")).strip().lower()
    if not network or len(network) > 32 or not network.replace("_", "").isalnum():
        raise DomainError("must be a network name such as x", "network")
    try:
        effective = dt.date.fromisoformat(str(values.get("effective_from", "")).strip()[:10])
    except ValueError:
        raise DomainError("must be a date such as 2026-01-31", "effective_from") from None
    if effective.year < 2000:
        raise DomainError("must be in the year 2000 or later", "effective_from")
    cpm, cpc, per_engagement = (_rate(values, n) for n in ("cpm", "cpc", "per_engagement"))
    currency = str(values.get("currency") or "EUR").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError("must be a three-letter currency code such as EUR", "currency")
    note = str(values.get("note") or "").strip()
    if len(note) > 500:
        raise DomainError("must be at most 500 characters", "note")
    version = (db.session.scalar(select(func.max(RateCard.version)).where(RateCard.network == network)) or 0) + 1
    card = RateCard(network=network, version=version, effective_from=effective, cpm=cpm, cpc=cpc,
                    per_engagement=per_engagement, currency=currency, note=note, created_by_id=author.id)
    db.session.add(card)
    db.session.flush()
    reassign_rate_cards(network)
    db.session.commit()
    log.info("event=rate_card_added network=%s version=%s effective_from=%s user_id=%s", network, version,
             effective.isoformat(), author.id)
    return card


def reassign_rate_cards(network: str) -> None:
    """Point every share on ``network`` at the card in effect on its publication day (moving its report totals)."""
    totals.lock()
    cards = cards_by_network().get(network, [])
    newer: dt.date | None = None
    for effective, card_id in cards:  # newest first: each card covers [effective, the next card's effective)
        conds = [ShareStats.network == network, ShareStats.day >= effective]
        if newer is not None:
            conds.append(ShareStats.day < newer)
        totals.move_to_card(network, conds, card_id)
        db.session.execute(update(ShareStats).where(*conds).values(rate_card_id=card_id))
        newer = effective
    if cards:
        conds = [ShareStats.network == network, ShareStats.day < cards[-1][0]]
        totals.move_to_card(network, conds, None)
        db.session.execute(update(ShareStats).where(*conds).values(rate_card_id=None))


def rate_cards() -> list[RateCard]:
    return list(db.session.scalars(select(RateCard).order_by(RateCard.network, RateCard.version.desc())))


# ---------------------------------------------------------------------------------------------- results log
def record_result(user: User, values: dict[str, Any]) -> Result:
    """Record a tangible outcome (a lead, a hire, a press contact) against one of ``user``'s shares.

    Args:
        user: the employee; only their own shares qualify.
        values: ``share_id``, ``kind`` (lead, hire, press, other), ``occurred_on`` (ISO date, default today),
            ``note``.
    """
    raw_id = str(values.get("share_id", "")).strip()
    if not raw_id.isdigit() or len(raw_id) > 12:
        raise DomainError("choose one of your shares", "share_id")
    share = db.session.get(Share, int(raw_id))
    if share is None or share.user_id != user.id:
        raise DomainError("choose one of your shares", "share_id")
    kind = str(values.get("kind", "")).strip()
    if kind not in ResultKind.ALL:
        raise DomainError(f"must be one of {', '.join(ResultKind.ALL)}", "kind")
    today = dt.datetime.now(dt.UTC).date()
    raw_day = str(values.get("occurred_on") or "").strip()
    try:
        day = dt.date.fromisoformat(raw_day[:10]) if raw_day else today
    except ValueError:
        raise DomainError("must be a date such as 2026-01-31", "occurred_on") from None
    if day > today:
        raise DomainError("must not be in the future", "occurred_on")
    note = str(values.get("note") or "").strip()
    if len(note) > 1000:
        raise DomainError("must be at most 1,000 characters", "note")
    totals.lock()
    result = Result(share_id=share.id, user_id=user.id, kind=kind, note=note, occurred_on=day)
    db.session.add(result)
    stats = db.session.get(ShareStats, share.id)
    if stats is not None:  # otherwise it is counted when the share's figures row is created
        changes = totals.Changes()
        changes.add(stats, [0] * (len(totals.VALUES) - 1) + [1])
        changes.apply()
    db.session.commit()
    log.info("event=result_recorded result_id=%s share_id=%s user_id=%s kind=%s", result.id, share.id, user.id,
             kind)
    from advocacy import events

    events.result_recorded.send(result)
    return result


def results_of(user: User) -> list[Result]:
    return list(db.session.scalars(select(Result).where(Result.user_id == user.id)
                                   .order_by(Result.occurred_on.desc(), Result.id.desc()).limit(200)))


# ------------------------------------------------------------------------------------------------ preferences
def leaderboard_opted_out(user: User) -> bool:
    pref = db.session.get(ReachPreference, user.id)
    return bool(pref and pref.leaderboard_opt_out)


def set_leaderboard_opt_out(user: User, opt_out: bool) -> None:
    """Show or hide ``user`` on the leaderboard (their own impact page always shows their figures)."""
    pref = db.session.get(ReachPreference, user.id) or ReachPreference(user_id=user.id)
    pref.leaderboard_opt_out = opt_out
    db.session.add(pref)
    db.session.commit()
    log.info("event=leaderboard_preference user_id=%s opt_out=%s", user.id, opt_out)


# --------------------------------------------------------------------------------------------- share detail
@dataclass
class ShareDetail:
    share: Share
    stats: ShareStats | None
    snapshots: list[MetricSnapshot]
    days: list[ClickDaily]
    results: list[Result]
    card: RateCard | None
    emv_measured: Decimal | None
    emv_estimated: Decimal | None


def share_detail(share_id: int, viewer: User) -> ShareDetail:
    """One share's figures, snapshots, clicks per day and results. Employees see only their own shares.

    Args:
        share_id: the share.
        viewer: who asks; analysts, comms and admins see every share.
    """
    share = db.session.get(Share, share_id)
    if share is None:
        raise NotFound("no such share", "share_id")
    if share.user_id != viewer.id and not viewer.has_role(Role.ANALYST, Role.COMMS, Role.ADMIN):
        raise NotAllowed("this share is someone else's", "share_id")
    stats = db.session.get(ShareStats, share_id)
    card = db.session.get(RateCard, stats.rate_card_id) if stats and stats.rate_card_id else None
    if card is None and stats is not None:
        card_id = card_for(cards_by_network().get(stats.network, []), stats.day)
        card = db.session.get(RateCard, card_id) if card_id else None
    measured = estimated = None
    if stats is not None and card is not None:
        known = [v for v in (stats.likes, stats.reposts, stats.replies, stats.quotes) if v is not None]
        measured, estimated = emv(card, stats.impressions or 0, stats.unique_clicks, sum(known),
                                  (stats.followers or 0) if stats.impressions is None else 0)
    return ShareDetail(
        share, stats,
        list(db.session.scalars(select(MetricSnapshot).where(MetricSnapshot.share_id == share_id)
                                .order_by(MetricSnapshot.fetched_at))),
        list(db.session.scalars(select(ClickDaily).where(ClickDaily.share_id == share_id).order_by(ClickDaily.day))),
        list(db.session.scalars(select(Result).where(Result.share_id == share_id).order_by(Result.id))),
        card, measured, estimated)


def by_talking_point(filters: Filters | None = None) -> Any:
    """The report by talking point (kept for the original ``/api/reach/talking-points``)."""
    from advocacy.reach.reports import parse_filters

    return report("talking_point", filters or parse_filters(_all_time()))


def _all_time() -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {"from": (today - dt.timedelta(days=365)).isoformat(), "to": today.isoformat()}
