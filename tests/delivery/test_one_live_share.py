"""Never twice: a person has at most one live share of a talking point per account. A second is refused (409, naming
the share that is out), the feed shows it instead of a share button, and the database holds the rule under races."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee

APP_PASSWORD = "emma-2345-abcd-wxyz"


def _count(**where: object) -> int:
    query = select(func.count(Share.id))
    for name, value in where.items():
        query = query.where(getattr(Share, name) == value)
    return int(db.session.scalar(query) or 0)


def test_a_second_api_share_to_the_same_account_is_refused_with_409_and_the_existing_shares_url(app, x, browser):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    first = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert first.status_code == 201
    share_id = first.get_json()["id"]

    again = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert again.status_code == 409
    body = again.get_json()
    assert again.headers["Location"] == f"/api/shares/{share_id}" == body["share"]["url"]
    assert body["share"]["id"] == share_id and body["share"]["page"] == f"/shares/{share_id}"
    assert "already shared this talking point on X" in body["errors"]["json"]["network"][0]
    assert browser.api("GET", again.headers["Location"]).get_json()["id"] == share_id

    run_jobs(app)
    posted = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})  # published counts too
    assert posted.status_code == 409 and posted.get_json()["share"]["status"] == "published"
    assert posted.get_json()["share"]["post_url"]
    later = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x",
                                                "scheduled_at": "2099-01-01T09:00:00+00:00"})
    assert later.status_code == 409
    run_jobs(app)
    assert _count() == 1 and len(x.posts()) == 1


def test_the_feed_after_share_on_all_offers_no_second_x_button(app, x, browser):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/accounts/connect/bluesky", {"handle": "emma.bsky.social", "app_password": APP_PASSWORD})
    assert browser.post("/share/all", {"talking_point_id": tp_id}).status_code == 302
    run_jobs(app)

    feed = browser.get("/feed").get_data(as_text=True)
    assert f'id="share-{tp_id}-x"' not in feed and "Share on X" not in feed  # no button that posts it again
    assert f'id="share-{tp_id}-bluesky"' not in feed and "Share on all" not in feed
    x_share = db.session.scalars(select(Share).where(Share.network == "x")).one()
    card = re.search(r'<section class="network shared" data-network="x".*?</section>', feed, re.S)
    assert card is not None
    assert "Shared on X" in card.group(0) and "view post" in card.group(0) and x_share.post_url in card.group(0)
    assert 'class="badge published">posted<' in card.group(0)  # its live status

    # the form posted again anyway (an old tab, a double submit): refused, nothing posted twice
    again = browser.post("/share", {"talking_point_id": tp_id, "network": "x", "when": "now"})
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/shares/{x_share.id}")
    assert "Not shared again: you already shared this talking point on X" in browser.get(
        f"/shares/{x_share.id}").get_data(as_text=True)
    assert browser.post("/share/all", {"talking_point_id": tp_id}).status_code == 302
    feed = browser.get("/feed").get_data(as_text=True)
    told = re.search(r"Already shared on ([^:<]+): not shared there again\.", feed)
    assert told is not None and sorted(told.group(1).split(", ")) == ["Bluesky", "X"]
    run_jobs(app)
    assert _count() == 2 and len(x.posts()) == 1


def test_share_on_all_skips_the_network_already_shared_and_offers_the_others(app, x, browser):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    browser.post("/accounts/connect/bluesky", {"handle": "emma.bsky.social", "app_password": APP_PASSWORD})
    browser.post("/share", {"talking_point_id": tp_id, "network": "x", "when": "later",
                            "scheduled_at": "2099-01-01T09:00"})
    feed = browser.get("/feed").get_data(as_text=True)
    assert "Shared on X" in feed and 'class="badge scheduled">scheduled<' in feed and "view share" in feed
    assert f'id="share-{tp_id}-bluesky"' in feed and f'id="share-{tp_id}-x"' not in feed
    assert "Share on all" not in feed  # one network left: its own button does it
    browser.post("/share/all", {"talking_point_id": tp_id})
    assert sorted((s.network, s.status) for s in db.session.scalars(select(Share))) == [
        ("bluesky", "queued"), ("x", "scheduled")]


def test_a_failed_share_can_be_shared_again(app, x, browser):
    tp_id = approved().id
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    x.fault(status=400, count=1, path_prefix="/2/tweets", method="POST")  # refused: a permanent failure
    first = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    run_jobs(app)
    assert browser.api("GET", f"/api/shares/{first.get_json()['id']}").get_json()["status"] == "failed"
    assert f'id="share-{tp_id}-x"' in browser.get("/feed").get_data(as_text=True)  # the button is back

    again = browser.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert again.status_code == 201
    run_jobs(app)
    assert browser.api("GET", f"/api/shares/{again.get_json()['id']}").get_json()["status"] == "published"
    assert len(x.posts()) == 1
    # the failed one cannot be retried by an operator now: it would post a second time
    from advocacy.errors import Conflict
    from advocacy.people.services import create_user

    admin = create_user("admin@acme.test", "Admin", "admin-password-1234", "admin")
    db.session.commit()
    failed = db.session.get(Share, first.get_json()["id"])
    with pytest.raises(Conflict):
        services.retry(failed, admin)


def test_a_cancelled_share_does_not_count(app, x):
    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    first = services.create_share(emma, tp, "x", at=utcnow().replace(year=2099))
    assert services.cancel(first, "changed my mind")
    second = services.create_share(emma, tp, "x")
    assert second.id != first.id and second.status == "queued"


def test_the_database_refuses_a_second_live_share_whoever_writes_it(app, x):
    """Two requests racing past the domain check: the partial unique index keeps one (SQLite and PostgreSQL)."""
    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    first = services.create_share(emma, tp, "x", at=utcnow().replace(year=2099))
    twin = {c: getattr(first, c) for c in ("talking_point_id", "user_id", "account_id", "network", "text")}
    db.session.add(Share(**twin, code=services.new_code(), status="queued"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Share(**twin, code=services.new_code(), status="failed"))  # not live: allowed
    db.session.add(Share(**twin, code=services.new_code(), status="cancelled"))
    db.session.commit()
    assert _count(status="scheduled") == 1 and _count() == 3
