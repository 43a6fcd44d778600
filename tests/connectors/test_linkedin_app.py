"""LinkedIn through the app's web routes: connect, share, a worker posts it; expiry reminders; failures shown."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import consent, run_jobs
from tests.test_loop import opt_in


def connect_linkedin(browser: Any, username: str, decision: str = "authorize") -> Any:
    """Connect a sandbox LinkedIn member through the app's routes and the sandbox's consent page."""
    start = browser.post("/accounts/connect/linkedin")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    back = urlsplit(consent(start.headers["Location"], username, decision))
    return browser.get(f"{back.path}?{back.query}")


def sandbox_posts(sandbox: dict[str, str]) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = requests.get(f"{sandbox['linkedin']}/_sandbox/posts", timeout=5).json()["posts"]
    return posts


def write_and_approve(browser_factory: Any, make_user: Any) -> int:
    """A comms author writes a talking point for everyone; a second comms person approves it (four eyes)."""
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": "We are hiring", "link": "https://acme.test/jobs?team=platform",
                                       "text": "Come build the platform with us.", "hashtags": "#hiring",
                                       "disclosure": "#iworkforacme", "target_everyone": "1"})
    assert created.status_code == 302, created.get_data(as_text=True)[:2000]
    tp_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    assert browser_factory("reviewer@acme.test").post(f"/studio/{tp_id}/approve").status_code == 302
    return tp_id


def ready_employee(browser_factory: Any, make_user: Any) -> tuple[int, Any]:
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test", "employee")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    return tp_id, emma


def test_connect_share_and_a_worker_posts_it(app: Any, sandbox: Any, browser_factory: Any, make_user: Any,
                                             policy: Any) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    accounts_page = emma.get("/accounts/").get_data(as_text=True)
    assert "Connect LinkedIn" in accounts_page

    connected = connect_linkedin(emma, "emma_acme")
    assert connected.status_code == 302 and connected.headers["Location"].endswith("/feed")
    account = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.network == "linkedin")).one()
    assert account.handle == "Emma Acme" and account.refresh_token_encrypted is None
    assert account.expires_at is not None
    assert dt.timedelta(days=59) < account.expires_at - utcnow() <= dt.timedelta(days=60)
    page = emma.get("/accounts/").get_data(as_text=True)
    assert 'id="expiry-linkedin"' in page and "Access expires in 60 days." in page and "Reconnect LinkedIn" not in page

    feed = emma.get("/feed").get_data(as_text=True)
    assert "Share on LinkedIn" in feed and "Open LinkedIn share dialog" not in feed
    shared = emma.post("/share", {"talking_point_id": tp_id, "network": "linkedin"})
    assert shared.status_code == 302
    share_page = shared.headers["Location"]
    run_jobs(app)

    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published" and share.post_id and share.post_id.startswith("urn:li:share:")
    assert share.post_url == f"{sandbox['linkedin']}/feed/update/{share.post_id}/"
    page = emma.get(share_page).get_data(as_text=True)
    assert "published" in page and 'id="post-url"' in page
    [post] = sandbox_posts(sandbox)
    assert post["id"] == share.post_id and post["author_handle"] == "emma_acme"
    assert post["body"]["content"]["article"]["source"] == f"http://advocacy.test/r/{share.code}"
    assert "Come build the platform with us." in post["text"] and "#iworkforacme" in post["text"]
    assert requests.get(share.post_url, timeout=5).status_code == 200

    from tests.delivery.support import approved

    other = approved(title="Another talking point").id  # one live share per talking point and account: a new one
    api = emma.api("POST", "/api/shares", {"talking_point_id": other, "network": "linkedin"})
    assert api.status_code == 201 and api.get_json()["network"] == "linkedin"


def test_reconnect_prompt_within_seven_days_of_expiry(app: Any, sandbox: Any, browser_factory: Any, make_user: Any,
                                                      policy: Any) -> None:
    _tp_id, emma = ready_employee(browser_factory, make_user)
    connect_linkedin(emma, "emma_acme")
    account = db.session.scalars(select(ConnectedAccount)).one()
    account.expires_at = utcnow() + dt.timedelta(days=6, hours=3)
    db.session.commit()
    page = emma.get("/accounts/").get_data(as_text=True)
    assert "Access expires in 7 days: reconnect now to keep sharing." in page and "Reconnect LinkedIn" in page

    again = connect_linkedin(emma, "emma_acme")  # reconnecting stores a fresh 60-day token on the same account
    assert again.status_code == 302
    db.session.expire_all()
    account = db.session.scalars(select(ConnectedAccount)).one()
    assert account.expires_at is not None and account.expires_at - utcnow() > dt.timedelta(days=59)
    assert "Reconnect LinkedIn" not in emma.get("/accounts/").get_data(as_text=True)


def test_an_expired_token_pauses_the_share_until_the_person_reconnects(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    connect_linkedin(emma, "emma_acme")
    requests.post(f"{sandbox['linkedin']}/_sandbox/tokens/expire", json={}, timeout=5).raise_for_status()
    share_page = emma.post("/share", {"talking_point_id": tp_id, "network": "linkedin"}).headers["Location"]
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "paused" and sandbox_posts(sandbox) == []
    account = db.session.scalars(select(ConnectedAccount)).one()
    db.session.refresh(account)
    assert account.status == "revoked"
    assert "Reconnect" in emma.get(share_page).get_data(as_text=True)
    assert "stopped accepting this app" in emma.get("/accounts/").get_data(as_text=True)


def test_a_retired_linkedin_version_fails_the_share_with_a_configuration_message(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    connect_linkedin(emma, "emma_acme")
    app.config["LINKEDIN_VERSION"] = "202301"
    share_page = emma.post("/share", {"talking_point_id": tp_id, "network": "linkedin"}).headers["Location"]
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "failed" and share.attempts == 1  # not retried: an operator must move the pin
    assert "ConfigurationError (HTTP 426)" in (share.last_error or "") and "202301" in (share.last_error or "")
    assert "LinkedIn-Version" in emma.get(share_page).get_data(as_text=True)
    assert sandbox_posts(sandbox) == []


def test_cancelled_consent_connects_nothing(app: Any, sandbox: Any, browser_factory: Any, make_user: Any,
                                           policy: Any) -> None:
    _tp_id, emma = ready_employee(browser_factory, make_user)
    back = connect_linkedin(emma, "emma_acme", decision="cancel")
    assert back.status_code == 302 and back.headers["Location"].endswith("/accounts/")
    assert "did not connect" in emma.get("/accounts/").get_data(as_text=True)
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_api_names_the_network_it_does_not_post_to(app: Any, sandbox: Any, browser_factory: Any, make_user: Any,
                                                  policy: Any) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    answer = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "facebook"})
    assert answer.status_code == 422 and "network" in answer.get_json()["errors"]["json"]
    not_connected = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "linkedin"})
    assert not_connected.status_code == 422 and "network" in str(not_connected.get_json())
    assert db.session.scalars(select(Share)).all() == []
