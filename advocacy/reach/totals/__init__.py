"""Report totals: the figures of ``share_stats``, ``click_daily`` and ``metric_snapshots`` summed ahead of time.

The reports read these small tables instead of one row per share (see :mod:`advocacy.reach.reports`):

* ``reach_day_totals``: per publication day and grain key (talking point, person, team, or the whole network), the
  sums a report row is made of. A short range is a GROUP BY over its days.
* ``reach_month_totals``: the same sums, cumulative: everything published before the month's first day, one row
  per key for every month up to the newest (the "frontier"). A long range ``[a, b]`` is ``S(b) - S(a - 1)`` where
  ``S(x)`` is a month row plus or minus the few days between ``x`` and the nearest month boundary, so a year of
  100,000 shares costs a few thousand rows whatever the grouping.
* ``reach_activity_totals``: clicks per click day and engagement gained per fetch day, by publication day, network
  and team, for the chart.

Every writer of the raw figures (share stats created, clicks rolled up, a snapshot stored, a rate card added, a
result recorded) hands its change to a :class:`Changes`, which adds it to the three tables in the same transaction,
so the totals are exactly the sums of the rows. :func:`rebuild` recreates them from the raw tables
(``advocacy reach rebuild-totals``), for after an upgrade or a bulk import.

The modules: :mod:`.common` (what is summed, grain keys, months, frontiers), :mod:`.keep` (the jobs' changes),
:mod:`.read` (a date range's rows) and :mod:`.rebuild`. Every name is re-exported here.
"""

from advocacy.reach.totals.common import (
    ACTIVITY,
    ALL,
    BUILT,
    ENGAGEMENT_FIELDS,
    GRAINS,
    LOCK_ID,
    NO_TEAM,
    VALUES,
    ActivityKey,
    DayKey,
    Vector,
    _forget_frontiers,
    _inline,
    _read_frontier,
    _team,
    frontier,
    grain_keys,
    month_of,
    months,
    next_month,
    share_vector,
)
from advocacy.reach.totals.keep import Changes, _add_cumulative, _extend, _upsert, lock
from advocacy.reach.totals.read import (
    _columns,
    _edge_days,
    activity_rows,
    networks,
    range_parts,
    range_rows,
    ready,
    total,
)
from advocacy.reach.totals.rebuild import (
    _month_expr,
    _rebuild_activity,
    _rebuild_cumulative,
    _share_sums,
    move_to_card,
    rebuild,
)

__all__ = [
    "ACTIVITY", "ALL", "ActivityKey", "BUILT", "Changes", "DayKey", "ENGAGEMENT_FIELDS", "GRAINS", "LOCK_ID",
    "NO_TEAM", "VALUES", "Vector", "activity_rows", "frontier", "grain_keys", "lock", "month_of", "months",
    "move_to_card", "networks", "next_month", "range_parts", "range_rows", "ready", "rebuild", "share_vector",
    "total", "_add_cumulative", "_columns", "_edge_days", "_extend", "_forget_frontiers", "_inline", "_month_expr",
    "_read_frontier", "_rebuild_activity", "_rebuild_cumulative", "_share_sums", "_team", "_upsert"
]
