"""The pre-aggregated report totals give exactly the reports the per-share rows give, on a randomized history with
late clicks, snapshots that replace earlier ones, rate cards added afterwards and results; a rebuild recreates them."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import delete, select, update

from advocacy.config import ConfigError, load
from advocacy.delivery.models import Share, ShareStatus
from advocacy.extensions import db
from advocacy.reach import reports, services, totals
from advocacy.reach.metrics import store_snapshot
from advocacy.reach.models import ActivityTotals, ClickEvent, DayTotals, MonthTotals, ShareStats
from connectors.base import PostMetrics
from tests.reach.conftest import HUMAN, rollup

START = dt.date(2025, 9, 20)  # the history spans 14 months, so long ranges use the cumulative month rows
DAYS = 420
NETWORKS = ("x", "linkedin", "mastodon")
BOT = "Twitterbot/1.0"


def day(rng: random.Random) -> dt.date:
    return START + dt.timedelta(days=rng.randrange(DAYS))


def at(d: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hour), dt.UTC)


def clicks(rng: random.Random, shares: list[Share], n: int, old: bool = False) -> None:
    """Raw clicks as the redirect writes them; ``old``: late clicks on the earliest shares."""
    pool = sorted(shares, key=lambda s: s.published_at)[:max(1, len(shares) // 4)] if old else shares
    for _ in range(n):
        share = rng.choice(pool)
        when = share.published_at.date() + dt.timedelta(days=int(rng.expovariate(0.2)) - (rng.random() < 0.05))
        db.session.add(ClickEvent(share_id=share.id, day=when, visitor=f"v{rng.randrange(40)}",
                                  user_agent=BOT if rng.random() < 0.15 else HUMAN))
    db.session.commit()


def snapshots(rng: random.Random, shares: list[Share], n: int) -> None:
    """Metric snapshots; each replaces the share's previous figures (some networks give no impressions, some
    posts are gone)."""
    for _ in range(n):
        share = rng.choice(shares)
        stats = db.session.get(ShareStats, share.id)
        if stats is None:
            continue
        maybe = (lambda hi: None if rng.random() < 0.2 else rng.randrange(hi))  # noqa: E731
        metrics = None if rng.random() < 0.05 else PostMetrics(
            share.post_id or "", maybe(50), maybe(10), maybe(5), maybe(3),
            None if share.network == "linkedin" else maybe(5000))
        when = at(share.published_at.date() + dt.timedelta(days=rng.randrange(40)), rng.randrange(24))
        store_snapshot(stats, share, metrics, when)
        db.session.commit()


def history(factory, make_user, seed: int) -> dict:
    rng = random.Random(seed)
    teams = [factory.team(f"Team {i}") for i in range(3)]
    people = [make_user(f"p{i}@acme.test", name=f"Person {i % 7}", team=rng.choice([*teams, None]))
              for i in range(9)]
    comms = make_user("cara@acme.test", "comms")
    points = [factory.talking_point(f"Point {i}") for i in range(4)]
    shares: list[Share] = []

    pending: set[tuple[int, int, str]] = set()  # one live share per person, talking point and network

    def publish(n: int, status: str = ShareStatus.PUBLISHED) -> list[Share]:
        made = []
        for _ in range(n):
            person, point, network = rng.choice(people), rng.choice(points), rng.choice(NETWORKS)
            while status != ShareStatus.PUBLISHED and (person.id, point.id, network) in pending:
                person, point, network = rng.choice(people), rng.choice(points), rng.choice(NETWORKS)
            if status != ShareStatus.PUBLISHED:
                pending.add((person.id, point.id, network))
            share = factory.share(person, point, network, at(day(rng)),
                                  followers=None if rng.random() < 0.1 else rng.randrange(5000))
            share.status = status
            made.append(share)
        db.session.commit()
        shares.extend(made)
        return made

    late = publish(6, ShareStatus.QUEUED)  # clicked and given results before their figures row exists
    publish(40)
    clicks(rng, shares, 300)
    for share in late[:3]:
        services.record_result(db.session.get(type(people[0]), share.user_id), {"share_id": str(share.id),
                                                                                 "kind": "lead"})
    rollup()
    services.add_rate_card(comms, {"network": "x", "effective_from": "2025-12-01", "cpm": "10", "cpc": "0.5",
                                   "per_engagement": "0.2"})
    snapshots(rng, shares, 80)
    for share in late:
        share.status = ShareStatus.PUBLISHED
    people[0].team_id = teams[1].id  # a new team: earlier shares keep the team they were made in
    db.session.commit()
    publish(40)
    clicks(rng, shares, 300, old=True)  # late-arriving clicks on old shares
    clicks(rng, shares, 300)
    rollup()
    snapshots(rng, shares, 120)  # later snapshots replace earlier ones
    services.add_rate_card(comms, {"network": "x", "effective_from": "2026-04-15", "cpm": "12", "cpc": "0.6",
                                   "per_engagement": "0.25"})
    services.add_rate_card(comms, {"network": "mastodon", "effective_from": "2026-02-01", "cpm": "4", "cpc": "0.1",
                                   "per_engagement": "0.05"})
    for share in rng.sample(shares, 12):
        services.record_result(db.session.get(type(people[0]), share.user_id), {"share_id": str(share.id),
                                                                                 "kind": "hire"})
    services.set_leaderboard_opt_out(people[2], True)
    clicks(rng, shares, 200, old=True)
    rollup()
    return {"teams": teams, "people": people, "points": points, "rng": rng}


def ranges(rng: random.Random) -> list[tuple[dt.date, dt.date]]:
    end = START + dt.timedelta(days=DAYS)
    fixed = [(START - dt.timedelta(days=40), end + dt.timedelta(days=60)),  # everything, past the newest month
             (dt.date(2025, 11, 1), dt.date(2026, 10, 31)),  # whole months
             (dt.date(2026, 1, 31), dt.date(2026, 3, 1)), (dt.date(2026, 2, 14), dt.date(2026, 2, 14)),
             (dt.date(2025, 10, 2), dt.date(2026, 9, 29)), (end - dt.timedelta(days=29), end)]
    picked = []
    for _ in range(6):
        a, b = sorted((day(rng), day(rng)))
        picked.append((a, b))
    return fixed + picked


def both(app, produce):
    """What ``produce`` gives from the totals, then from the per-share rows."""
    app.config["REACH_PREAGGREGATED"] = True
    fast = produce()
    app.config["REACH_PREAGGREGATED"] = False
    slow = produce()
    app.config["REACH_PREAGGREGATED"] = True
    return fast, slow


def assert_same_reports(app, world: dict) -> int:
    rng = random.Random(99)
    team = world["teams"][0].id
    compared = 0
    for date_from, date_to in ranges(rng):
        for network, team_id in ((None, None), ("x", None), ("linkedin", None), (None, team), ("x", team)):
            f = reports.Filters(date_from, date_to, network, team_id)
            for group in reports.GROUPS:
                if group != "talking_point" or team_id is None:
                    assert reports._totals_plan(group, f) is not None  # the totals really answer it
                fast, slow = both(app, lambda f=f, group=group: reports.report(group, f))
                assert fast == slow, (group, f)
                compared += 1
            fast, slow = both(app, lambda f=f: reports.over_time(f))
            assert fast == slow, ("over time", f)
            fast, slow = both(app, lambda f=f: reports.amplification(f))
            assert fast == slow, ("amplification", f)
            for opted in (False, True):
                fast, slow = both(app, lambda f=f, opted=opted: reports.standings(f, include_opted_out=opted,
                                                                                  limit=None))
                assert fast == slow, ("standings", f)
    return compared


def table(model) -> set:
    cols = [c for c in model.__table__.c]
    values = [c for c in cols if not c.primary_key]
    return {tuple(r) for r in db.session.execute(select(*cols)) if any(r[len(cols) - len(values):])}


@pytest.mark.parametrize("seed", [1, 2])
def test_totals_give_exactly_the_per_share_reports_and_a_rebuild_recreates_them(app, factory, make_user, seed):
    world = history(factory, make_user, seed)
    assert totals.ready()
    everything = reports.report("network", reports.Filters(START, START + dt.timedelta(days=DAYS)))
    assert everything.total.shares == 86 and everything.total.clicks > 500 and everything.total.results == 15
    assert everything.total.likes.value and everything.total.emv_measured > 0
    assert {"x v1", "x v2", "mastodon v1"} <= set(everything.total.rate_cards)
    assert assert_same_reports(app, world) == 300
    kept = {m: table(m) for m in (DayTotals, MonthTotals, ActivityTotals)}

    # Damage the totals, then rebuild them from the raw tables with the command an operator runs.
    db.session.execute(delete(DayTotals).where(DayTotals.grain == "person"))
    db.session.execute(update(MonthTotals).values(hits=MonthTotals.hits + 7))
    db.session.execute(delete(ActivityTotals).where(ActivityTotals.network == "x"))
    db.session.commit()
    damaged, rows = both(app, lambda: reports.report("person", reports.Filters(START, START + dt.timedelta(days=DAYS))))
    assert damaged != rows
    answer = app.test_cli_runner().invoke(args=["reach", "rebuild-totals"])
    assert answer.exit_code == 0, answer.output
    assert "report totals rebuilt: 86 shares" in answer.output
    assert {m: table(m) for m in kept} == kept  # the same rows the jobs kept, to the last figure
    assert both(app, lambda: reports.report("person", reports.Filters(START, START + dt.timedelta(days=DAYS))))[0] \
        == rows


def test_reports_read_the_share_rows_until_the_totals_are_built(app, factory, make_user):
    ana = make_user("ana@acme.test")
    share = factory.share(ana, factory.talking_point(), published=at(dt.date(2026, 3, 3)))
    rollup()  # builds the totals (an empty database after the upgrade), then counts the new share
    f = reports.Filters(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert reports._totals_plan("team", f) is not None and reports.report("team", f).total.shares == 1
    db.session.execute(delete(MonthTotals))  # as after upgrading a database that already had shares
    db.session.commit()
    assert not totals.ready() and reports._totals_plan("team", f) is None
    assert reports.report("team", f).total.shares == 1  # from share_stats meanwhile
    db.session.add(ClickEvent(share_id=share.id, day=dt.date(2026, 3, 4), visitor="v1", user_agent=HUMAN))
    db.session.commit()
    rollup()  # rebuilds first, then counts the click on top
    assert totals.ready() and reports._totals_plan("team", f) is not None
    rep = reports.report("team", f)
    assert rep.total.shares == 1 and rep.total.clicks == 1
    assert [p.clicks for p in reports.over_time(f) if p.day == dt.date(2026, 3, 4)] == [1]


def test_the_setting_is_a_yes_or_no():
    with pytest.raises(ConfigError) as raised:
        load(None, {"ADVOCACY_REACH_PREAGGREGATED": "sometimes"})
    assert "ADVOCACY_REACH_PREAGGREGATED" in str(raised.value)


def test_a_totals_writer_holds_the_write_lock_before_it_reads(app):
    """Two jobs giving the same new share its figures row (the rollup and the metrics job) each read "no row yet"
    and insert it: the second failed on the unique share id. ``totals.lock`` must hold writers off from the moment
    it is taken, before the writer reads."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    url = db.engine.url
    other = create_engine(url, connect_args={"timeout": 0.2} if url.get_backend_name() == "sqlite" else {})
    try:
        totals.lock()
        with other.connect() as conn:
            if url.get_backend_name() == "postgresql":
                assert conn.scalar(text(f"SELECT pg_try_advisory_xact_lock({totals.LOCK_ID})")) is False
            else:
                with pytest.raises(OperationalError, match="locked"):
                    conn.execute(text("DELETE FROM reach_month_totals WHERE 0"))
        db.session.rollback()
        with other.begin() as conn:  # released with the transaction
            if url.get_backend_name() == "postgresql":
                assert conn.scalar(text(f"SELECT pg_try_advisory_xact_lock({totals.LOCK_ID})")) is True
            else:
                conn.execute(text("DELETE FROM reach_month_totals WHERE 0"))
    finally:
        db.session.rollback()
        other.dispose()
