"""Report pages benchmark at the issue's sizes: 1,000,000 clicks, 100,000 shares, 1,000,000 metric snapshots.

Builds a database (SQLite in a temporary folder, or a PostgreSQL database it creates and drops), migrates it, fills
it in bulk (shares, their stats with no clicks yet, snapshots), builds the report totals (``advocacy reach
rebuild-totals``, as after a bulk import), inserts the 1,000,000 clicks as raw ``click_events`` rows (what the click
path writes) and lets the product's own rollup job count them (not pre-rolled). Then it serves the app with
gunicorn (sync workers, ``wsgi:app``), waits until it answers a real request, signs in as an analyst over HTTP,
requests every page once to warm the workers up, and then ``--runs`` times in turn (the pages interleaved), timing
each to the last byte and the first byte of its body. Prints the median per page with the load average; the
targets (issue 18): every page's median at most 150 ms, the by-person CSV (2,000 rows) under 300 ms to first byte.

    python bench/report_pages.py --backend sqlite [--runs 7] [--scale 0.1]
    python bench/report_pages.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres \\
        [--database advocacy_bench]

``--scale`` shrinks every size (a quick check, not the target).

Building the target size takes minutes (most of it generating and inserting the rows); to time the pages again
later (after a change to the reports) without building again, prepare the database once and reuse it:

    python bench/report_pages.py --backend sqlite --file /var/tmp/report_pages.db --prepare
    python bench/report_pages.py --backend sqlite --file /var/tmp/report_pages.db --reuse [--runs 7]
    python bench/report_pages.py --backend postgresql --database advocacy_bench --prepare   # kept, not dropped
    python bench/report_pages.py --backend postgresql --database advocacy_bench --reuse

``--reuse`` checks first that the database holds what ``--prepare`` built at the same ``--scale`` (shares,
snapshots, every click counted and no raw click left); it migrates it to this checkout's head, which leaves the data
as it is (run ``--prepare`` again after a migration that changes the report tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = os.environ.get("ROOT", str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, ROOT)
from sqlalchemy import create_engine, insert, text  # noqa: E402

SHARES, CLICKS, SNAPSHOTS = 100_000, 1_000_000, 1_000_000
USERS, TEAMS, TALKING_POINTS = 2_000, 20, 300
PASSWORD = "correct horse battery staple"
REDIS_URL = ""  # --redis; empty: the embedded Redis in the instance folder


def fill(db: Any, today: dt.date) -> dict[int, dt.date]:
    from advocacy.content.models import TalkingPoint
    from advocacy.delivery.models import Share
    from advocacy.people.models import Team, User
    from advocacy.reach.models import MetricSnapshot, RateCard, ShareStats

    rng = random.Random(7)
    conn = db.session.connection()
    now = dt.datetime.now(dt.UTC)
    conn.execute(insert(Team), [{"id": i, "name": f"Team {i}"} for i in range(1, TEAMS + 1)])
    from werkzeug.security import generate_password_hash

    pw = generate_password_hash(PASSWORD)
    conn.execute(insert(User), [{"id": i, "email": f"user{i}@acme.test", "name": f"User {i}", "password_hash": pw,
                                 "role": "analyst" if i == 1 else "employee", "team_id": (i % TEAMS) + 1}
                                for i in range(1, USERS + 1)])
    conn.execute(insert(TalkingPoint), [{"id": i, "title": f"Talking point {i}", "link": "https://acme.test/",
                                         "status": "approved", "author_id": 1} for i in range(1, TALKING_POINTS + 1)])
    conn.execute(insert(RateCard), [
        {"network": "x", "version": 1, "effective_from": today - dt.timedelta(days=400), "cpm": Decimal(10),
         "cpc": Decimal("0.5"), "per_engagement": Decimal("0.2")},
        {"network": "x", "version": 2, "effective_from": today - dt.timedelta(days=120), "cpm": Decimal(12),
         "cpc": Decimal("0.6"), "per_engagement": Decimal("0.25")}])
    days = {}
    shares, stats = [], []
    for i in range(1, SHARES + 1):
        day = today - dt.timedelta(days=rng.randrange(365))
        days[i] = day
        user = rng.randrange(2, USERS + 1)
        network = "x" if i % 3 else "linkedin"
        at = dt.datetime.combine(day, dt.time(12), dt.UTC)
        shares.append({"id": i, "talking_point_id": rng.randrange(1, TALKING_POINTS + 1), "user_id": user,
                       "network": network, "text": "t", "code": f"c{i:09d}", "status": "published",
                       "scheduled_at": at, "published_at": at, "post_id": str(i), "followers_at_share": 500 + i % 3000,
                       "created_at": at, "updated_at": at})
        x = network == "x"
        stats.append({"share_id": i, "talking_point_id": shares[-1]["talking_point_id"], "user_id": user,
                      "team_id": (user % TEAMS) + 1, "network": network, "day": day, "followers": 500 + i % 3000,
                      "hits": 0, "unique_clicks": 0, "bot_hits": 0, "likes": rng.randrange(20) if x else None,
                      "reposts": rng.randrange(5) if x else None, "replies": rng.randrange(3) if x else None,
                      "quotes": rng.randrange(2) if x else None, "impressions": rng.randrange(5000) if x else None,
                      "rate_card_id": (2 if day >= today - dt.timedelta(days=120) else 1) if x else None,
                      "metrics_step": 6, "metrics_due_at": None})
    for start in range(0, SHARES, 10_000):
        conn.execute(insert(Share), shares[start:start + 10_000])
    for start in range(0, SHARES, 10_000):  # click figures start at zero: the rollup counts the raw clicks below
        conn.execute(insert(ShareStats), stats[start:start + 10_000])
    batch = []
    for n in range(SNAPSHOTS):
        sid = (n % SHARES) + 1
        step = n // SHARES
        day = min(today, days[sid] + dt.timedelta(days=step))
        x = sid % 3 != 0
        batch.append({"share_id": sid, "fetched_at": now, "day": day, "step": step,
                      "likes": step if x else None, "reposts": 0 if x else None, "replies": 0 if x else None,
                      "quotes": 0 if x else None, "impressions": 100 * step if x else None,
                      "engagement_delta": 1 if x else None, "found": True})
        if len(batch) == 20_000 or n == SNAPSHOTS - 1:  # the last partial batch too (a --scale below 1)
            conn.execute(insert(MetricSnapshot), batch)
            batch = []
    db.session.commit()
    print(f"filled: {SHARES} shares, {SNAPSHOTS} snapshots")
    return days


def raw_clicks(db: Any, today: dt.date, days: dict[int, dt.date]) -> None:
    """``CLICKS`` raw ``click_events`` rows (10% link-preview bots, repeat visitors), as the click path writes them,
    inserted in bulk: the rollup job then counts them like any others."""
    from advocacy.reach.models import ClickEvent

    rng = random.Random(11)
    conn = db.session.connection()
    people = [f"{rng.getrandbits(128):032x}" for _ in range(200_000)]
    batch = []
    for n in range(CLICKS):
        sid = rng.randrange(1, SHARES + 1)
        day = min(today, days[sid] + dt.timedelta(days=int(rng.expovariate(0.5))))
        bot = rng.random() < 0.1
        batch.append({"share_id": sid, "day": day, "visitor": people[rng.randrange(len(people))],
                      "user_agent": BOT if bot else BROWSER})
        if len(batch) == 50_000 or n == CLICKS - 1:
            conn.execute(insert(ClickEvent), batch)
            batch = []
    db.session.commit()


BOT = "Twitterbot/1.0"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def build(url: str) -> None:
    """Migrate, fill and total the database at ``url`` (with this checkout's code); the clicks are counted by the
    product's rollup job, which must count every one."""
    from flask_migrate import upgrade

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(), "LOG_LEVEL": "WARNING",
                      "REDIS_URL": REDIS_URL})
    with app.app_context():
        upgrade(revision="heads")
        t0 = time.perf_counter()
        days = fill(db, dt.datetime.now(dt.UTC).date())
        print(f"fill took {time.perf_counter() - t0:.0f} s")
        from advocacy.reach.rollup import rollup
        from advocacy.reach.totals import rebuild

        t0 = time.perf_counter()
        rebuild()
        db.session.commit()
        print(f"report totals rebuilt in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        raw_clicks(db, dt.datetime.now(dt.UTC).date(), days)
        print(f"{CLICKS} raw clicks inserted in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        counted = 0
        while n := rollup():  # the product's own job, as the default-queue worker runs it
            counted += n
        took = time.perf_counter() - t0
        print(f"rollup job counted {counted} clicks in {took:.0f} s ({counted / max(took, 1e-9):.0f} clicks/s); "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        assert counted == CLICKS, counted
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load (off on some servers)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        check(db)
        db.session.remove()
        db.engine.dispose()


def check(db: Any) -> None:
    """Fail unless the database holds the dataset at this scale with every click counted by the rollup."""
    from sqlalchemy import func, select

    from advocacy.reach.models import ClickDaily, ClickEvent, MetricSnapshot, ShareStats

    shares = db.session.scalar(select(func.count()).select_from(ShareStats))
    snapshots = db.session.scalar(select(func.count()).select_from(MetricSnapshot))
    raw = db.session.scalar(select(func.count()).select_from(ClickEvent))
    counted = db.session.scalar(select(func.coalesce(func.sum(ShareStats.hits + ShareStats.bot_hits), 0)))
    daily = db.session.scalar(select(func.coalesce(func.sum(ClickDaily.hits + ClickDaily.bot_hits), 0)))
    found = (shares, snapshots, raw, counted, daily)
    expected = (SHARES, SNAPSHOTS, 0, CLICKS, CLICKS)
    if found != expected:
        raise SystemExit(f"the database is not this scale's dataset: (shares, snapshots, raw clicks left, clicks in "
                         f"share_stats, clicks in click_daily) = {found}, expected {expected}")
    print(f"dataset checked: {shares} shares, {snapshots} snapshots, {counted} clicks counted, none left raw")


def verify(url: str) -> None:
    """``--reuse``: migrate the kept database to this checkout's head and :func:`check` it."""
    from flask_migrate import upgrade

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(), "LOG_LEVEL": "WARNING",
                      "REDIS_URL": REDIS_URL})
    with app.app_context():
        upgrade(revision="heads")
        check(db)
        db.session.remove()
        db.engine.dispose()


def serve(url: str, workers: int) -> tuple[Any, str]:
    """gunicorn serving ``wsgi:app`` on ``url`` (sync workers, as deployed); returns (process, base URL) once it
    answers a real request (it accepts connections before its workers have loaded the app)."""
    import subprocess

    import requests

    from bench.click_redirect import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_") and k != "DATABASE_URL"}
    # the secrets given, not generated in the fresh instance folder: two workers starting at once both found no
    # token_keys file there, and the one that read it before the other had written it failed to boot
    from cryptography.fernet import Fernet

    env.update(DATABASE_URL=url, ADVOCACY_INSTANCE_PATH=tempfile.mkdtemp(), ADVOCACY_LOG_LEVEL="WARNING",
               PYTHONPATH=ROOT, REDIS_URL=REDIS_URL, ADVOCACY_SECRET_KEY=secrets.token_urlsafe(48),
               ADVOCACY_TOKEN_KEYS=Fernet.generate_key().decode())
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers",
                             str(workers), "--worker-class", "sync", "--timeout", "120", "--log-level", "warning",
                             "wsgi:app"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=30).status_code == 200:
                return proc, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not answer /login")


def signed_in(base: str) -> Any:
    """A requests session signed in as the analyst."""
    import re

    import requests

    session = requests.Session()
    page = session.get(f"{base}/login", timeout=60).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/login", data={"email": "user1@acme.test", "password": PASSWORD,
                                                 "csrf_token": token}, allow_redirects=False, timeout=60)
    assert answer.status_code == 302, answer.status_code
    return session


def render(session: Any, base: str, path: str) -> tuple[float, float]:
    """(milliseconds to the first byte of the body, milliseconds to the last byte) of ``GET path`` over HTTP."""
    t = time.perf_counter()
    answer = session.get(base + path, stream=True, timeout=120)
    chunks = answer.iter_content(chunk_size=None)
    next(chunks, b"")
    first = (time.perf_counter() - t) * 1000
    for _ in chunks:
        pass
    elapsed = (time.perf_counter() - t) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return first, elapsed


def pages(today: dt.date) -> tuple[str, list[str]]:
    year = f"from={(today - dt.timedelta(days=364)).isoformat()}&to={today.isoformat()}"
    paths = [f"/reach?group={g}" for g in ("talking_point", "team", "network", "person", "day")]
    paths += [f"/reach?group={g}&{year}" for g in ("talking_point", "team", "network", "person", "day")]
    paths += [f"/reach?group=person&{year}&{more}" for more in ("page=20", "sort=label&order=desc",
                                                                "sort=emv_measured", "sort=likes&order=asc",
                                                                "q=user%2019", "per_page=200")]
    paths += ["/reach/leaderboard", f"/reach/leaderboard?{year}", "/reach/me", f"/reach/shares/{min(12345, SHARES)}",
              "/reach/rate-cards", "/reach/export.csv?group=team", f"/reach/export.csv?group=person&{year}",
              f"/api/reach/report?group=person&{year}"]
    return year, paths


def run(url: str, runs: int, workers: int, mode: str = "") -> None:
    """Build (unless ``mode`` is ``reuse``), then time the pages (unless ``mode`` is ``prepare``)."""
    if mode == "reuse":
        verify(url)
    else:
        build(url)
    if mode == "prepare":
        print("prepared; time the pages with --reuse")
        return
    proc, base = serve(url, workers)
    try:
        session = signed_in(base)
        year, paths = pages(dt.datetime.now(dt.UTC).date())
        for path in paths:  # warm-up: each worker compiles its templates and statements once
            render(session, base, path)
        times: dict[str, list[tuple[float, float]]] = {path: [] for path in paths}
        print(f"over HTTP, gunicorn {workers} sync workers; {runs} runs, the pages taking turns; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for n in range(runs):
            for path in paths:
                times[path].append(render(session, base, path))
            print(f"  run {n + 1} done; load average {os.getloadavg()[0]:.2f}", flush=True)
        print(f"{'page':62} {'median ms':>9} {'first byte':>10} {'max ms':>8}")
        over = []
        for path in paths:
            total = statistics.median(t[1] for t in times[path])
            first = statistics.median(t[0] for t in times[path])
            limit = 300 if "export.csv?group=person" in path else 150
            if (first if limit == 300 else total) > limit:
                over.append(path.replace(year, "YEAR"))
            print(f"{path.replace(year, 'YEAR')[:62]:62} {total:9.1f} {first:10.1f} "
                  f"{max(t[1] for t in times[path]):8.1f}")
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("over the target (150 ms median; the person CSV 300 ms to first byte): " + (", ".join(over) or "none"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL; a database advocacy_bench is created there and dropped after")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--redis", default="", help="a Redis URL for the rollup's lock (default: embedded)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (a quick check)")
    parser.add_argument("--database", default="advocacy_bench", help="the PostgreSQL database to create and drop")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (to profile it)")
    parser.add_argument("--file", default="", help="SQLite: the database file (default: a temporary one)")
    once = parser.add_mutually_exclusive_group()
    once.add_argument("--prepare", action="store_true",
                      help="build the database and keep it (SQLite: --file; PostgreSQL: --database), no timing")
    once.add_argument("--reuse", action="store_true", help="time the pages against the database --prepare built")
    args = parser.parse_args()
    mode = "prepare" if args.prepare else "reuse" if args.reuse else ""
    if mode and args.backend == "sqlite" and not args.file:
        parser.error("--prepare and --reuse need --file (the SQLite database to keep)")
    global SHARES, CLICKS, SNAPSHOTS, USERS, REDIS_URL
    REDIS_URL = args.redis
    SHARES, CLICKS, SNAPSHOTS = (int(n * args.scale) for n in (SHARES, CLICKS, SNAPSHOTS))
    USERS = max(100, int(USERS * args.scale))
    if args.backend == "sqlite":
        path = Path(args.file) if args.file else Path(tempfile.mkdtemp()) / "bench.db"
        if mode == "reuse" and not path.exists():
            parser.error(f"--reuse: {path} does not exist (build it with --prepare)")
        if mode != "reuse":
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        run(f"sqlite:///{path.resolve()}", args.runs, args.workers, mode)
        return
    from advocacy.config import parse_database_url

    admin = create_engine(parse_database_url(args.pg), isolation_level="AUTOCOMMIT")
    name = args.database
    if not name.replace("_", "").isalnum():
        parser.error("--database: letters, digits and underscores only")
    if mode != "reuse":
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        run(parse_database_url(args.pg.rsplit("/", 1)[0] + f"/{name}"), args.runs, args.workers, mode)
    finally:
        if not (args.keep or mode):
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
