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


def test_posts_committed_after_the_client_gave_up_are_never_twice_and_never_failed(
        fast: dict[str, Any], workers: Any, app: Any, sandbox: dict[str, str], policy: Any) -> None:
    pool = workers()
    pool.start(3)
    people = [employee(f"p{n}@acme.test", f"p{n}_acme") for n in range(PEOPLE)]  # X connected
    for network in ("linkedin", "mastodon", "bluesky"):
        for n, person in enumerate(people):
            connect(network, person, n, sandbox)
    points = [approved(title=f"Point {i}", text=f"Talking point number {i}.") for i in range(POINTS)]
    for network, path in POST_CALL.items():
        calls = {"method": "POST", "path_prefix": path}
        control(sandbox[network], "POST", "faults", calls | late_commit(network) | {"count": 3})  # stall, commit
        control(sandbox[network], "POST", "faults", calls | {"after": True, "delay": HOLD, "count": 3})  # the reverse
    time.sleep(BOOT_SECONDS)
    ids = {network: [services.create_share(person, point, network).id for point in points for person in people]
           for network in POST_CALL}
    wait_until_settled(sum(len(i) for i in ids.values()), 120, pool)
    for network in POST_CALL:
        assert control(sandbox[network], "GET", "faults")["faults"] == [], f"{network}: not every fault was served"
    time.sleep(HOLD + 1.0)  # the last held request writes HOLD seconds after it came: let it land before counting

    db.session.rollback()
    for network, share_ids in ids.items():
        shares = db.session.scalars(select(Share).where(Share.id.in_(share_ids))).all()
        posts = [p for p in control(sandbox[network], "GET", "posts")["posts"] if not p.get("deleted")]
        holding = {s.code: [p["id"] for p in posts if f"/r/{s.code}" in json.dumps(p)] for s in shares}
        twice = {code: found for code, found in holding.items() if len(found) != 1}
        assert not twice, f"{network}: shares not posted exactly once: {twice}"
        assert len(posts) == len(shares), network
        for share in shares:
            assert share.status == "published", (network, share.id, share.status, share.last_error)
            assert share.post_id == holding[share.code][0], (network, share.id, share.post_id, holding[share.code])
        retried = select(func.count(Share.id)).where(Share.id.in_(share_ids), Share.attempts > 1)
        assert db.session.scalar(retried) >= 2, f"{network}: the faults made no retry"
