"""The Slack app end to end against the Slack sandbox over real HTTP: install, the DM, a signed click that shares
through the worker to the X sandbox, refusals (forged, stale, replayed, not aimed at, withdrawn), 429 retries."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from advocacy.content import workflow
from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.notifications import channels
from advocacy.notifications.slack.models import SlackInstallation
from advocacy.people.models import User
from tests.conftest import connect_x, run_jobs
from tests.notifications.slack_helpers import (
    buttons,
    control,
    install,
    messages,
    served,
    shown_text,
    slack_settings,
)
from tests.test_loop import opt_in, write_and_approve


@pytest.fixture()
def settings(settings, sandbox):
    return settings | slack_settings(sandbox["slack"])


@pytest.fixture()
def slack(app, sandbox):
    url = sandbox["slack"]
    control(url, "reset")
    with served(app) as base:
        control(url, "config", {"interactivity_url": f"{base}/slack/interactivity"})
        yield url


def installed(slack, make_user, browser_factory):
    make_user("root@acme.test", "admin")
    done = install(browser_factory("root@acme.test"))
    assert done.status_code == 302


def employee(slack, make_user, browser_factory, email="emma@acme.test", x_handle="emma_acme"):
    make_user(email)
    control(slack, "users", {"email": email, "name": email.split("@")[0].title()})
    person = browser_factory(email)
    opt_in(person)
    connect_x(person, x_handle)
    return db.session.scalars(select(User).where(User.email == email)).one()


def shares() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count(Share.id))) or 0)


def test_an_admin_installs_the_app_through_slacks_consent_page(app, slack, make_user, browser_factory):
    make_user("root@acme.test", "admin")
    admin = browser_factory("root@acme.test")
    page = admin.get("/admin/slack").get_data(as_text=True)
    assert "Connect Slack workspace" in page and "/slack/interactivity" in page

    done = install(admin)
    assert done.status_code == 302
    page = admin.get("/admin/slack").get_data(as_text=True)
    assert "Connected to Acme (sandbox)" in page
    row = db.session.scalars(select(SlackInstallation)).one()
    assert "users:read.email" in row.scope and "chat:write" in row.scope
    assert not row.token_encrypted.startswith("xoxb-")  # stored encrypted

    from advocacy.notifications.slack.client import bot_client

    assert bot_client().auth_test()["team_id"] == "T0SANDBOX"  # the token works

    # a callback whose state is not this session's installs nothing
    forged = admin.get("/admin/slack/callback?code=whatever&state=not-mine")
    assert forged.status_code == 302
    assert "state does not match" in admin.get("/admin/slack").get_data(as_text=True)
    assert db.session.scalar(select(func.count(SlackInstallation.id))) == 1

    # the same over JSON: read it, then disconnect (installing stays a consent in the browser)
    status = admin.api("GET", "/api/admin/slack")
    assert status.status_code == 200 and status.get_json()["team_name"] == "Acme (sandbox)"
    assert admin.api("DELETE", "/api/admin/slack").status_code == 204
    assert admin.api("GET", "/api/admin/slack").get_json() == {"installed": False}
    assert "Connect Slack workspace" in admin.get("/admin/slack").get_data(as_text=True)


def test_a_signed_click_shares_through_the_worker_and_the_dm_shows_the_post(
        app, slack, sandbox, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    tp_id = write_and_approve(browser_factory, make_user)
    emma = employee(slack, make_user, browser_factory)
    channel = channels.get("slack")
    assert channel is not None and channel.available_for(emma)
    stranger = make_user("ghost@acme.test")  # not in the workspace
    assert not channel.available_for(stranger)
    ghost = browser_factory("ghost@acme.test")
    assert "No Slack member has your e-mail address" in ghost.get("/preferences").get_data(as_text=True)
    control(slack, "users", {"email": "ghost@acme.test"})  # they join Slack and look themselves up again
    found = ghost.api("POST", "/api/me/slack/lookup")
    assert found.status_code == 200 and found.get_json()["matched"] is True
    assert channel.available_for(stranger)

    tp = db.session.get(TalkingPoint, tp_id)
    delivered = channel.announce(emma, [tp])
    [dm] = messages(slack, "emma@acme.test")
    assert delivered.reference == f"{dm['channel']}/{dm['ts']}"
    assert dm["text"] == "New to share: We are hiring"
    assert set(buttons(dm)) == {"Share on X", "Edit first", "Not for me"}
    assert "#iworkforacme" in shown_text(dm)
    assert buttons(dm)["Edit first"]["url"].endswith(f"/feed?show=all#card-{tp_id}")

    click = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"share:{tp_id}:x"})
    assert click["status"] == 200
    share = db.session.scalars(select(Share)).one()
    assert share.channel == "slack" and share.network == "x"
    [dm] = messages(slack, "emma@acme.test")
    assert "Queued on X" in shown_text(dm) and "Share on X" not in buttons(dm)

    run_jobs(app)  # the worker posts to the X sandbox, then updates the DM
    share = db.session.scalars(select(Share)).one()
    assert share.status == "published" and share.post_url
    [dm] = messages(slack, "emma@acme.test")
    assert dm["edited"] and f"<{share.post_url}|view the post>" in shown_text(dm)
    posts = requests.get(f"{sandbox['x']}/_sandbox/posts", timeout=5).json()["posts"]
    assert len(posts) == 1 and "#iworkforacme" in posts[0]["text"]


def test_forged_stale_and_replayed_clicks_share_nothing(app, slack, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    tp_id = write_and_approve(browser_factory, make_user)
    emma = employee(slack, make_user, browser_factory)
    channels.get("slack").announce(emma, [db.session.get(TalkingPoint, tp_id)])
    [dm] = messages(slack, "emma@acme.test")
    share_x = {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"share:{tp_id}:x"}

    assert control(slack, "click", share_x | {"signature": "v0=" + "ab" * 32})["status"] == 401
    assert control(slack, "click", share_x | {"timestamp_offset": -301})["status"] == 401
    assert control(slack, "click", share_x | {"timestamp_offset": 301})["status"] == 401
    assert shares() == 0

    # a request captured on the way (the sandbox answers what it sent) and sent again after the real one
    first = control(slack, "click", share_x)
    assert first["status"] == 200 and shares() == 1
    sent = first["request"]
    again = requests.post(sent["url"], data=sent["body"], headers=sent["headers"], timeout=10)
    assert again.status_code == 401 and shares() == 1


def test_a_click_by_someone_not_aimed_at_or_after_withdrawal_is_refused_with_a_message(
        app, slack, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    emma = employee(slack, make_user, browser_factory)
    bob = employee(slack, make_user, browser_factory, "bob@acme.test", "bob_acme")
    author = db.session.scalars(select(User).where(User.email == "author@acme.test")).one()
    reviewer = db.session.scalars(select(User).where(User.email == "reviewer@acme.test")).one()
    tp = workflow.create_talking_point(author, title="For Emma only", link="https://acme.test/a",
                                       text="Only for Emma.", target_everyone=False, user_ids=[emma.id])
    workflow.submit(tp, author)
    workflow.approve(tp, reviewer)
    channel = channels.get("slack")
    assert channel.available_for(bob)  # bob is in Slack (matched by e-mail), just not aimed at
    channel.announce(emma, [tp])
    [dm] = messages(slack, "emma@acme.test")

    # bob clicks Emma's button (a forwarded message): refused, only he is told, nothing is shared
    by_bob = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"share:{tp.id}:x",
                                      "as_user": "bob@acme.test"})
    assert by_bob["status"] == 200 and shares() == 0
    told = [m for m in messages(slack) if m["ephemeral_for"]]
    assert len(told) == 1 and "Nothing was shared" in told[0]["text"]
    bob_id = next(u["id"] for u in requests.get(f"{slack}/_sandbox/users", timeout=5).json()["users"]
                  if u["profile"]["email"] == "bob@acme.test")
    assert told[0]["ephemeral_for"] == bob_id

    workflow.withdraw(tp, author, "wrong date")
    # a click that arrives before the DM's update (queued on withdrawal) has run: refused, told, nothing posted
    late = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"share:{tp.id}:x"})
    assert late["status"] == 200 and shares() == 0
    told = [m for m in messages(slack) if m["ephemeral_for"]]
    assert len(told) == 2 and "Nothing was shared" in told[1]["text"] and "withdrawn" in told[1]["text"]
    run_jobs(app)  # then every DM of the withdrawn talking point loses its buttons
    [dm] = [m for m in messages(slack, "emma@acme.test") if not m["ephemeral_for"]]
    assert "withdrawn" in shown_text(dm) and "Share on X" not in buttons(dm)


def test_a_429_is_retried_after_retry_after_with_one_dm(app, slack, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    tp_id = write_and_approve(browser_factory, make_user)
    emma = employee(slack, make_user, browser_factory)
    control(slack, "faults", {"status": 429, "count": 1, "path_prefix": "/api/chat.postMessage",
                              "headers": {"Retry-After": "7"}})
    channel = channels.get("slack")
    tp = db.session.get(TalkingPoint, tp_id)
    with pytest.raises(channels.RetryLater) as waited:
        channel.announce(emma, [tp])
    assert waited.value.seconds == 7
    assert messages(slack, "emma@acme.test") == []

    first = channel.announce(emma, [tp])  # the job's retry
    again = channel.announce(emma, [tp])  # a retry of a job whose DM was accepted
    assert first == again
    assert len(messages(slack, "emma@acme.test")) == 1

    control(slack, "faults", {"status": 503, "count": 1, "path_prefix": "/api/conversations.open"})
    other = write_and_approve_second(browser_factory)
    with pytest.raises(channels.RetryLater):
        channel.announce(emma, [other])
    assert len(messages(slack, "emma@acme.test")) == 1


def write_and_approve_second(browser_factory) -> TalkingPoint:
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": "Second", "link": "https://acme.test/2", "text": "Two."})
    tp_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    assert browser_factory("reviewer@acme.test").post(f"/studio/{tp_id}/approve").status_code == 302
    return db.session.get(TalkingPoint, tp_id)


def test_someone_who_left_slack_is_unreachable(app, slack, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    tp_id = write_and_approve(browser_factory, make_user)
    emma = employee(slack, make_user, browser_factory)
    channel = channels.get("slack")
    assert channel.available_for(emma)
    control(slack, "users", {"email": "emma@acme.test", "deleted": True})
    with pytest.raises(channels.Unreachable):
        channel.announce(emma, [db.session.get(TalkingPoint, tp_id)])
    assert not channel.available_for(emma)
    assert messages(slack, "emma@acme.test") == []


def test_not_for_me_and_a_failed_share_show_in_the_dm(app, slack, sandbox, make_user, browser_factory, policy):
    installed(slack, make_user, browser_factory)
    tp_id = write_and_approve(browser_factory, make_user)
    other = write_and_approve_second(browser_factory)
    emma = employee(slack, make_user, browser_factory)
    channels.get("slack").announce(emma, [db.session.get(TalkingPoint, tp_id), other])
    [dm] = messages(slack, "emma@acme.test")
    assert dm["text"] == "2 new talking points to share"
    assert len([b for b in dm["blocks"] if b["type"] == "actions"]) == 2

    passed = control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"dismiss:{tp_id}"})
    assert passed["status"] == 200
    [dm] = messages(slack, "emma@acme.test")
    assert "You passed on this one" in shown_text(dm) and len([b for b in dm["blocks"] if b["type"] == "actions"]) == 1

    requests.post(f"{sandbox['x']}/_sandbox/faults", json={"status": 500, "count": 10, "path_prefix": "/2/tweets"},
                  timeout=5).raise_for_status()
    control(slack, "click", {"channel": dm["channel"], "ts": dm["ts"], "action_id": f"share:{other.id}:x"})
    run_jobs(app)  # three attempts, then failed for good: the DM says so with the network's answer
    share = db.session.scalars(select(Share)).one()
    assert share.status == "failed" and share.channel == "slack"
    [dm] = messages(slack, "emma@acme.test")
    assert "Not posted on X" in shown_text(dm) and "500" in shown_text(dm)
    assert "Share on X" in buttons(dm)  # a failed share can be tried again
