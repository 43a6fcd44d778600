"""The audit log records each action, is append-only, and exports with the archive as CSV and JSON."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from advocacy.audit.models import AuditEvent
from advocacy.errors import DomainError
from advocacy.extensions import db
from tests.conftest import connect_x

TP = {"title": "Launch", "link": "https://acme.example/launch", "text": "=HYPERLINK(\"x\") We launched!",
      "disclosure": "#iworkforacme"}


def actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_each_action_is_recorded_with_who_and_when(app, make_user, browser_factory, policy):
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    make_user("admin@acme.test", "admin")
    make_user("emma@acme.test")
    author, reviewer = browser_factory("author@acme.test"), browser_factory("reviewer@acme.test")
    tp_id = author.api("POST", "/api/talking-points", TP).get_json()["id"]
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/reject", {"reason": "typo"})
    author.api("PATCH", f"/api/talking-points/{tp_id}", {"text": "We launched!"})
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma")
    emma.post("/share", {"talking_point_id": tp_id, "network": "x", "scheduled_at": "2099-01-01T09:00"})
    reviewer.api("POST", f"/api/talking-points/{tp_id}/withdraw", {})
    admin = browser_factory("admin@acme.test")
    admin.api("PUT", "/api/screening/rules/banned_terms", {"action": "block", "params": {"terms": ["moon"]}})
    admin.post("/admin/policy", {"title": "Policy", "body_markdown": "v2"})
    emma.post("/policy/acknowledge", {"version": 2})
    emma.post("/opt-out")
    assert actions() == ["create", "submit", "reject", "edit", "submit", "approve", "policy_acknowledged", "opt_in",
                         "connect", "share", "withdraw", "screening_rule_changed", "policy_published",
                         "policy_acknowledged", "disconnect", "opt_out"]

    rows = reviewer.api("GET", "/api/audit/events").get_json()
    withdraw = next(r for r in rows if r["action"] == "withdraw")
    assert withdraw["actor"] == "reviewer@acme.test" and withdraw["subject_id"] == tp_id
    assert withdraw["detail"]["cancelled"] == 1 and withdraw["at"]
    reject = next(r for r in rows if r["action"] == "reject")
    assert reject["detail"]["reason"] == "typo"
    only = reviewer.api("GET", "/api/audit/events?action=approve").get_json()
    assert [r["actor"] for r in only] == ["reviewer@acme.test"]

    exported = reviewer.get("/api/audit/events?format=csv")
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["action"] for r in table] == list(reversed(actions()))
    page = reviewer.get("/admin/audit/").get_data(as_text=True)
    assert 'data-action="withdraw"' in page and "reviewer@acme.test" in page


def test_the_log_is_append_only(app, make_user):
    from advocacy.audit.services import record

    user = make_user("author@acme.test", "comms")
    event = record(user, "create", "talking_point", 1)
    db.session.commit()
    event.action = "approve"
    with pytest.raises(DomainError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(DomainError):
        db.session.commit()
    db.session.rollback()
    assert actions() == ["create"]


def test_archive_exports_the_exact_text_posted(app, make_user, browser_factory, policy):
    from advocacy.delivery.models import Share, ShareStatus

    user = make_user("emma@acme.test")
    make_user("comms@acme.test", "comms")
    from advocacy.content import workflow

    author = make_user("author@acme.test", "comms")
    tp = workflow.create_talking_point(author, title="T", link="https://acme.example/", text="x")
    text = '=cmd|"/c calc"!A1 مرحبا 👨‍👩‍👧, "quoted"\nnew line'
    db.session.add(Share(talking_point_id=tp.id, user_id=user.id, network="x", text=text, code="abc12345",
                         status=ShareStatus.PUBLISHED, post_id="1", post_url="https://x.example/1",
                         published_at=tp.created_at))
    db.session.add(Share(talking_point_id=tp.id, user_id=user.id, network="x", text="not posted", code="abc12346",
                         status=ShareStatus.FAILED))
    db.session.commit()
    comms = browser_factory("comms@acme.test")
    rows = comms.api("GET", "/api/audit/archive").get_json()
    posted = f"{text} http://advocacy.test/r/abc12345"  # what X received: the text, then the tracked link
    assert [(r["text"], r["network"], r["user"]) for r in rows] == [(posted, "x", "emma@acme.test")]
    as_csv = comms.get("/api/audit/archive?format=csv").get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(as_csv)))
    assert row["text"] == "'" + posted  # exact text, defused for spreadsheets
    bad = comms.api("GET", "/api/audit/archive?format=xml&since=yesterday")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]["query"]) == {"format", "since"}
    order = comms.api("GET", "/api/audit/archive?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z")
    assert order.status_code == 422 and set(order.get_json()["errors"]["query"]) == {"until"}
    emma = browser_factory("emma@acme.test")
    assert emma.api("GET", "/api/audit/archive").status_code == 403
    assert emma.get("/admin/audit/").status_code == 403


def test_the_archive_keeps_the_tracked_link_as_each_network_received_it(app, make_user, browser_factory, policy,
                                                                         sandbox):
    """A real share published to Mastodon: the archive's text is the post's text on the network, link included."""
    import requests

    from advocacy.content import workflow
    from advocacy.delivery.models import Share
    from tests.conftest import run_jobs

    author, reviewer = make_user("author@acme.test", "comms"), make_user("reviewer@acme.test", "comms")
    tp = workflow.create_talking_point(author, title="T", link="https://acme.example/jobs?utm_source=old",
                                       text="We are hiring", disclosure="#iworkforacme")
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    from tests.connectors.test_mastodon_app import connect_mastodon

    connect_mastodon(emma, sandbox["mastodon"], "emma")
    assert emma.post("/share", {"talking_point_id": tp.id, "network": "mastodon"}).status_code == 302
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    assert share.status == "published", share.last_error
    posts = requests.get(f"{sandbox['mastodon']}/_sandbox/posts", timeout=5).json()
    on_network = posts.get("posts", posts) if isinstance(posts, dict) else posts
    comms = browser_factory("reviewer@acme.test")
    [row] = comms.api("GET", "/api/audit/archive").get_json()
    tracked = f"http://advocacy.test/r/{share.code}"
    assert row["text"] == f"We are hiring #iworkforacme {tracked}" and row["tracked_link"] == tracked
    assert row["link_in"] == "text" and row["copy"] == "We are hiring #iworkforacme"
    assert row["destination"].startswith("https://acme.example/jobs?utm_source=mastodon")
    assert [p.get("text", p.get("status")) for p in on_network] == [row["text"]]  # what Mastodon holds
    page = comms.get("/admin/audit/").get_data(as_text=True)
    assert tracked in page


def test_a_linkedin_post_without_an_image_carries_its_link_as_the_article_card(app, make_user, browser_factory):
    from advocacy.audit.services import posted

    assert posted("linkedin", "Hi", "http://a.test/r/x", with_image=False) == ("Hi", "article card")
    assert posted("linkedin", "Hi", "http://a.test/r/x", with_image=True) == ("Hi http://a.test/r/x", "text")
    assert posted("bluesky", "Hi http://a.test/r/x", "http://a.test/r/x", with_image=False) == (
        "Hi http://a.test/r/x", "text")
