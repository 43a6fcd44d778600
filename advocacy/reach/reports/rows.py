"""Report rows: the figures of a row, summed per rate card, and earned media value."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from advocacy.reach.models import RateCard
from advocacy.reach.reports.filters import Filters, Paging

FORMULA_MEASURED = "impressions / 1000 × CPM + unique clicks × CPC + engagements × value per engagement"
FORMULA_ESTIMATED = "followers at share time / 1000 × CPM (shares whose network gives no impressions)"
CENT = Decimal("0.01")


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


def _card_order(label: str) -> tuple[str, int]:
    network, _, version = label.rpartition(" v")
    return network, int(version) if version.isdigit() else 0
