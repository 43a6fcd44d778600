"""Publishing throughput against the X sandbox at 20 ms latency, side by side with RQ's own no-op job, and worker
resident memory from the first to the last share.

    python bench/publish_throughput.py [--shares 10000] [--workers 4] [--latency-ms 20] [--database-url URL]

Both runs use the same 4 processes, the same Redis, the same worker class (RQ's SimpleWorker, what `advocacy worker`
runs) and burst mode; each is timed from the processes' start to the last job done. The shares are inserted in bulk
(the benchmark measures publishing, not the web form) for 1 person per 50 shares, each connected through the
sandbox's real OAuth flow. Every share goes through the whole path: claim, budget, token, POST /2/tweets, record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sleep_job(ms: int) -> None:
    """RQ's no-op baseline: a job that only sleeps."""
    time.sleep(ms / 1000)


def start_sandbox(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = folder / "sandbox.json"
    proc = subprocess.Popen([sys.executable, "-m", "connectors.sandbox", "--network", "x", "--port", "0",
                             "--ready-file", str(ready)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not ready.exists():
        time.sleep(0.05)
    time.sleep(0.1)
    return proc, json.loads(ready.read_text())["x"]


def sample_rss(procs: list[psutil.Process], samples: list[list[float]], stop: threading.Event) -> None:
    while not stop.wait(0.5):
        row = []
        for p in procs:
            try:
                row.append(sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20)
            except psutil.Error:
                row.append(float("nan"))
        samples.append(row)


def run_workers(cmd: list[str], env: dict[str, str], n: int, done: Any) -> tuple[float, list[list[float]]]:
    started = time.monotonic()
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(n)]
    samples: list[list[float]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=([psutil.Process(p.pid) for p in procs], samples, stop))
    sampler.start()
    for p in procs:
        p.wait()
    elapsed = time.monotonic() - started
    stop.set()
    sampler.join()
    if not done():
        raise SystemExit("the workers stopped before every job was done")
    return elapsed, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shares", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="advbench"))
    from workers import queues

    redis_url = args.redis_url or queues.embedded_redis_url(folder)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env = base | {"ADVOCACY_INSTANCE_PATH": str(folder), "REDIS_URL": redis_url, "ADVOCACY_LOG_LEVEL": "WARNING",
                  "ADVOCACY_PUBLIC_URL": "http://advocacy.bench",
                  "ADVOCACY_DELIVERY_BUDGETS": "x:app:86400:1000000,x:user:900:100000"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    sandbox, x_url = start_sandbox(env, folder)
    env |= {"ADVOCACY_X_API_BASE_URL": x_url, "ADVOCACY_X_AUTHORIZE_URL": f"{x_url}/i/oauth2/authorize",
            "ADVOCACY_X_TOKEN_URL": f"{x_url}/2/oauth2/token", "ADVOCACY_X_WEB_BASE_URL": x_url,
            "ADVOCACY_X_CLIENT_ID": "advocacy-bench"}
    os.environ.update(env)
    try:
        import requests

        requests.post(f"{x_url}/_sandbox/config", json={"app_24h_cap": 10**7, "user_24h_cap": 10**7,
                                                        "rate_limits": {"POST /2/tweets": 10**7}}, timeout=5)
        ids = prepare(args.shares)
        requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": args.latency_ms}, timeout=5)
        ours, our_rss = run_workers([sys.executable, "-m", "advocacy.cli", "worker", "--burst"], env, args.workers,
                                    lambda: published(ids) == len(ids))
        posts = len(requests.get(f"{x_url}/_sandbox/posts", timeout=60).json()["posts"])
        noop = baseline(args.shares, args.latency_ms, args.workers, env, redis_url)
    finally:
        sandbox.terminate()
        if not args.redis_url:
            queues.stop_embedded(folder)
    report(args, ours, noop, posts, our_rss)


def prepare(count: int) -> list[int]:
    """People connected through the sandbox's OAuth flow, one approved talking point, ``count`` queued shares."""
    from sqlalchemy import insert, select

    from advocacy import create_app
    from advocacy.accounts.models import ConnectedAccount
    from advocacy.delivery import services
    from advocacy.delivery.models import Share
    from advocacy.extensions import db, redis_client
    from tests.delivery.support import approved, employee
    from workers import queues

    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
        for i in range(max(1, count // 50)):
            employee(f"p{i}@bench.test", f"p{i}_bench")
        tp = approved()
        accounts = list(db.session.execute(select(ConnectedAccount.user_id, ConnectedAccount.id)).all())
        now = dt.datetime.now(dt.UTC)
        rows = [{"talking_point_id": tp.id, "user_id": user_id, "account_id": account_id, "network": "x",
                 "text": f"Come build the platform with us. #{n}", "code": services.new_code(), "status": "queued",
                 "scheduled_at": now, "created_at": now, "updated_at": now}
                for n, (user_id, account_id) in enumerate(accounts[i % len(accounts)] for i in range(count))]
        ids = list(db.session.execute(insert(Share).returning(Share.id, sort_by_parameter_order=True),
                                      rows).scalars())
        db.session.commit()
        queues.enqueue_publish_many(redis_client(), [(i, None, services.job_key(now)) for i in ids],
                                    services.publish_timeout())
        db.engine.dispose()
    return ids


def published(ids: list[int]) -> int:
    from sqlalchemy import func, select

    from advocacy import create_app
    from advocacy.delivery.models import Share
    from advocacy.extensions import db

    with create_app().app_context():
        return int(db.session.scalar(select(func.count(Share.id)).where(Share.status == "published")) or 0)


def baseline(count: int, ms: int, n: int, env: dict[str, str], redis_url: str) -> float:
    from redis import Redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    conn = Redis.from_url(redis_url)
    q = Queue("noop", connection=conn, serializer=JSONSerializer)
    for start in range(0, count, 1000):
        q.enqueue_many([Queue.prepare_data("bench.publish_throughput.sleep_job", (ms,), result_ttl=600)
                        for _ in range(min(1000, count - start))])
    cmd = [str(Path(sys.executable).parent / "rq"), "worker", "--burst", "--url", redis_url, "-w", "rq.SimpleWorker",
           "--serializer", "rq.serializers.JSONSerializer", "--quiet", "noop"]
    elapsed, _ = run_workers(cmd, env | {"PYTHONPATH": str(ROOT)}, n, lambda: q.count == 0)
    return elapsed


def report(args: argparse.Namespace, ours: float, noop: float, posts: int, rss: list[list[float]]) -> None:
    load = os.getloadavg()[0]
    print(f"shares {args.shares}, workers {args.workers}, latency {args.latency_ms} ms, load average {load:.1f}")
    print(f"advocacy publish: {ours:.1f} s, {args.shares / ours:.1f} shares/s ({posts} posts on the sandbox)")
    print(f"RQ no-op sleep:   {noop:.1f} s, {args.shares / noop:.1f} jobs/s")
    print(f"ratio (advocacy / no-op rate): {noop / ours:.3f}")
    alive = [r for r in rss if all(v == v and v > 1 for v in r)]  # every worker still running
    if len(alive) >= 10:
        first, last = alive[len(alive) // 10], alive[-1]  # after imports and the first few hundred shares
        growth = max((b - a) / a for a, b in zip(first, last, strict=True))
        shown = ", ".join(f"{a:.1f} → {b:.1f}" for a, b in zip(first, last, strict=True))
        print(f"worker RSS MiB (10% of the run → last sample with all workers alive): {shown}; "
              f"max growth {growth * 100:.1f}%")

if __name__ == "__main__":
    main()
