"""Publishing exactly once: claims, lost answers, dead workers, duplicates, rate limits, budgets, tokens."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.delivery import publishing, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.models import Notification
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee, posts_by_code


def again(obj: Any) -> Any:
    """The row of ``obj`` as the database holds it now (jobs run in this process end their own session)."""
    db.session.expire_all()
    found = db.session.get(type(obj), inspect(obj).identity[0])
    assert found is not None
    return found


fresh = again


def tweets(x, method: str = "POST", path: str = "/2/tweets") -> list[dict]:
    return [r for r in x.requests() if r["method"] == method and r["path"] == path]


def test_a_share_posts_once_and_records_the_post(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.attempts == 1 and share.post_id
    assert share.post_url.endswith(f"/i/web/status/{share.post_id}")
    assert posts_by_code(x.posts()) == {share.code: 1}


def test_only_one_of_two_workers_claims_a_share(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    assert services.claim(share.id) is True
    assert services.claim(share.id) is False  # the second worker finds it taken
    assert publishing.publish(share.id) == "publishing"  # and leaves it alone
    assert fresh(share).attempts == 1
    assert tweets(x) == []


def test_a_lost_answer_is_reconciled_not_posted_twice(app, x):
    """The network stored the post but the answer was lost (503 after the work): the retry finds the post."""
    user = employee("emma@acme.test", "emma_acme")
    x.fault(status=503, count=1, path_prefix="/2/tweets", method="POST", after=True)
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.attempts == 2
    assert "found on the network" in (share.last_error or "")
    assert posts_by_code(x.posts()) == {share.code: 1}
    assert len(tweets(x)) == 1  # never posted again
    assert share.post_id == x.posts()[0]["id"]


def test_a_timeout_before_the_network_got_it_is_retried_and_posts_once(app, x, settings):
    user = employee("emma@acme.test", "emma_acme")
    x.fault(delay=3.0, count=1, path_prefix="/2/tweets", method="POST")  # longer than HTTP_TIMEOUT (2 s)
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.attempts == 2
    time.sleep(1.5)  # let the slow request finish on the sandbox side: it posts then, too late for us
    counts = posts_by_code(x.posts())
    assert counts == {share.code: 1}


def test_a_share_left_publishing_by_a_dead_worker_is_found_on_the_network(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    account = db.session.get(ConnectedAccount, share.account_id)
    assert services.claim(share.id)
    # the worker posted, then died before recording it
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import token_of

    made = connector_for("x").publish(token_of(account).access_token, share.text, publishing.tracked_url(share))
    past = utcnow() - dt.timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"] + 5)
    db.session.execute(Share.__table__.update().where(Share.id == share.id).values(claimed_at=past))
    db.session.commit()
    assert services.sweep()["recovered"] == 1
    assert fresh(share).status == "queued" and fresh(share).in_doubt
    run_jobs(app)
    share = fresh(share)
    assert share.status == "published" and share.post_id == made.id
    assert posts_by_code(x.posts()) == {share.code: 1}


def test_a_dead_worker_that_never_reached_the_network_is_posted_once(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    assert services.claim(share.id)
    past = utcnow() - dt.timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"] + 5)
    db.session.execute(Share.__table__.update().where(Share.id == share.id).values(claimed_at=past))
    db.session.commit()
    services.sweep()
    run_jobs(app)
    share = fresh(share)  # the jobs ran in this thread and ended its session: the row as it is now
    assert share.status == "published"
    assert posts_by_code(x.posts()) == {share.code: 1}


@pytest.mark.parametrize("died", ["after taking the job", "after popping the job off two queues",
                                  "after starting the job"])
def test_a_job_whose_worker_died_before_claiming_is_queued_again(app, x, died):
    """RQ notices such a job only in its maintenance, which a killed worker can block for 15 minutes: the sweeper
    must not wait for it (a fault test once left a share queued for good this way)."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    from advocacy.extensions import redis_client
    from workers import queues

    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    conn = redis_client()
    publish = queues.queue(queues.PUBLISH, conn)
    served = [publish, queues.queue(queues.DEFAULT, conn)] if "two queues" in died else [publish]
    job, _ = Queue.dequeue_any(served, None, connection=conn, serializer=JSONSerializer)  # RQ's own take
    if died == "after starting the job":
        dying = SimpleWorker([publish], connection=conn, serializer=JSONSerializer)
        dying.prepare_job_execution(job, remove_from_intermediate_queue=True)
        assert job.get_status() == "started"
    elif "two queues" in died:  # RQ pops off several queues at once without its intermediate list
        assert job.get_status() == "queued" and job.id not in publish.get_job_ids()
        assert job.id not in publish.intermediate_queue.get_job_ids()
    else:
        assert job.id in publish.intermediate_queue.get_job_ids() and job.get_status() == "queued"
    assert services.requeue_lost() == 0  # not late yet: a live worker would have claimed it by now
    grace = app.config["DELIVERY_SWEEP_GRACE_SECONDS"]
    assert services.requeue_lost(utcnow() + dt.timedelta(seconds=grace + 1)) == 1
    assert job.id not in publish.intermediate_queue.get_job_ids()
    run_jobs(app)
    assert fresh(share).status == "published" and fresh(share).attempts == 1
    assert posts_by_code(x.posts()) == {share.code: 1}
    assert services.requeue_lost(utcnow() + dt.timedelta(seconds=grace + 1)) == 0


def test_a_live_lease_is_not_taken_away(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    assert services.claim(share.id)
    assert services.sweep()["recovered"] == 0
    assert fresh(share).status == "publishing"


def test_rate_limited_waits_for_the_reset_and_asks_nothing_before_it(app, x):
    user = employee("emma@acme.test", "emma_acme")
    x.fault(status=429, count=1, path_prefix="/2/tweets", method="POST", reset_in=6)  # room for a loaded machine
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "scheduled" and "rate limited" in share.last_error
    first = tweets(x)
    assert [r["status"] for r in first] == [429]
    reset = int(first[0]["reset"])
    assert share.scheduled_at.timestamp() >= reset
    second = services.create_share(again(user), approved(title="Another"), "x")  # same person: waits for the reset too
    run_jobs(app)
    assert fresh(second).status == "scheduled"
    assert len(tweets(x)) == 1
    time.sleep(max(0.0, reset - time.time()) + 0.7)
    services.requeue_lost(utcnow() + dt.timedelta(seconds=app.config["DELIVERY_SWEEP_GRACE_SECONDS"] + 1))
    run_jobs(app)
    assert fresh(share).status == "published" and fresh(second).status == "published"
    assert all(r["at"] >= reset for r in tweets(x)[1:])


def test_an_exhausted_app_budget_reschedules_instead_of_failing(app, x):
    app.config["DELIVERY_BUDGETS"] = (("x", "app", 86400, 2),)
    tp = approved()
    people = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(3)]
    shares = [services.create_share(p, tp, "x") for p in people]
    run_jobs(app)
    states = sorted(fresh(s).status for s in shares)
    assert states == ["published", "published", "scheduled"]
    waiting = next(fresh(s) for s in shares if fresh(s).status == "scheduled")
    tomorrow = (int(time.time()) // 86400 + 1) * 86400
    assert waiting.scheduled_at.timestamp() >= tomorrow and waiting.attempts == 0
    assert "budget" in waiting.last_error
    assert len(tweets(x)) == 2


def test_a_user_budget_holds_one_person_back_but_not_others(app, x):
    app.config["DELIVERY_BUDGETS"] = (("x", "user", 900, 1),)
    tp, other = approved(), approved(title="Other")
    emma, noah = employee("emma@acme.test", "emma_acme"), employee("noah@acme.test", "noah_acme")
    first, second = services.create_share(emma, tp, "x"), services.create_share(emma, other, "x")
    third = services.create_share(noah, tp, "x")
    run_jobs(app)
    assert [fresh(s).status for s in (first, second, third)] == ["published", "scheduled", "published"]


def test_an_expired_access_token_is_refreshed_and_the_post_made(app, x):
    user = employee("emma@acme.test", "emma_acme")
    account = db.session.scalar(select(ConnectedAccount).where(ConnectedAccount.user_id == user.id))
    before = account.access_token_encrypted
    x.expire("emma_acme")  # the network expired it; we still think it is valid
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    assert fresh(share).status == "published"
    account = again(account)
    assert account.access_token_encrypted != before and account.status == AccountStatus.ACTIVE
    assert [r["status"] for r in tweets(x)] == [401, 201]


def test_a_revoked_account_pauses_its_shares_and_notifies_once(app, x):
    user = employee("emma@acme.test", "emma_acme")
    x.revoke("emma_acme")
    shares = [services.create_share(user, approved(title=f"News {i}"), "x") for i in range(3)]
    run_jobs(app)
    assert {fresh(s).status for s in shares} == {"paused"}
    assert all("reconnect" in fresh(s).last_error for s in shares)
    user = again(user)
    account = db.session.scalar(select(ConnectedAccount).where(ConnectedAccount.user_id == user.id))
    assert account.status == AccountStatus.REVOKED
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == user.id)) == 1
    assert x.posts() == []


def test_a_duplicate_refused_by_the_network_is_recognised_as_ours(app, x):
    user = employee("emma@acme.test", "emma_acme")
    share = services.create_share(user, approved(), "x")
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import token_of

    account = db.session.get(ConnectedAccount, share.account_id)
    made = connector_for("x").publish(token_of(account).access_token, share.text, publishing.tracked_url(share))
    run_jobs(app)  # not in doubt: it posts, X answers 403 duplicate, and the post is found
    share = fresh(share)
    assert share.status == "published" and share.post_id == made.id
    assert [r["status"] for r in tweets(x)] == [201, 403]


def test_permanent_refusal_fails_with_the_networks_words(app, x):
    user = employee("emma@acme.test", "emma_acme")
    x.fault(status=400, count=1, path_prefix="/2/tweets", method="POST",
            body='{"title":"Invalid Request","detail":"text is bad","type":"about:blank"}',
            content_type="application/json")
    share = services.create_share(user, approved(), "x")
    run_jobs(app)
    share = fresh(share)
    assert share.status == "failed" and share.attempts == 1 and "400" in share.last_error


@pytest.mark.parametrize("bad", ["2020-01-01T09:00:00+00:00", "2099-01-01T09:00:00"])
def test_the_api_refuses_a_past_or_naive_schedule_naming_the_field(app, x, browser, bad):
    employee("emma@acme.test", "emma_acme")
    tp = approved()
    browser.login("emma@acme.test")
    answer = browser.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x", "scheduled_at": bad})
    assert answer.status_code == 422
    assert "scheduled_at" in answer.get_json()["errors"]["json"]
    assert db.session.scalar(select(func.count(Share.id))) == 0


def test_an_employee_schedules_in_their_own_timezone(app, x, browser):
    user = employee("emma@acme.test", "emma_acme")
    user.timezone = "Europe/Paris"
    db.session.commit()
    tp = approved()
    browser.login("emma@acme.test")
    answer = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "2099-07-01T09:30"})
    assert answer.status_code == 302
    share = db.session.scalars(select(Share)).one()
    assert share.status == "scheduled"
    assert share.scheduled_at == dt.datetime(2099, 7, 1, 7, 30, tzinfo=dt.UTC)  # 09:30 in Paris, summer time
    junk = browser.post("/share", {"talking_point_id": tp.id, "network": "x", "scheduled_at": "tomorrow-ish"})
    assert junk.status_code == 302
    assert "scheduled_at" in browser.get("/feed").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Share.id))) == 1
