"""Fan-out of one talking point to 50,000 opted-in employees, side by side with RQ's raw ``enqueue_many``.

    python bench/fanout.py [--people 50000] [--rounds 3] [--database-url URL] [--redis-url URL]

``--rounds`` times, the two sides taking turns (ABBA: the order flips each round), each sample printed with the load
average:

1. a new talking point's approving request (a reviewer's POST /studio/<id>/approve through the Flask test client;
   no server) is timed: it must return in under a second, the fan-out itself running in the background; then the
   fan-out job (targets query, placement in everyone's hours and caps, copy rotation, persisting every share,
   scheduling every job with RQ) is timed in-process; its shares are deleted and Redis emptied afterwards, so every
   round starts from the same state;
2. RQ's raw ``Queue.enqueue_many`` of the same number of no-op jobs, in pipelines of 1,000, is timed on the same
   Redis. The target: the fan-out at most 3x the raw enqueue (medians, and each pair's ratio).

The people, their connected accounts (tokens are never used) and auto-share topics are inserted in bulk first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def noop() -> None:
    """The job RQ enqueues for the baseline."""


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite in a temp folder)")
    parser.add_argument("--redis-url", default="", help="a Redis database it may flush (default: embedded)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="advfan"))
    from workers import queues

    for key in [k for k in os.environ if k.startswith("ADVOCACY_")]:
        del os.environ[key]
    os.environ.update({"ADVOCACY_INSTANCE_PATH": str(folder), "ADVOCACY_LOG_LEVEL": "WARNING",
                       "REDIS_URL": args.redis_url or queues.embedded_redis_url(folder),
                       "ADVOCACY_X_CLIENT_ID": "bench", "ADVOCACY_DELIVERY_FANOUT_WINDOW_MINUTES": "480"})
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    try:
        run(args.people, args.rounds)
    finally:
        if not args.redis_url:
            queues.stop_embedded(folder)


def run(people: int, rounds: int) -> None:
    from flask_migrate import upgrade
    from redis import Redis
    from rq import Queue
    from rq.registry import ScheduledJobRegistry
    from rq.serializers import JSONSerializer
    from sqlalchemy import delete, func, insert, select

    from advocacy import create_app
    from advocacy.accounts import crypto
    from advocacy.accounts.models import ConnectedAccount
    from advocacy.content import workflow
    from advocacy.delivery import fanout
    from advocacy.delivery.models import FanOut, Share
    from advocacy.extensions import db, redis_client
    from advocacy.people.models import User
    from advocacy.people.services import create_user
    from workers import queues

    app = create_app({"WTF_CSRF_ENABLED": False})
    conn = Redis.from_url(os.environ["REDIS_URL"])
    samples: dict[str, list[float]] = {"fanout": [], "raw": []}
    approvals: list[float] = []
    with app.app_context():
        upgrade(revision="heads")
        author = create_user("author@bench.test", "Author", "bench-password-1", "comms")
        create_user("reviewer@bench.test", "Reviewer", "bench-password-1", "comms")
        db.session.commit()
        now = dt.datetime.now(dt.UTC)
        zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/London"]
        token = crypto.encrypt("not-used")
        for start in range(0, people, 5000):
            users = [{"email": f"p{i}@bench.test", "name": f"P{i}", "password_hash": "x", "role": "employee",
                      "timezone": zones[i % len(zones)], "active": True, "opted_in_at": now, "created_at": now,
                      "auto_share_topics": "hiring" if i % 2 == 0 else "hiring culture", "share_hours_start": 8,
                      "share_hours_end": 20, "daily_share_cap": 3, "digest": "weekly"}
                     for i in range(start, min(people, start + 5000))]
            ids = db.session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), users).scalars()
            db.session.execute(insert(ConnectedAccount), [
                {"user_id": u, "network": "x", "network_user_id": str(u), "handle": f"p{u}", "followers": 100,
                 "access_token_encrypted": token, "scope": "tweet.write", "status": "active", "connected_at": now}
                for u in ids.all()])
            db.session.commit()
        client = app.test_client()
        client.post("/login", data={"email": "reviewer@bench.test", "password": "bench-password-1"})
        print(f"people {people}, database {db_name()}, rounds {rounds}; {load()}", flush=True)

        def fan(n: int) -> float:
            tp = workflow.create_talking_point(
                author, title=f"We are hiring {n}", link="https://acme.test/jobs", topics="hiring",
                variants=[{"network": "x", "text": "We are hiring platform engineers."},
                          {"network": "x", "text": "Join our platform team."}], disclosure="#iworkforacme")
            workflow.submit(tp, author)
            tp_id = tp.id
            started = time.perf_counter()
            answer = client.post(f"/studio/{tp_id}/approve")
            approvals.append(time.perf_counter() - started)
            assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
            assert db.session.scalar(select(func.count(Share.id)).where(Share.talking_point_id == tp_id)) == 0
            conn.flushdb()  # the queued fan-out job: this process runs it, timed
            started = time.perf_counter()
            created = fanout.run(tp_id)
            took = time.perf_counter() - started
            fo = db.session.scalars(select(FanOut).where(FanOut.talking_point_id == tp_id)
                                    .order_by(FanOut.id.desc())).first()
            scheduled = queues.queue(queues.PUBLISH, redis_client())
            jobs = ScheduledJobRegistry(queue=scheduled).count + scheduled.count
            print(f"  fan-out: {created} shares persisted and {jobs} jobs scheduled in {took:.2f} s (progress row: "
                  f"{fo.status if fo else '?'}, {fo.percent if fo else 0}%; approving request "
                  f"{approvals[-1] * 1000:.0f} ms); {load()}", flush=True)
            db.session.execute(delete(Share).where(Share.talking_point_id == tp_id))
            db.session.commit()
            conn.flushdb()
            return took

        def raw(_n: int) -> float:
            q = Queue("noop", connection=conn, serializer=JSONSerializer)
            started = time.perf_counter()
            for start in range(0, people, 1000):
                with conn.pipeline() as pipe:
                    q.enqueue_many([Queue.prepare_data("bench.fanout.noop", job_id=f"noop-{i}", result_ttl=600)
                                    for i in range(start, min(people, start + 1000))], pipeline=pipe)
                    pipe.execute()
            took = time.perf_counter() - started
            print(f"  raw enqueue_many: {people} no-op jobs in {took:.2f} s; {load()}", flush=True)
            conn.flushdb()
            return took

        for n in range(rounds):
            order = [("fanout", fan), ("raw", raw)]
            for name, step in order if n % 2 == 0 else reversed(order):
                samples[name].append(step(n))

    fan_s, raw_s = statistics.median(samples["fanout"]), statistics.median(samples["raw"])
    pairs = ", ".join(f"{a / b:.2f}" for a, b in zip(samples["fanout"], samples["raw"], strict=True))
    print(f"median fan-out {fan_s:.2f} s, median raw enqueue_many {raw_s:.2f} s; approving request median "
          f"{statistics.median(approvals) * 1000:.0f} ms")
    print(f"ratio fan-out / raw enqueue_many: {fan_s / raw_s:.2f} (per round: {pairs}; target at most 3); {load()}")


def db_name() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


if __name__ == "__main__":
    main()
