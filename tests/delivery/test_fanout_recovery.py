"""A fan-out survives its worker dying and Redis losing its job: the sweeper runs it again, and nobody gets an
auto-share twice, even when two runs race."""

from __future__ import annotations

import datetime as dt

import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from advocacy.delivery import fanout, services
from advocacy.delivery.models import FanOut, Share
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from tests.conftest import run_jobs
from tests.delivery.support import approved, employee, posts_by_code
from workers import queues

PEOPLE = 7


@pytest.fixture()
def audience(app, x):
    app.config["DELIVERY_FANOUT_WINDOW_MINUTES"] = 1  # everyone due within a minute, so the test can post them
    return [employee(f"p{i}@acme.test", f"p{i}_acme", auto_share_topics="hiring", share_hours_start=0,
                     share_hours_end=24) for i in range(PEOPLE)]


def auto_shares(tp_id: int) -> list[Share]:
    db.session.rollback()
    return list(db.session.scalars(select(Share).where(Share.talking_point_id == tp_id, Share.auto.is_(True))))


def later(app) -> dt.datetime:
    """A sweep's "now" past the lease and grace periods (instead of waiting them out)."""
    config = app.config
    return utcnow() + dt.timedelta(seconds=max(config["DELIVERY_LEASE_SECONDS"],
                                               config["DELIVERY_SWEEP_GRACE_SECONDS"]) + 1)


def test_a_fanout_whose_worker_died_halfway_is_run_again_and_everyone_posts_once(app, x, audience, monkeypatch):
    monkeypatch.setattr(fanout, "CHUNK", 3)
    real = queues.enqueue_publish_many

    def die_after_first_chunk(conn, items, timeout=None):  # the worker is SIGKILLed: no except, no finally
        real(conn, items, timeout)
        raise KeyboardInterrupt

    tp = approved(topics="hiring")
    tp_id = tp.id
    conn = redis_client()
    default = queues.queue(queues.DEFAULT, conn)
    job, _ = Queue.dequeue_any([default], None, connection=conn, serializer=JSONSerializer)  # a worker takes it
    assert job.id == queues.fanout_job_id(tp_id)
    SimpleWorker([default], connection=conn, serializer=JSONSerializer).prepare_job_execution(
        job, remove_from_intermediate_queue=True)  # starts it, then runs it (by hand, below) and dies
    monkeypatch.setattr(queues, "enqueue_publish_many", die_after_first_chunk)
    with pytest.raises(KeyboardInterrupt):
        fanout.run(tp_id)
    monkeypatch.setattr(queues, "enqueue_publish_many", real)
    db.session.rollback()
    dead = db.session.scalars(select(FanOut).where(FanOut.talking_point_id == tp_id)).one()
    assert dead.status == "running" and dead.created == 3 and len(auto_shares(tp_id)) == 3

    assert fanout.recover() == 0  # its heartbeat is fresh: it may still be running
    assert fanout.recover(later(app)) == 1  # past the lease: its worker is gone
    db.session.rollback()
    assert db.session.get(FanOut, dead.id).status == "failed" and db.session.get(FanOut, dead.id).error == \
        fanout.STALLED
    assert fanout.recover(later(app)) == 0  # queued again once, not on every sweep
    run_jobs(app)
    shares = auto_shares(tp_id)
    assert len(shares) == PEOPLE and len({s.user_id for s in shares}) == PEOPLE
    runs = db.session.scalars(select(FanOut).where(FanOut.talking_point_id == tp_id).order_by(FanOut.id)).all()
    assert [r.status for r in runs] == ["failed", "done"] and runs[-1].created == PEOPLE - 3

    # a minute passes: every share falls due (the first chunk's were committed but never queued: the sweeper has them)
    db.session.execute(Share.__table__.update().where(Share.talking_point_id == tp_id)
                       .values(scheduled_at=utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    services.requeue_lost(later(app))
    run_jobs(app)
    shares = auto_shares(tp_id)
    assert {s.status for s in shares} == {"published"}, [(s.status, s.last_error) for s in shares]
    assert posts_by_code(x.posts()) == {s.code: 1 for s in shares}


def test_two_runs_that_race_place_nobody_twice(app, x, audience, monkeypatch):
    tp = approved(topics="hiring")
    tp_id = tp.id
    before = fanout.targets(tp)  # what a second run computed before the first one inserted anything
    run_jobs(app)  # the first run, from the approval
    assert len(auto_shares(tp_id)) == PEOPLE
    monkeypatch.setattr(fanout, "targets", lambda _tp: before)
    assert fanout.run(tp_id) == 0  # the unique index turned every insert into nothing
    shares = auto_shares(tp_id)
    assert len(shares) == PEOPLE
    assert db.session.scalar(select(func.count()).select_from(FanOut).where(FanOut.talking_point_id == tp_id)) == 2


def test_an_approval_whose_fanout_job_redis_lost_is_fanned_out_by_the_sweeper(app, x, audience):
    tp = approved(topics="hiring")
    tp_id = tp.id
    conn = redis_client()
    assert queues.fanout_held(conn, tp_id, started_before=utcnow())  # queued by the approval
    assert fanout.recover(later(app)) == 0  # still waiting in the queue: not queued twice
    conn.flushdb()  # Redis lost everything
    assert fanout.recover() == 0  # not late yet
    assert fanout.recover(later(app)) == 1
    run_jobs(app)
    assert len(auto_shares(tp_id)) == PEOPLE
    assert fanout.recover(later(app)) == 0  # done: left alone


def test_the_sweeper_leaves_a_live_fanout_and_old_talking_points_alone(app, x, audience):
    tp = approved(topics="hiring")
    tp_id = tp.id
    run_jobs(app)
    assert fanout.recover(later(app)) == 0
    live = FanOut(talking_point_id=tp_id, version=tp.version, status="running", heartbeat_at=utcnow())
    db.session.add(live)
    db.session.commit()
    assert fanout.recover() == 0  # heartbeat within the lease
    assert fanout.recover(utcnow() + fanout.LOOKBACK + dt.timedelta(days=1)) == 0  # approved over a week before
