"""Click redirect benchmark: advocacy's ``/r/<code>`` against a bare Flask redirect, side by side in one run.

Both run under the same gunicorn settings (sync workers, same count). The advocacy app runs on a migrated database
with one published share: SQLite in a temporary instance folder, or a PostgreSQL database the script creates and
drops (``--backend postgresql``). Each click is looked up and written (one committed ``click_events`` row) before
the redirect. Before timing, the script waits until each server answers a real request (gunicorn accepts
connections before its workers have loaded the app) and warms both up. The load generator then alternates between
the two servers, ``--rounds`` samples each, interleaved, printing each sample with the load average; it reports the
median requests per second, p50 and p99 latency, and the ratios the issue asks for (click ≥ 0.85× the bare
requests/s, p99 ≤ 1.5× the bare p99). At the end it counts the recorded rows against the clicks answered with a
302 and fails on a mismatch.

    python bench/click_redirect.py [--seconds 3] [--rounds 5] [--concurrency 8] [--workers 2]
    python bench/click_redirect.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres \\
        [--database advocacy_bench_click]
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SEED = """
import datetime as dt
from flask_migrate import upgrade
from advocacy import create_app
from advocacy.extensions import db
app = create_app()
with app.app_context():
    upgrade(revision="heads")
    from advocacy.content.models import Status, TalkingPoint
    from advocacy.delivery.models import Share
    from advocacy.people.services import create_user
    u = create_user("bench@acme.test", "Bench", "correct horse battery staple", "comms")
    db.session.flush()
    tp = TalkingPoint(title="Bench", link="https://acme.test/jobs", status=Status.APPROVED, author_id=u.id)
    db.session.add(tp); db.session.flush()
    now = dt.datetime.now(dt.UTC)
    db.session.add(Share(talking_point_id=tp.id, user_id=u.id, network="x", text="t", code="benchcode",
                         status="published", published_at=now, scheduled_at=now, post_id="1"))
    db.session.commit()
"""
COUNT = ("from advocacy import create_app\nfrom advocacy.extensions import db\nfrom sqlalchemy import text\n"
         "app = create_app()\nwith app.app_context():\n"
         "    print(db.session.execute(text('select count(*) from click_events')).scalar())")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def prepare(instance: Path, database_url: str, seed: str = SEED) -> tuple[dict[str, str], str]:
    """Migrate a fresh database and run ``seed`` (one published share); returns (env, its code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_") and k != "DATABASE_URL"}
    env.update(ADVOCACY_INSTANCE_PATH=str(instance), ADVOCACY_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    if database_url:
        env["DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-c", seed], env=env, cwd=ROOT, check=True, capture_output=True)
    return env, "benchcode"


def _get(port: int, path: str, method: str = "GET") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={"User-Agent": UA})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def start(app: str, port: int, workers: int, env: dict[str, str], cwd: Path, probe: str) -> subprocess.Popen[bytes]:
    """Start gunicorn and wait until it answers ``HEAD probe`` with a redirect (a HEAD is not a click): the socket
    accepts before the workers have imported the app, so a connect is not enough."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "sync", "--log-level", "warning", "--graceful-timeout", "10", app],
        env=env, cwd=cwd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(port, probe, "HEAD") == 302:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not answer {probe} on port {port}")


def _client(port: int, path: str, seconds: float, threads: int) -> tuple[list[float], int]:
    """One load process: ``threads`` threads each sending requests (a new connection each, as browsers from many
    visitors would) for ``seconds``; returns every latency in seconds and the count of failed requests."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors: list[int] = []

    def loop() -> None:
        mine = []
        try:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    status = _get(port, path)
                except OSError:  # refused, reset or timed out: counted as failed (it may still have been recorded)
                    status = 0
                if status != 302:
                    errors.append(1)
                    continue
                mine.append(time.perf_counter() - t0)
        finally:  # every answered click is counted, whatever ends the thread
            with lock:
                latencies.extend(mine)

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, len(errors)


def measure(executor: ProcessPoolExecutor, port: int, path: str, seconds: float, concurrency: int) -> list[float]:
    procs = 2
    futures = [executor.submit(_client, port, path, seconds, max(1, concurrency // procs)) for _ in range(procs)]
    results = [f.result() for f in futures]
    failed = sum(r[1] for r in results)
    if failed:
        raise SystemExit(f"{failed} requests to {path} were not answered with a redirect")
    return [x for r in results for x in r[0]]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _pg_database(admin_url: str, name: str, create: bool) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL URL to create and drop the bench database from")
    parser.add_argument("--database", default="advocacy_bench_click", help="PostgreSQL database (dropped first)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one sample per server")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved samples per server")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for both servers")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    url = _pg_database(args.pg, args.database, True) if args.backend == "postgresql" else ""
    env, code = prepare(instance, url)
    bare_port, click_port = free_port(), free_port()
    click_path = f"/r/{code}"
    servers = [start("bare_app:app", bare_port, args.workers, env, ROOT / "bench", "/r/warmup"),
               start("wsgi:app", click_port, args.workers, env, ROOT, click_path)]
    results: dict[str, dict[str, list[float]]] = {"bare": {"rps": [], "lat": []}, "click": {"rps": [], "lat": []}}
    answered = 0
    print(f"{args.backend}: gunicorn sync workers={args.workers} concurrency={args.concurrency} "
          f"samples={args.rounds}x{args.seconds}s per side, interleaved; cpus={os.cpu_count()}; {load()}")
    try:
        with ProcessPoolExecutor(max_workers=2) as executor:
            measure(executor, bare_port, "/r/warmup", 1, args.concurrency)  # warm both up
            answered += len(measure(executor, click_port, click_path, 1, args.concurrency))
            for i in range(args.rounds):
                # alternate which side goes first, so neither always follows the other
                order = (("bare", bare_port, "/r/warmup"), ("click", click_port, click_path))
                for name, port, path in order if i % 2 == 0 else order[::-1]:
                    lat = measure(executor, port, path, args.seconds, args.concurrency)
                    results[name]["rps"].append(len(lat) / args.seconds)
                    results[name]["lat"].extend(lat)
                    if name == "click":
                        answered += len(lat)
                    print(f"  sample {i + 1} {name:5} rps={len(lat) / args.seconds:8.1f} "
                          f"p99={p(lat, 0.99) * 1000:6.2f} ms  {load()}", flush=True)
        counted = int(subprocess.run([sys.executable, "-c", COUNT], env=env, cwd=ROOT, check=True,
                                     capture_output=True, text=True).stdout.strip())
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)
        if args.backend == "postgresql":
            _pg_database(args.pg, args.database, False)

    bare, click = results["bare"], results["click"]
    bare_rps, click_rps = statistics.median(bare["rps"]), statistics.median(click["rps"])
    bare_p99, click_p99 = p(bare["lat"], 0.99), p(click["lat"], 0.99)
    for name, r in (("bare flask redirect", bare), ("advocacy /r/<code>", click)):
        print(f"{name:22} median rps={statistics.median(r['rps']):8.1f}  p50={p(r['lat'], 0.5) * 1000:6.2f} ms  "
              f"p99={p(r['lat'], 0.99) * 1000:6.2f} ms  requests={len(r['lat'])}  {load()}")
    pairs = [c / b for b, c in zip(bare["rps"], click["rps"], strict=True)]
    print(f"ratio rps click/bare = {click_rps / bare_rps:.3f} (target >= 0.85; per sample "
          f"{min(pairs):.3f}-{max(pairs):.3f})  {load()}")
    print(f"ratio p99 click/bare = {click_p99 / bare_p99:.3f} (target <= 1.5)  {load()}")
    print(f"{load()} at the end")
    print(f"clicks recorded = {counted}, clicks answered with a 302 = {answered}")
    if counted != answered:
        raise SystemExit(f"MISMATCH: {answered} clicks answered but {counted} recorded")


if __name__ == "__main__":
    main()
