"""One rule decides whether a person may share a talking point, on every path: the JSON API, the web forms, the share
dialogs, the auto-share fan-out, and the worker when a scheduled or queued share comes due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from advocacy.content import workflow
from advocacy.delivery import fanout, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people.models import Team, User
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee


def _count() -> int:
    return int(db.session.scalar(select(func.count(Share.id))) or 0)


def _staff(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


def _fresh(share_id: int) -> Share:
    """The share as the database holds it now (a worker changed it in its own session)."""
    db.session.expire_all()
    share = db.session.get(Share, share_id)
    assert share is not None
    return share


def _due_now(share_id: int) -> None:
    """Bring a scheduled share's time forward to now and queue its run, as the scheduler does when the time comes."""
    share = db.session.get(Share, share_id)
    assert share is not None and share.status == "scheduled"
    share.scheduled_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    services.enqueue(share.id, share.scheduled_at)


def test_api_share_of_a_talking_point_aimed_only_at_someone_else_is_refused_and_nothing_posts(app, x, browser):
    other = employee("otto@acme.test", "otto_acme")
    tp = approved(title="For Otto only", target_everyone=False, user_ids=[other.id])
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")

    answer = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x"})
    assert answer.status_code == 403
    assert answer.get_json()["errors"]["json"]["talking_point_id"] == ["this talking point is not aimed at you"]
    scheduled = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x",
                                                    "scheduled_at": (utcnow() + dt.timedelta(hours=2)).isoformat()})
    assert scheduled.status_code == 403
    # the web form and the share dialog ask the same rule
    assert browser.post("/share", {"talking_point_id": tp.id, "network": "x", "when": "now"}).status_code == 302
    assert "Not shared: talking_point_id this talking point is not aimed at you" in browser.get("/feed").get_data(
        as_text=True)
    dialog = browser.post("/share/dialog", {"talking_point_id": tp.id, "network": "facebook"})
    assert dialog.status_code == 302 and "/feed" in dialog.headers["Location"]
    run_jobs(app)
    assert _count() == 0 and x.posts() == []


def test_api_share_after_the_availability_window_closed_is_refused(app, x, browser):
    tp = approved(title="Old news", available_until=utcnow() + dt.timedelta(hours=1))
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    later = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x",
                                                "scheduled_at": (utcnow() + dt.timedelta(hours=3)).isoformat()})
    assert later.status_code == 422
    assert "scheduled_at" in later.get_json()["errors"]["json"]

    tp.available_until = utcnow() - dt.timedelta(minutes=1)  # time passes: the window closes
    db.session.commit()
    answer = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x"})
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"]["talking_point_id"] == [
        "is no longer available: its availability window closed"]
    run_jobs(app)
    assert _count() == 0 and x.posts() == []


def test_a_scheduled_share_retargeted_away_before_it_comes_due_is_cancelled_with_a_reason(app, x, browser):
    other = employee("otto@acme.test", "otto_acme")
    tp = approved(title="Launch day")
    employee("emma@acme.test", "emma_acme")
    browser.login("emma@acme.test")
    answer = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x",
                                                 "scheduled_at": (utcnow() + dt.timedelta(hours=1)).isoformat()})
    assert answer.status_code == 201 and answer.get_json()["status"] == "scheduled"
    share_id = answer.get_json()["id"]

    # comms narrow the audience to Otto, and a second person approves the change
    author, reviewer = _staff("author@acme.test"), _staff("reviewer@acme.test")
    workflow.update_talking_point(tp, author, target_everyone=False, user_ids=[other.id])
    workflow.approve(tp, reviewer)
    _due_now(share_id)
    run_jobs(app)

    share = _fresh(share_id)
    assert share.status == "cancelled"
    assert share.last_error == "not posted: the talking point is no longer aimed at you (its audience or your team " \
                               "changed)"
    assert x.posts() == []
    page = browser.get("/shares").get_data(as_text=True)
    assert "no longer aimed at you" in page  # the person reads why on their shares page


def test_a_queued_share_whose_window_closed_or_whose_person_opted_out_is_not_posted(app, x, browser):
    tp = approved(title="Short-lived", available_until=utcnow() + dt.timedelta(hours=1))
    emma = employee("emma@acme.test", "emma_acme")
    expired_id = services.create_share(emma, tp, "x").id
    tp.available_until = utcnow() - dt.timedelta(seconds=1)  # it closes before a worker gets to the share
    db.session.commit()
    run_jobs(app)
    expired = _fresh(expired_id)
    assert expired.status == "cancelled" and "stopped being available" in expired.last_error

    later = approved(title="Next")
    ana = employee("ana@acme.test", "ana_acme")
    queued_id = services.create_share(ana, later, "x").id
    ana.opted_in_at = None  # opted out by a path that told nobody (an old import, a direct edit)
    db.session.commit()
    run_jobs(app)
    queued = _fresh(queued_id)
    assert queued.status == "cancelled" and queued.last_error == "not posted: you opted out"
    assert x.posts() == []


def test_auto_share_respects_targeting_and_a_team_change_mid_way_cancels_the_placed_share(app, x, make_user):
    app.config["DELIVERY_FANOUT_WINDOW_MINUTES"] = 60
    sales, ops = Team(name="Sales"), Team(name="Ops")
    db.session.add_all([sales, ops])
    db.session.commit()
    everyday = {"auto_share_topics": "hiring", "share_hours_start": 0, "share_hours_end": 24}
    sam = employee("sam@acme.test", "sam_acme", team=sales, **everyday)
    employee("olga@acme.test", "olga_acme", team=ops, **everyday)
    admin_id, sam_id, ops_id = make_user("admin@acme.test", "admin").id, sam.id, ops.id
    tp = approved(title="Sales kickoff", topics="hiring", target_everyone=False, team_ids=[sales.id])
    run_jobs(app)  # the fan-out: only the team it is aimed at
    placed = db.session.scalars(select(Share).where(Share.talking_point_id == tp.id)).all()
    assert [(s.user_id, s.auto) for s in placed] == [(sam_id, True)]
    assert fanout.targets(tp) == []  # run again: nobody new, Olga still left out

    # an admin moves Sam to Ops before the share comes due: it is no longer his to share
    from advocacy.people.services import update_person

    update_person(db.session.get(User, admin_id), db.session.get(User, sam_id), role="employee", team_id=ops_id,
                  active=True)
    if placed[0].status == "scheduled":
        _due_now(placed[0].id)
    else:
        services.enqueue(placed[0].id, placed[0].scheduled_at)
    run_jobs(app)
    share = _fresh(placed[0].id)
    assert share.status == "cancelled" and "no longer aimed at you" in share.last_error
    assert x.posts() == []


def test_deactivating_a_person_cancels_their_shares_not_yet_out(app, x, make_user):
    from advocacy.people.services import update_person

    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    admin = make_user("admin@acme.test", "admin")
    share_id = services.create_share(emma, tp, "x", at=utcnow() + dt.timedelta(hours=1)).id
    update_person(admin, emma, role="employee", team_id=None, active=False)
    share = _fresh(share_id)
    assert share.status == "cancelled" and share.last_error == "your account was deactivated"


def test_a_share_due_under_a_policy_not_yet_acknowledged_is_held_then_released(app, x, browser):
    from advocacy.people.models import PolicyVersion
    from advocacy.people.services import acknowledge_policy

    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    emma_id, share_id = emma.id, services.create_share(emma, tp, "x").id
    db.session.add(PolicyVersion(version=2, title="Policy", body_markdown="New rules."))  # published by a path
    db.session.commit()  # that held nothing (a database restore): the worker's own check holds the share
    run_jobs(app)
    share = _fresh(share_id)
    assert share.status == "paused" and share.attempts == 0 and "acknowledge" in share.last_error
    browser.login("emma@acme.test")
    page = browser.get(f"/shares/{share_id}").get_data(as_text=True)
    assert "waiting for you to acknowledge the new social-media policy" in page and "Read the policy" in page
    acknowledge_policy(db.session.get(User, emma_id), 2)
    run_jobs(app)
    share = _fresh(share_id)
    assert share.status == "published" and len(x.posts()) == 1
