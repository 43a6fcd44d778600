"""Page benchmark: server time and page weight of the employee feed, the talking point editor and Reach.

Builds a database (SQLite in a temporary instance folder, or a PostgreSQL database it creates and drops), migrates
it and fills it: one employee with X and LinkedIn connected and **100 approved talking points** aimed at them (each
with its link card; 20 of them already shared), a comms author and reviewer, and 2,000 published shares by 200
people for Reach. Then it serves the app with gunicorn (sync workers, as in production), signs in over HTTP and
sends ``--rounds`` requests to each page, the pages taking turns (interleaved), each request timed from the
request to the last byte: median and p95 per page, with the load average.

It also counts the SQL statements each page runs (the app in-process with the same database, a listener on the
engine), and weighs each page: its HTML plus the CSS, JavaScript (modules it imports included) and icons it
loads, raw and gzip-compressed (level 6, as a compressing proxy would send them).

    python bench/pages.py --backend sqlite
    python bench/pages.py --backend postgresql --pg postgresql://postgres@127.0.0.1:5432/postgres \\
        [--database test_a11y] [--redis redis://127.0.0.1:6379/8]

The target (issue 14): the feed under 150 ms server time with 100 talking points for the person.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.click_redirect import _pg_database, free_port, load, p, start  # noqa: E402

PASSWORD = "correct horse battery staple"
TALKING_POINTS, SHARED, PEOPLE, REACH_SHARES = 100, 20, 200, 2_000


def fill() -> dict[str, Any]:
    """The bench's world, through the domain functions where they matter (talking points are written, submitted
    and approved as comms would); returns the ids the pages need."""
    import random

    from sqlalchemy import insert

    from advocacy.accounts.models import ConnectedAccount
    from advocacy.content import workflow
    from advocacy.content.link_previews import LinkPreview
    from advocacy.delivery.models import Share
    from advocacy.extensions import db
    from advocacy.models_base import utcnow
    from advocacy.people.models import Team, User
    from advocacy.people.services import acknowledge_policy, create_user, opt_in, publish_policy
    from advocacy.reach.models import ShareStats

    rng = random.Random(14)
    admin = create_user("admin@acme.test", "Ada Admin", PASSWORD, "admin")
    author = create_user("author@acme.test", "Carl Comms", PASSWORD, "comms")
    reviewer = create_user("reviewer@acme.test", "Rita Reviewer", PASSWORD, "comms")
    create_user("analyst@acme.test", "Mia Marketing", PASSWORD, "analyst")
    db.session.commit()
    policy = publish_policy(admin, "Social media policy", "Be yourself; disclose that you work here.")
    emma = create_user("emma@acme.test", "Emma Employee", PASSWORD, "employee")
    db.session.commit()
    acknowledge_policy(emma, policy.version)
    opt_in(emma)
    for network, handle in (("x", "emma_acme"), ("linkedin", "Emma Employee")):
        db.session.add(ConnectedAccount(user_id=emma.id, network=network, network_user_id=f"{network}-1",
                                        handle=handle, followers=1200, access_token_encrypted="unused", scope=""))
    db.session.commit()
    tps = []
    for i in range(TALKING_POINTS):
        tp = workflow.create_talking_point(
            author, title=f"Talking point {i + 1}: we are hiring platform engineers in Lyon",
            link=f"https://acme.test/news/{i + 1}", hashtags="#hiring #platform", disclosure="#iworkforacme",
            text="Come build the platform that runs Acme with us: Kubernetes, Postgres and a team that writes "
                 f"things down. Story {i + 1}.")
        workflow.submit(tp, author)
        workflow.approve(tp, reviewer)
        tps.append(tp.id)
    now = utcnow()
    for tp_id in tps:
        card = db.session.query(LinkPreview).filter_by(talking_point_id=tp_id).one()
        card.site_name, card.title, card.fetched_at, card.error = "Acme Newsroom", f"Story {tp_id}", now, None
        card.description = "Forty engineers by summer, a ten-minute walk from the station."
    teams = [Team(name=f"Team {n}") for n in range(10)]
    db.session.add_all(teams)
    db.session.commit()
    conn = db.session.connection()
    first = db.session.query(User).count() + 1
    conn.execute(insert(User), [{"email": f"person{n}@acme.test", "name": f"Person {n}", "password_hash": "x",
                                 "role": "employee", "team_id": teams[n % 10].id} for n in range(PEOPLE)])
    code = 0
    rows, stats = [], []
    for tp_id in tps[:SHARED]:  # Emma's own shares: the feed shows where each went
        code += 1
        rows.append({"talking_point_id": tp_id, "user_id": emma.id, "network": "x", "text": "t",
                     "code": f"b{code:07d}", "status": "published", "scheduled_at": now, "published_at": now,
                     "post_id": f"p{code}", "post_url": f"https://x.test/emma/{code}", "created_at": now,
                     "updated_at": now, "followers_at_share": 1200})
    for n in range(REACH_SHARES):
        code += 1
        at = now - dt.timedelta(days=rng.randrange(60), hours=1)
        rows.append({"talking_point_id": rng.choice(tps), "user_id": first + rng.randrange(PEOPLE),
                     "network": "x" if n % 3 else "linkedin", "text": "t", "code": f"b{code:07d}",
                     "status": "published", "scheduled_at": at, "published_at": at, "post_id": f"p{code}",
                     "post_url": None, "created_at": at, "updated_at": at, "followers_at_share": 500 + n % 3000})
    conn.execute(insert(Share), rows)
    db.session.commit()
    for s in db.session.query(Share).filter(Share.user_id != emma.id):
        x = s.network == "x"
        stats.append({"share_id": s.id, "talking_point_id": s.talking_point_id, "user_id": s.user_id,
                      "team_id": teams[(s.user_id - first) % 10].id, "network": s.network,
                      "day": (s.published_at or now).date(), "followers": s.followers_at_share,
                      "hits": rng.randrange(40),
                      "unique_clicks": rng.randrange(30), "bot_hits": rng.randrange(5),
                      "likes": rng.randrange(20) if x else None, "reposts": rng.randrange(5) if x else None,
                      "replies": rng.randrange(3) if x else None, "quotes": rng.randrange(2) if x else None,
                      "impressions": rng.randrange(5000) if x else None, "metrics_step": 6})
    db.session.execute(insert(ShareStats), stats)
    db.session.commit()
    from advocacy.reach.totals import rebuild

    rebuild()
    db.session.commit()
    return {"tp": tps[-1]}


def build(url: str, instance: str, redis_url: str | None) -> dict[str, Any]:
    from flask_migrate import upgrade

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app(_config(url, instance, redis_url))
    with app.app_context():
        upgrade(revision="heads")
        t0 = time.perf_counter()
        ids = fill()
        print(f"filled in {time.perf_counter() - t0:.0f} s: {TALKING_POINTS} talking points for the employee "
              f"({SHARED} shared), {REACH_SHARES} published shares by {PEOPLE} people")
        db.session.remove()
        db.engine.dispose()
    return ids


def _config(url: str, instance: str, redis_url: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": instance, "LOG_LEVEL": "WARNING",
                              "RATELIMIT_ENABLED": False}
    if redis_url:
        config["REDIS_URL"] = redis_url
    return config


def sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = session.post(f"{base}/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 302, (email, answer.status_code)
    return session


def assets(session: requests.Session, url: str, html: str) -> dict[str, bytes]:
    """Every same-origin stylesheet, script (and the modules it imports) and image the page loads, with the
    url()s of its stylesheets (the network icons)."""
    found: dict[str, bytes] = {}
    todo = [urljoin(url, m) for m in re.findall(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src|img[^>]+src'
                                                r'|link[^>]+rel="icon"[^>]+href)="([^"]+)"', html)]
    host = urlsplit(url).netloc
    while todo:
        link = todo.pop().split("#")[0]
        if link in found or urlsplit(link).netloc != host:
            continue
        body = session.get(link, timeout=30).content
        found[link] = body
        text = body.decode("utf-8", "replace")
        if link.endswith(".css"):
            todo += [urljoin(link, m) for m in re.findall(r'url\("?([^")]+)"?\)', text) if not m.startswith("data:")]
        elif link.endswith(".js"):
            todo += [urljoin(link, m) for m in re.findall(r'(?:import|from)\s*["\'](\.[^"\']+)["\']', text)]
    return found


def weigh(session: requests.Session, url: str) -> tuple[int, int, int, int, int]:
    """(HTML raw, HTML gzip, everything raw, everything gzip, files) of one page."""
    html = session.get(url, timeout=30).content
    files = assets(session, url, html.decode())
    bodies = [html, *files.values()]
    return (len(html), len(gzip.compress(html, 6)), sum(map(len, bodies)),
            sum(len(gzip.compress(b, 6)) for b in bodies), len(files))


def count_queries(url: str, instance: str, redis_url: str | None, pages: dict[str, tuple[str, str]],
                  show_sql: bool = False, cpu_rounds: int = 15) -> dict[str, float]:
    """SQL statements per page, and the median CPU time of a request, the app in-process on the same database."""
    from sqlalchemy import event

    from advocacy import create_app
    from advocacy.extensions import db

    app = create_app(_config(url, instance, redis_url))
    counts: dict[str, float] = {}
    statements: list[str] = []
    with app.app_context():  # only to reach the engine: each request below has its own context (and user)
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for name, (email, path) in pages.items():
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        client.get(path)  # warm: caches that fill once per process
        statements.clear()
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        counts[name] = len(statements)
        cpu = []
        for _ in range(cpu_rounds):  # CPU time, which other processes on the machine barely move
            t0 = time.process_time()
            client.get(path).get_data()
            cpu.append((time.process_time() - t0) * 1000)
        counts[f"{name} cpu"] = statistics.median(cpu)
        if show_sql:
            shapes: dict[str, int] = {}
            for sql in statements:
                shapes[" ".join(sql.split())[:150]] = shapes.get(" ".join(sql.split())[:150], 0) + 1
            print(f"{name}: {len(statements)} statements")
            for shape, n in sorted(shapes.items(), key=lambda kv: -kv[1]):
                print(f"  {n:4d} × {shape}")
    engine.dispose()
    return counts


def run(url: str, backend: str, rounds: int, workers: int, redis_url: str | None, show_sql: bool = False) -> None:
    instance = tempfile.mkdtemp(prefix="bench-pages-")
    ids = build(url, instance, redis_url)
    pages = {"feed": ("emma@acme.test", "/feed"), "editor": ("author@acme.test", f"/studio/{ids['tp']}/edit"),
             "reach": ("analyst@acme.test", "/reach")}
    queries = count_queries(url, instance, redis_url, pages, show_sql)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_") and k not in ("DATABASE_URL",
                                                                                              "REDIS_URL")}
    env.update(ADVOCACY_INSTANCE_PATH=instance, ADVOCACY_LOG_LEVEL="WARNING",
               DATABASE_URL=url, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    if redis_url:
        env["REDIS_URL"] = redis_url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for attempt in range(3):  # start() waits 60 s for an answer: on a loaded machine the first import can take longer
        try:
            server = start("wsgi:app", port, workers, env, Path(__file__).resolve().parent.parent, "/")
            break
        except SystemExit:
            if attempt == 2:
                raise
            port = free_port()
            base = f"http://127.0.0.1:{port}"
    try:
        sessions = {name: sign_in(base, email) for name, (email, _) in pages.items()}
        for name, (_, path) in pages.items():  # warm every worker
            for _ in range(workers * 2):
                assert sessions[name].get(base + path, timeout=30).status_code == 200
        print(f"{backend}: gunicorn sync workers={workers}, {rounds} rounds, pages interleaved; {load()}")
        times: dict[str, list[float]] = {name: [] for name in pages}
        loads: list[float] = []  # the 1-minute load average after each round: each figure is printed with its range
        for _ in range(rounds):
            for name, (_, path) in pages.items():
                t0 = time.perf_counter()
                answer = sessions[name].get(base + path, timeout=30)
                answer.content  # noqa: B018  (to the last byte)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            loads.append(os.getloadavg()[0])
        print(f"after the rounds: {load()}")
        print("| page | path | server time median | p95 | load average during the rounds "
              "| CPU per request (in-process) "
              "| SQL statements | HTML raw / gzip | with CSS, JS, icons raw / gzip (files) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, (_, path) in pages.items():
            html, html_gz, total, total_gz, files = weigh(sessions[name], base + path)
            print(f"| {name} | `{path}` | {statistics.median(times[name]):.1f} ms | {p(times[name], 0.95):.1f} ms | "
                  f"{min(loads):.1f}–{max(loads):.1f} | "
                  f"{queries[f'{name} cpu']:.1f} ms | {queries[name]} | {html / 1024:.1f} / {html_gz / 1024:.1f} KiB | "
                  f"{total / 1024:.1f} / {total_gz / 1024:.1f} KiB ({files}) |")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL URL to create and drop the bench database from")
    parser.add_argument("--database", default="advocacy_bench_pages", help="the PostgreSQL database (dropped first)")
    parser.add_argument("--redis", default=None, help="a Redis URL (default: the embedded Redis)")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sql", action="store_true", help="print each page's SQL statements, grouped")
    args = parser.parse_args()
    if args.backend == "postgresql":
        url = _pg_database(args.pg, args.database, create=True)
        try:
            run(url, args.backend, args.rounds, args.workers, args.redis, args.sql)
        finally:
            _pg_database(args.pg, args.database, create=False)
    else:
        folder = tempfile.mkdtemp(prefix="bench-pages-db-")
        try:
            run(f"sqlite:///{folder}/bench.db", args.backend, args.rounds, args.workers, args.redis, args.sql)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
