"""Threads under faults, with real worker processes: workers SIGKILLed mid-campaign (some while publishing), the
``threads_publish`` answer lost after the post was made (``after``) and the post made after the client gave up and
retried (``commit_late``), 429s on the container call, containers still processing when first read, and one person
whose token expired at Threads (their shares pause, and go out once they reconnect). Every share ends published once
with its own post: no duplicate on Threads, no share falsely failed."""

from __future__ import annotations

import random
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from advocacy.accounts import services as accounts
from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.networks import connector_for
from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import consent
from tests.delivery.support import approved, employee
from tests.faults.conftest import BOOT_SECONDS, wait_until_settled

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

HOLD = 4.0  # a held threads_publish: past the client's 1.5 s, long enough for its retry to publish first
PEOPLE = 5
POINTS = 3
KILLS = 3
REDIRECT = "http://advocacy.test/accounts/callback/threads"


@pytest.fixture()
def settings(settings: dict[str, Any], sandbox: dict[str, str]) -> dict[str, Any]:
    url = sandbox["threads"]
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    return settings | {
        "THREADS_API_BASE_URL": url, "THREADS_AUTHORIZE_URL": f"{url}/oauth/authorize",
        "THREADS_TOKEN_URL": f"{url}/oauth/access_token", "THREADS_WEB_BASE_URL": url,
        "THREADS_CLIENT_ID": "threads-sandbox-app", "THREADS_CLIENT_SECRET": "threads-sandbox-secret"}


def connect_threads(user: Any, username: str) -> ConnectedAccount:
    """The person's consent on the Threads sandbox, then the app's callback step."""
    auth = connector_for("threads").authorization_url(REDIRECT)
    code = parse_qs(urlsplit(consent(auth.url, username, "allow")).query)["code"][0]
    return accounts.finish_connect(user, "threads", code, REDIRECT, None)


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.request(method, f"{url}/_sandbox/{path}", json=body, timeout=5)
    assert answer.ok, answer.text
    return answer.json()


def test_threads_sigkill_late_answers_429_and_an_expired_token_post_each_share_once(
        fast: dict[str, Any], workers: Any, app: Any, sandbox: dict[str, str], policy: Any) -> None:
    url = sandbox["threads"]
    control(url, "POST", "config", {"latency_ms": 20, "text_processing_ms": 300})
    pool = workers()
    pool.start(3)
    people = [employee(f"p{n}@acme.test") for n in range(PEOPLE)]
    for n, person in enumerate(people):
        connect_threads(person, f"p{n}_acme")
    control(url, "POST", "tokens/expire", {"handle": "p0_acme"})  # Threads will refuse p0's token, and its refresh
    points = [approved(title=f"Point {i}", text=f"Talking point number {i}.") for i in range(POINTS)]
    publish = {"method": "POST", "path_prefix": "/v1.0/me/threads_publish"}
    control(url, "POST", "faults", publish | {"commit_late": True, "delay": HOLD, "count": 2})
    control(url, "POST", "faults", publish | {"after": True, "delay": HOLD, "count": 2})
    control(url, "POST", "faults", {"method": "POST", "path_prefix": "/v1.0/me/threads", "status": 429, "count": 3,
                                    "headers": {"Retry-After": "1"}})
    rng = random.Random(20261203)
    engine = db.engine
    stop = threading.Event()

    def killer() -> None:  # workers caught publishing are SIGKILLed, their shares recovered by the lease
        time.sleep(BOOT_SECONDS)
        while pool.kills < KILLS and not stop.is_set():
            time.sleep(rng.uniform(0.3, 1.0))
            if not pool.kill_busy(rng, engine, patience=3.0):
                pool.kill_random(rng)

    thread = threading.Thread(target=killer, daemon=True)
    time.sleep(BOOT_SECONDS)
    thread.start()
    try:
        ids = [services.create_share(person, point, "threads").id for point in points for person in people]
        wait_until_settled(len(ids), 90, pool)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert pool.kills >= 1, pool.kills

    db.session.rollback()
    held = db.session.scalars(select(Share).where(Share.status == "paused")).all()
    assert {s.user_id for s in held} == {people[0].id}  # only the person whose token died, paused not failed
    account = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == people[0].id)).one()
    assert account.status == "revoked"
    connect_threads(people[0], "p0_acme")  # they reconnect: the sweeper sends their paused shares
    wait_until_settled(len(ids), 60, pool)
    db.session.rollback()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and db.session.scalar(select(Share.id).where(Share.status != "published")):
        time.sleep(0.5)
        db.session.rollback()
    assert control(url, "GET", "faults")["faults"] == [], "not every fault was served"
    time.sleep(HOLD + 1.0)  # the last held publish lands HOLD seconds after it came: count after it

    shares = db.session.scalars(select(Share).where(Share.id.in_(ids))).all()
    posts = [p for p in control(url, "GET", "posts")["posts"] if not p["deleted"]]
    holding = {s.code: [p["id"] for p in posts if p["link"] == f"http://advocacy.test/r/{s.code}"] for s in shares}
    twice = {code: found for code, found in holding.items() if len(found) != 1}
    assert not twice, f"shares not posted exactly once: {twice}"
    assert len(posts) == len(shares)
    for share in shares:
        assert share.status == "published", (share.id, share.status, share.last_error)
        assert share.post_id == holding[share.code][0], (share.id, share.post_id, holding[share.code])
    containers = control(url, "GET", "containers")["containers"]
    assert sum(c["status"] == "PUBLISHED" for c in containers) == len(shares)
    assert db.session.scalar(select(Share.id).where(Share.id.in_(ids), Share.attempts > 1)) is not None
