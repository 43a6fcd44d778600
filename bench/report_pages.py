"""Report rendering benchmark at the issue's sizes: 1,000,000 clicks, 100,000 shares, 1,000,000 metric snapshots.

Builds a database (SQLite in a temporary folder, or a PostgreSQL database it creates and drops), migrates it, fills
it in bulk, builds the report totals (``advocacy reach rebuild-totals``, as after a bulk import), then renders every
report page through the app with a signed-in analyst and prints the median. ``--rows`` also renders each page from
the per-share rows (``ADVOCACY_REACH_PREAGGREGATED=false``), side by side. Like ``wsgi.py``, the app's start-up
objects are frozen out of the garbage collector (``gc.freeze()``) before the first page.

    python bench/report_pages.py --backend sqlite
    python bench/report_pages.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres

``--compare CHECKOUT`` renders every page with another checkout's code too (``git worktree add /tmp/old <commit>``),
in a second process on the same database, the two taking turns page by page: a before/after in one run. Code that
does not know the paging arguments renders every row, as it did. (ROOT=CHECKOUT runs this script on that code.)

    python bench/report_pages.py --backend sqlite --compare /tmp/old
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
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


def fill(db: Any, today: dt.date) -> None:
    from advocacy.content.models import TalkingPoint
    from advocacy.delivery.models import Share
    from advocacy.people.models import Team, User
    from advocacy.reach.models import ClickDaily, MetricSnapshot, RateCard, ShareStats

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
    per_share: dict[int, list[int]] = {}
    daily: dict[tuple[int, dt.date], list[int]] = {}
    for _ in range(CLICKS):
        sid = rng.randrange(1, SHARES + 1)
        day = min(today, days[sid] + dt.timedelta(days=int(rng.expovariate(0.5))))
        cell = daily.setdefault((sid, day), [0, 0, 0])
        if rng.random() < 0.1:
            cell[2] += 1
        else:
            cell[0] += 1
            cell[1] += 1 if rng.random() < 0.8 else 0
    for (sid, _day), (h, u, b) in daily.items():
        t = per_share.setdefault(sid, [0, 0, 0])
        t[0] += h
        t[1] += u
        t[2] += b
    for s in stats:
        s["hits"], s["unique_clicks"], s["bot_hits"] = per_share.get(s["share_id"], [0, 0, 0])
    for start in range(0, SHARES, 10_000):
        conn.execute(insert(ShareStats), stats[start:start + 10_000])
    rows = [{"share_id": k[0], "day": k[1], "hits": v[0], "unique_clicks": v[1], "bot_hits": v[2]}
            for k, v in daily.items()]
    for start in range(0, len(rows), 20_000):
        conn.execute(insert(ClickDaily), rows[start:start + 20_000])
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
        if len(batch) == 20_000:
            conn.execute(insert(MetricSnapshot), batch)
            batch = []
    db.session.commit()
    print(f"filled: {SHARES} shares, {sum(v[0] + v[2] for v in daily.values())} clicks in {len(rows)} share-days, "
          f"{SNAPSHOTS} snapshots")


def build(url: str) -> None:
    """Migrate, fill and total the database at ``url`` (with this checkout's code)."""
    from flask_migrate import upgrade

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(), "LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade(revision="heads")
        t0 = time.perf_counter()
        fill(db, dt.datetime.now(dt.UTC).date())
        print(f"fill took {time.perf_counter() - t0:.0f} s")
        from advocacy.reach.totals import rebuild

        t0 = time.perf_counter()
        rebuild()
        db.session.commit()
        print(f"report totals rebuilt in {time.perf_counter() - t0:.1f} s")
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def signed_in(url: str) -> tuple[Any, Any]:
    """The app on ``url`` and a test client signed in as the analyst; start-up objects frozen, as in wsgi.py."""
    import re

    from advocacy import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": tempfile.mkdtemp(), "LOG_LEVEL": "WARNING",
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"email": "user1@acme.test", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    gc.collect()
    gc.freeze()  # as wsgi.py does once the app is built
    return app, client


def render(client: Any, path: str) -> float:
    """Milliseconds to render ``path`` to the last byte."""
    t = time.perf_counter()
    answer = client.get(path)
    answer.get_data()
    elapsed = (time.perf_counter() - t) * 1000
    assert answer.status_code == 200, (path, answer.status_code)
    return elapsed


def serve(url: str) -> None:
    """``--serve``: render the paths read from stdin, one a line, and answer each with its milliseconds (the other
    side of ``--compare``, running the other checkout's code)."""
    answers, sys.stdout = sys.stdout, sys.stderr  # whatever the app prints goes to stderr, not into the answers
    _, client = signed_in(url)
    print("ready", file=answers, flush=True)
    for line in sys.stdin:
        print(f"{render(client, line.strip()):.3f}", file=answers, flush=True)


def pages(today: dt.date) -> tuple[str, list[str]]:
    year = f"from={(today - dt.timedelta(days=364)).isoformat()}&to={today.isoformat()}"
    paths = [f"/reach?group={g}" for g in ("talking_point", "team", "network", "person", "day")]
    paths += [f"/reach?group={g}&{year}" for g in ("talking_point", "team", "network", "person", "day")]
    paths += [f"/reach?group=person&{year}&{more}" for more in ("page=20", "sort=label&order=desc",
                                                                "sort=emv_measured", "sort=likes&order=asc",
                                                                "q=user%2019", "per_page=200")]
    paths += ["/reach/leaderboard", f"/reach/leaderboard?{year}", "/reach/me", "/reach/shares/12345",
              "/reach/rate-cards", "/reach/export.csv?group=team", f"/reach/export.csv?group=person&{year}",
              f"/api/reach/report?group=person&{year}"]
    return year, paths


def run(url: str, runs: int, rows: bool = False, compare: str | None = None) -> None:
    build(url)
    app, client = signed_in(url)
    other = None
    if compare:
        import subprocess

        other = subprocess.Popen([sys.executable, __file__, "--serve", url], env=os.environ | {"ROOT": compare},
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert other.stdin and other.stdout
        while other.stdout.readline().strip() != "ready":
            pass
    year, paths = pages(dt.datetime.now(dt.UTC).date())
    columns = ["this code"] + (["per-share rows"] if rows else []) + ([f"ROOT={compare}"] if compare else [])
    print(f"code: {ROOT}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'page (median ms, ' + str(runs) + ' runs, interleaved)':60} " + " | ".join(columns))
    for path in paths:
        times: list[list[float]] = [[] for _ in columns]
        for _ in range(runs):  # the columns take turns, so that the machine's load falls on each alike
            app.config["REACH_PREAGGREGATED"] = True
            times[0].append(render(client, path))
            if rows:
                app.config["REACH_PREAGGREGATED"] = False
                times[1].append(render(client, path))
            if other is not None:
                assert other.stdin and other.stdout
                other.stdin.write(path + "\n")
                other.stdin.flush()
                times[-1].append(float(other.stdout.readline()))
        print(f"{path.replace(year, 'YEAR')[:60]:60} " + " ".join(f"{statistics.median(t):8.1f}" for t in times),
              flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    if other is not None:
        assert other.stdin
        other.stdin.close()
        other.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL; a database advocacy_bench is created there and dropped after")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", action="store_true", help="also render each page from the per-share rows")
    parser.add_argument("--database", default="advocacy_bench", help="the PostgreSQL database to create and drop")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (to profile it)")
    parser.add_argument("--compare", metavar="CHECKOUT",
                        help="also render every page with the code of another checkout (a git worktree of an older "
                             "commit), in its own process, taking turns with this code on the same database")
    parser.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.backend == "sqlite":
        run(f"sqlite:///{tempfile.mkdtemp()}/bench.db", args.runs, args.rows, args.compare)
        return
    from advocacy.config import parse_database_url

    admin = create_engine(parse_database_url(args.pg), isolation_level="AUTOCOMMIT")
    name = args.database
    if not name.replace("_", "").isalnum():
        parser.error("--database: letters, digits and underscores only")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        run(parse_database_url(args.pg.rsplit("/", 1)[0] + f"/{name}"), args.runs, args.rows, args.compare)
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


if __name__ == "__main__":
    main()
