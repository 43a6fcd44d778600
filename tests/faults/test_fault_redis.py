"""Redis restarted (everything it held lost) in the middle of a scheduled campaign: every share posts once, on time."""

from __future__ import annotations

import datetime as dt
import random
import time

import pytest
from sqlalchemy import select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from tests.delivery.support import Sandbox, approved, employee
from tests.faults.conftest import BOOT_SECONDS, wait_until_settled
from tests.faults.test_fault_kills import assert_exactly_once

pytestmark = [pytest.mark.faults, pytest.mark.timeout(400)]

PEOPLE = 25
NOW = 100
LATER = 150


def test_redis_restart_mid_campaign_loses_nothing(fast, restartable_redis, workers, app, sandbox, policy):
    x = Sandbox(sandbox["x"])
    pool = workers(fast | {"LOG_LEVEL": "INFO"})
    pool.start(3)
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(PEOPLE)]
    # each person shares each talking point once (one live share of a talking point per account)
    points = [approved(title=f"Point {i}", text=f"Read about point {i}.") for i in range(-(-(NOW + LATER) // PEOPLE))]
    rng = random.Random(7)
    time.sleep(BOOT_SECONDS)
    ids = [services.create_share(users[n % PEOPLE], points[n // PEOPLE], "x").id for n in range(NOW)]
    ids += [services.create_share(users[n % PEOPLE], points[(NOW + n) // PEOPLE], "x",
                                  at=utcnow() + dt.timedelta(seconds=rng.uniform(4, 16))).id for n in range(LATER)]
    time.sleep(2)
    db.session.rollback()
    waiting = db.session.scalar(select(Share.id).where(Share.status == "scheduled").limit(1))
    assert waiting is not None, "the campaign was over before the restart; it proved nothing"
    restartable_redis()  # Redis comes back empty: queues, scheduled jobs, periodic jobs, budgets all gone
    restarted = time.monotonic()
    wait_until_settled(NOW + LATER, 150, pool)
    print(f"settled {time.monotonic() - restarted:.1f} s after the restart")
    assert_exactly_once(x, ids)
    posts = {p["id"]: p for p in x.posts()}
    for share in db.session.scalars(select(Share).where(Share.id.in_(ids))):
        posted = dt.datetime.fromisoformat(posts[share.post_id]["created_at"].replace("Z", "+00:00"))
        assert posted >= share.scheduled_at - services.EARLY - dt.timedelta(seconds=1), share.id  # never early
