"""Targeting reaches exactly the right people; withdrawal cancels queued shares; recall deletes live posts."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from sqlalchemy import select

from advocacy.content import library, recall, workflow
from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share
from advocacy.delivery.services import create_share
from advocacy.errors import DomainError, NotAllowed
from advocacy.extensions import db
from advocacy.people.models import Team
from tests.conftest import connect_x, run_jobs

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture()
def org(make_user):
    sales, eng = Team(name="Sales"), Team(name="Engineering")
    db.session.add_all([sales, eng])
    db.session.commit()
    people = {
        "author": make_user("author@acme.test", "comms"), "reviewer": make_user("reviewer@acme.test", "comms"),
        "sam": make_user("sam@acme.test", team=sales), "sue": make_user("sue@acme.test", team=sales),
        "eve": make_user("eve@acme.test", team=eng), "nia": make_user("nia@acme.test"),  # no team
    }
    return people, sales, eng


def approved(org, title: str, **fields) -> TalkingPoint:
    people, _, _ = org
    tp = workflow.create_talking_point(people["author"], title=title, link="https://acme.example/p",
                                       text=f"{title} copy", disclosure="#iworkforacme", **fields)
    workflow.submit(tp, people["author"])
    workflow.approve(tp, people["reviewer"])
    return tp


def test_targeting_reaches_exactly_the_right_employees(org, browser_factory):
    people, sales, eng = org
    approved(org, "Everyone")
    approved(org, "Sales only", target_everyone=False, team_ids=[sales.id])
    approved(org, "Nia only", target_everyone=False, user_ids=[people["nia"].id])
    approved(org, "Engineering and Sam", target_everyone=False, team_ids=[eng.id], user_ids=[people["sam"].id])
    approved(org, "Sales and Engineering", target_everyone=False, team_ids=[sales.id, eng.id])

    def titles(name: str) -> set[str]:
        return {tp.title for tp in library.approved_for(people[name])}

    assert titles("sam") == {"Everyone", "Sales only", "Engineering and Sam", "Sales and Engineering"}
    assert titles("sue") == {"Everyone", "Sales only", "Sales and Engineering"}
    assert titles("eve") == {"Everyone", "Engineering and Sam", "Sales and Engineering"}
    assert titles("nia") == {"Everyone", "Nia only"}
    feed = browser_factory("sue@acme.test").get("/feed").get_data(as_text=True)
    assert "Sales only" in feed and "Nia only" not in feed and "Engineering and Sam" not in feed
    # an employee can read one aimed at them over the API, and not one that is not
    eve = browser_factory("eve@acme.test")
    nia_only = db.session.scalar(select(TalkingPoint).where(TalkingPoint.title == "Nia only"))
    assert eve.api("GET", f"/api/talking-points/{nia_only.id}").status_code == 404
    nia = browser_factory("nia@acme.test")
    assert nia.api("GET", f"/api/talking-points/{nia_only.id}").get_json()["title"] == "Nia only"


def test_targeting_set_through_the_studio_form(org, browser_factory):
    people, sales, _ = org
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": "Team news", "link": "https://acme.example/n", "text": "News",
                                       "disclosure": "#iworkforacme", "team_ids": [str(sales.id)],
                                       "user_ids": [str(people["nia"].id)]})
    assert created.status_code == 302
    tp = db.session.scalars(select(TalkingPoint)).one()
    assert tp.target_everyone is False and tp.team_ids == [sales.id] and tp.user_ids == [people["nia"].id]
    assert {u.email for u in library.audience(tp)} == {"sam@acme.test", "sue@acme.test", "nia@acme.test"}


def test_the_availability_window(org, browser_factory):
    people, _, _ = org
    approved(org, "Later", available_from=NOW + dt.timedelta(days=1))
    old = approved(org, "Over", available_until=NOW + dt.timedelta(seconds=1))
    old.available_until = NOW - dt.timedelta(minutes=1)  # time passes
    db.session.commit()
    approved(org, "Now", available_from=NOW - dt.timedelta(hours=1), available_until=NOW + dt.timedelta(hours=1))
    assert [tp.title for tp in library.approved_for(people["sam"])] == ["Now"]
    assert old.state() == "expired"
    author = browser_factory("author@acme.test")
    assert [tp["title"] for tp in author.api("GET", "/api/talking-points?status=expired").get_json()] == ["Over"]


def share_published(app, browser_factory, tp_id: int, email: str, username: str) -> Share:
    """Share through the web routes and publish with an in-process worker (which ends the session: re-load after)."""
    browser = browser_factory(email)
    assert browser.post("/policy/acknowledge", {"version": 1}).status_code == 302
    assert browser.post("/opt-in").status_code == 302
    connect_x(browser, username)
    answer = browser.post("/share", {"talking_point_id": tp_id, "network": "x"})
    assert answer.status_code == 302
    run_jobs(app)
    share = db.session.scalars(select(Share).where(Share.user.has(email=email))).one()
    db.session.refresh(share)
    assert share.status == "published", share.last_error
    return share


def sandbox_posts(sandbox) -> list[dict]:
    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()
    return posts.get("posts", posts) if isinstance(posts, dict) else posts


def test_withdrawal_cancels_queued_shares_and_recall_deletes_live_posts(app, sandbox, org, browser_factory, policy):
    people, _, _ = org
    tp_id = approved(org, "Recall me").id
    live = share_published(app, browser_factory, tp_id, "sam@acme.test", "sam_acme")
    live_id = live.id
    sue = browser_factory("sue@acme.test")
    sue.post("/policy/acknowledge", {"version": 1})
    sue.post("/opt-in")
    connect_x(sue, "sue_acme")
    later = sue.post("/share", {"talking_point_id": tp_id, "network": "x", "scheduled_at": "2099-01-01T09:00"})
    assert later.status_code == 302
    eve = browser_factory("eve@acme.test")  # one live share per person and account: a second person's, queued
    eve.post("/policy/acknowledge", {"version": 1})
    eve.post("/opt-in")
    connect_x(eve, "eve_acme")
    now = eve.post("/share", {"talking_point_id": tp_id, "network": "x"})  # queued, no worker ran yet
    assert now.status_code == 302

    reviewer = browser_factory("reviewer@acme.test")
    answer = reviewer.api("POST", f"/api/talking-points/{tp_id}/withdraw", {"reason": "wrong numbers"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["cancelled"] == 2 and body["talking_point"]["status"] == "withdrawn"
    assert [p["id"] for p in body["live_posts"]] == [live_id]
    statuses = {s.id: s.status for s in db.session.scalars(select(Share).execution_options(populate_existing=True))}
    assert sorted(statuses.values()) == ["cancelled", "cancelled", "published"]
    run_jobs(app)  # the queued job finds its share cancelled: nothing more is posted
    tp = db.session.get(TalkingPoint, tp_id)
    assert len(sandbox_posts(sandbox)) == 1
    assert "Recall me" not in sue.get("/feed").get_data(as_text=True)
    refused = sue.post("/share", {"talking_point_id": tp_id, "network": "x"})
    assert refused.status_code == 302 and db.session.scalar(select(Share).where(Share.status == "queued")) is None

    page = reviewer.get(f"/studio/{tp.id}").get_data(as_text=True)
    assert f'data-share="{live_id}"' in page and "Delete from X" in page
    # another employee may not delete Sam's post; comms may, in one click
    assert sue.post(f"/studio/{tp.id}/posts/{live_id}/delete").status_code == 404
    deleted = reviewer.post(f"/studio/{tp.id}/posts/{live_id}/delete")
    assert deleted.status_code == 302
    assert all(p.get("deleted") for p in sandbox_posts(sandbox)) or sandbox_posts(sandbox) == []
    assert recall.live_posts(tp) == []
    assert "No post of this talking point is live" in reviewer.get(f"/studio/{tp.id}").get_data(as_text=True)
    again = reviewer.api("POST", f"/api/talking-points/{tp.id}/live-posts/{live_id}/delete")
    assert again.status_code == 409


def test_an_employee_deletes_their_own_post_over_the_api(app, sandbox, org, browser_factory, policy):
    tp_id = approved(org, "Mine").id
    share = share_published(app, browser_factory, tp_id, "eve@acme.test", "eve_acme")
    tp = db.session.get(TalkingPoint, tp_id)
    eve = browser_factory("eve@acme.test")
    assert eve.api("POST", f"/api/talking-points/{tp.id}/live-posts/{share.id}/delete").status_code == 204
    assert recall.live_posts(tp) == []
    assert eve.api("POST", f"/api/talking-points/{tp.id}/live-posts/999/delete").status_code == 404


def test_employee_edits_are_screened_before_a_share_is_accepted(app, org, browser_factory, policy):
    people, _, _ = org
    tp = approved(org, "Editable")
    locked = approved(org, "Locked", employees_may_edit=False)
    sam = browser_factory("sam@acme.test")
    sam.post("/policy/acknowledge", {"version": 1})
    sam.post("/opt-in")
    connect_x(sam, "sam_acme")
    user = people["sam"]
    db.session.refresh(user)
    with pytest.raises(DomainError) as blocked:
        create_share(user, tp, "x", "My card is 4111 1111 1111 1111, ask me anything")
    assert blocked.value.field == "text" and "payment_card" in blocked.value.message
    with pytest.raises(DomainError) as too_long:
        create_share(user, tp, "x", "x" * 280)
    assert "length_x" in too_long.value.message
    with pytest.raises(NotAllowed):
        create_share(user, locked, "x", "My own words")
    assert db.session.scalars(select(Share)).all() == []  # nothing was accepted
    ok = create_share(user, tp, "x", "Proud of this launch 🎉")
    assert ok.text == "Proud of this launch 🎉 #iworkforacme"
    same = create_share(user, locked, "x", locked.copy_for("x"))  # unchanged copy is fine
    assert same.text.endswith("#iworkforacme")
    check = sam.api("POST", f"/api/talking-points/{tp.id}/preview", {"network": "x", "text": "call +44 20 7946 0958"})
    assert check.status_code == 200
    assert [(f["rule"], f["action"]) for f in check.get_json()["findings"]] == [("phone", "warn")]
    bad = sam.api("POST", f"/api/talking-points/{tp.id}/preview", {"network": "myspace", "text": 5})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]["json"]) == {"network", "text"}
