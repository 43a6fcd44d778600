"""Publishing throughput against the X sandbox at 20 ms latency, side by side with RQ's own no-op job, and worker
resident memory from the first to the last share.

    python bench/publish_throughput.py [--shares 10000] [--workers 4] [--threads 4] [--rounds 3] [--latency-ms 20]
                                       [--sandbox gunicorn|werkzeug] [--database-url URL] [--redis-url URL]
                                       [--x-monthly-spend-cap USD]

Each round inserts ``--shares`` queued shares (in bulk: the benchmark measures publishing, not the web form) for
1 person per 50 shares, each connected once through the sandbox's real OAuth flow; starts ``--workers``
``advocacy worker --queues publish`` processes (each posting ``--threads`` shares at once) beside one
``advocacy worker --queues default`` (the scheduler and the periodic jobs, as an operator deploys them); once every
worker has registered with RQ, queues the shares' jobs and times until the last share is published. Then the same
for as many ``rq worker -w rq.SimpleWorker`` processes on as many jobs that sleep ``--latency-ms``, on the same
Redis. Both sides are timed from the moment the jobs are queued to running workers, so a process's start-up (2-3 s
of imports and app set-up for advocacy, once per deployment) is not counted as publishing. Every share takes the
whole path: claim, budget, token, POST /2/tweets, record. Rounds alternate the two so both see the same machine;
the report gives each round and the medians, and each side's worker CPU per job once running.

The sandbox stands in for X: ``gunicorn`` serves it with threads and HTTP keep-alive, as X's API does; ``werkzeug``
is the development server the tests use, which closes the connection after every answer. The sandbox's own CPU is
on the same 2 cores as the workers either way, and is reported apart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sleep_job(ms: int) -> None:
    """RQ's no-op baseline: a job that only sleeps."""
    time.sleep(ms / 1000)


def start_sandbox(env: dict[str, str], folder: Path, server: str = "werkzeug") -> tuple[subprocess.Popen[bytes], str]:
    """The X sandbox in its own process: werkzeug (``python -m sandbox``) or gunicorn (one process, threads,
    keep-alive; the sandbox keeps its state in memory, so one process)."""
    if server == "gunicorn":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                 "--workers", "1", "--worker-class", "gthread", "--threads", "64",
                                 "--keep-alive", "30", "--log-level", "warning",
                                 "sandbox.runner:create_app('x')"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        import requests

        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/_sandbox/config", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the gunicorn sandbox did not start") from None
                time.sleep(0.1)
        return proc, url
    ready = folder / "sandbox.json"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--network", "x", "--port", "0",
                             "--ready-file", str(ready)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not ready.exists():
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, json.loads(ready.read_text())["x"]


@dataclass
class Run:
    """One timed run: wall time; per worker process, RSS (MiB) once the first 1% of the jobs were taken and at the
    end; the worker processes' CPU seconds between those two moments, and the jobs taken between them."""

    seconds: float
    rss_first: list[float] = field(default_factory=list)
    rss_last: list[float] = field(default_factory=list)
    cpu: float = 0.0
    jobs: int = 0
    beside: tuple[float, float] | None = None  # RSS of the process beside them (the default-queue worker)


def _cpu(p: psutil.Process, children: bool = False) -> float:
    """User and system CPU seconds of ``p`` (and of its children: gunicorn's worker under its arbiter)."""
    total = 0.0
    for proc in [p, *(p.children(recursive=True) if children else [])]:
        t = proc.cpu_times()
        total += t.user + t.system
    return total


def run_workers(cmd: list[str], env: dict[str, str], n: int, total: int, *, ready: Any, start: Any, done: Any,
                remaining: Any, beside: subprocess.Popen[bytes] | None = None) -> Run:
    """Start ``n`` processes of ``cmd`` and wait until they are ready; then queue the jobs (``start``) and time them
    until ``done``; then stop the processes (SIGTERM: each finishes its job). RSS and CPU are sampled every 0.2 s.

    Args:
        ready: every worker has registered with RQ (started, imported, listening).
        start: queues the jobs.
        done: every job is done.
        remaining: jobs not yet taken (to tell when the first 1% was taken).
        beside: another process whose RSS is sampled too (the default-queue worker).
    """
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(n)]
    try:
        deadline = time.monotonic() + 120
        while not ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers did not start: {cmd}")
            time.sleep(0.1)
        watched = [psutil.Process(p.pid) for p in procs] + ([psutil.Process(beside.pid)] if beside else [])
        marks: dict[str, tuple[list[float], float, int]] = {}
        started = time.monotonic()
        start()
        while True:
            finished = done()
            row = [p.memory_info().rss / 2**20 for p in watched]
            cpu = sum(_cpu(p) for p in watched[:n])
            taken = total - remaining()
            if "first" not in marks and taken >= max(1, total // 100):
                marks["first"] = (row, cpu, taken)
            marks["last"] = (row, cpu, taken)
            if finished:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker stopped before every job was done: {cmd}")
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(60)
    (first, cpu0, taken0), (last, cpu1, taken1) = marks["first"], marks["last"]
    return Run(elapsed, first[:n], last[:n], cpu1 - cpu0, taken1 - taken0,
               (first[n], last[n]) if beside else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shares", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4,
                        help="shares each advocacy worker posts at once; 0: leave the option out (for ROOT checkouts "
                             "from before it existed, whose workers post one share at a time)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--sandbox", choices=("gunicorn", "werkzeug"), default="gunicorn")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--x-monthly-spend-cap", default="",
                        help="ADVOCACY_X_MONTHLY_SPEND_CAP for the workers (the cap's check on every X share)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="advbench"))
    from workers import queues

    redis_url = args.redis_url or queues.embedded_redis_url(folder)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env = base | {"ADVOCACY_INSTANCE_PATH": str(folder), "REDIS_URL": redis_url, "ADVOCACY_LOG_LEVEL": "WARNING",
                  "ADVOCACY_PUBLIC_URL": "http://advocacy.bench",
                  "ADVOCACY_DELIVERY_BUDGETS": "x:app:86400:10000000,x:user:900:1000000"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.x_monthly_spend_cap:
        env["ADVOCACY_X_MONTHLY_SPEND_CAP"] = args.x_monthly_spend_cap
    rounds: list[dict[str, Any]] = []
    posts = 0
    for n in range(args.rounds):
        sandbox, x_url = start_sandbox(env, folder, args.sandbox)
        try:
            env |= sandbox_settings(x_url)
            os.environ.update(env)
            ids, enqueue = prepare(f"r{n}", args.shares, x_url)
            requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": args.latency_ms}, timeout=5)
            sandbox_ps = psutil.Process(sandbox.pid)
            sandbox_cpu = _cpu(sandbox_ps, children=True)
            ours = run_ours(args, env, redis_url, ids, enqueue)
            sandbox_cpu = _cpu(sandbox_ps, children=True) - sandbox_cpu
            noop = baseline(args.shares, args.latency_ms, args.workers, env, redis_url)
            posts += len(requests.get(f"{x_url}/_sandbox/posts", timeout=120).json()["posts"])
        finally:
            sandbox.terminate()
            sandbox.wait(10)
        rounds.append({"ours": ours, "noop": noop, "sandbox_cpu": sandbox_cpu, "load": os.getloadavg()[0]})
        show(args, n + 1, rounds[-1])
    if not args.redis_url:
        queues.stop_embedded(folder)
    report(args, rounds, posts)


def sandbox_settings(x_url: str) -> dict[str, str]:
    return {"ADVOCACY_X_API_BASE_URL": x_url, "ADVOCACY_X_AUTHORIZE_URL": f"{x_url}/i/oauth2/authorize",
            "ADVOCACY_X_TOKEN_URL": f"{x_url}/2/oauth2/token", "ADVOCACY_X_WEB_BASE_URL": x_url,
            "ADVOCACY_X_CLIENT_ID": "advocacy-bench"}


def prepare(prefix: str, count: int, x_url: str) -> tuple[list[int], Any]:
    """A fresh sandbox's people (1 per 50 shares), connected through its OAuth flow, and ``count`` queued shares.

    Each round has a sandbox of its own: the X sandbox looks for a duplicate among every post it holds, so its cost
    per post grows with the posts of earlier rounds (a cost of the emulator, not of advocacy).
    """
    requests.post(f"{x_url}/_sandbox/config", json={"app_24h_cap": 10**8, "user_24h_cap": 10**8, "latency_ms": 0,
                                                    "rate_limits": {"POST /2/tweets": 10**8}}, timeout=5)
    people = connect_people(prefix, max(1, count // 50), -(-count // max(1, count // 50)))
    return queue_shares(count, people)


def run_ours(args: argparse.Namespace, env: dict[str, str], redis_url: str, ids: list[int], enqueue: Any) -> Run:
    """The publishing processes, beside one default-queue worker (the scheduler and the periodic jobs)."""
    from redis import Redis
    from rq import Worker
    from rq.registry import StartedJobRegistry

    from workers import queues

    conn = Redis.from_url(redis_url)
    q = queues.queue(queues.PUBLISH, conn)
    started = StartedJobRegistry(queue=q)
    cli = [sys.executable, "-m", "advocacy.cli", "worker"]
    default = subprocess.Popen([*cli, "--queues", "default"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        threads = ["--threads", str(args.threads)] if args.threads else []
        return run_workers([*cli, "--queues", "publish", *threads], env, args.workers,
                           args.shares, ready=lambda: Worker.count(connection=conn, queue=q) >= args.workers
                           * max(1, args.threads), start=enqueue, remaining=lambda: q.count, beside=default,
                           done=lambda: q.count == 0 and started.count == 0 and published(ids) == len(ids))
    finally:
        default.send_signal(signal.SIGTERM)
        default.wait(60)


def connect_people(prefix: str, count: int, talking_points: int = 1) -> list[tuple[int, int]]:
    """``count`` people connected to X through the sandbox's OAuth flow, and ``talking_points`` approved talking points
    (a person shares each at most once per account); returns their (user id, account id)."""
    from sqlalchemy import func, select

    from advocacy import create_app
    from advocacy.content.models import TalkingPoint
    from advocacy.extensions import db
    from tests.delivery.support import approved, employee

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
        people = []
        for i in range(count):
            user = employee(f"{prefix}p{i}@bench.test", f"{prefix}p{i}_bench")
            people.append((user.id, _account_of(user.id)))
        for i in range(int(db.session.scalar(select(func.count(TalkingPoint.id))) or 0), talking_points):
            approved(title=f"Bench news {i}")
        db.engine.dispose()
    return people


def _account_of(user_id: int) -> int:
    from sqlalchemy import select

    from advocacy.accounts.models import ConnectedAccount
    from advocacy.extensions import db

    return int(db.session.scalar(select(ConnectedAccount.id).where(ConnectedAccount.user_id == user_id)) or 0)


def queue_shares(count: int, people: list[tuple[int, int]]) -> tuple[list[int], Any]:
    """``count`` queued shares spread over ``people`` (user id, account id); returns their ids and what queues their
    jobs."""
    from sqlalchemy import insert, select

    from advocacy import create_app
    from advocacy.content.models import TalkingPoint
    from advocacy.delivery import services
    from advocacy.delivery.models import Share
    from advocacy.extensions import db, redis_client
    from workers import queues

    app = create_app()
    with app.app_context():
        tp_ids = list(db.session.scalars(select(TalkingPoint.id).order_by(TalkingPoint.id)))
        accounts = people
        now = dt.datetime.now(dt.UTC)
        start = int(db.session.scalar(select(Share.id).order_by(Share.id.desc()).limit(1)) or 0)
        # share n: person n mod P, talking point n div P (one live share of a talking point per person and account)
        rows = [{"talking_point_id": tp_ids[n // len(accounts)], "user_id": user_id, "account_id": account_id,
                 "network": "x", "text": f"Come build the platform with us. #{start + n}", "code": services.new_code(),
                 "status": "queued", "scheduled_at": now, "created_at": now, "updated_at": now}
                for n, (user_id, account_id) in enumerate(accounts[i % len(accounts)] for i in range(count))]
        ids = list(db.session.execute(insert(Share).returning(Share.id, sort_by_parameter_order=True),
                                      rows).scalars())
        db.session.commit()
        timeout, conn = services.publish_timeout(), redis_client()
        db.engine.dispose()

    def enqueue() -> None:
        queues.enqueue_publish_many(conn, [(i, None, services.job_key(now)) for i in ids], timeout)

    return ids, enqueue


_APP: list[Any] = []


def published(ids: list[int]) -> int:
    from sqlalchemy import func, select

    from advocacy import create_app
    from advocacy.delivery.models import Share
    from advocacy.extensions import db

    if not _APP:
        _APP.append(create_app())
    with _APP[0].app_context():
        count = int(db.session.scalar(select(func.count(Share.id)).where(
            Share.status == "published", Share.id.between(min(ids), max(ids)))) or 0)
        db.session.remove()
        return count


def baseline(count: int, ms: int, n: int, env: dict[str, str], redis_url: str) -> Run:
    from redis import Redis
    from rq import Queue, Worker
    from rq.registry import FinishedJobRegistry
    from rq.serializers import JSONSerializer

    conn = Redis.from_url(redis_url)
    q = Queue("noop", connection=conn, serializer=JSONSerializer)
    finished = FinishedJobRegistry(queue=q)
    before = finished.count

    def enqueue() -> None:
        for start in range(0, count, 1000):
            q.enqueue_many([Queue.prepare_data("bench.publish_throughput.sleep_job", (ms,), result_ttl=3600)
                            for _ in range(min(1000, count - start))])

    cmd = [str(Path(sys.executable).parent / "rq"), "worker", "--url", redis_url, "-w", "rq.SimpleWorker",
           "--serializer", "rq.serializers.JSONSerializer", "--quiet", "noop"]
    return run_workers(cmd, env | {"PYTHONPATH": str(ROOT)}, n, count,
                       ready=lambda: Worker.count(connection=conn, queue=q) >= n, start=enqueue,
                       done=lambda: finished.count - before >= count, remaining=lambda: q.count)


def _growth(run: Run) -> float:
    return max((b - a) / a for a, b in zip(run.rss_first, run.rss_last, strict=True)) if run.rss_first else 0.0


def _per_job(run: Run) -> float:
    """Worker CPU milliseconds per job while running (start-up excluded)."""
    return run.cpu / run.jobs * 1000 if run.jobs else float("nan")


def _beside(run: Run) -> str:
    return f"{run.beside[0]:.1f} → {run.beside[1]:.1f} MiB" if run.beside else "-"


def show(args: argparse.Namespace, n: int, r: dict[str, Any]) -> None:
    ours, noop = r["ours"], r["noop"]
    rss = ", ".join(f"{a:.1f} → {b:.1f}" for a, b in zip(ours.rss_first, ours.rss_last, strict=True))
    print(f"round {n}: advocacy {ours.seconds:.1f} s ({args.shares / ours.seconds:.1f} shares/s), "
          f"RQ no-op {noop.seconds:.1f} s ({args.shares / noop.seconds:.1f} jobs/s), "
          f"ratio {noop.seconds / ours.seconds:.3f}; CPU per share: workers {_per_job(ours):.1f} ms, "
          f"sandbox {r['sandbox_cpu'] / args.shares * 1000:.1f} ms; no-op workers {_per_job(noop):.1f} ms a job; "
          f"worker RSS MiB (1% → end) {rss} (max {_growth(ours):+.1%}); default-queue worker "
          f"{_beside(ours)}; "
          f"load average {r['load']:.1f}", flush=True)


def report(args: argparse.Namespace, rounds: list[dict[str, Any]], posts: int) -> None:
    total = args.shares * len(rounds)
    print(f"shares {args.shares} × {len(rounds)} rounds, {args.workers} workers × {args.threads} threads, "
          f"latency {args.latency_ms} ms, sandbox served by {args.sandbox}; {posts} posts on the sandbox for "
          f"{total} shares")
    ratios = [r["noop"].seconds / r["ours"].seconds for r in rounds]
    growth = ", ".join(f"{_growth(r['ours']):+.1%}" for r in rounds)
    print(f"median: advocacy {statistics.median(args.shares / r['ours'].seconds for r in rounds):.1f} shares/s, "
          f"RQ no-op {statistics.median(args.shares / r['noop'].seconds for r in rounds):.1f} jobs/s, "
          f"ratio {statistics.median(ratios):.3f} (rounds: {', '.join(format(x, '.3f') for x in ratios)}); "
          f"worker RSS growth, 1% → end, max over workers: {growth}")


if __name__ == "__main__":
    main()
