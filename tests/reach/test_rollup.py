"""The click rollup's edges: bots and people on the same share and day, visitors across batches and runs, a job
that dies mid-batch, many batches in one run, and the lock against two rollups."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.reach import rollup as rollup_module
from advocacy.reach.models import ClickDaily, ClickEvent, ShareStats
from tests.reach.conftest import click, rollup

BOT = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"


def figures(share_id: int) -> tuple[int, int, int]:
    stats = db.session.get(ShareStats, share_id)
    db.session.refresh(stats)
    return stats.hits, stats.unique_clicks, stats.bot_hits


def daily() -> dict[tuple[int, dt.date], tuple[int, int, int]]:
    return {(d.share_id, d.day): (d.hits, d.unique_clicks, d.bot_hits) for d in db.session.scalars(select(ClickDaily))}


def raw() -> int:
    return db.session.scalar(select(func.count()).select_from(ClickEvent))


def test_a_bot_and_a_person_on_the_same_share_and_day_are_counted_apart(app, client, factory, make_user):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    click(client, share, ip="198.51.100.1")
    click(client, share, ip="198.51.100.1", ua=BOT)  # the same address, a previewer: a bot hit, not a visitor
    click(client, share, ip="198.51.100.2", ua=BOT)
    assert rollup() == 3
    today = dt.datetime.now(dt.UTC).date()
    assert daily() == {(share.id, today): (1, 1, 2)}
    assert figures(share.id) == (1, 1, 2)


def test_a_visitor_seen_in_an_earlier_batch_or_run_is_not_counted_again(app, client, factory, make_user):
    point = factory.talking_point()
    emma, noor = make_user("emma@acme.test"), make_user("noor@acme.test")
    first, second = factory.share(emma, point), factory.share(noor, point)
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.1", "198.51.100.3", "198.51.100.1"):
        click(client, first, ip=ip)
    click(client, second, ip="198.51.100.1")  # the same person on another share: a visitor of that share too
    assert rollup_module.rollup(batch=2) == 6  # three batches in one run
    click(client, first, ip="198.51.100.2")  # seen two runs ago
    click(client, first, ip="198.51.100.4")
    assert rollup() == 2
    assert rollup() == 0
    assert figures(first.id) == (7, 4, 0)
    assert figures(second.id) == (1, 1, 0)
    today = dt.datetime.now(dt.UTC).date()
    assert daily() == {(first.id, today): (7, 4, 0), (second.id, today): (1, 1, 0)}


def test_a_rollup_that_dies_mid_batch_counts_nothing_and_the_next_counts_everything_once(
        app, client, factory, make_user, monkeypatch):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.2"):
        click(client, share, ip=ip)
    click(client, share, ua=BOT)
    rollup()
    assert figures(share.id) == (3, 2, 1)
    click(client, share, ip="198.51.100.1")
    click(client, share, ip="198.51.100.9")
    click(client, share, ua=BOT)

    def dies(connection):  # after the batch was moved out of click_events and counted, before the commit
        raise RuntimeError("worker killed")

    monkeypatch.setattr(rollup_module, "_add_to_totals", dies)
    with pytest.raises(RuntimeError, match="worker killed"):
        rollup()
    db.session.rollback()
    assert raw() == 3  # the batch is still there to count
    assert figures(share.id) == (3, 2, 1)
    monkeypatch.undo()
    assert rollup() == 3
    assert raw() == 0
    assert figures(share.id) == (5, 3, 2)
    assert daily() == {(share.id, dt.datetime.now(dt.UTC).date()): (5, 3, 2)}


def test_a_second_rollup_waits_for_the_first_to_release_its_lock(app, client, factory, make_user, redis):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    click(client, share)
    held = redis.lock(rollup_module.LOCK, timeout=60)
    assert held.acquire(blocking=False)
    assert rollup() == 0  # another rollup runs: this one counts nothing
    assert raw() == 1
    held.release()
    assert rollup() == 1
    assert figures(share.id) == (1, 1, 0)


def totals_rows() -> dict[str, set[tuple]]:
    from advocacy.reach.models import ActivityTotals, DayTotals, MonthTotals

    return {model.__tablename__: {tuple(row) for row in db.session.execute(select(model.__table__))}
            for model in (DayTotals, MonthTotals, ActivityTotals)}


@pytest.mark.parametrize("path", ["sql", "changes"])
def test_the_totals_a_rollup_adds_are_the_totals_a_rebuild_makes(app, factory, make_user, monkeypatch, path):
    """Shares of several months, teams and networks, clicked by people and bots on several days over two rollups:
    the report totals the rollup kept (in SQL, or through totals.Changes when a grain's frontier is behind) are
    row for row what a rebuild from the raw tables makes."""
    from advocacy.reach import totals
    from advocacy.reach.links import record

    red, blue = factory.team("Red"), factory.team("Blue")
    people = [make_user(f"p{i}@acme.test", team=team)
              for i, team in enumerate([red, blue, None, red])]
    points = [factory.talking_point(f"Point {i}") for i in range(2)]
    now = dt.datetime.now(dt.UTC)
    shares = [factory.share(people[i % 4], points[i % 2], "x" if i % 3 else "linkedin",
                            published=now - dt.timedelta(days=17 * i + 1)) for i in range(8)]
    rollup()  # figures rows and totals
    if path == "changes":
        monkeypatch.setattr(rollup_module, "_add_to_totals", rollup_module._add_via_changes)
    for round_ in range(2):
        for n, share in enumerate(shares):
            for k in range(n % 3 + 1):
                when = now - dt.timedelta(days=(k + round_) % 2)
                with app.test_request_context():
                    record(share.id, f"198.51.100.{k + round_}", BOT if (n + k) % 4 == 0 else "Mozilla/5.0 Firefox",
                           now=when)
        rollup()
    kept = totals_rows()
    assert kept["reach_activity_totals"] and kept["reach_month_totals"]
    totals.rebuild()
    db.session.commit()
    assert totals_rows() == kept
