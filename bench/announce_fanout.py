"""Announcing a talking point to 50,000 people, side by side with RQ's raw ``enqueue_many`` of as many no-op jobs.

    python bench/announce_fanout.py [--people 50000] [--rounds 3] [--database-url URL] [--redis-url URL]

The people (opted in, a mix of time zones; a fifth daily, a fifth with quiet hours, the rest on the defaults) are
inserted in bulk first. Then, ``--rounds`` times, taking turns (the order flips each round):

* announce: a new talking point is approved through the reviewer's POST (timed: it must return in under a second,
  the announcing left to the background job), then the announcement run (``notifications.announcing.run``: the
  audience query, due times from frequency and quiet hours, one ``announcements`` row per person inserted once,
  the delivery jobs queued in bulk) is timed in-process;
* raw: RQ's ``Queue.enqueue_many`` of the same number of no-op jobs, in pipelines of 1,000, on the same Redis.

It prints each sample with the load average, then the medians and the rate ratio (announced people per second over
enqueued no-op jobs per second; the target is at least 0.5). Queues are emptied between samples.
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

    folder = Path(tempfile.mkdtemp(prefix="advann"))
    from workers import queues

    for key in [k for k in os.environ if k.startswith("ADVOCACY_")]:
        del os.environ[key]
    os.environ.update({"ADVOCACY_INSTANCE_PATH": str(folder), "ADVOCACY_LOG_LEVEL": "WARNING",
                       "REDIS_URL": args.redis_url or queues.embedded_redis_url(folder)})
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    try:
        run(args.people, args.rounds)
    finally:
        if not args.redis_url:
            queues.stop_embedded(folder)


def _people(people: int) -> None:
    from sqlalchemy import insert

    from advocacy.extensions import db
    from advocacy.notifications.models import NotificationPreference
    from advocacy.people.models import User

    now = dt.datetime.now(dt.UTC)
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/London"]
    for start in range(0, people, 5000):
        users = [{"email": f"p{i}@bench.test", "name": f"P{i}", "password_hash": "x", "role": "employee",
                  "timezone": zones[i % len(zones)], "active": True, "opted_in_at": now, "created_at": now,
                  "digest": "weekly"} for i in range(start, min(people, start + 5000))]
        ids = db.session.execute(insert(User).returning(User.id, sort_by_parameter_order=True), users).scalars().all()
        chosen = []
        for n, user_id in enumerate(ids):
            if n % 5 == 1:
                chosen.append({"user_id": user_id, "channels": "slack,email", "frequency": "daily",
                               "quiet_start": None, "quiet_end": None, "unreachable": "", "updated_at": now})
            elif n % 5 == 2:
                chosen.append({"user_id": user_id, "channels": "push", "frequency": "instant",
                               "quiet_start": 22 * 60, "quiet_end": 7 * 60, "unreachable": "", "updated_at": now})
        db.session.execute(insert(NotificationPreference), chosen)
        db.session.commit()


def run(people: int, rounds: int) -> None:
    from flask_migrate import upgrade
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer
    from sqlalchemy import func, select

    from advocacy import create_app
    from advocacy.content import workflow
    from advocacy.extensions import db
    from advocacy.notifications import announcing
    from advocacy.notifications.models import Announcement, AnnouncementRun
    from advocacy.people.services import create_user

    app = create_app({"WTF_CSRF_ENABLED": False})
    conn = Redis.from_url(os.environ["REDIS_URL"])
    samples: dict[str, list[float]] = {"announce": [], "raw": []}
    approvals: list[float] = []
    with app.app_context():
        upgrade(revision="heads")
        author = create_user("author@bench.test", "Author", "bench-password-1", "comms")
        create_user("reviewer@bench.test", "Reviewer", "bench-password-1", "comms")
        db.session.commit()
        _people(people)
        client = app.test_client()
        client.post("/login", data={"email": "reviewer@bench.test", "password": "bench-password-1"})
        server = "server" if os.environ["REDIS_URL"].startswith("redis") else "embedded"
        print(f"people {people}, database {db_name()}, redis {server}, rounds {rounds}, cpus {os.cpu_count()}; "
              f"{load()}")

        def announce(n: int) -> float:
            tp = workflow.create_talking_point(author, title=f"News {n}", link="https://acme.test/jobs",
                                              text="We are hiring platform engineers.")
            workflow.submit(tp, author)
            tp_id = tp.id
            started = time.perf_counter()
            answer = client.post(f"/studio/{tp_id}/approve")
            approvals.append(time.perf_counter() - started)
            assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
            conn.flushdb()  # the queued announce job: this process runs it, timed
            started = time.perf_counter()
            announcing.run(tp_id)
            took = time.perf_counter() - started
            rec = db.session.scalar(select(AnnouncementRun).where(AnnouncementRun.talking_point_id == tp_id))
            rows = db.session.scalar(select(func.count(Announcement.id)).where(Announcement.talking_point_id == tp_id))
            jobs = Queue("default", connection=conn, serializer=JSONSerializer)
            scheduled = jobs.scheduled_job_registry.count + jobs.count
            assert rec is not None and rec.status == "done" and rows == people, (rec and rec.status, rows)
            print(f"  announce: {rows} announcements, {scheduled} delivery jobs in {took:.2f} s "
                  f"(approving request {approvals[-1] * 1000:.0f} ms); {load()}")
            conn.flushdb()
            return took

        def raw(_n: int) -> float:
            q = Queue("noop", connection=conn, serializer=JSONSerializer)
            started = time.perf_counter()
            for start in range(0, people, 1000):
                with conn.pipeline() as pipe:
                    q.enqueue_many([Queue.prepare_data("bench.announce_fanout.noop", job_id=f"noop-{i}",
                                                       result_ttl=600)
                                    for i in range(start, min(people, start + 1000))], pipeline=pipe)
                    pipe.execute()
            took = time.perf_counter() - started
            print(f"  raw enqueue_many: {people} no-op jobs in {took:.2f} s; {load()}")
            conn.flushdb()
            return took

        for n in range(rounds):
            order = [("announce", announce), ("raw", raw)]
            for name, step in order if n % 2 == 0 else reversed(order):
                samples[name].append(step(n))

    ann, base = statistics.median(samples["announce"]), statistics.median(samples["raw"])
    print(f"median announce {ann:.2f} s ({people / ann:,.0f} people/s), median raw enqueue_many {base:.2f} s "
          f"({people / base:,.0f} jobs/s); approving request median {statistics.median(approvals) * 1000:.0f} ms")
    print(f"rate ratio announce / raw enqueue_many: {base / ann:.2f}x (target at least 0.5x); {load()}")


def db_name() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


if __name__ == "__main__":
    main()
