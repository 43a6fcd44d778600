"""The answer lost after the write, on every network's post call, with real worker processes.

Each network's sandbox holds some post calls past the client's timeout (1.5 s) and writes the post anyway, in both
orders: ``after`` writes at once and answers late (the retry must find the post: an idempotency key, a duplicate
refusal naming the post, the deterministic Bluesky record key, a look-up), and the late commit holds the request
first and writes only at the end of the delay, after the client timed out and its retry looked, found nothing and
posted (the late write must then meet the retry's post and be refused or answered with it). Every share ends
published once, with the id of its own post: no duplicate on the network, no share falsely failed.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from advocacy.accounts.services import connect_bluesky
from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.delivery.support import approved, employee
from tests.delivery.test_reconcile import connect_linkedin, connect_mastodon
from tests.faults.conftest import BOOT_SECONDS, wait_until_settled

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

HOLD = 4.0  # seconds a faulted post call is held: past the client's 1.5 s, long enough for its retry to post first
PEOPLE = 3
POINTS = 2
POST_CALL = {"x": "/2/tweets", "linkedin": "/rest/posts", "mastodon": "/api/v1/statuses",
             "bluesky": "/xrpc/com.atproto.repo.createRecord"}


def late_commit(network: str) -> dict[str, Any]:
    """The fault that holds a post call ``HOLD`` seconds and writes at the end of it.

    Mastodon and Bluesky serve ``commit_late`` (``sandbox.common``); the X and LinkedIn sandboxes keep their own
    fault machinery, where a fault with a delay alone holds the request and then lets it do its work: the same."""
    hold: dict[str, Any] = {"delay": HOLD}
    return hold | {"commit_late": True} if network in ("mastodon", "bluesky") else hold


def connect(network: str, user: Any, n: int, urls: dict[str, str]) -> None:
    if network == "linkedin":
        connect_linkedin(user, f"p{n}_acme")
    elif network == "mastodon":
        connect_mastodon(user, urls["mastodon"], f"p{n}")
    elif network == "bluesky":
        connect_bluesky(user, f"p{n}.bsky.social", "abcd-efgh-2345-wxyz")


def control(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    answer = requests.request(method, f"{url}/_sandbox/{path}", json=body, timeout=5)
    assert answer.ok, answer.text
    return answer.json()


@pytest.mark.parametrize("network", ["x", "linkedin", "mastodon", "bluesky"])
def test_posts_committed_after_the_client_gave_up_are_never_twice_and_never_failed(
        network: str, fast: dict[str, Any], workers: Any, app: Any, sandbox: dict[str, str], policy: Any) -> None:
    url = sandbox[network]
    pool = workers()
    pool.start(2)
    people = [employee(f"p{n}@acme.test", f"p{n}_acme" if network == "x" else None) for n in range(PEOPLE)]
    for n, person in enumerate(people):
        connect(network, person, n, sandbox)
    points = [approved(title=f"Point {i}", text=f"Talking point number {i}.") for i in range(POINTS)]
    calls = {"method": "POST", "path_prefix": POST_CALL[network]}
    control(url, "POST", "faults", calls | late_commit(network) | {"count": 3})  # stall, then commit
    control(url, "POST", "faults", calls | {"after": True, "delay": HOLD, "count": 3})  # commit, then stall
    time.sleep(BOOT_SECONDS)
    ids = [services.create_share(person, point, network).id for point in points for person in people]
    wait_until_settled(len(ids), 120, pool)
    assert control(url, "GET", "faults")["faults"] == [], "not every fault was served"
    time.sleep(HOLD + 1.0)  # the last held request writes HOLD seconds after it came: let it land before counting

    db.session.rollback()
    shares = db.session.scalars(select(Share).where(Share.id.in_(ids))).all()
    posts = [p for p in control(url, "GET", "posts")["posts"] if not p.get("deleted")]
    holding = {s.code: [p["id"] for p in posts if f"/r/{s.code}" in json.dumps(p)] for s in shares}
    twice = {code: found for code, found in holding.items() if len(found) != 1}
    assert not twice, f"{network}: shares not posted exactly once: {twice}"
    assert len(posts) == len(shares)
    for share in shares:
        assert share.status == "published", (network, share.id, share.status, share.last_error)
        assert share.post_id == holding[share.code][0], (network, share.id, share.post_id, holding[share.code])
    assert db.session.scalar(select(func.count(Share.id)).where(Share.id.in_(ids), Share.attempts > 1)) >= 2
