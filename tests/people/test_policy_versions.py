"""The social-media policy: versions in Markdown, acknowledgement before opt-in, re-acknowledgement, opt-out."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount
from advocacy.content import workflow
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import PolicyVersion, User
from tests.conftest import connect_x


def approved_tp(make_user):
    author, reviewer = make_user("author@acme.test", "comms"), make_user("reviewer@acme.test", "comms")
    tp = workflow.create_talking_point(author, title="News", link="https://acme.example/n", text="News!",
                                      disclosure="#iworkforacme")
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    return tp


def test_a_new_version_asks_everyone_again_and_holds_their_shares_until_they_do(app, make_user, browser_factory,
                                                                               policy):
    tp_id = approved_tp(make_user).id
    make_user("admin@acme.test", "admin")
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    assert emma.post("/opt-in").status_code == 302  # refused: policy not acknowledged
    assert db.session.scalar(select(User).where(User.email == "emma@acme.test")).opted_in_at is None
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma")
    scheduled = emma.post("/share", {"talking_point_id": tp_id, "network": "x", "scheduled_at": "2099-01-01T09:00"})
    assert scheduled.status_code == 302

    admin = browser_factory("admin@acme.test")
    published = admin.post("/admin/policy", {"title": "Social-media policy",
                                             "body_markdown": "# Rules\n\n*Be kind*. <script>alert(1)</script>"})
    assert published.status_code == 302
    assert [p.version for p in db.session.scalars(select(PolicyVersion))] == [1, 2]
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "paused" and "policy" in share.last_error  # auto-sharing waits

    page = emma.get("/policy").get_data(as_text=True)
    assert "<h1>Rules</h1>" in page and "<em>Be kind</em>" in page
    assert "<script>alert(1)</script>" not in page and "I have read and accept version 2" in page
    refused = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert refused.status_code == 403 and "policy" in refused.get_json()["message"]
    stale = emma.api("POST", "/api/policy/acknowledge", {"version": 1})
    assert stale.status_code == 422 and "version" in stale.get_json()["errors"]["json"]
    ack = emma.api("POST", "/api/policy/acknowledge", {"version": 2})
    assert ack.status_code == 200 and ack.get_json()["acknowledged_current"] is True
    db.session.refresh(share)
    assert share.status in ("scheduled", "queued") and share.last_error is None  # released


def test_publishing_the_policy_is_for_admins_and_bad_input_names_the_field(app, make_user, browser_factory, policy):
    make_user("admin@acme.test", "admin")
    make_user("comms@acme.test", "comms")
    admin, comms = browser_factory("admin@acme.test"), browser_factory("comms@acme.test")
    assert comms.post("/admin/policy", {"title": "x", "body_markdown": "y"}).status_code == 403
    assert comms.api("POST", "/api/policy", {"title": "x", "body_markdown": "y"}).status_code == 403
    empty = admin.post("/admin/policy", {"title": "Policy", "body_markdown": "   "})
    assert empty.status_code == 422 and 'id="body_markdown-error"' in empty.get_data(as_text=True)
    bad = admin.api("POST", "/api/policy", {"title": "", "body_markdown": 7})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]["json"]) == {"title", "body_markdown"}
    assert [p.version for p in db.session.scalars(select(PolicyVersion))] == [1]  # the current one is kept
    rtl = admin.api("POST", "/api/policy", {"title": "מדיניות", "body_markdown": "שתפו רק תוכן מאושר 👍"})
    assert rtl.status_code == 201 and rtl.get_json()["version"] == 2
    assert admin.api("GET", "/api/policy").get_json()["title"] == "מדיניות"


def test_opt_out_cancels_pending_shares_and_deletes_stored_tokens(app, make_user, browser_factory, policy):
    tp_id = approved_tp(make_user).id
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    assert emma.api("POST", "/api/policy/opt-in").status_code == 422  # acknowledge first
    emma.api("POST", "/api/policy/acknowledge", {"version": 1})
    assert emma.api("POST", "/api/policy/opt-in").get_json()["opted_in"] is True
    connect_x(emma, "emma")
    emma.post("/share", {"talking_point_id": tp_id, "network": "x", "scheduled_at": "2099-01-01T09:00"})
    assert emma.post("/opt-out").status_code == 302
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "cancelled"
    account = db.session.scalars(select(ConnectedAccount)).one()
    db.session.refresh(account)
    assert account.access_token_encrypted is None and account.refresh_token_encrypted is None
