"""Web worker memory: the resident size of a gunicorn worker serving the app after warm-up, beside bare Flask.

Starts two gunicorn servers with the same settings (one sync worker each): ``bench/bare_app.py`` and ``wsgi:app``
on a migrated database (SQLite in a temporary instance folder, or a PostgreSQL database the script creates and
drops) with an administrator and one published share. Waits until both answer a real request, signs in over HTTP,
then sends ``--rounds`` rounds over the main pages (feed, shares, accounts, studio, calendar, Reach and its
sub-pages, administration, the JSON API, a tracked link; every page must answer 200 or a redirect) and reads the
worker's RSS (``VmRSS``) after each round, beside the bare worker's after as many requests. Prints the load average
with each figure; the target (issue 18) is a web worker under 100 MiB after warm-up. The summary gives the figure
after 3 rounds (54 requests, the warm-up BENCHMARKS.md reports) and after the last round, and the growth between them
(flat is the goal: a worker that keeps growing is a leak, not a warm-up). The instance folder holds the VAPID key as
an installation that has shown its preferences page before does; ``--first-start`` measures the installation's very
first worker, which generates it.

    python bench/web_memory.py [--rounds 6] [--first-start] [--backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/11]
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.click_redirect import ROOT, SEED, _pg_database, free_port, load, prepare, start  # noqa: E402

PASSWORD = "correct horse battery staple"
ADMIN = SEED.replace("    db.session.commit()\n",
                     f'    create_user("admin@acme.test", "Admin", "{PASSWORD}", "admin")\n    db.session.commit()\n')
# An installation whose preferences page has been shown before: its VAPID key and the public key worked out from it
# are in the instance folder (push.public_key). Without it (--first-start) the worker generates the key itself and
# keeps cryptography's OpenSSL bindings loaded (~8 MiB), once per installation.
KEPT_KEY = "    from advocacy.notifications import push\n    push.public_key()\n"
PAGES = ["/feed", "/shares", "/preferences", "/accounts/", "/studio/", "/studio/calendar", "/reach", "/reach/me",
         "/reach/leaderboard", "/reach/rate-cards", "/admin", "/admin/people", "/admin/teams", "/settings/tokens",
         "/api/talking-points", "/api/reach/report", "/healthz", "/r/benchcode"]


def rss_mib(master: int) -> float:
    """VmRSS of the gunicorn master's one worker, in MiB."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one worker under gunicorn {master}, found {children}")
    status = Path(f"/proc/{children[0]}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def sign_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=60).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/login", data={"email": "admin@acme.test", "password": PASSWORD,
                                                 "csrf_token": token}, allow_redirects=False, timeout=60)
    if answer.status_code != 302:
        raise SystemExit(f"sign-in answered {answer.status_code}")
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="advocacy_bench_memory", help="PostgreSQL database (dropped first)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds over the pages; RSS read after each")
    parser.add_argument("--redis-url", default="",
                        help="a Redis server (the scale-out path, with PostgreSQL); default: the embedded one")
    parser.add_argument("--first-start", action="store_true",
                        help="the installation's first web worker: no VAPID key in the instance folder yet")
    args = parser.parse_args()

    url = _pg_database(args.pg, args.database, True) if args.backend == "postgresql" else ""
    env, _code = prepare(Path(tempfile.mkdtemp(prefix="advocacy-bench-")), url,
                         ADMIN if args.first_start else ADMIN + KEPT_KEY)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    bare_port, app_port = free_port(), free_port()
    servers = [start("bare_app:app", bare_port, 1, env, ROOT / "bench", "/r/warmup"),
               start("wsgi:app", app_port, 1, env, ROOT, "/r/benchcode")]
    print(f"{args.backend}{' (first start)' if args.first_start else ''}: one gunicorn sync worker each; "
          f"{len(PAGES)} pages a round; {load()}")
    try:
        base = f"http://127.0.0.1:{app_port}"
        session = sign_in(base)
        bare = requests.Session()
        print(f"  after start-up and sign-in: app {rss_mib(servers[1].pid):6.1f} MiB, "
              f"bare {rss_mib(servers[0].pid):6.1f} MiB; {load()}", flush=True)
        figures: list[tuple[float, float]] = []
        for n in range(1, args.rounds + 1):
            for page in PAGES:
                answer = session.get(base + page, allow_redirects=False, timeout=120)
                if answer.status_code >= 400:
                    raise SystemExit(f"{page} answered {answer.status_code}")
                bare.get(f"http://127.0.0.1:{bare_port}/r/warmup", allow_redirects=False, timeout=60)
            time.sleep(0.2)
            app_rss, bare_rss = rss_mib(servers[1].pid), rss_mib(servers[0].pid)
            figures.append((app_rss, bare_rss))
            print(f"  round {n} ({n * len(PAGES)} requests): app worker {app_rss:6.1f} MiB, bare Flask worker "
                  f"{bare_rss:6.1f} MiB, ratio {app_rss / bare_rss:.2f}; {load()}", flush=True)
        warm = figures[min(3, len(figures)) - 1]
        print(f"web worker after {min(3, len(figures)) * len(PAGES)} requests: {warm[0]:.1f} MiB (target < 100), "
              f"bare Flask {warm[1]:.1f} MiB; after {len(figures) * len(PAGES)}: {app_rss:.1f} MiB "
              f"({(app_rss - warm[0]) / warm[0] * 100:+.1f}% since), bare {bare_rss:.1f} MiB; {load()}")
    finally:
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=30)
        if args.backend == "postgresql":
            _pg_database(args.pg, args.database, False)


if __name__ == "__main__":
    main()
