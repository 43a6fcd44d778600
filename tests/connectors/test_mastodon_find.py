"""MastodonConnector.find_post against the Mastodon sandbox over real HTTP: a status whose answer was lost is found
after the server forgot its idempotency key, across pages of the account's statuses, never past ``since``."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
import requests

from connectors.base import AuthRevoked, FindsPosts, PublishedPost, Token, Transient
from connectors.mastodon import FIND_PAGE_SIZE, _holds

pytestmark = pytest.mark.timeout(60)
LINK = "https://advocacy.test/r/"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def post(sandbox: Any, token: Token, text: str) -> dict[str, Any]:
    answer = requests.post(f"{sandbox.url}/api/v1/statuses", json={"status": text}, timeout=5,
                           headers={"Authorization": f"Bearer {token.access_token}"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def requests_left(sandbox: Any, token: Token) -> int:
    """What the token's request window has left (every authenticated request spends one), after this one."""
    answer = requests.get(f"{sandbox.url}/api/v1/accounts/verify_credentials", timeout=5,
                          headers={"Authorization": f"Bearer {token.access_token}"})
    assert answer.status_code == 200
    return int(answer.headers["X-RateLimit-Remaining"])


def forget_keys(sandbox: Any, handle: str | None = None) -> int:
    return int(sandbox.control("POST", "idempotency/expire", {"handle": handle} if handle else {})["expired"])


def test_a_lost_answer_retried_after_the_key_expired_is_found_not_posted_again(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    assert isinstance(mastodon_connector, FindsPosts)
    started = now() - dt.timedelta(seconds=1)
    token, link = mastodon_token.access_token, LINK + "Lost1"
    mastodon_sandbox.fault(status=503, after=True, method="POST", path_prefix="/api/v1/statuses", count=1)
    with pytest.raises(Transient):
        mastodon_connector.publish(token, "Did it go out?", link, idempotency_key="advocacy-share-1-Lost1")
    (made,) = mastodon_sandbox.posts()  # it did, but the answer was lost
    assert forget_keys(mastodon_sandbox) == 1  # an hour (or a long outage) later: the key is gone

    found = mastodon_connector.find_post(token, link, started)  # what the engine asks before posting again
    assert found == PublishedPost(id=made["id"], url=f"{mastodon_sandbox.url}/@alice/{made['id']}")
    assert mastodon_connector.find_post(token, LINK + "Never", started) is None
    assert mastodon_connector.find_post(token, LINK + "Lost", started) is None  # a prefix of the link is not it
    assert mastodon_connector.find_post(token, link, now() + dt.timedelta(seconds=1)) is None  # older than since

    # the switch is real: the same key now makes a second status, which is what find_post is there to prevent
    mastodon_connector.publish(token, "Did it go out?", link, idempotency_key="advocacy-share-1-Lost1")
    assert len(mastodon_sandbox.posts()) == 2


def test_find_post_pages_back_through_the_account_and_stops_at_since(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    started = now() - dt.timedelta(seconds=1)
    older = [post(mastodon_sandbox, mastodon_token, f"Older {i} {LINK}old{i}") for i in range(45)]
    time.sleep(0.02)
    cut = now()
    time.sleep(0.02)
    newer = [post(mastodon_sandbox, mastodon_token, f"Newer {i} {LINK}new{i}") for i in range(45)]
    bob = mastodon_flow.connect(mastodon_connector, "bob")
    post(mastodon_sandbox, bob, f"Bob's {LINK}old0")  # another account's status is never ours
    token = mastodon_token.access_token
    assert 2 * FIND_PAGE_SIZE < len(older) + len(newer) <= 3 * FIND_PAGE_SIZE  # three pages of statuses

    before = requests_left(mastodon_sandbox, mastodon_token)
    found = mastodon_connector.find_post(token, f"{LINK}old0", started)  # the oldest: on the third page
    assert found is not None and found.id == older[0]["id"]
    used = before - requests_left(mastodon_sandbox, mastodon_token) - 1
    assert used == 1 + 3  # verify_credentials, then pages 1, 2, 3 (max_id from each page's Link header)

    before = requests_left(mastodon_sandbox, mastodon_token)
    assert mastodon_connector.find_post(token, f"{LINK}old0", cut) is None  # it is older than since
    used = before - requests_left(mastodon_sandbox, mastodon_token) - 1
    assert used == 1 + 2  # page 2 reached a status older than since: page 3 was never asked for

    before = requests_left(mastodon_sandbox, mastodon_token)
    assert mastodon_connector.find_post(token, f"{LINK}nowhere", started) is None
    used = before - requests_left(mastodon_sandbox, mastodon_token) - 1
    assert used == 1 + 3  # the last page is not full: no next link, the search ends there
    found = mastodon_connector.find_post(token, f"{LINK}new44", cut)
    assert found is not None and found.id == newer[-1]["id"]


def test_a_token_without_read_statuses_needs_the_person_never_answers_not_found(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_make_connector: Any
) -> None:
    narrow = mastodon_make_connector(scopes=("read:accounts", "write:statuses"))
    token = mastodon_flow.connect(narrow, "carol")
    assert "read:statuses" not in token.scope
    post(mastodon_sandbox, token, f"Carol's {LINK}carol")
    with pytest.raises(AuthRevoked) as refused:  # "not found" would let the engine post a second time
        narrow.find_post(token.access_token, f"{LINK}carol", now() - dt.timedelta(minutes=1))
    assert refused.value.status == 403 and "read:statuses" in refused.value.message


def test_content_matching_reads_links_as_mastodon_renders_them() -> None:
    link = "https://advocacy.test/r/Abc12"
    shortened = (f'<p>We are hiring <a href="{link}" rel="nofollow noopener" target="_blank"><span class="invisible">'
                 'https://</span><span class="">advocacy.test/r/Abc12</span><span class="invisible"></span></a></p>')
    assert _holds(shortened, link)
    assert _holds("<p>See https://advocacy.test/r/Abc12.</p>", link)  # the link as text, a full stop after it
    assert not _holds(f'<p><a href="{link}9">{link}9</a></p>', link)  # a longer link is another share's
    assert not _holds("<p>We are hiring</p>", link)
