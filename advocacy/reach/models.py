"""Reach: raw clicks, their daily rollups, metric snapshots, per-share figures, rate cards, results, preferences.

How the tables relate:

* ``click_events``: what the redirect writes, one row per request, nothing else done on the hot path. Rows are
  deleted by the rollup job once counted. No raw address is ever stored: ``visitor`` is a salted hash whose salt
  (``visitor_salts``) is random per day and deleted after two days, so yesterday's hashes cannot be recomputed.
* ``click_daily``: per share per UTC day: human hits, unique visitors, link-preview/bot hits.
* ``click_visitors``: the visitor hashes already counted for a share and day (unique counting across rollup runs);
  purged with the day's salt.
* ``metric_snapshots``: network figures fetched back on a decaying schedule. ``None`` is "not provided".
* ``share_stats``: one row per published share with its lifetime figures, denormalised (team at share time,
  network, day) so reports aggregate one narrow table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow


class ClickEvent(db.Model):
    """One request to ``/r/<code>``, written durably before the visitor is redirected; rolled up, then deleted."""

    __tablename__ = "click_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    visitor: Mapped[str] = mapped_column(String(32))  # salted daily hash, never the raw address
    user_agent: Mapped[str] = mapped_column(String(512), default="")  # classified (bot or person) by the rollup


class VisitorSalt(db.Model):
    __tablename__ = "visitor_salts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    salt: Mapped[str] = mapped_column(String(64))


class ClickDaily(db.Model):
    __tablename__ = "click_daily"
    __table_args__ = (Index("ix_click_daily_day_share_id", "day", "share_id"),)

    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)  # requests by people (bots excluded), repeats included
    unique_clicks: Mapped[int] = mapped_column(default=0)  # distinct visitors that day
    bot_hits: Mapped[int] = mapped_column(default=0)  # link-preview fetchers and other bots


class ClickVisitor(db.Model):
    __tablename__ = "click_visitors"

    share_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    visitor: Mapped[str] = mapped_column(String(32), primary_key=True)


class MetricSnapshot(db.Model):
    """Figures a network reported for one post at one time. ``None``: the network does not provide it."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_snapshots_share_id_fetched_at", "share_id", "fetched_at"),
                      Index("ix_metric_snapshots_day", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    day: Mapped[dt.date] = mapped_column(Date)
    step: Mapped[int] = mapped_column(default=0)  # index in the decaying schedule
    likes: Mapped[int | None] = mapped_column()
    reposts: Mapped[int | None] = mapped_column()
    replies: Mapped[int | None] = mapped_column()
    quotes: Mapped[int | None] = mapped_column()
    impressions: Mapped[int | None] = mapped_column()
    engagement_delta: Mapped[int | None] = mapped_column()  # engagements gained since the previous snapshot
    found: Mapped[bool] = mapped_column(default=True)  # False: the network no longer has the post


class ShareStats(db.Model):
    """Lifetime figures of one published share, kept current by the rollup and metrics jobs."""

    __tablename__ = "share_stats"
    __table_args__ = (Index("ix_share_stats_day", "day"), Index("ix_share_stats_user_id_day", "user_id", "day"),
                      Index("ix_share_stats_talking_point_id", "talking_point_id"))

    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    talking_point_id: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column()
    team_id: Mapped[int | None] = mapped_column()  # the team at share time
    network: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)  # the UTC day it was published
    followers: Mapped[int | None] = mapped_column()  # potential reach (estimated)
    hits: Mapped[int] = mapped_column(default=0)
    unique_clicks: Mapped[int] = mapped_column(default=0)
    bot_hits: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int | None] = mapped_column()
    reposts: Mapped[int | None] = mapped_column()
    replies: Mapped[int | None] = mapped_column()
    quotes: Mapped[int | None] = mapped_column()
    impressions: Mapped[int | None] = mapped_column()
    rate_card_id: Mapped[int | None] = mapped_column(ForeignKey("rate_cards.id"))
    metrics_step: Mapped[int] = mapped_column(default=0)  # next step of the decaying schedule
    metrics_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)  # None: schedule done
    metrics_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    metrics_error: Mapped[str | None] = mapped_column(Text)


class RateCard(db.Model):
    """What one unit is worth on a network, from a date on. Versions are never edited, only superseded."""

    __tablename__ = "rate_cards"
    __table_args__ = (UniqueConstraint("network", "version", name="uq_rate_cards_network_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column()
    effective_from: Mapped[dt.date] = mapped_column(Date)
    cpm: Mapped[Decimal] = mapped_column(Numeric(12, 4))  # per 1,000 impressions (or followers, estimated)
    cpc: Mapped[Decimal] = mapped_column(Numeric(12, 4))  # per unique click
    per_engagement: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResultKind:
    LEAD = "lead"
    HIRE = "hire"
    PRESS = "press"
    OTHER = "other"
    ALL = (LEAD, HIRE, PRESS, OTHER)


class Result(db.Model):
    """A tangible outcome an employee records against one of their shares."""

    __tablename__ = "reach_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000), default="")
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReachPreference(db.Model):
    __tablename__ = "reach_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    leaderboard_opt_out: Mapped[bool] = mapped_column(default=False)


# --------------------------------------------------------------------------------------------- report totals
# Pre-aggregated figures the reports read instead of ``share_stats`` (see :mod:`advocacy.reach.totals`). Each
# table holds several grains: ``talking_point`` (key: talking point), ``person`` (key: user; team: the team at share
# time), ``team`` (key and team: the team at share time) and ``network`` (key 0). ``team_id`` is 0 where a grain
# does not split by team and -1 for "no team"; ``rate_card_id`` is 0 for "no card". Every figure is a plain sum
# (``*_n``: how many shares reported the figure), so a range is a sum of rows and they can be kept by deltas.
class _TotalsColumns:
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    hits: Mapped[int] = mapped_column(BigInteger, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    bot_hits: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    likes_n: Mapped[int] = mapped_column(BigInteger, default=0)
    reposts: Mapped[int] = mapped_column(BigInteger, default=0)
    reposts_n: Mapped[int] = mapped_column(BigInteger, default=0)
    replies: Mapped[int] = mapped_column(BigInteger, default=0)
    replies_n: Mapped[int] = mapped_column(BigInteger, default=0)
    quotes: Mapped[int] = mapped_column(BigInteger, default=0)
    quotes_n: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions: Mapped[int] = mapped_column(BigInteger, default=0)
    impressions_n: Mapped[int] = mapped_column(BigInteger, default=0)
    engagements: Mapped[int] = mapped_column(BigInteger, default=0)
    engagements_n: Mapped[int] = mapped_column(BigInteger, default=0)
    est_followers: Mapped[int] = mapped_column(BigInteger, default=0)  # followers of shares without impressions
    results: Mapped[int] = mapped_column(BigInteger, default=0)


class DayTotals(_TotalsColumns, db.Model):
    """Figures of the shares published on one UTC day, per grain key, network and rate card."""

    __tablename__ = "reach_day_totals"

    grain: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    key: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    rate_card_id: Mapped[int] = mapped_column(primary_key=True)


class MonthTotals(_TotalsColumns, db.Model):
    """Cumulative figures of every share published before the first day of ``month``, per grain key, network and
    rate card; kept densely (a row for every month from the key's first share to the newest month), so a long
    range is two of these rows and a few days of ``reach_day_totals`` at its edges."""

    __tablename__ = "reach_month_totals"

    grain: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    key: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    rate_card_id: Mapped[int] = mapped_column(primary_key=True)


class ActivityTotals(db.Model):
    """Clicks (on the day they happened) and engagement gained (on the day it was fetched), per day, publication
    day, network and team (grain ``all``: team 0; grain ``team``: the team at share time, -1 for none)."""

    __tablename__ = "reach_activity_totals"

    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    team_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    share_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    hits: Mapped[int] = mapped_column(BigInteger, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    engagement: Mapped[int] = mapped_column(BigInteger, default=0)
    engagement_n: Mapped[int] = mapped_column(BigInteger, default=0)  # snapshots that gave an engagement delta
