"""What posting costs: X charges per post (a post with a link about 13 times one without), and every share on X
carries its tracked link.

The prices are settings (``X_PRICE_PER_POST``, ``X_PRICE_PER_POST_WITH_LINK``, defaults from X's published
pay-per-use prices, read on ``X_PRICES_READ``). Each X share records the price it was sent at (``Share.price_micros``,
millionths of a dollar), so the month's spend is counted from the shares and a later price change does not rewrite
it. A monthly cap (``X_MONTHLY_SPEND_CAP``) holds shares that would go over it: the worker moves them to the first
moment of the next month (UTC), with the reason on the share, never fails them (``hold_over_cap``, called by
``publishing.publish`` right after the claim and the sharing rule; ``release`` gives the room back when the attempt
does not publish).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.config import X_PRICES_READ
from advocacy.content.models import TalkingPoint
from advocacy.delivery import rules, services
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.people.models import User

log = logging.getLogger(__name__)
MICROS = Decimal(1_000_000)
PRICED = ("x",)  # the networks that charge per post
CAP_HELD = "held: X monthly spend cap of {cap} reached"


def money(amount: Decimal) -> str:
    """``$0.20``, ``$0.015``, ``$1,234.50``: cents, or more decimals when the amount has them."""
    if amount == amount.quantize(Decimal("0.01")):
        return f"${amount:,.2f}"
    return f"${amount.normalize():,f}"


def usd(micros: int | None) -> Decimal:
    return Decimal(micros or 0) / MICROS


def price(network: str, *, with_link: bool = True) -> Decimal | None:
    """What one post on ``network`` costs now, or None where posting is free. Every share posts its tracked link:
    the with-link price."""
    if network not in PRICED:
        return None
    config = current_app.config
    return Decimal(config["X_PRICE_PER_POST_WITH_LINK"] if with_link else config["X_PRICE_PER_POST"])


def prices() -> dict[str, Any]:
    """The X prices in force and when X's published ones were read, for the pages."""
    config = current_app.config
    cap = config["X_MONTHLY_SPEND_CAP"]
    return {"per_post": money(Decimal(config["X_PRICE_PER_POST"])),
            "with_link": money(Decimal(config["X_PRICE_PER_POST_WITH_LINK"])), "read": X_PRICES_READ,
            "cap": money(Decimal(cap)) if cap is not None else None}


# ------------------------------------------------------------------------------------------------ the month's spend
def month_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: dt.datetime) -> dt.datetime:
    start = month_start(now)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _spent_micros(network: str, now: dt.datetime, *, but: int | None = None) -> int:
    """Spend this calendar month (UTC) on ``network``: published shares' recorded prices, and those being sent now
    (their price is taken when the cap lets them go). One aggregate over ``ix_shares_network_status_published_at``."""
    query = select(func.coalesce(func.sum(Share.price_micros), 0)).where(
        Share.network == network,
        or_(Share.status == ShareStatus.PUBLISHING,
            (Share.status == ShareStatus.PUBLISHED) & (Share.published_at >= month_start(now))))
    if but is not None:
        query = query.where(Share.id != but)
    return int(db.session.scalar(query) or 0)


def spent(network: str = "x", now: dt.datetime | None = None) -> Decimal:
    return usd(_spent_micros(network, now or utcnow()))


# a reservation against the month's cap, in one atomic step: -1 the month's counter is not there (seed it from the
# database), 0 the price does not fit under the cap, 1 reserved
_RESERVE = """
local spent = redis.call('GET', KEYS[1])
if not spent then return -1 end
if tonumber(spent) + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
return 1
"""
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 0
"""
COUNTER_SECONDS = 3600  # the counter is counted again from the shares at least this often


@lru_cache(maxsize=8)
def _script(conn: Any, text: str) -> Any:
    """``text`` registered with this client once (each call then sends its SHA, not its text)."""
    return conn.register_script(text)


def _counter(network: str, now: dt.datetime) -> str:
    return f"advocacy:spend:{network}:{now:%Y-%m}"


def hold_over_cap(share: Share) -> str | None:
    """Record the price ``share`` is sent at; hold it until next month when sending it would pass the monthly cap.

    Called by the worker right after the claim (the share is ``publishing``). Returns ``"scheduled"`` when the share
    was held (moved to the first moment of the next month, the reason on it), None when it may go out: then its price
    is reserved against the month's spend until ``release`` (the attempt did not publish) or for good (it did).
    Without a cap nothing is written here: the price is recorded in the same UPDATE that marks the share published. A
    network that charges nothing costs nothing here. A share in doubt is not held: its last attempt may be on X
    already, and holding it would put off finding that out by a month.

    The month's spend lives in the database (the shares' recorded prices); with a cap, a Redis counter per month,
    counted from the database when missing and at least hourly, takes each reservation atomically, so workers
    neither wait for each other nor sum the month's shares for every post.
    """
    amount = price(share.network)
    if amount is None:
        return None
    micros = int(amount * MICROS)
    cap = current_app.config["X_MONTHLY_SPEND_CAP"]
    if cap is None:  # nothing to reserve: the price is recorded with the outcome (``services.mark_published``)
        return None
    now = utcnow()
    limit = -1 if share.in_doubt else int(Decimal(cap) * MICROS)  # in doubt: counted, never held
    conn, key = redis_client(), _counter(share.network, now)
    reserve = _script(conn, _RESERVE)
    answer = reserve(keys=[key], args=[micros, limit if limit >= 0 else 2**62])
    if answer == -1:  # no counter for this month yet (or it expired): count the month from the shares
        conn.set(key, _spent_micros(share.network, now, but=share.id), nx=True, ex=COUNTER_SECONDS)
        answer = reserve(keys=[key], args=[micros, limit if limit >= 0 else 2**62])
    if answer == 1:
        _record(share.id, micros)  # reserved: the database counts it from now on (a seed after this sees it)
        return None
    at = next_month(now)
    services.reschedule(share.id, at, CAP_HELD.format(cap=money(Decimal(cap))), refund=True)
    log.info("event=share_held_spend_cap share_id=%s until=%s", share.id, at.isoformat())
    return "scheduled"


def micros(network: str) -> int | None:
    """What one post on ``network`` costs now in millionths of a dollar (None: nothing), as a share records it."""
    amount = price(network)
    return None if amount is None else int(amount * MICROS)


def release(share_id: int, network: str) -> None:
    """Give back the reservation of a share whose attempt did not publish (failed, rescheduled, paused)."""
    amount = price(network)
    if amount is None:
        return
    db.session.rollback()
    db.session.execute(update(Share).where(Share.id == share_id, Share.status != ShareStatus.PUBLISHED)
                       .values(price_micros=None))
    db.session.commit()
    if current_app.config["X_MONTHLY_SPEND_CAP"] is not None:
        conn = redis_client()
        _script(conn, _RELEASE)(keys=[_counter(network, utcnow())], args=[int(amount * MICROS)])


def _record(share_id: int, micros: int) -> None:
    db.session.execute(update(Share).where(Share.id == share_id).values(price_micros=micros))
    db.session.commit()


def held_over_cap() -> int:
    """Shares waiting for next month because of the cap (for the operations page)."""
    return int(db.session.scalar(select(func.count(Share.id)).where(
        Share.status == ShareStatus.SCHEDULED, Share.last_error.like("held: X monthly spend cap%"))) or 0)


# ------------------------------------------------------------------------------------------ a talking point's cost
@dataclass(frozen=True)
class Estimate:
    auto_posts: int  # the auto-share fan-out's audience on X (exactly what it would place now, at most)
    manual_posts: int  # everyone it is aimed at who may share it with X connected (an upper bound)
    price: Decimal

    @property
    def auto_total(self) -> str:
        return money(self.price * self.auto_posts)

    @property
    def manual_total(self) -> str:
        return money(self.price * self.manual_posts)

    @property
    def unit(self) -> str:
        return money(self.price)


def estimate(tp: TalkingPoint) -> Estimate:
    """What ``tp`` will cost on X for its audience: the auto-share fan-out's count (its own query, for X; a talking
    point in review is counted as if approved now) and, for manual sharing, everyone it is aimed at with X
    connected (two counts)."""
    from advocacy.delivery import fanout

    now = utcnow()
    auto_count = 0
    if fanout.topics_of(tp.topics):  # no topics: no fan-out
        auto = fanout.audience(tp, now, preview=True).where(ConnectedAccount.network == "x")
        auto_count = int(db.session.scalar(select(func.count()).select_from(auto.subquery())) or 0)
    manual = (select(func.count(func.distinct(User.id))).select_from(User)
              .join(ConnectedAccount, ConnectedAccount.user_id == User.id)
              .join(TalkingPoint, TalkingPoint.id == tp.id)
              .where(*rules.clauses(now, due=True).values(), ConnectedAccount.network == "x",
                     ConnectedAccount.status == AccountStatus.ACTIVE))
    manual_count = int(db.session.scalar(manual) or 0)
    return Estimate(auto_count, manual_count, price("x") or Decimal(0))
