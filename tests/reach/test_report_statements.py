"""The dashboard's side figures read through narrower statements (issue 18): the X spend driven from the priced
shares, the pending figures from the shares still on their metrics schedule, participation without its
announcement joins when nothing was ever sent. The figures are those of the plain filters."""

from __future__ import annotations

import datetime as dt

from advocacy.delivery.costs import usd
from advocacy.extensions import db
from advocacy.notifications.models import Announcement, AnnouncementStatus
from advocacy.reach import participation, reports, spend, views
from advocacy.reach.models import ShareStats

TODAY = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
WEEK = reports.Filters(date_from=(TODAY - dt.timedelta(days=6)).date(), date_to=TODAY.date())
YEAR = reports.Filters(date_from=(TODAY - dt.timedelta(days=364)).date(), date_to=TODAY.date())


def _stats(share, **values):  # type: ignore[no-untyped-def]
    stats = ShareStats(share_id=share.id, talking_point_id=share.talking_point_id, user_id=share.user_id,
                       network=share.network, day=share.published_at.date(), followers=1000, **values)
    db.session.add(stats)
    db.session.commit()
    return stats


def test_spend_counts_the_priced_shares_of_the_range_only(factory, make_user):
    tp, ann = factory.talking_point(), make_user("ann@acme.test")
    priced = factory.share(ann, tp, "x", published=TODAY)
    old = factory.share(ann, tp, "x", published=TODAY - dt.timedelta(days=40))
    free = factory.share(ann, tp, "linkedin", published=TODAY)
    unpriced_x = factory.share(ann, tp, "x", published=TODAY - dt.timedelta(days=1))
    for share in (priced, old, free, unpriced_x):
        _stats(share)
    assert spend.by_network(YEAR) == {} and spend.summary(YEAR)["total"] == "$0.00"  # nothing priced anywhere
    priced.price_micros, old.price_micros = 15_000, 200_000
    no_stats = factory.share(ann, tp, "x", published=TODAY)  # not in the reports yet: not in their spend
    no_stats.price_micros = 7
    db.session.commit()

    assert spend.by_network(WEEK) == {"x": usd(15_000)}
    assert spend.by_network(YEAR) == {"x": usd(215_000)}
    assert spend.by_network(reports.Filters(WEEK.date_from, WEEK.date_to, network="linkedin")) == {}
    assert spend.summary(YEAR)["x"] == "$0.215"


def test_pending_counts_the_unfetched_shares_of_the_range_with_the_first_due(factory, make_user):
    tp, ann = factory.talking_point(), make_user("ann@acme.test")
    due = TODAY + dt.timedelta(hours=1)
    waiting = [factory.share(ann, tp, "x", published=TODAY - dt.timedelta(days=d)) for d in (0, 2)]
    _stats(waiting[0], metrics_due_at=due + dt.timedelta(hours=3))
    _stats(waiting[1], metrics_due_at=due)
    fetched = factory.share(ann, tp, "x", published=TODAY)  # still on its schedule, but figures already fetched
    _stats(fetched, metrics_due_at=due - dt.timedelta(hours=5), metrics_at=TODAY)
    _stats(factory.share(ann, tp, "x", published=TODAY - dt.timedelta(days=30)), metrics_due_at=due)  # older
    _stats(factory.share(ann, tp, "mastodon", published=TODAY))  # schedule over, never fetched: not pending

    got = views._pending("network", WEEK)
    assert got["rows"] == {"x": views.Pending(2, due)}
    assert got["total"] == views.Pending(2, due)
    assert views._pending("network", YEAR)["total"] == views.Pending(3, due)
    assert views._pending("day", WEEK)["rows"] == {str(TODAY.date()): views.Pending(1, due + dt.timedelta(hours=3)),
                                                   str(waiting[1].published_at.date()): views.Pending(1, due)}


def test_participation_counts_shares_before_and_after_an_announcement_is_sent(factory, make_user):
    tp, ann = factory.talking_point(), make_user("ann@acme.test")
    share = factory.share(ann, tp, "x", published=TODAY)
    share.channel = "slack"
    queued = Announcement(user_id=ann.id, talking_point_id=tp.id, status=AnnouncementStatus.QUEUED,
                          due_at=share.created_at)
    db.session.add(queued)
    db.session.commit()

    rows = {r.channel: r for r in participation.participation(WEEK)}
    assert (rows["slack"].notified, rows["slack"].shared, rows["slack"].rate, rows["slack"].median_seconds) \
        == (0, 1, None, None)
    assert rows["web"].notified is None and rows["web"].shared == 0

    queued.status, queued.channel = AnnouncementStatus.SENT, "slack"
    queued.sent_at = share.created_at - dt.timedelta(minutes=20)
    db.session.commit()
    rows = {r.channel: r for r in participation.participation(WEEK)}
    assert (rows["slack"].notified, rows["slack"].shared, rows["slack"].rate, rows["slack"].median_seconds) \
        == (1, 1, 1.0, 1200.0)


def test_participation_counts_each_person_once_per_channel_they_shared_from_in_the_range(factory, make_user):
    # on PostgreSQL the people per channel are found pair by pair along the (channel, person, created_at) index:
    # repeats, cancelled shares, shares just outside the range and a team filter must all count as the plain count
    team = factory.team("Platform")
    tp = factory.talking_point()
    people = [make_user(f"p{i}@acme.test") for i in range(6)]
    people[0].team_id = people[3].team_id = team.id
    start = WEEK.date_from
    inside = dt.datetime.combine(start, dt.time(9), dt.UTC)
    made = [  # (person, channel, when, cancelled)
        (0, "web", inside, False), (0, "web", inside + dt.timedelta(days=2), False), (0, "slack", inside, False),
        (1, "web", inside - dt.timedelta(days=1), False),  # the day before the range
        (1, "web", inside + dt.timedelta(days=8), False),  # after it
        (2, "web", inside - dt.timedelta(days=3), False), (2, "web", inside + dt.timedelta(days=1), False),
        (3, "email", inside, True),  # cancelled: not a share made
        (3, "email", inside + dt.timedelta(days=3), False), (3, "web", inside, True),
        (4, "api", inside, True), (5, "web", TODAY, False), (5, "slack", TODAY, False), (5, "api", TODAY, False)]
    for person, channel, when, cancelled in made:
        share = factory.share(people[person], tp, "x", published=when)
        share.channel, share.created_at = channel, when
        if cancelled:
            share.status = "cancelled"
    db.session.commit()

    def shared(filters: reports.Filters) -> dict[str, int]:
        return {r.channel: r.shared for r in participation.participation(filters) if r.shared}

    assert shared(WEEK) == {"web": 3, "slack": 2, "email": 1, "api": 1}
    assert shared(YEAR) == {"web": 4, "slack": 2, "email": 1, "api": 1}
    assert shared(reports.Filters(WEEK.date_from, WEEK.date_to, team_id=team.id)) == {"web": 1, "slack": 1, "email": 1}
    assert shared(reports.Filters(WEEK.date_from, WEEK.date_to, user_id=people[5].id)) == {"web": 1, "slack": 1,
                                                                                            "api": 1}
    assert shared(reports.Filters(YEAR.date_from, YEAR.date_to, talking_point_id=tp.id + 1)) == {}
