"""Click redirect benchmark: advocacy's ``/r/<code>`` against a bare Flask redirect, side by side in one run.

Both run under the same gunicorn settings (sync workers, same count). The advocacy app runs on a SQLite database
in a temporary instance folder, migrated, with one published share; each click is looked up and written durably
(one committed ``click_events`` row) before the redirect. The load generator alternates between the two servers in
rounds so both see the same machine conditions, and reports requests per second, p50 and p99 latency, and the
ratios the issue asks for (click ≥ 0.85× the bare requests/s, p99 ≤ 1.5× the bare p99).

    python bench/click_redirect.py [--seconds 5] [--rounds 4] [--concurrency 8] [--workers 2]
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(instance: Path) -> tuple[dict[str, str], str]:
    """Migrate a fresh SQLite database and create one published share; returns (env, its code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env.update(ADVOCACY_INSTANCE_PATH=str(instance), ADVOCACY_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    script = """
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
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True)
    return env, "benchcode"


def start(app: str, port: int, workers: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "sync", "--log-level", "warning", "--graceful-timeout", "10", app],
        env=env, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def _client(port: int, path: str, seconds: float, threads: int) -> list[float]:
    """One load process: ``threads`` threads each sending requests (a new connection each, as browsers from many
    visitors would) for ``seconds``; returns every latency in seconds."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    errors = []

    def loop() -> None:
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"User-Agent": UA})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status != 302:
                errors.append(response.status)
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests did not redirect: {sorted(set(errors))}")
    return latencies


def measure(executor: ProcessPoolExecutor, port: int, path: str, seconds: float, concurrency: int) -> list[float]:
    procs = 2
    futures = [executor.submit(_client, port, path, seconds, max(1, concurrency // procs)) for _ in range(procs)]
    return [x for f in futures for x in f.result()]


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one measuring round per server")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per server")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for both servers")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="advocacy-bench-"))
    env, code = prepare(instance)
    bare_port, click_port = free_port(), free_port()
    servers = [start("bare_app:app", bare_port, args.workers, env, ROOT / "bench"),
               start("wsgi:app", click_port, args.workers, env, ROOT)]
    results: dict[str, dict[str, list[float]]] = {"bare": {"rps": [], "lat": []}, "click": {"rps": [], "lat": []}}
    try:
        with ProcessPoolExecutor(max_workers=2) as executor:
            measure(executor, bare_port, "/r/warmup", 1, args.concurrency)  # warm both up
            measure(executor, click_port, f"/r/{code}", 1, args.concurrency)
            for _ in range(args.rounds):
                for name, port, path in (("bare", bare_port, "/r/warmup"), ("click", click_port, f"/r/{code}")):
                    lat = measure(executor, port, path, args.seconds, args.concurrency)
                    results[name]["rps"].append(len(lat) / args.seconds)
                    results[name]["lat"].extend(lat)
        counted = subprocess.run([sys.executable, "-c", (
            "from advocacy import create_app\nfrom advocacy.extensions import db\nfrom sqlalchemy import text\n"
            "app = create_app()\nwith app.app_context():\n"
            "    print(db.session.execute(text('select count(*) from click_events')).scalar())")],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)

    bare, click = results["bare"], results["click"]
    bare_rps, click_rps = statistics.median(bare["rps"]), statistics.median(click["rps"])
    bare_p99, click_p99 = p(bare["lat"], 0.99), p(click["lat"], 0.99)
    print(f"gunicorn sync workers={args.workers} concurrency={args.concurrency} rounds={args.rounds}x{args.seconds}s "
          f"cpus={os.cpu_count()}")
    for name, r in (("bare flask redirect", bare), ("advocacy /r/<code>", click)):
        print(f"{name:22} median rps={statistics.median(r['rps']):8.1f}  p50={p(r['lat'], 0.5) * 1000:6.2f} ms  "
              f"p99={p(r['lat'], 0.99) * 1000:6.2f} ms  requests={len(r['lat'])}")
    print(f"ratio rps click/bare = {click_rps / bare_rps:.3f} (target >= 0.85)")
    print(f"ratio p99 click/bare = {click_p99 / bare_p99:.3f} (target <= 1.5)")
    print(f"clicks durably recorded = {counted} of {len(click['lat']) + 0} measured (plus warm-up)")


if __name__ == "__main__":
    main()
