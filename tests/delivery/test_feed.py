"""The employee's feed: previews per network with counters, one tap on every network, my own wording screened."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee

APP_PASSWORD = "emma-2345-abcd-wxyz"


def test_feed_previews_each_network_with_its_counter_and_shares_on_all_in_one_tap(app, x, browser, sandbox):
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/accounts/connect/bluesky", {"handle": "emma.bsky.social", "app_password": APP_PASSWORD})
    page = browser.get("/feed").get_data(as_text=True)
    # exactly as it will post: copy, hashtag, the disclosure line; counted with the tracked link against the limit
    assert page.count("Come build the platform with us. #hiring #iworkforacme") == 2
    assert f'id="ct-{tp.id}-x" data-limit="280">' in page and " / 300</span>" in page
    assert "Share on all 2 networks now" in page

    answer = browser.post("/share/all", {"talking_point_id": tp.id})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/feed#recent")
    run_jobs(app)
    shares = db.session.scalars(select(Share).order_by(Share.network)).all()
    assert [(s.network, s.status) for s in shares] == [("bluesky", "published"), ("x", "published")]
    feed = browser.get("/feed").get_data(as_text=True)
    assert feed.count("see the post") == 2 and shares[1].post_url in feed  # the live status links each post


def test_my_wording_is_screened_and_a_refusal_keeps_what_i_typed(app, x, browser):
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    typed = "Join us! This is CONFIDENTIAL, internal only."
    preview = browser.api("POST", f"/api/talking-points/{tp.id}/preview", {"network": "x", "text": typed})
    assert preview.status_code == 200 and preview.get_json()["blocked"] is True

    refused = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "text": typed, "when": "now"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Your wording: screening blocked it" in page and typed in page and 'aria-invalid="true"' in page
    assert db.session.scalar(select(func.count(Share.id))) == 0  # nothing stored

    ok = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "text": "Great team, great work.",
                                 "when": "now"})
    assert ok.status_code == 302
    share = db.session.scalars(select(Share)).one()
    assert share.text == "Great team, great work. #hiring #iworkforacme"


def test_schedule_without_a_time_is_refused_naming_the_field(app, x, browser):
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "", "when": "later"})
    assert answer.status_code == 302
    assert "scheduled_at is empty: choose a date and time" in browser.get("/feed").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Share.id))) == 0


def test_share_now_ignores_a_half_filled_schedule_box(app: Any, x: Any, browser: Any) -> None:
    tp = approved()
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "2099-01-01T09:00",
                                     "when": "now"})
    assert answer.status_code == 302
    assert db.session.scalars(select(Share)).one().status == "queued"
