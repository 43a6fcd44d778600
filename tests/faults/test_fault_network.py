"""A hostile network: 429s with reset times, 503s (some after the post was stored) and timeouts on 30% of calls;
access tokens expiring mid-campaign and a revoked refresh token."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import func, select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.notifications.models import Notification
from advocacy.people.models import User
from tests.delivery.support import Sandbox, approved, employee, posts_by_code
from tests.faults.conftest import BOOT_SECONDS, Workers, wait_until_settled
from tests.faults.test_fault_kills import assert_exactly_once

pytestmark = [pytest.mark.faults, pytest.mark.timeout(400)]

LINE = re.compile(r"^ts=(\S+ \S+) .*?event=(attempt|rate_limited|budget_wait) share_id=(\d+)(?: account_id=(\d+))?"
                  r"(?: until=(\S+))?", re.MULTILINE)


def hostile(x: Sandbox) -> None:
    """Each call has a 10% chance of each fault: 429 (reset in 2 s), 503 (half of them after the work was done), and
    a 2 s stall (longer than the client's 1.5 s timeout; the request still completes on the network)."""
    x.configure(seed=5)
    x.fault(status=429, probability=0.10, path_prefix="/2/", reset_in=2)
    x.fault(status=503, probability=0.055, path_prefix="/2/")
    x.fault(status=503, probability=0.0625, path_prefix="/2/", after=True)
    x.fault(delay=2.0, probability=0.143, path_prefix="/2/")


def test_429_503_and_timeouts_on_30_percent_of_calls(fast, workers, app, sandbox, policy):
    x = Sandbox(sandbox["x"])
    pool = workers(fast | {"LOG_LEVEL": "INFO"})
    pool.start(3)
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(30)]
    points = [approved(title=f"Point {i}", text=f"Read about point {i}.") for i in range(10)]  # each shared once
    hostile(x)
    time.sleep(BOOT_SECONDS)
    ids = [services.create_share(users[n % 30], points[n // 30], "x").id for n in range(300)]
    wait_until_settled(300, 240, pool)
    x.clear_faults()
    time.sleep(2.5)  # stalled requests still land on the network after the client gave up: let them
    assert_exactly_once(x, ids)
    journal = x.requests()
    statuses = [r["status"] for r in journal if r["path"].startswith("/2/") and r["path"] != "/2/oauth2/token"]
    assert statuses.count(429) >= 20 and statuses.count(503) >= 20, "the faults did not happen"
    assert_no_attempt_before_the_reset(pool)
    assert db.session.scalar(select(func.max(Share.attempts))) >= 2


def assert_no_attempt_before_the_reset(pool: Workers) -> None:
    """No attempt that began after a 429 was recorded (its ``rate_limited`` line) went to the network before the
    reset time: each was stopped by the budget (its ``budget_wait`` line).

    Judged by the workers' own lines, in causal order (an attempt's line is written before it asks the budget, the
    429's after it was recorded), not by when requests reached the network: an attempt that asked the budget just
    before the 429 was recorded still goes, and on a loaded machine it can reach the network a second later."""
    lines = sorted((_epoch(ts), event, int(share), account and int(account), until)
                   for log in pool.logs.glob("worker-*.log")
                   for ts, event, share, account, until in LINE.findall(log.read_text(errors="replace")))
    account_of = {share: account for _, event, share, account, _ in lines if event == "attempt"}
    following: dict[int, str] = {}  # index of an attempt's line: the event of its share's next line
    last: dict[int, int] = {}
    for i, (_, event, share, _, _) in enumerate(lines):
        if share in last:
            following[last[share]] = event
        last[share] = i
    waits: dict[int, tuple[float, float]] = {}  # account: (recorded, reset) of its latest 429
    limited = 0
    for i, (at, event, share, account, until) in enumerate(lines):
        if event == "rate_limited":
            limited += 1
            waits[account_of[share]] = (at, dt.datetime.fromisoformat(until).timestamp())
        elif event == "attempt" and account in waits:
            recorded, reset = waits[account]
            if recorded + 0.002 < at < reset - 0.002:  # log times are to the millisecond
                assert following.get(i) == "budget_wait", \
                    f"share {share} went to the network at {at:.3f}, before the reset {reset:.3f} of a 429 " \
                    f"recorded at {recorded:.3f} for its account"
    assert limited >= 10, f"only {limited} rate limits were recorded"


def _epoch(stamp: str) -> float:
    return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()  # the workers' local time


def test_tokens_expiring_mid_campaign_and_one_revoked(fast, workers, app, sandbox, policy):
    x = Sandbox(sandbox["x"])
    pool = workers()
    pool.start(3)
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(20)]
    points = [approved(title=f"Point {i}", text=f"Read about point {i}.") for i in range(10)]  # each shared once
    time.sleep(BOOT_SECONDS)
    ids = [services.create_share(users[n % 20], points[n // 20], "x").id for n in range(100)]
    deadline = time.monotonic() + 60
    while db.session.scalar(select(func.count(Share.id)).where(Share.status == "published")) < 30:
        assert time.monotonic() < deadline, "nothing published"
        db.session.rollback()
        time.sleep(0.1)
    soon = utcnow() + dt.timedelta(seconds=3)
    ids += [services.create_share(users[7], points[5 + n], "x", at=soon).id for n in range(5)]
    x.expire()  # every access token dies on the network's side; we still believe them valid
    x.revoke("p7_acme")  # and one person withdraws consent: refresh token dead too
    ids += [services.create_share(users[n % 19 + (n % 19 >= 7)], points[5 + n // 19], "x").id for n in range(95)]
    counts = wait_until_settled(200, 240, pool)
    db.session.rollback()
    revoked = db.session.scalar(select(User).where(User.email == "p7@acme.test"))
    theirs = db.session.scalars(select(Share).where(Share.user_id == revoked.id)).all()
    paused = [s for s in theirs if s.status == "paused"]
    assert paused and all("reconnect" in s.last_error for s in paused)
    assert counts.get("failed", 0) == 0
    assert counts["published"] + counts["paused"] == 200 and counts["paused"] == len(paused)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == revoked.id)) == 1
    others = [i for i in ids if i not in {s.id for s in theirs} | {s.id for s in paused}]
    published = {s.code for s in db.session.scalars(select(Share).where(Share.status == "published"))}
    counts_by_code = posts_by_code(x.posts())
    assert set(counts_by_code) == published and set(counts_by_code.values()) == {1}
    assert len(others) + len(theirs) == 200
    refreshed = [r for r in x.requests() if r["path"] == "/2/oauth2/token"]
    assert 19 <= len(refreshed) <= 40  # one refresh per person (plus the revoked one's refusal), not one per share
