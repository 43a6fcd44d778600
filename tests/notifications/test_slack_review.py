"""Comms review in Slack: a submitted talking point is DMed to the reviewers (never its author), Approve and Reject
go through the content workflow with its four-eyes rule, and every reviewer's DM shows the decision."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from advocacy.content.models import Comment, TalkingPoint
from advocacy.extensions import db
from tests.conftest import run_jobs
from tests.notifications.slack_helpers import buttons, control, install, messages, served, shown_text, slack_settings


@pytest.fixture()
def settings(settings, sandbox):
    return settings | slack_settings(sandbox["slack"])


@pytest.fixture()
def slack(app, sandbox, make_user, browser_factory):
    url = sandbox["slack"]
    control(url, "reset")
    with served(app) as base:
        control(url, "config", {"interactivity_url": f"{base}/slack/interactivity"})
        make_user("root@acme.test", "admin")
        assert install(browser_factory("root@acme.test")).status_code == 302
        for email in ("author@acme.test", "reviewer@acme.test", "root@acme.test"):
            control(url, "users", {"email": email})
        yield url


def submitted(app, browser_factory, make_user, title: str = "We are hiring") -> int:
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": title, "link": "https://acme.test/jobs", "text": "Come build."})
    tp_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    run_jobs(app)  # the job that DMs the reviewers
    return tp_id


def status(tp_id: int) -> str:
    db.session.expire_all()
    return db.session.get(TalkingPoint, tp_id).status


def test_approve_from_slack_obeys_four_eyes(app, slack, make_user, browser_factory):
    tp_id = submitted(app, browser_factory, make_user)
    assert messages(slack, "author@acme.test") == []  # nobody is asked to review their own
    [dm] = messages(slack, "reviewer@acme.test")
    assert len(messages(slack, "root@acme.test")) == 1  # admins review too
    assert set(buttons(dm)) == {"Approve", "Reject…", "Open"} and "Come build." in shown_text(dm)

    # the author clicks Approve on a copy of the reviewer's message: four eyes refuse, only the author is told
    own = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"approve:{tp_id}",
                                   "as_user": "author@acme.test"})
    assert own["status"] == 200 and status(tp_id) == "in_review"
    [told] = [m for m in messages(slack) if m["ephemeral_for"]]
    assert told["text"].startswith("Not approved:") and "four eyes" in told["text"]

    done = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"approve:{tp_id}"})
    assert done["status"] == 200 and status(tp_id) == "approved"
    for email in ("reviewer@acme.test", "root@acme.test"):  # every review DM shows the decision, no buttons
        [dm] = [m for m in messages(slack, email) if not m["ephemeral_for"]]
        assert "Approved by Reviewer" in shown_text(dm) and buttons(dm) == {}


def test_reject_from_slack_asks_the_reason_in_a_modal(app, slack, make_user, browser_factory):
    tp_id = submitted(app, browser_factory, make_user)
    [dm] = messages(slack, "reviewer@acme.test")
    opened = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"reject:{tp_id}"})
    assert opened["status"] == 200
    [view] = [v for v in control_get(slack, "views") if v["open"]]
    assert view["view"]["title"]["text"] == "Reject talking point"

    empty = control(slack, f"views/{view['id']}/submit", {"values": {"reason": {"reason": ""}}})
    assert empty["status"] == 200 and json.loads(empty["answer"])["response_action"] == "errors"
    assert status(tp_id) == "in_review"

    sent = control(slack, f"views/{view['id']}/submit", {"values": {"reason": {"reason": "Wrong link."}}})
    assert sent["status"] == 200 and status(tp_id) == "draft"
    reasons = db.session.scalars(select(Comment.body).where(Comment.talking_point_id == tp_id,
                                                            Comment.kind == "rejection")).all()
    assert reasons == ["Wrong link."]
    [dm] = messages(slack, "reviewer@acme.test")
    assert "Rejected by Reviewer in Slack: Wrong link." in shown_text(dm) and buttons(dm) == {}


def control_get(url: str, path: str) -> list:
    import requests

    return requests.get(f"{url}/_sandbox/{path}", timeout=5).json()[path]


def test_an_approval_in_the_studio_closes_the_review_dms(app, slack, make_user, browser_factory):
    tp_id = submitted(app, browser_factory, make_user)
    approved = browser_factory("reviewer@acme.test").post(f"/studio/{tp_id}/approve")
    assert approved.status_code == 302 and status(tp_id) == "approved"
    run_jobs(app)  # the Slack updates run in a job: the approving request does not wait for Slack
    for email in ("reviewer@acme.test", "root@acme.test"):
        [dm] = messages(slack, email)
        assert "Approved by Reviewer" in shown_text(dm) and buttons(dm) == {}
