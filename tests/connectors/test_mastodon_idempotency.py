"""Mastodon's ``Idempotency-Key`` as the sandbox keeps it: per account and key, for one hour, answering the status
made first (Mastodon's PostStatusService keeps ``idempotency:status:<account>:<key>`` for 3,600 seconds).

The hour passes on the sandbox server's own clock (``POST /_sandbox/clock``), so no test waits for it.
"""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Rejected, Token

pytestmark = pytest.mark.timeout(30)
KEY = "advocacy-share-7-Ab12"


def advance(sandbox: Any, seconds: float) -> None:
    sandbox.control("POST", "clock", {"advance": seconds})


def test_a_key_answers_the_first_status_for_an_hour_then_posts_again(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    assert mastodon_sandbox.control("GET", "config")["config"]["idempotency_ttl"] == 3600  # Mastodon's hour
    token = mastodon_token.access_token
    first = mastodon_connector.publish(token, "Once only", idempotency_key=KEY)
    advance(mastodon_sandbox, 3599)
    again = mastodon_connector.publish(token, "Other words, same key", idempotency_key=KEY)
    assert again == first  # the original status, whatever the repeat says
    assert [p["text"] for p in mastodon_sandbox.posts()] == ["Once only"]

    advance(mastodon_sandbox, 2)  # the hour is over: Mastodon no longer holds the key
    later = mastodon_connector.publish(token, "Once only", idempotency_key=KEY)
    assert later.id != first.id
    assert [p["id"] for p in mastodon_sandbox.posts()] == [first.id, later.id]
    assert mastodon_connector.publish(token, "Once only", idempotency_key=KEY) == later  # the new one's hour


def test_a_key_is_kept_per_account(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    bob = mastodon_flow.connect(mastodon_connector, "bob")
    alices = mastodon_connector.publish(mastodon_token.access_token, "Hello", idempotency_key=KEY)
    bobs = mastodon_connector.publish(bob.access_token, "Hello", idempotency_key=KEY)
    assert bobs.id != alices.id
    again = mastodon_flow.connect(mastodon_connector, "alice")  # another token of the same account
    assert mastodon_connector.publish(again.access_token, "Hello", idempotency_key=KEY) == alices
    authors = sorted(p["author_handle"] for p in mastodon_sandbox.posts())
    assert authors == ["alice", "bob"]


def test_a_key_whose_status_was_deleted_is_not_found(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    token = mastodon_token.access_token
    post = mastodon_connector.publish(token, "Short-lived", idempotency_key=KEY)
    mastodon_connector.delete(token, post.id)
    with pytest.raises(Rejected) as gone:  # Mastodon looks the key's status up among the account's statuses
        mastodon_connector.publish(token, "Short-lived", idempotency_key=KEY)
    assert gone.value.status == 404
    assert [p["deleted"] for p in mastodon_sandbox.posts()] == [True]


def test_the_clock_refuses_junk(mastodon_sandbox: Any) -> None:
    for junk in (-1, "soon", True, None):
        answer = mastodon_sandbox.http.post(f"{mastodon_sandbox.url}/_sandbox/clock", json={"advance": junk},
                                            timeout=5)
        assert answer.status_code == 400 and "advance" in answer.json()["error"]
