"""One-tap share links (/go/<token>): a GET only confirms, a POST shares once through the real worker and the X
sandbox; expired, reused, forged, withdrawn, not-aimed-at and deactivated links are refused with nothing posted."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications.oneclick import refuse_link, share_link
from tests.conftest import Browser, run_jobs
from tests.delivery.support import Sandbox, approved, employee

pytestmark = pytest.mark.timeout(120)


@pytest.fixture()
def x(app: Any, sandbox: dict[str, str], policy: Any) -> Sandbox:
    return Sandbox(sandbox["x"])


def path_of(url: str) -> str:
    assert url.startswith("http://advocacy.test/go/"), url
    return url.removeprefix("http://advocacy.test")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def shares() -> int:
    db.session.commit()  # see what the requests committed
    return int(db.session.scalar(select(func.count(Share.id))) or 0)


def press_share(client: Any, link: str) -> Any:
    """What a person does: open the link, press the page's Share button (its form, CSRF token included)."""
    page = client.get(path_of(link))
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    return client.post(path_of(link), data={"csrf_token": csrf_of(page.get_data(as_text=True))})


def test_opening_the_link_shares_nothing_and_the_button_shares_once_with_its_channel(app, x, client):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    link = share_link(emma, tp, "x", "email")

    for _ in range(3):  # a mail scanner, a preview pane, the person: GETs never share
        page = client.get(path_of(link))
        assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "We are hiring" in body and "Come build the platform with us." in body and "#iworkforacme" in body
    assert 'method="post"' in body and 'id="oneclick-share"' in body and "Share on X" in body
    assert "Edit first" in body and "Not for me" in body
    assert page.headers["Cache-Control"] == "no-store"
    assert shares() == 0 and x.posts() == []

    no_token = client.post(path_of(link))  # a POST without the page's CSRF token (a cross-site form): refused
    assert no_token.status_code == 400 and shares() == 0

    done = client.post(path_of(link), data={"csrf_token": csrf_of(body)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/status")
    share = db.session.scalars(select(Share)).one()
    assert share.channel == "email" and share.user_id == emma.id and share.network == "x"
    status = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Shared on X" in status and "queued" in status

    run_jobs(app)
    posts = x.posts()
    assert len(posts) == 1 and "Come build the platform with us." in posts[0]["text"]
    status = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Shared on X" in status and "posted" in status and 'id="post-url"' in status and "view post" in status

    again = client.post(path_of(link), data={"csrf_token": csrf_of(body)})
    assert again.status_code == 409 and "already used" in again.get_data(as_text=True)
    reopened = client.get(path_of(link))
    assert reopened.status_code == 410 and "already used" in reopened.get_data(as_text=True)
    assert "Shared on X" in reopened.get_data(as_text=True)
    run_jobs(app)
    assert shares() == 1 and len(x.posts()) == 1


def test_an_expired_link_is_refused(app, x, client, monkeypatch):
    import itsdangerous.timed

    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    eight_days_ago = time.time() - 8 * 86400
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: eight_days_ago)
    link = share_link(emma, tp, "x", "email")
    monkeypatch.undo()
    page = client.get(path_of(link))
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert 'id="oneclick-share"' not in page.get_data(as_text=True)
    assert client.post(path_of(link), data={"csrf_token": csrf_of(page.get_data(as_text=True))}).status_code == 410
    assert shares() == 0


def test_a_forged_or_altered_link_is_refused(app, x, client):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    link = share_link(emma, tp, "x", "email")
    payload, stamp, signature = path_of(link).removeprefix("/go/").rsplit(".", 2)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for forged in (f"{payload}.{stamp}.{flipped}", "eyJ1IjoxfQ.aaaa.bbbb", "nonsense"):
        page = client.get(f"/go/{forged}")
        assert page.status_code == 400 and "not valid" in page.get_data(as_text=True)
    assert shares() == 0


def test_withdrawn_after_the_mail_went_out_is_refused_and_nothing_posts(app, x, client):
    from advocacy.content import workflow
    from advocacy.people.models import User

    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    link = share_link(emma, tp, "x", "email")
    page = client.get(path_of(link)).get_data(as_text=True)  # opened while still approved
    reviewer = db.session.scalar(select(User).where(User.email == "reviewer@acme.test"))
    workflow.withdraw(tp, reviewer, "out of date")
    pressed = client.post(path_of(link), data={"csrf_token": csrf_of(page)})
    assert pressed.status_code == 403 and "withdrawn" in pressed.get_data(as_text=True)
    assert client.get(path_of(link)).status_code == 403
    run_jobs(app)
    assert shares() == 0 and x.posts() == []


def test_a_person_the_talking_point_is_not_aimed_at_is_refused(app, x, client):
    from advocacy.people.models import Team

    sales = Team(name="Sales")
    db.session.add(sales)
    db.session.commit()
    emma = employee("emma@acme.test", "emma_acme")  # not in Sales
    tp = approved(target_everyone=False, team_ids=[sales.id])
    page = client.get(path_of(share_link(emma, tp, "x", "email")))
    assert page.status_code == 403 and "Not shared" in page.get_data(as_text=True)
    assert 'id="oneclick-share"' not in page.get_data(as_text=True)
    assert shares() == 0


def test_a_deactivated_person_is_refused(app, x, client):
    from advocacy.people.services import deactivate

    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    link = share_link(emma, tp, "x", "email")
    page = client.get(path_of(link)).get_data(as_text=True)
    deactivate(emma)
    pressed = client.post(path_of(link), data={"csrf_token": csrf_of(page)})
    assert pressed.status_code == 403 and "no longer active" in pressed.get_data(as_text=True)
    assert shares() == 0


def test_someone_else_signed_in_cannot_use_the_link(app, x, browser: Browser):
    emma = employee("emma@acme.test", "emma_acme")
    employee("sam@acme.test", "sam_acme")
    tp = approved()
    link = share_link(emma, tp, "x", "email")
    browser.login("sam@acme.test")
    page = browser.get(path_of(link))
    assert page.status_code == 403 and "sent to someone else" in page.get_data(as_text=True)
    assert browser.post(path_of(link)).status_code == 403
    assert shares() == 0


def test_not_for_me_uses_the_link_up_and_shares_nothing(app, x, client):
    emma = employee("emma@acme.test", "emma_acme")
    tp = approved()
    link = refuse_link(emma, tp, "email")
    page = client.get(path_of(link)).get_data(as_text=True)
    assert "Not for me" in page and 'id="oneclick-share"' not in page
    done = client.post(path_of(link) + "/not-for-me", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200 and "Nothing was shared" in done.get_data(as_text=True)
    assert client.get(path_of(link)).status_code == 410
    assert shares() == 0
