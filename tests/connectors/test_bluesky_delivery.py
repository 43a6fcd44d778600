"""Bluesky, never twice: every attempt of one share writes the same record key, the PDS refuses a repeat, and the
connector recognises the refusal as its own post; a write the PDS commits after the client gave up meets the retry's
post and is refused. Ending a session at the PDS (``deleteSession``) kills its tokens there."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
import requests

from connectors.base import AuthExpired, AuthRevoked, Duplicate, Token, Transient
from connectors.bluesky import BlueskyConnector, jwt_claims, record_key

pytestmark = pytest.mark.timeout(30)
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")  # the atproto TID syntax
LINK = "https://advocacy.test/r/Share001"
KEY = "advocacy-share-1-Share001"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def state(server: Any) -> Any:
    return server.app.extensions["bluesky_sandbox"]


def wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_record_keys_are_tids_the_same_for_a_share_and_different_between_shares() -> None:
    keys = {record_key(f"https://advocacy.test/r/code{i}") for i in range(2000)}
    assert len(keys) == 2000 and all(TID.match(k) for k in keys)
    assert record_key(LINK) == record_key(LINK)
    micros = int("".join(f"{'234567abcdefghijklmnopqrstuvwxyz'.index(c):05b}" for c in record_key(LINK)), 2) >> 10
    assert dt.datetime(2005, 1, 1, tzinfo=dt.UTC) < dt.datetime.fromtimestamp(micros / 1e6, dt.UTC) < now()


def test_a_repeated_share_is_refused_by_the_pds_and_named_as_our_post(
    bluesky_sandbox: Any, bluesky_sandbox_server: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    first = bluesky_connector.publish(bluesky_token.access_token, "We are hiring", LINK, idempotency_key=KEY)
    assert first.id.endswith(f"/app.bsky.feed.post/{record_key(LINK)}")
    with pytest.raises(Duplicate) as again:
        bluesky_connector.publish(bluesky_token.access_token, "We are hiring", LINK, idempotency_key=KEY)
    assert again.value.existing == first and again.value.status == 500  # the reference PDS's answer today
    assert state(bluesky_sandbox_server).refused_keys == [first.id]
    assert [p["id"] for p in bluesky_sandbox.posts()] == [first.id]
    other = bluesky_connector.publish(bluesky_token.access_token, "We are hiring", "https://advocacy.test/r/Other",
                                      idempotency_key="advocacy-share-2-Other")
    assert other.id != first.id  # another share, another key


def test_the_pds_refuses_a_taken_key_as_the_reference_pds_does(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    did = jwt_claims(bluesky_token.access_token)["sub"]
    body = {"repo": did, "collection": "app.bsky.feed.post", "rkey": record_key(LINK),
            "record": {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-02T03:04:05.678Z"}}
    url, headers = f"{bluesky_sandbox.url}/xrpc/com.atproto.repo.createRecord", {
        "Authorization": f"Bearer {bluesky_token.access_token}"}
    assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 200
    again = requests.post(url, json=body, headers=headers, timeout=5)
    assert (again.status_code, again.json()) == (500, {"error": "InternalServerError",
                                                       "message": "Internal Server Error"})
    for bad in ("self", "3jzfcijpj2z2", "3jzfcijpj2z2aa", "kjzfcijpj2z2a", "3JZFCIJPJ2Z2A"):
        refused = requests.post(url, json=body | {"rkey": bad}, headers=headers, timeout=5)
        assert refused.status_code == 400 and "must be a valid TID" in refused.json()["message"], bad


def test_a_write_committed_after_the_client_gave_up_meets_the_retry_and_is_refused(
    bluesky_sandbox: Any, bluesky_sandbox_server: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(commit_late=True, delay=1.0, count=1, path_prefix="/xrpc/com.atproto.repo.createRecord")
    with pytest.raises(Transient):  # held past the client's timeout: nothing is written yet
        bluesky_connector.publish(bluesky_token.access_token, "Late", LINK, idempotency_key=KEY)
    assert bluesky_sandbox.posts() == []
    assert bluesky_connector.find_post(bluesky_token.access_token, LINK, now() - dt.timedelta(minutes=1)) is None
    retried = bluesky_connector.publish(bluesky_token.access_token, "Late", LINK, idempotency_key=KEY)
    wait_for(lambda: state(bluesky_sandbox_server).refused_keys, "the held write to land")
    assert state(bluesky_sandbox_server).refused_keys == [retried.id]  # it landed on the retry's key: refused
    assert [p["id"] for p in bluesky_sandbox.posts()] == [retried.id]


def test_a_write_committed_before_a_lost_answer_is_found_by_its_key(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(after=True, delay=1.0, count=1, path_prefix="/xrpc/com.atproto.repo.createRecord")
    with pytest.raises(Transient):
        bluesky_connector.publish(bluesky_token.access_token, "Early", LINK, idempotency_key=KEY)
    (stored,) = bluesky_sandbox.posts()
    since = now() + dt.timedelta(days=1)  # by its key the post is found whatever the listing holds
    found = bluesky_connector.find_post(bluesky_token.access_token, LINK, since)
    assert found is not None and found.id == stored["id"]
    with pytest.raises(Duplicate) as again:
        bluesky_connector.publish(bluesky_token.access_token, "Early", LINK, idempotency_key=KEY)
    assert again.value.existing == found


def test_a_late_commit_fault_needs_a_delay(bluesky_sandbox: Any) -> None:
    for spec in ({"commit_late": True}, {"commit_late": True, "delay": 1, "after": True}, {"commit_late": "yes",
                                                                                            "delay": 1}):
        answer = bluesky_sandbox.http.post(f"{bluesky_sandbox.url}/_sandbox/faults", json=spec, timeout=5)
        assert answer.status_code == 400, spec


def test_a_late_commit_fault_with_a_status_writes_then_answers_the_status(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(commit_late=True, delay=0.2, status=504, count=1,
                          path_prefix="/xrpc/com.atproto.repo.createRecord")
    with pytest.raises(Duplicate) as answered:  # the 504 came after the write: read back under the share's key
        bluesky_connector.publish(bluesky_token.access_token, "Gateway", LINK, idempotency_key=KEY)
    assert answered.value.status == 504 and answered.value.existing is not None
    assert [p["id"] for p in bluesky_sandbox.posts()] == [answered.value.existing.id]


# ------------------------------------------------------------------------------------------------- revocation
def test_revoke_ends_the_session_at_the_pds(bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    assert bluesky_connector.profile(bluesky_token.access_token).handle
    bluesky_connector.revoke(bluesky_token)
    with pytest.raises(AuthExpired) as dead:
        bluesky_connector.profile(bluesky_token.access_token)  # the access JWT died with its session
    assert "revoked" in dead.value.message
    with pytest.raises(AuthRevoked):
        bluesky_connector.refresh(bluesky_token)
    bluesky_connector.revoke(bluesky_token)  # a session already ended: nothing more to do, no error


def test_revoke_leaves_the_persons_other_sessions_alone(bluesky_connector: BlueskyConnector,
                                                        bluesky_token: Token) -> None:
    other = bluesky_connector.refresh(bluesky_token)  # rotation: the first pair is gone, this one lives
    second = bluesky_connector.create_session("alice.bsky.social", "abcd-efgh-2345-wxyz")
    bluesky_connector.revoke(second)
    assert bluesky_connector.profile(other.access_token).handle == "alice.bsky.social"


def test_delete_session_wants_the_refresh_jwt(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    url = f"{bluesky_sandbox.url}/xrpc/com.atproto.server.deleteSession"
    wrong = requests.post(url, headers={"Authorization": f"Bearer {bluesky_token.access_token}"}, timeout=5)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "InvalidToken")
    assert requests.post(url, timeout=5).status_code == 401
    ok = requests.post(url, headers={"Authorization": f"Bearer {bluesky_token.refresh_token}"}, timeout=5)
    assert (ok.status_code, ok.content) == (200, b"")


def test_revoke_when_the_pds_is_down_raises_transient(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector,
                                                      bluesky_token: Token) -> None:
    bluesky_sandbox.fault(status=503, count=1, path_prefix="/xrpc/com.atproto.server.deleteSession")
    with pytest.raises(Transient):
        bluesky_connector.revoke(bluesky_token)
