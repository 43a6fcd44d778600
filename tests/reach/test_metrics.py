"""Metrics fetched back from the (sandbox) network on a decaying schedule; unavailable is never zero."""

from __future__ import annotations

import datetime as dt

import requests
from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.networks import connector_for
from advocacy.accounts.services import fresh_access_token
from advocacy.extensions import db
from advocacy.reach.metrics import fetch_due
from advocacy.reach.models import MetricSnapshot, ShareStats
from tests.conftest import connect_x
from tests.reach.conftest import rollup


def posted_share(factory, make_user, browser_factory, sandbox):
    from advocacy.people.models import PolicyVersion
    from advocacy.people.services import acknowledge_policy, opt_in

    db.session.add(PolicyVersion(version=1, title="Policy", body_markdown="Be kind."))
    emma = make_user("emma@acme.test")
    acknowledge_policy(emma, 1)
    opt_in(emma)
    db.session.commit()
    browser = browser_factory("emma@acme.test")
    assert connect_x(browser, "emma_acme").status_code == 302
    account = db.session.scalars(select(ConnectedAccount)).one()
    post = connector_for("x").publish(fresh_access_token(account), "Come build with us.")
    published = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    share = factory.share(emma, factory.talking_point(), published=published, followers=account.followers)
    share.account_id, share.post_id = account.id, post.id
    db.session.commit()
    requests.post(f"{sandbox['x']}/_sandbox/posts/{post.id}/metrics", timeout=5, json={
        "like_count": 3, "retweet_count": 0, "reply_count": 1, "quote_count": 0, "impression_count": None,
    }).raise_for_status()
    rollup()  # creates the share's figures row and its schedule
    return share, published


def test_metrics_follow_the_decaying_schedule_and_unavailable_is_not_zero(app, factory, make_user, browser_factory,
                                                                          sandbox):
    share, published = posted_share(factory, make_user, browser_factory, sandbox)
    stats = db.session.get(ShareStats, share.id)
    assert stats.metrics_due_at == published + dt.timedelta(hours=1)
    assert fetch_due(now=published + dt.timedelta(minutes=30)) == 0  # not due yet
    assert fetch_due(now=published + dt.timedelta(hours=1, seconds=1)) == 1
    snap = db.session.scalars(select(MetricSnapshot)).one()
    assert (snap.likes, snap.reposts, snap.replies, snap.quotes, snap.impressions) == (3, 0, 1, 0, None)
    db.session.refresh(stats)
    assert stats.reposts == 0 and stats.impressions is None  # zero is a figure; None is "not provided"
    assert stats.metrics_due_at == published + dt.timedelta(hours=6)
    assert fetch_due(now=published + dt.timedelta(hours=2)) == 0
    # the worker was down for ten days: one fetch, then on to the 30-day step (missed steps are skipped)
    assert fetch_due(now=published + dt.timedelta(days=10)) == 1
    db.session.refresh(stats)
    assert stats.metrics_due_at == published + dt.timedelta(days=30)
    assert fetch_due(now=published + dt.timedelta(days=31)) == 1
    db.session.refresh(stats)
    assert stats.metrics_due_at is None  # schedule done
    assert len(db.session.scalars(select(MetricSnapshot)).all()) == 3


def test_the_pages_and_api_say_unavailable_never_zero(app, factory, make_user, browser_factory, sandbox):
    share, published = posted_share(factory, make_user, browser_factory, sandbox)
    share_id = share.id
    fetch_due(now=published + dt.timedelta(hours=1, seconds=1))
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    detail = analyst.api("GET", f"/api/reach/shares/{share_id}").get_json()
    assert detail["impressions"] is None and detail["reposts"] == 0 and detail["likes"] == 3
    page = analyst.get(f"/reach/shares/{share_id}").get_data(as_text=True)
    impressions = page.split('data-figure="impressions"')[1].split("</tr>")[0]
    reposts = page.split('data-figure="reposts"')[1].split("</tr>")[0]
    assert "unavailable" in impressions and "unavailable" not in reposts and "<td>0</td>" in reposts
    rep = analyst.api("GET", "/api/reach/report?group=network").get_json()
    assert rep["total"]["impressions"]["value"] is None and rep["total"]["reposts"]["value"] == 0
    html = analyst.get("/reach?group=network").get_data(as_text=True)
    assert 'class="unavailable"' in html


def test_a_deleted_post_stops_the_schedule_and_network_errors_retry(app, factory, make_user, browser_factory, sandbox):
    share, published = posted_share(factory, make_user, browser_factory, sandbox)
    requests.post(f"{sandbox['x']}/_sandbox/faults", json={"status": 503, "count": 1, "path_prefix": "/2/tweets"},
                  timeout=5).raise_for_status()
    assert fetch_due(now=published + dt.timedelta(hours=1, seconds=1)) == 0
    stats = db.session.get(ShareStats, share.id)
    db.session.refresh(stats)
    assert stats.metrics_error and stats.metrics_due_at is not None  # tried again at the next poll
    account = db.session.get(ConnectedAccount, share.account_id)
    connector_for("x").delete(fresh_access_token(account), share.post_id)
    assert fetch_due(now=published + dt.timedelta(hours=1, seconds=2)) == 1
    db.session.refresh(stats)
    assert stats.metrics_due_at is None and "no longer has" in stats.metrics_error
