"""Threads through the app's web routes: connect on the sandbox's consent page, share in one tap, a worker posts it;
the 60-day token refreshed ahead of expiry, a dead one revoked with a reminder; disconnect discards it (Threads
offers no revocation); the signed image URL Threads fetches; screening measures what is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import consent, run_jobs
from tests.connectors.test_linkedin_app import ready_employee


@pytest.fixture()
def settings(settings: dict[str, Any], sandbox: dict[str, str]) -> dict[str, Any]:
    url = sandbox["threads"]
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    return settings | {
        "THREADS_API_BASE_URL": url, "THREADS_AUTHORIZE_URL": f"{url}/oauth/authorize",
        "THREADS_TOKEN_URL": f"{url}/oauth/access_token", "THREADS_WEB_BASE_URL": url,
        "THREADS_CLIENT_ID": "threads-sandbox-app", "THREADS_CLIENT_SECRET": "threads-sandbox-secret"}


def connect_threads(browser: Any, username: str, decision: str = "allow") -> Any:
    start = browser.post("/accounts/connect/threads")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    back = urlsplit(consent(start.headers["Location"], username, decision))
    return browser.get(f"{back.path}?{back.query}")


def threads_posts(sandbox: dict[str, str]) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = requests.get(f"{sandbox['threads']}/_sandbox/posts", timeout=5).json()["posts"]
    return posts


def test_connect_share_in_one_tap_and_a_worker_posts_it(app: Any, sandbox: Any, browser_factory: Any,
                                                       make_user: Any, policy: Any) -> None:
    tp_id, emma = ready_employee(browser_factory, make_user)
    assert "Connect Threads" in emma.get("/accounts/").get_data(as_text=True)
    connected = connect_threads(emma, "emma_acme")
    assert connected.status_code == 302 and connected.headers["Location"].endswith("/feed")
    account = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.network == "threads")).one()
    assert account.handle == "emma_acme" and account.followers is not None
    assert account.expires_at is not None and account.refresh_token_encrypted is not None  # it refreshes itself
    assert dt.timedelta(days=59) < account.expires_at - utcnow() <= dt.timedelta(days=60)

    assert "Share on Threads" in emma.get("/feed").get_data(as_text=True)
    shared = emma.post("/share", {"talking_point_id": tp_id, "network": "threads"})
    assert shared.status_code == 302
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published", share.last_error
    [post] = threads_posts(sandbox)
    assert post["id"] == share.post_id and post["author_handle"] == "emma_acme"
    assert post["link"] == f"http://advocacy.test/r/{share.code}" and post["media_type"] == "TEXT_POST"
    assert "Come build the platform with us." in post["text"] and "#iworkforacme" in post["text"]
    assert share.post_url and requests.get(share.post_url, timeout=5).status_code == 200
    assert "Shared on Threads" in emma.get("/feed").get_data(as_text=True)


def test_the_token_is_refreshed_ahead_and_a_dead_one_asks_the_person_to_reconnect(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    from advocacy.delivery import tokens
    from advocacy.notifications.models import Notification

    _tp, emma = ready_employee(browser_factory, make_user)
    connect_threads(emma, "emma_acme")
    account = db.session.scalars(select(ConnectedAccount)).one()
    account.expires_at = utcnow() + dt.timedelta(minutes=10)  # due for the upkeep's refresh
    db.session.commit()
    requests.post(f"{sandbox['threads']}/_sandbox/clock", json={"advance": 86400 + 60}, timeout=5)  # a day old
    assert tokens.refresh_expiring()["refreshed"] == 1
    db.session.refresh(account)
    assert account.expires_at is not None and account.expires_at - utcnow() > dt.timedelta(days=59)

    requests.post(f"{sandbox['threads']}/_sandbox/tokens/expire", json={}, timeout=5).raise_for_status()
    account.expires_at = utcnow() + dt.timedelta(minutes=10)
    db.session.commit()
    assert tokens.refresh_expiring()["revoked"] == 1
    db.session.refresh(account)
    assert account.status == "revoked"
    titles = [n.subject for n in db.session.scalars(select(Notification)).all()]
    assert any("Reconnect your threads account" in t for t in titles)
    assert "stopped accepting this app" in emma.get("/accounts/").get_data(as_text=True)


def test_disconnect_discards_the_token_and_says_threads_cannot_revoke(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    _tp, emma = ready_employee(browser_factory, make_user)
    connect_threads(emma, "emma_acme")
    page = emma.get("/accounts/").get_data(as_text=True)
    assert "Threads offers apps no way to revoke" in page and "If Threads cannot be reached" not in page
    account = db.session.scalars(select(ConnectedAccount)).one()
    assert emma.post(f"/accounts/{account.id}/disconnect").status_code == 302
    db.session.refresh(account)
    assert account.status == "disconnected" and account.access_token_encrypted is None
    assert account.refresh_token_encrypted is None and account.last_error is None


def test_the_image_url_threads_fetches_is_signed_and_serves_the_approved_image(
    app: Any, client: Any, sandbox: Any, policy: Any
) -> None:
    from advocacy.accounts import threads
    from tests.connectors.imagefiles import png
    from tests.delivery.support import approved

    tp = approved(title="With a picture")
    import hashlib

    from advocacy.content.models import TalkingPointImage

    db.session.add(TalkingPointImage(talking_point_id=tp.id, data=png(), content_type="image/png", size=len(png()),
                                     sha256=hashlib.sha256(png()).hexdigest(), alt_text="A red square",
                                     filename="a.png", approved=True, current=True))
    db.session.commit()
    share = Share(talking_point_id=tp.id, user_id=tp.author_id, network="threads", text="t", code="abcdefgh",
                  link=tp.link, scheduled_at=utcnow())
    db.session.add(share)
    db.session.commit()
    url = threads.image_url(None, f"advocacy-share-{share.id}-{share.code}")  # type: ignore[arg-type]
    assert url.startswith("http://advocacy.test/accounts/threads/image/")
    path = urlsplit(url).path
    answer = client.get(path)
    assert answer.status_code == 200 and answer.data == png() and answer.mimetype == "image/png"
    assert client.get(path[:-2] + "xx").status_code == 404  # tampered
    share.status = "cancelled"
    db.session.commit()
    assert client.get(path).status_code == 404


def test_screening_measures_threads_as_sent() -> None:
    from advocacy.content import screening

    link = "https://advocacy.test/r/abcdefgh"
    text = "a" * 496 + "🎉"  # 500 as Threads counts: the tracked link rides in the card, outside the text
    assert not [f for f in screening.screen(text, networks=["threads"], link=link) if f.network == "threads"]
    over = screening.screen(text + "!", networks=["threads"], link=link)
    assert any("501 of 500" in f.message for f in over)
    with_image = screening.screen(text, networks=["threads"], link=link, media=True)  # then the link is in the text
    assert any(f.network == "threads" for f in with_image)
    six = " ".join(f"https://e{i}.example/" for i in range(5))
    assert any("6 links" in f.message for f in screening.screen(six, networks=["threads"], link=link))


def test_a_spent_publishing_quota_reschedules_the_share_never_fails_it(
    app: Any, sandbox: Any, browser_factory: Any, make_user: Any, policy: Any
) -> None:
    from tests.delivery.support import approved

    tp_id, emma = ready_employee(browser_factory, make_user)
    connect_threads(emma, "emma_acme")
    requests.post(f"{sandbox['threads']}/_sandbox/config", json={"quota_total": 1}, timeout=5).raise_for_status()
    other = approved(title="Another talking point").id
    emma.post("/share", {"talking_point_id": tp_id, "network": "threads"})
    run_jobs(app)
    emma.post("/share", {"talking_point_id": other, "network": "threads"})
    run_jobs(app)
    shares = {s.talking_point_id: s for s in db.session.scalars(select(Share)).all()}
    for share in shares.values():
        db.session.refresh(share)
    assert shares[tp_id].status == "published"
    waiting = shares[other]
    assert waiting.status == "scheduled" and "quota" in (waiting.last_error or "")
    assert waiting.scheduled_at - utcnow() > dt.timedelta(minutes=50)  # a moving window: looked at again in an hour
    assert len(threads_posts(sandbox)) == 1
