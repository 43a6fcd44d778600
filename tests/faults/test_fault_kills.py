"""1,000 shares while worker processes are SIGKILLed at random moments: every share posts once, none twice."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import func, select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.delivery.support import Sandbox, approved, employee, posts_by_code
from tests.faults.conftest import BOOT_SECONDS, wait_until_settled

pytestmark = [pytest.mark.faults, pytest.mark.timeout(400)]

SHARES = 1000
PEOPLE = 40
KILLS = 24


def campaign(people: int, shares: int, **fields) -> list[int]:
    """``shares`` shares spread over ``people`` connected employees, each person sharing each talking point once (one
    live share of a talking point per account); returns share ids."""
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(people)]
    count = -(-shares // people)
    points = [approved(title=f"Point {i}", text=f"Read about point {i}.", **fields) for i in range(count)]
    ids = []
    for n in range(shares):
        ids.append(services.create_share(users[n % people], points[n // people], "x").id)
    return ids


def assert_exactly_once(x: Sandbox, ids: list[int]) -> None:
    posts = x.posts()
    counts = posts_by_code(posts)
    db.session.rollback()
    shares = db.session.scalars(select(Share).where(Share.id.in_(ids))).all()
    codes = {s.code for s in shares}
    twice = {c: n for c, n in counts.items() if n > 1}
    missing = codes - set(counts)
    assert not twice, f"posted more than once: {twice}"
    assert not missing, f"never posted: {len(missing)} shares"
    assert len(posts) == len(ids) and set(counts) == codes
    by_id = {p["id"]: p for p in posts}
    for share in shares:
        assert share.status == "published", (share.id, share.status, share.last_error)
        assert share.code in by_id[share.post_id]["text"]  # the recorded post is the share's own


def test_sigkill_workers_at_random_moments(fast, workers, app, sandbox, policy):
    x = Sandbox(sandbox["x"])
    x.configure(latency_ms=5)
    pool = workers()
    pool.start(4)
    rng = random.Random(20261121)
    engine = db.engine
    stop = threading.Event()

    def killer() -> None:  # kills while the campaign is being created and published
        time.sleep(BOOT_SECONDS)
        while pool.kills < KILLS and not stop.is_set():
            time.sleep(rng.uniform(0.8, 2.0))
            if rng.random() < 0.5 and pool.kill_busy(rng, engine):  # caught mid-publish
                continue
            pool.kill_random(rng)

    thread = threading.Thread(target=killer, daemon=True)
    t0 = time.monotonic()
    thread.start()
    try:
        ids = campaign(PEOPLE, SHARES)
        thread.join(timeout=200)
    finally:
        stop.set()
    t1 = time.monotonic()
    assert pool.kills >= 20 and pool.busy_kills >= 3, (pool.kills, pool.busy_kills)
    wait_until_settled(SHARES, 200, pool)
    print(f"{pool.kills} kills ({pool.busy_kills} mid-publish) in {t1 - t0:.1f} s; "
          f"settled {time.monotonic() - t1:.1f} s later")
    assert_exactly_once(x, ids)
    assert db.session.scalar(select(func.count(Share.id)).where(Share.attempts > 1)) >= 1
