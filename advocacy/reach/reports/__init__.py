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

The modules: :mod:`.filters` (range, dimensions, paging, grouping), :mod:`.source` (the report totals or the
per-share rows), :mod:`.rows` (a row's figures and EMV), :mod:`.tables` (the report tables and chart bars),
:mod:`.activity` (over time, networks, amplification), :mod:`.leaderboard` and :mod:`.shares` (the per-share rows).
"""

from advocacy.reach.reports.activity import (
    Amplification,
    DayPoint,
    amplification,
    networks,
    over_time,
    potential_reach_by_day,
)
from advocacy.reach.reports.filters import (
    GROUPS,
    MAX_NAME_FILTER,
    MAX_PER_PAGE,
    PER_PAGE,
    SORT_FIGURES,
    SORTS,
    Filters,
    Paging,
    _where,
    parse_filters,
    parse_group,
    parse_paging,
)
from advocacy.reach.reports.leaderboard import Standing, points_expression, standings
from advocacy.reach.reports.rows import CENT, FORMULA_ESTIMATED, FORMULA_MEASURED, Figure, Report, Row, emv
from advocacy.reach.reports.shares import share_rows
from advocacy.reach.reports.source import ENGAGEMENT_COLS, _totals_plan
from advocacy.reach.reports.tables import Ranked, ranking, report

__all__ = [
    "Amplification", "CENT", "DayPoint", "ENGAGEMENT_COLS", "FORMULA_ESTIMATED", "FORMULA_MEASURED", "Figure",
    "Filters", "GROUPS", "MAX_NAME_FILTER", "MAX_PER_PAGE", "PER_PAGE", "Paging", "Ranked", "Report", "Row", "SORTS",
    "SORT_FIGURES", "Standing", "_totals_plan", "_where", "amplification", "emv", "networks", "over_time",
    "parse_filters", "parse_group", "parse_paging", "points_expression", "potential_reach_by_day", "ranking",
    "report", "share_rows", "standings"
]
