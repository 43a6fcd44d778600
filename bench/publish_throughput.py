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

Memory (``--memory``): three (``--rounds``) consecutive rounds of ``--shares`` shares on the **same** processes,
started once: ``--workers`` publishing workers, one default-queue worker, the RQ schedulers they fork, the web server
(``--web N``: gunicorn with N sync workers serving ``wsgi:app``; timing waits until it answers ``/login``; each round
then follows ``--clicks`` of the round's tracked links, which the default worker's rollup counts) and the Redis server.
Each round creates the people and the queued shares, queues them through the delivery engine's own path (the
sweeper's ``requeue_lost``, which queues every due share Redis does not hold), waits until every one is published and
the default queue is idle, waits ``--settle`` seconds, and prints every process's RSS and its change since the round
before, with the load average. It fails (exit status 1) if a process died or was replaced; ``--max-growth`` (5%) only
marks a change over it. ``--trace`` runs the default-queue worker under tracemalloc (``bench/traced_worker.py``) and
prints, after each round from the second on, the 20 tracebacks whose memory grew most since the round before;
``--redis-keys`` prints, after each round, Redis's keys grouped by pattern (count, ``MEMORY USAGE`` sum, TTLs) and
``INFO memory`` (``used_memory``, ``used_memory_rss``, ``mem_fragmentation_ratio``...), each against the round before.
``--periodic-seconds N`` runs every periodic job every N seconds (more runs a round, for tracing).

    python bench/publish_throughput.py --memory --shares 10000 --rounds 3 [--web 2] [--trace] [--database-url URL]
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

from bench.redis_keys import KeyCensus, PhasePeaks  # noqa: E402


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
    parser.add_argument("--memory", action="store_true",
                        help="consecutive rounds on the same processes; every process's RSS after each round")
    parser.add_argument("--web", type=int, default=0, help="--memory: gunicorn sync workers serving the app (0: none)")
    parser.add_argument("--clicks", type=int, default=500, help="--memory --web: tracked links followed a round")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="--memory: seconds between the default queue going idle and the RSS reading")
    parser.add_argument("--idle-wait", type=float, default=600,
                        help="--memory: at most this many seconds waiting for the default queue to be empty")
    parser.add_argument("--max-growth", type=float, default=5.0, help="--memory: percent marked as over")
    parser.add_argument("--trace", action="store_true",
                        help="--memory: the default-queue worker under tracemalloc, its growth per round shown")
    parser.add_argument("--probe", action="store_true",
                        help="--memory: after each round, the default-queue worker's RSS before and after a full "
                             "garbage collection and malloc_trim (no tracemalloc; the probe frees what it finds)")
    parser.add_argument("--redis-keys", action="store_true",
                        help="--memory: after each round, Redis's keys by pattern (count, MEMORY USAGE, TTLs) and "
                             "INFO memory, each against the round before (bench/redis_keys.py)")
    parser.add_argument("--periodic-seconds", type=int, default=0,
                        help="--memory: every periodic job this often (0: the deployment's settings)")
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
    if args.memory:
        if args.redis_url:
            from redis import Redis

            Redis.from_url(redis_url).flushdb()
        try:
            memory_main(args, folder, env, redis_url)
        finally:
            if not args.redis_url:
                queues.stop_embedded(folder)
        return
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
    from advocacy.extensions import db

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
        db.engine.dispose()

    def enqueue() -> None:
        """Through the delivery engine's own path (whatever its jobs look like): the sweeper's ``requeue_lost``
        queues every due share whose job Redis does not hold, here as if the sweep ran past the grace period."""
        with app.app_context():
            late = now + dt.timedelta(seconds=app.config["DELIVERY_SWEEP_GRACE_SECONDS"] + 1)
            services.requeue_lost(late, limit=len(ids))
            db.session.remove()
            db.engine.dispose()

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


# ------------------------------------------------------------------------------------------------------ memory mode
class Watched:
    """A long-running process of the fleet: its label, its Popen (None for one the bench did not start: Redis) and
    the pid it had at the start of each round (a replaced pid is a process that died)."""

    def __init__(self, label: str, proc: psutil.Process, popen: subprocess.Popen[bytes] | None = None) -> None:
        self.label, self.proc, self.popen = label, proc, popen

    def alive(self) -> bool:
        return (self.popen is None or self.popen.poll() is None) and self.proc.is_running() \
            and self.proc.status() != psutil.STATUS_ZOMBIE

    def rss(self) -> float:
        return self.proc.memory_info().rss / 2**20


def _children(parent: Watched, role: str) -> list[Watched]:
    return [Watched(f"{role} {i + 1} of {parent.label}", c)
            for i, c in enumerate(sorted(parent.proc.children(recursive=True), key=lambda c: c.pid))]


def _wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 300) -> None:
    """Until ``url`` answers 200 (gunicorn accepts connections before its workers have loaded the app)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer")
        time.sleep(0.5)


def _request_snapshot(folder: Path, name: str, seconds: float = 120) -> Path | None:
    (folder / "request").write_text(name)
    deadline = time.monotonic() + seconds
    while not (folder / name).exists() and (folder / "request").exists():
        if time.monotonic() > deadline:
            print(f"  (no tracemalloc snapshot {name} within {seconds:.0f} s)", flush=True)
            return None
        time.sleep(0.2)
    return folder / name if (folder / name).exists() else None


def _show_probe(path: Path) -> None:
    if path.exists():
        p = json.loads(path.read_text())
        print(f"  default-queue worker (traced): RSS {p['rss']:.1f} MiB; after a full garbage collection "
              f"({p['collected']} objects; counts were {p['gc_counts']}) {p['rss_after_gc']:.1f}; after malloc_trim "
              f"{p['rss_after_trim']:.1f}; {p['blocks']} Python blocks allocated", flush=True)


def _show_growth(before: Path, after: Path, top: int = 20) -> None:
    import tracemalloc

    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    stats = new.compare_to(old, "traceback")
    total = sum(s.size_diff for s in stats)
    print(f"  tracemalloc, default-queue worker: {sum(s.size for s in stats) / 2**20:.2f} MiB traced, "
          f"{total / 2**20:+.3f} MiB since the round before; top {top} tracebacks by growth:", flush=True)
    for stat in sorted(stats, key=lambda s: s.size_diff, reverse=True)[:top]:
        if stat.size_diff <= 0:
            break
        frames = [f for f in stat.traceback if "tracemalloc" not in f.filename][-6:]
        print(f"   {stat.size_diff / 1024:+9.1f} KiB ({stat.count_diff:+d} blocks, {stat.size / 1024:.1f} KiB now)")
        for f in reversed(frames):
            name = f.filename.replace(str(ROOT) + "/", "")
            name = name.split("site-packages/")[-1]
            print(f"        {name}:{f.lineno}")


def _start_fleet(args: argparse.Namespace, env: dict[str, str], trace: Path, popens: list[subprocess.Popen[bytes]],
                 watched: list[Watched]) -> str:
    """Start the publishing workers, the default-queue worker and (``--web``) gunicorn, appended to ``popens`` and
    ``watched``; returns the web server's URL ("" without one), once it answered a real request."""
    cli = [sys.executable, "-m", "advocacy.cli", "worker"]
    threads = ["--threads", str(args.threads)] if args.threads else []
    for i in range(args.workers):
        popens.append(subprocess.Popen([*cli, "--queues", "publish", *threads], env=env, cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        watched.append(Watched(f"publish worker {i + 1}", psutil.Process(popens[-1].pid), popens[-1]))
    args.trace = args.trace or args.probe
    default_cmd = ([sys.executable, str(ROOT / "bench" / "traced_worker.py"), "--queues", "default"]
                   if args.trace else [*cli, "--queues", "default"])
    popens.append(subprocess.Popen(default_cmd, env=env | {"BENCH_TRACE_DIR": str(trace),
                                                           "BENCH_TRACE_FRAMES": "0" if args.probe else "8"},
                                   cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    default = Watched("default-queue worker" + (" (tracemalloc)" if args.trace else ""),
                      psutil.Process(popens[-1].pid), popens[-1])
    watched.append(default)
    web_url = ""
    if args.web:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        popens.append(subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind",
                                        f"127.0.0.1:{port}", "--workers", str(args.web), "--log-level", "warning",
                                        "wsgi:app"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL))
        web_url = f"http://127.0.0.1:{port}"
        watched.append(Watched("web: gunicorn arbiter", psutil.Process(popens[-1].pid), popens[-1]))
        _wait_http(f"{web_url}/login", popens[-1])  # /healthz answers 503 until every queue has a worker
    return web_url


def memory_main(args: argparse.Namespace, folder: Path, env: dict[str, str], redis_url: str) -> None:
    """``--memory``: consecutive rounds on the same processes; every process's RSS after each round."""
    from redis import Redis
    from rq import Worker

    from workers import queues

    conn = Redis.from_url(redis_url)
    if args.periodic_seconds:
        for name in ("REACH_ROLLUP_SECONDS", "REACH_METRICS_POLL_SECONDS", "DELIVERY_SWEEP_SECONDS",
                     "DELIVERY_TOKEN_CHECK_SECONDS", "NOTIFY_DIGEST_POLL_SECONDS", "SOURCES_POLL_SECONDS",
                     "WEBHOOKS_POLL_SECONDS"):
            env[f"ADVOCACY_{name}"] = str(args.periodic_seconds)
    sandbox, x_url = start_sandbox(env, folder, args.sandbox)
    env |= sandbox_settings(x_url)
    os.environ.update(env)
    popens: list[subprocess.Popen[bytes]] = [sandbox]
    watched: list[Watched] = []
    trace = folder / "trace"
    try:
        connect_people("warm", 1)  # migrates the database before any process starts
        import flask_migrate

        flask_migrate.upgrade = lambda **_: None  # once is enough (and the tree may gain a migration meanwhile)
        web_url = _start_fleet(args, env, trace, popens, watched)
        publish_q, default_q = queues.queue(queues.PUBLISH, conn), queues.queue(queues.DEFAULT, conn)
        deadline = time.monotonic() + 300  # a loaded machine takes minutes to start them
        while not (Worker.count(connection=conn, queue=publish_q) >= args.workers * max(1, args.threads)
                   and Worker.count(connection=conn, queue=default_q) >= 1):
            if time.monotonic() > deadline or any(p.poll() is not None for p in popens):
                raise SystemExit("FAILED: the workers did not start")
            time.sleep(0.2)
        time.sleep(3)  # RQ's schedulers forked, the first heartbeats sent
        # the processes each one forked (RQ's schedulers, gunicorn's workers) are watched too
        for w in list(watched):
            role = "web worker" if w.label.startswith("web") else "RQ scheduler"
            watched += _children(w, role)
        server: Any = conn.info("server")
        redis_pid = int(server.get("process_id") or 0)
        if redis_pid and psutil.pid_exists(redis_pid):
            watched.append(Watched("Redis server", psutil.Process(redis_pid)))
        watched.append(Watched("(X sandbox, not the product)", psutil.Process(sandbox.pid)))
        print(f"{'PostgreSQL' if args.database_url.startswith('postgresql') else 'SQLite'}; {args.rounds} rounds × "
              f"{args.shares} shares on the same processes; {args.workers} publishing workers × {args.threads} "
              f"threads, one default-queue worker{f', gunicorn with {args.web} workers' if args.web else ''}; "
              f"load average {_load()}", flush=True)
        memory: list[list[float]] = [[w.rss() for w in watched]]
        print("at start (idle): " + ", ".join(f"{w.label} {m:.1f}" for w, m in zip(watched, memory[0], strict=True))
              + " MiB", flush=True)
        snapshots: list[Path | None] = [_request_snapshot(trace, "start") if args.trace else None]
        keys = KeyCensus(conn, args.redis_keys)
        keys.show("at start")
        for n in range(args.rounds):
            publishing, idle, began = _memory_round(args, n, x_url, conn, web_url, watched)
            memory.append([w.rss() for w in watched])
            redis_lines = _redis_memory(conn)
            print(f"round {n + 1}: {args.shares} shares published in {publishing:.1f} s "
                  f"({args.shares / publishing:.0f}/s), default queue idle {idle:.0f} s later, round "
                  f"{time.monotonic() - began:.0f} s in all; "
                  f"load average {_load()}; RSS MiB (change since the round before):", flush=True)
            for i, w in enumerate(watched):
                change = (memory[-1][i] - memory[-2][i]) / memory[-2][i]
                mark = "  OVER" if n and abs(change) > args.max_growth / 100 and "sandbox" not in w.label else ""
                print(f"  {w.label}: {memory[-1][i]:.1f} ({change:+.1%}){mark}", flush=True)
            print(f"  {redis_lines}", flush=True)
            keys.show(f"after round {n + 1}")
            if args.trace:
                snapshots.append(_request_snapshot(trace, f"round{n + 1}"))
                _show_probe(trace / f"round{n + 1}.json")
                if n and snapshots[-2] and snapshots[-1]:
                    _show_growth(snapshots[-2], snapshots[-1])
        _memory_report(args, watched, memory)
    finally:
        for p in reversed(popens):
            p.send_signal(signal.SIGTERM)
        for p in popens:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def _memory_round(args: argparse.Namespace, n: int, x_url: str, conn: Any, web_url: str,
                  watched: list[Watched]) -> tuple[float, float, float]:
    """One round: its people and queued shares, queued through the delivery engine, published; the clicks; the
    default queue idle, then ``--settle`` seconds. Returns the publishing seconds, the seconds until the default queue
    was idle after that, and when the round began."""
    from rq.registry import StartedJobRegistry

    from workers import queues

    publish_q, default_q = queues.queue(queues.PUBLISH, conn), queues.queue(queues.DEFAULT, conn)
    began = time.monotonic()
    phases = PhasePeaks(conn, args.redis_keys)
    requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": 0}, timeout=5)
    ids, enqueue = prepare(f"m{n}", args.shares, x_url)
    requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": args.latency_ms}, timeout=5)
    phases.mark("people and shares made")
    t0 = time.monotonic()
    enqueue()
    phases.mark("queued")
    started = StartedJobRegistry(queue=publish_q)
    while not (publish_q.count == 0 and started.count == 0 and published(ids) == len(ids)):
        _check(watched)
        time.sleep(0.5)
    publishing = time.monotonic() - t0
    phases.mark("published")
    if web_url and args.clicks:
        _click(web_url, ids, args.clicks)
        phases.mark("clicked")
    idle_since = time.monotonic()
    default_started = StartedJobRegistry(queue=default_q)
    while (default_q.count or default_started.count) and time.monotonic() - idle_since < args.idle_wait:
        _check(watched)  # the rollup, announcements, webhooks: done
        time.sleep(0.5)
    if default_q.count:
        print(f"  (the default queue still holds {default_q.count} jobs after {args.idle_wait:.0f} s)")
    time.sleep(args.settle)
    _check(watched)
    phases.mark("default queue idle, settled")
    phases.show()
    return publishing, time.monotonic() - idle_since - args.settle, began


def _redis_memory(conn: Any) -> str:
    """Redis's own count of the memory its data holds, and its keys by family (the first two parts of the name)."""
    from collections import Counter

    families: Counter[str] = Counter()
    for key in conn.scan_iter(count=1000):
        parts = key.decode(errors="replace").split(":")
        families[":".join(parts[:2]) if parts[0] == "rq" else parts[0][:24]] += 1
    top = ", ".join(f"{k} {v}" for k, v in families.most_common(8))
    used = int(conn.info("memory")["used_memory"]) / 2**20
    return f"Redis used_memory {used:.2f} MiB; keys {sum(families.values())}: {top}"


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _check(watched: list[Watched]) -> None:
    dead = [w.label for w in watched if not w.alive()]
    if dead:
        raise SystemExit(f"FAILED: a long-running process died or was replaced: {', '.join(dead)}")


def _click(web_url: str, ids: list[int], clicks: int) -> None:
    """Follow ``clicks`` of the round's tracked links (``/r/<code>``) over HTTP: clicks the rollup then counts."""
    from sqlalchemy import select

    from advocacy.delivery.models import Share
    from advocacy.extensions import db

    if not _APP:
        published(ids[:1])
    with _APP[0].app_context():
        codes = list(db.session.scalars(select(Share.code).where(Share.id.between(min(ids), max(ids)))
                                        .order_by(Share.id).limit(clicks)))
        db.session.remove()
    with requests.Session() as http:
        answered = sum(http.get(f"{web_url}/r/{code}", allow_redirects=False, timeout=30).status_code == 302
                       for code in codes)
    if answered != len(codes):
        print(f"  ({answered} of {len(codes)} clicks redirected)", flush=True)


def _memory_report(args: argparse.Namespace, watched: list[Watched], memory: list[list[float]]) -> None:
    print(f"\nRSS after each round (MiB), and the largest change between consecutive rounds (target: within "
          f"{args.max_growth:g}%); load average {_load()}:")
    over = []
    for i, w in enumerate(watched):
        after = [m[i] for m in memory[1:]]
        steps = [(b - a) / a for a, b in zip(after, after[1:], strict=False)]
        worst = max(steps, key=abs) if steps else 0.0
        flag = abs(worst) > args.max_growth / 100 and "sandbox" not in w.label
        if flag:
            over.append(w.label)
        print(f"  {w.label}: start {memory[0][i]:.1f} → {' → '.join(f'{x:.1f}' for x in after)}: "
              f"{' / '.join(f'{x:+.1%}' for x in steps) or '-'}{'  OVER' if flag else ''}")
    print(f"every process within {args.max_growth:g}% between consecutive rounds: "
          f"{'no: ' + ', '.join(over) if over else 'yes'}", flush=True)


if __name__ == "__main__":
    main()
