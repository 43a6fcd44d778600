"""The tracked-link redirect: bots counted apart, unique visitors per day, durable recording, bad input."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, text

from advocacy.extensions import db
from advocacy.reach.links import record
from advocacy.reach.models import ClickDaily, ClickEvent, ClickVisitor, ShareStats
from tests.reach.conftest import HUMAN, click, rollup

PREVIEWERS = [
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mastodon/4.2.0 (http.rb/5.1.1; +https://mastodon.social/)",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "WhatsApp/2.23.20.0",
    "Discordbot/2.0; +https://discordapp.com",
    "",
]


def figures(share_id: int) -> tuple[int, int, int]:
    stats = db.session.get(ShareStats, share_id)
    db.session.refresh(stats)
    return stats.hits, stats.unique_clicks, stats.bot_hits


def test_redirect_carries_utm_parameters_and_previews_are_not_clicks(app, client, factory, make_user):
    emma = make_user("emma@acme.test")
    share = factory.share(emma, factory.talking_point())
    answer = click(client, share)
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "no-store"
    target = urlsplit(answer.headers["Location"])
    query = parse_qs(target.query)
    assert (target.netloc, target.path, query["team"]) == ("acme.test", "/jobs", ["platform"])
    assert query["utm_source"] == ["x"] and query["utm_medium"] == ["advocacy"]
    assert query["utm_campaign"] == [f"tp-{share.talking_point_id}"] and query["utm_content"] == [f"share-{share.id}"]
    for ua in PREVIEWERS:
        assert click(client, share, ua=ua).status_code == 302  # previewers get the redirect, uncounted as clicks
    assert rollup() == 1 + len(PREVIEWERS)
    assert figures(share.id) == (1, 1, len(PREVIEWERS))


def test_unique_visitors_per_share_per_day_and_hammering_does_not_inflate(app, client, factory, make_user):
    emma = make_user("emma@acme.test")
    share = factory.share(emma, factory.talking_point())
    for _ in range(5):
        click(client, share, ip="198.51.100.1")
    click(client, share, ip="198.51.100.2")
    for _ in range(40):  # a bot hammering the link
        click(client, share, ip="192.0.2.9", ua="python-requests/2.32")
    rollup()
    click(client, share, ip="198.51.100.1")  # the same person again, in a later rollup: not a new visitor
    rollup()
    assert rollup() == 0  # nothing is counted twice
    assert figures(share.id) == (7, 2, 40)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.1"}):
        record(share.id, "198.51.100.1", HUMAN, now=yesterday)  # same person, another day: counted that day
    rollup()
    days = {d.day: (d.hits, d.unique_clicks, d.bot_hits) for d in db.session.scalars(select(ClickDaily))}
    assert days == {dt.datetime.now(dt.UTC).date(): (7, 2, 40), yesterday.date(): (1, 1, 0)}
    assert figures(share.id) == (8, 3, 40)


def test_no_raw_address_is_stored_and_old_visitor_hashes_are_purged(app, client, factory, make_user):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    click(client, share, ip="198.51.100.77")
    event = db.session.scalars(select(ClickEvent)).one()
    assert "198.51.100.77" not in event.visitor and len(event.visitor) == 32
    rollup()
    from advocacy.reach.rollup import purge_old_visitors

    purge_old_visitors(today=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2))
    assert db.session.scalar(select(func.count()).select_from(ClickVisitor)) == 0
    assert figures(share.id) == (1, 1, 0)  # the counts stay


def test_a_click_is_durable_before_the_redirect_and_survives_a_redis_flush(app, client, factory, make_user, redis):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    assert click(client, share).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ClickEvent)) == 1  # committed, not buffered
    redis.flushdb()
    rollup()
    assert figures(share.id) == (1, 1, 0)


def test_unknown_malformed_and_hostile_codes_get_a_plain_404_never_a_redirect(app, client, factory, make_user):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    for path in ["/r/nope1234", "/r/x", "/r/" + "a" * 5000, "/r/..%2F..%2Fetc", "/r/abc/def",
                 "/r/%00%ff", "/r/code?url=https://evil.test", "/r/https://evil.test/"]:
        answer = client.get(path, headers={"User-Agent": HUMAN})
        assert answer.status_code == 404, path
        assert "Location" not in answer.headers and "Link not found" in answer.get_data(as_text=True)
    huge = click_with_query(client, share.code, "q=" + "z" * 20_000)
    assert huge.status_code == 302 and "zzzz" not in huge.headers["Location"]
    head = click(client, share, method="HEAD")
    assert head.status_code == 302  # HEAD is answered, never counted
    rollup()
    assert figures(share.id) == (1, 1, 0)


def click_with_query(client, code: str, query: str):
    return client.get(f"/r/{code}?{query}", headers={"User-Agent": HUMAN})


def test_the_rollup_runs_as_a_periodic_job_on_the_default_queue(app, client, factory, make_user, redis):
    from rq.registry import ScheduledJobRegistry

    from tests.conftest import run_jobs
    from workers import queues, schedule

    ids = schedule.arm(redis)
    assert any(i.startswith("periodic-reach-rollup-clicks-") for i in ids)
    scheduled = ScheduledJobRegistry(queue=queues.queue(queues.DEFAULT, redis)).get_job_ids()
    assert set(ids) <= set(scheduled)
    assert schedule.arm(redis) == ids  # arming twice schedules nothing twice
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    share_id = share.id
    click(client, share)
    queues.queue(queues.DEFAULT, redis).enqueue(schedule.RUNNER, "reach-rollup-clicks", 60)
    run_jobs(app)  # the job counts, then arms its next run
    assert figures(share_id) == (1, 1, 0)
    assert len(ScheduledJobRegistry(queue=queues.queue(queues.DEFAULT, redis)).get_job_ids()) >= len(ids)


def test_user_agents_are_stored_as_sent_cut_to_512_characters_without_nul(app, client, factory, make_user):
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    long_accented = "Mozilla/5.0 é" + "é" * 600  # gunicorn hands headers over as Latin-1 text
    assert client.get(f"/r/{share.code}", headers={"User-Agent": long_accented}).status_code == 302
    with app.test_request_context():
        record(share.id, "198.51.100.1", "Mozilla/5.0\x00 (X11)")
    stored = sorted(db.session.scalars(select(ClickEvent.user_agent)), key=len)
    assert stored == ["Mozilla/5.0 (X11)", long_accented[:512]]


def test_on_postgresql_the_click_writer_commits_asynchronously_and_replaces_a_connection_the_server_dropped(
        app, client, factory, make_user):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the click writer's own connections exist on PostgreSQL only")
    share = factory.share(make_user("emma@acme.test"), factory.talking_point())
    assert click(client, share).status_code == 302
    writer = app.extensions["advocacy.reach.links"].writer
    (connection,) = writer.idle
    assert connection.execute("SHOW synchronous_commit").fetchone() == ("off",)  # README, *Tracked links*
    assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"  # every other transaction
    dropped = connection.info.backend_pid
    assert db.session.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": dropped}).scalar()
    db.session.commit()
    assert click(client, share).status_code == 302  # written again on a new connection, once
    assert db.session.scalar(select(func.count()).select_from(ClickEvent)) == 2
    (fresh,) = writer.idle
    assert fresh.info.backend_pid != dropped
    rollup()
    assert figures(share.id) == (2, 1, 0)
    db.engine.dispose()  # the app's engine disposed of: the click writer's connections are closed too
    assert writer.idle == [] and fresh.closed
