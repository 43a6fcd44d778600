"""Publishing by blocks of share ids: one job claims every share of its block due by its key; a worker killed
mid-block posts none twice and loses none; a block that runs out of its time budget gives back what it did not
attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from advocacy.delivery import publishing, services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee, posts_by_code
from workers import queues


class Killed(BaseException):
    """The worker process vanishing (SIGKILL): nothing after it runs, not even the job's clean-up."""


def block_of_shares(count: int = 6) -> tuple[int, list[int]]:
    """``count`` queued shares of one talking point by as many people; returns the block holding most of them and
    their ids (at least three)."""
    point = approved()
    ids = [services.create_share(employee(f"p{i}@acme.test", f"p{i}_acme"), point, "x").id for i in range(count)]
    blocks: dict[int, list[int]] = {}
    for share_id in ids:
        blocks.setdefault(queues.block_of(share_id), []).append(share_id)
    block, members = max(blocks.items(), key=lambda item: len(item[1]))
    assert len(members) >= 3
    return block, members


def rows(ids: list[int]) -> list[Share]:
    db.session.rollback()
    return list(db.session.scalars(select(Share).where(Share.id.in_(ids)).order_by(Share.id)))


def test_one_job_posts_every_due_share_of_its_block(app, x):
    block, ids = block_of_shares()
    assert publishing.publish_block(block) == {"published": len(ids)}
    assert posts_by_code(x.posts()) == {s.code: 1 for s in rows(ids)}
    run_jobs(app)  # each share's own job still runs: it finds nothing left to claim
    shares = rows(ids)
    assert all(s.status == "published" and s.attempts == 1 for s in shares)
    assert posts_by_code(x.posts()) == {s.code: 1 for s in rows(ids)}


def test_a_worker_killed_after_the_first_post_of_a_block_posts_none_twice_and_loses_none(app, x, monkeypatch):
    block, ids = block_of_shares()

    def killed(share, post, note):  # the first post is on the network; the worker dies before recording it
        raise Killed

    monkeypatch.setattr(publishing, "_published", killed)
    monkeypatch.setattr(publishing, "_give_back", lambda *args: 0)  # a killed process gives nothing back
    with pytest.raises(Killed):
        publishing.publish_block(block)
    monkeypatch.undo()
    assert len(x.posts()) == 1
    assert all(s.status == "publishing" for s in rows(ids))  # claimed, the lease running
    run_jobs(app)  # their jobs find them claimed: nothing is posted while the lease runs
    assert len(x.posts()) == 1 and all(s.status == "publishing" for s in rows(ids))

    past = utcnow() - dt.timedelta(seconds=app.config["DELIVERY_LEASE_SECONDS"] + 5)  # the lease ran out
    db.session.execute(Share.__table__.update().where(Share.id.in_(ids)).values(claimed_at=past))
    db.session.commit()
    assert services.recover_lost() == len(ids)  # the sweeper: back to the queue, in doubt, one job for the block
    run_jobs(app)
    shares = rows(ids)
    assert all(s.status == "published" for s in shares), [(s.id, s.status, s.last_error) for s in shares]
    assert posts_by_code(x.posts()) == {s.code: 1 for s in shares}  # the first one found on the network, not again
    first = shares[0]
    assert "found on the network" in (first.last_error or "") and first.post_id == x.posts()[0]["id"]


def test_a_block_past_its_time_budget_gives_back_the_shares_it_did_not_attempt(app, x, monkeypatch):
    block, ids = block_of_shares()
    monkeypatch.setattr(publishing, "BUDGET_SHARE", 0)  # every share after the first is past the budget
    assert publishing.publish_block(block) == {"published": 1, "released": len(ids) - 1}
    first, *rest = rows(ids)
    assert first.status == "published" and len(x.posts()) == 1
    assert all(s.status == "queued" and s.attempts == 0 and s.claimed_at is None for s in rest)  # not counted
    run_jobs(app)  # queued again under new job ids: each job posts one and gives back the rest
    shares = rows(ids)
    assert all(s.status == "published" and s.attempts == 1 for s in shares)
    assert posts_by_code(x.posts()) == {s.code: 1 for s in shares}


def test_the_job_of_a_share_made_alone_leaves_later_shares_of_its_block_to_their_own_jobs(app, x):
    """Shares made one after the other have jobs of their own (their times differ): the first one's job posts it
    alone, so other loops post the others at the same time; a job with no key takes every due share of the block."""
    block, ids = block_of_shares()
    first, second, *_ = rows(ids)
    assert publishing.publish_block(block, services.job_key(first.scheduled_at)) == {"published": 1}
    assert publishing.publish_block(block, services.job_key(second.scheduled_at)) == {"published": 1}
    assert publishing.publish_block(block) == {"published": len(ids) - 2}
    assert publishing.publish_block(block) == {}  # nothing left
    assert posts_by_code(x.posts()) == {s.code: 1 for s in rows(ids)}


def test_a_block_whose_worker_is_stopping_gives_back_what_it_has_not_begun(app, x):
    """A SIGTERM (``queues.STOPPING``): the share under way is finished, the rest of the block goes back to the
    queue at once instead of keeping the worker (or waiting for the lease if the worker is then killed)."""
    block, ids = block_of_shares()
    queues.STOPPING.set()
    try:
        assert publishing.publish_block(block) == {"published": 1, "released": len(ids) - 1}
    finally:
        queues.STOPPING.clear()
    run_jobs(app)
    shares = rows(ids)
    assert all(s.status == "published" and s.attempts == 1 for s in shares)
    assert posts_by_code(x.posts()) == {s.code: 1 for s in shares}


def test_a_talking_point_withdrawn_while_its_block_posts_stops_the_rest_of_the_block(app, x, monkeypatch):
    """The sharing rule was asked for the whole block at its claim; a slow network (here: every share past the
    re-check time) has it asked again for the shares still to go, so a withdrawal in between posts nothing more."""
    from advocacy.content import workflow
    from advocacy.content.models import TalkingPoint
    from advocacy.people.models import User

    block, ids = block_of_shares()
    monkeypatch.setattr(publishing, "RECHECK_SECONDS", 0)
    attempt = publishing._attempt

    def then_withdrawn(share, image=None):  # the first post goes out; comms withdraw the talking point meanwhile
        outcome = attempt(share, image)
        point = db.session.get(TalkingPoint, share.talking_point_id)
        if point.status != "withdrawn":
            reviewer = db.session.scalar(select(User).where(User.email == "reviewer@acme.test"))
            workflow.withdraw(point, reviewer, "wrong salary figures")
        return outcome

    monkeypatch.setattr(publishing, "_attempt", then_withdrawn)
    assert publishing.publish_block(block) == {"published": 1, "cancelled": len(ids) - 1}
    first, *rest = rows(ids)
    assert first.status == "published" and len(x.posts()) == 1
    assert all(s.status == "cancelled" and "withdrawn" in (s.last_error or "") for s in rest), \
        [(s.status, s.last_error) for s in rest]


def test_a_burst_worker_ends_only_when_every_loop_has_finished_its_blocks(app, settings, x):
    """``advocacy worker --burst`` with a publishing thread: the main loop runs out of jobs first (its block is
    short) while the thread is still posting a long block. The burst ends when each loop finds its queues empty: the
    long block posts every share it claimed, none is given back to a queue nobody serves any more."""
    import subprocess
    import sys

    from redis import Redis

    from tests.conftest import ROOT, settings_env

    point = approved()
    ids = [services.create_share(employee(f"p{i}@acme.test", f"p{i}_acme"), point, "x").id for i in range(22)]
    conn = Redis.from_url(settings["REDIS_URL"])
    conn.flushdb()  # the shares' own jobs: replaced by one job a block, the short block first in the queue
    short, long = queues.block_of(ids[-1]), queues.block_of(ids[0])
    assert short != long and sum(queues.block_of(i) == long for i in ids) >= 15
    queues.enqueue_publish(conn, ids[-1])
    queues.enqueue_publish(conn, ids[0])
    x.configure(latency_ms=150)  # the long block takes a few seconds
    done = subprocess.run([sys.executable, "-m", "advocacy.cli", "worker", "--burst", "--threads", "2"],
                          env=settings_env(settings | {"LOG_LEVEL": "INFO"}), cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    shares = rows(ids)
    assert [s.status for s in shares] == ["published"] * len(ids), done.stderr[-3000:]
    assert "event=block_released" not in done.stderr
    assert posts_by_code(x.posts()) == {s.code: 1 for s in shares}
