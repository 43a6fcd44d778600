"""BlueskyConnector against the Bluesky sandbox PDS over real HTTP: sessions, posting, metrics, every failure mapped."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from typing import Any

import pytest
import requests

from connectors.base import (
    AuthExpired,
    AuthRevoked,
    ConfigurationError,
    Connector,
    FindsPosts,
    Media,
    RateLimited,
    Rejected,
    SignsInWithPassword,
    Token,
    Transient,
    connector_class,
)
from connectors.bluesky import BlueskyConnector, jwt_claims, link_facets
from tests.connectors.imagefiles import png

pytestmark = pytest.mark.timeout(30)
HANDLE = "alice.bsky.social"
PASSWORD = "abcd-efgh-2345-wxyz"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def xrpc(sandbox: Any, method: str, nsid: str, token: Token | None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}"} if token else {}
    headers |= kw.pop("headers", {})
    return requests.request(method, f"{sandbox.url}/xrpc/{nsid}", headers=headers, timeout=5, **kw)


def record_body(token: Token, **record: Any) -> dict[str, Any]:
    did = jwt_claims(token.access_token)["sub"]
    fields = {"$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-01-02T03:04:05.678Z"} | record
    return {"repo": did, "collection": "app.bsky.feed.post", "record": {k: v for k, v in fields.items() if v != ...}}


# ---------------------------------------------------------------------------------------------------- registry
def test_registered_and_implements_the_protocols(bluesky_connector: BlueskyConnector) -> None:
    assert connector_class("bluesky") is BlueskyConnector
    assert isinstance(bluesky_connector, Connector) and isinstance(bluesky_connector, SignsInWithPassword)
    with pytest.raises(ConfigurationError) as oauth:
        bluesky_connector.authorization_url("http://127.0.0.1/cb")
    assert "app password" in oauth.value.message
    with pytest.raises(ConfigurationError):
        bluesky_connector.exchange_code("code", "http://127.0.0.1/cb", None)


def test_bad_pds_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        BlueskyConnector(pds_url="bsky.social")


# ---------------------------------------------------------------------------------------------------- sessions
def test_create_session(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector) -> None:
    user = bluesky_sandbox.user(HANDLE, followers=321)
    token = bluesky_connector.create_session("@" + HANDLE, PASSWORD)
    assert token.access_token and token.refresh_token and token.scope == "com.atproto.appPass"
    assert token.expires_at is not None and abs((token.expires_at - now()).total_seconds() - 7200) < 30
    assert jwt_claims(token.refresh_token)["scope"] == "com.atproto.refresh"
    profile = bluesky_connector.profile(token.access_token)
    assert (profile.id, profile.handle, profile.followers) == (user["did"], HANDLE, 321)


@pytest.mark.parametrize(
    ("identifier", "password"), [(HANDLE, "zzzz-zzzz-zzzz-zzzz"), ("bob.bsky.social", PASSWORD), (HANDLE, "")]
)
def test_bad_credentials_are_rejected(bluesky_connector: BlueskyConnector, identifier: str, password: str) -> None:
    with pytest.raises(Rejected) as refused:
        bluesky_connector.create_session(identifier, password)
    expected = ("Invalid identifier or password", "a Bluesky handle and an app password are both needed")
    assert refused.value.message in expected


def test_refresh_rotates_the_refresh_jwt(bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    fresh = bluesky_connector.refresh(bluesky_token)
    assert fresh.access_token != bluesky_token.access_token and fresh.refresh_token != bluesky_token.refresh_token
    with pytest.raises(AuthRevoked) as dead:
        bluesky_connector.refresh(bluesky_token)  # the old refresh JWT died when it was used
    assert dead.value.status == 400 and "revoked" in dead.value.message
    assert bluesky_connector.publish(fresh.access_token, "After a refresh").id


def test_an_access_jwt_cannot_refresh(bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    wrong = Token(access_token=bluesky_token.access_token, refresh_token=bluesky_token.access_token)
    with pytest.raises(AuthRevoked) as refused:
        bluesky_connector.refresh(wrong)
    assert refused.value.message == "Bad token scope"


def test_session_outage_is_transient(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector) -> None:
    bluesky_sandbox.fault(status=503, path_prefix="/xrpc/com.atproto.server.createSession", count=1)
    with pytest.raises(Transient) as outage:
        bluesky_connector.create_session(HANDLE, PASSWORD)
    assert outage.value.status == 503


# --------------------------------------------------------------------------------------------------- the API
def test_publish_with_link_facets_in_utf8_bytes(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    text = "Grüße aus Köln 👋🏽 — read https://example.com/a?x=1 and"
    post = bluesky_connector.publish(bluesky_token.access_token, text, link="https://advocacy.test/r/Zz9")
    (stored,) = bluesky_sandbox.posts()
    assert stored["text"] == text + " https://advocacy.test/r/Zz9"
    assert [(link["uri"], link["text"]) for link in stored["links"]] == [
        ("https://example.com/a?x=1", "https://example.com/a?x=1"),
        ("https://advocacy.test/r/Zz9", "https://advocacy.test/r/Zz9"),
    ]
    first = stored["links"][0]
    assert first["byteStart"] == len("Grüße aus Köln 👋🏽 — read ".encode())  # bytes, not characters
    assert first["byteStart"] != len("Grüße aus Köln 👋🏽 — read ")
    assert post.id == stored["id"] and post.id.startswith(f"at://{stored['author_id']}/app.bsky.feed.post/")
    assert post.url == f"{bluesky_sandbox.url}/profile/{stored['author_id']}/post/{stored['rkey']}"
    page = requests.get(post.url, timeout=5)
    assert page.status_code == 200 and '<a href="https://advocacy.test/r/Zz9" rel="nofollow">' in page.text


def test_link_facets_of_plain_text() -> None:
    assert link_facets("no links here") == []
    (facet,) = link_facets("é https://a.test/x.")
    assert facet["index"] == {"byteStart": 3, "byteEnd": 3 + len("https://a.test/x")}  # trailing dot left out


LENGTHS = [
    ("a" * 300, True, "", ""),
    ("a" * 301, False, "Record/text must not be longer than 300 graphemes", "301 graphemes; Bluesky takes at most 300"),
    ("👍🏽" * 300, True, "", ""),  # 300 graphemes, 2400 bytes
    ("e\u0301" * 300, True, "", ""),  # e + combining accent: one grapheme each
    ("👨‍👩‍👧‍👦" * 121, False, "Record/text must not be longer than 3000 characters",  # 121 graphemes, 3025 bytes
     "3,025 bytes in UTF-8; Bluesky takes at most 3,000 bytes"),
    ("👨‍👩‍👧‍👦" * 300, False, "Record/text must not be longer than 3000 characters",  # 300 graphemes, 7500 bytes
     "7,500 bytes in UTF-8; Bluesky takes at most 3,000 bytes"),
]


@pytest.mark.parametrize(("text", "fits", "refusal", "_"), LENGTHS)
def test_the_pds_counts_graphemes_and_bytes(
    bluesky_sandbox: Any, bluesky_token: Token, text: str, fits: bool, refusal: str, _: str
) -> None:
    answer = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token,
                  json=record_body(bluesky_token, text=text))
    if fits:
        assert answer.status_code == 200, answer.text
    else:
        assert (answer.status_code, answer.json()) == (400, {"error": "InvalidRequest", "message": refusal})


@pytest.mark.parametrize(("text", "fits", "_", "message"), LENGTHS)
def test_the_connector_refuses_what_the_pds_would_before_sending_anything(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, text: str, fits: bool, _: str,
    message: str,
) -> None:
    if fits:
        assert bluesky_connector.publish(bluesky_token.access_token, text).id
        return
    bluesky_sandbox.fault(status=500, path_prefix="/xrpc/com.atproto.repo.uploadBlob")  # an upload would be Transient
    with pytest.raises(Rejected) as too_long:
        bluesky_connector.publish(bluesky_token.access_token, text, media=[Media(png(), "image/png", "a chart")])
    assert message in too_long.value.message and too_long.value.status is None  # refused here, not by the PDS
    assert bluesky_sandbox.posts() == []


def test_the_limit_counts_the_link_that_is_sent(bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    link = "https://advocacy.test/r/abcdefgh"  # 32 bytes, +1 for the space before it
    fits = "👨‍👩‍👧‍👦" * 118 + "a" * 17  # 118 x 25 + 17 = 2,967 bytes, 135 graphemes
    assert bluesky_connector.publish(bluesky_token.access_token, fits, link).id
    with pytest.raises(Rejected) as over:
        bluesky_connector.publish(bluesky_token.access_token, fits + "a", link)
    assert "3,001 bytes" in over.value.message


def test_delete(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    post = bluesky_connector.publish(bluesky_token.access_token, "Short-lived")
    bluesky_connector.delete(bluesky_token.access_token, post.id)
    assert [p["deleted"] for p in bluesky_sandbox.posts()] == [True]
    assert bluesky_connector.metrics(bluesky_token.access_token, [post.id]) == []
    assert requests.get(post.url, timeout=5).status_code == 410
    bluesky_connector.delete(bluesky_token.access_token, post.id)  # already gone: the PDS says fine
    with pytest.raises(Rejected):
        bluesky_connector.delete(bluesky_token.access_token, "at://did:plc:someoneelse/app.bsky.feed.post/3abc")
    with pytest.raises(Rejected):
        bluesky_connector.delete(bluesky_token.access_token, "not-a-uri")


def test_metrics_keep_none_apart_from_zero(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    first = bluesky_connector.publish(bluesky_token.access_token, "First")
    second = bluesky_connector.publish(bluesky_token.access_token, "Second")
    bluesky_sandbox.set_metrics(first.id, likeCount=7, repostCount=2, replyCount=1, quoteCount=None, bookmarkCount=3)
    bluesky_sandbox.set_metrics(second.id, likeCount=0, repostCount=0, replyCount=0, quoteCount=0, bookmarkCount=0)
    missing = first.id.rsplit("/", 1)[0] + "/3zzzzzzzzzzzz"
    figures = {
        m.post_id: m for m in bluesky_connector.metrics(bluesky_token.access_token, [first.id, second.id, missing])
    }
    assert set(figures) == {first.id, second.id}
    one, two = figures[first.id], figures[second.id]
    assert (one.likes, one.reposts, one.replies, one.quotes, one.impressions, one.extra) == (
        7,
        2,
        1,
        None,
        None,
        {"bookmarks": 3},
    )
    assert (two.likes, two.reposts, two.replies, two.quotes) == (0, 0, 0, 0)


def test_metrics_are_fetched_25_per_request(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    post = bluesky_connector.publish(bluesky_token.access_token, "Batched")
    base = post.id.rsplit("/", 1)[0]
    uris = [post.id] + [f"{base}/3aaaaaaaaa{i:03d}" for i in range(40)]
    assert [m.post_id for m in bluesky_connector.metrics(bluesky_token.access_token, uris)] == [post.id]
    answer = xrpc(bluesky_sandbox, "GET", "app.bsky.feed.getPosts", bluesky_token, params={"uris": uris[:26]})
    assert answer.status_code == 400 and answer.json() == {
        "error": "InvalidRequest",
        "message": "Error: uris must not have more than 25 elements",
    }


# ------------------------------------------------------------------------------------------------ auth errors
def test_expired_token_is_auth_expired_then_refresh_works(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    assert bluesky_sandbox.expire_tokens() >= 1
    with pytest.raises(AuthExpired) as expired:
        bluesky_connector.publish(bluesky_token.access_token, "After expiry")
    assert expired.value.status == 400 and expired.value.message == "Token has expired"  # 400 ExpiredToken, not 401
    assert '"ExpiredToken"' in (expired.value.raw or "")
    fresh = bluesky_connector.refresh(bluesky_token)
    assert bluesky_connector.publish(fresh.access_token, "After expiry").id


def test_revoked_app_password_is_auth_revoked(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    assert bluesky_sandbox.revoke_tokens(HANDLE) == 2
    with pytest.raises(AuthExpired):
        bluesky_connector.profile(bluesky_token.access_token)
    with pytest.raises(AuthRevoked) as revoked:
        bluesky_connector.refresh(bluesky_token)
    assert revoked.value.status == 400
    with pytest.raises(Rejected):  # the app password itself is gone too
        bluesky_connector.create_session(HANDLE, PASSWORD)


def test_missing_or_foreign_token_is_auth_expired(bluesky_connector: BlueskyConnector) -> None:
    with pytest.raises(AuthExpired):
        bluesky_connector.profile("")
    with pytest.raises(AuthExpired):
        bluesky_connector.profile("made-up-token")


def test_a_forged_jwt_is_refused(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    head, payload, _ = bluesky_token.access_token.split(".")
    with pytest.raises(AuthExpired) as refused:
        bluesky_connector.profile(f"{head}.{payload}.forged")
    assert refused.value.message == "Token could not be verified"


# ------------------------------------------------------------------------------------------------ rate limits
def test_injected_429_gives_the_epoch_reset(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    later = int(time.time()) + 1234
    bluesky_sandbox.fault(
        status=429, headers={"RateLimit-Reset": str(later)}, count=1, path_prefix="/xrpc/com.atproto.repo.createRecord"
    )
    with pytest.raises(RateLimited) as limited:
        bluesky_connector.publish(bluesky_token.access_token, "Too soon")
    assert limited.value.retryable and limited.value.status == 429
    assert limited.value.reset_at == dt.datetime.fromtimestamp(later, dt.UTC)


def test_write_points_of_the_sandbox(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.config(rate_limits={"write_hour": 5})  # a post costs 3 points
    post = bluesky_connector.publish(bluesky_token.access_token, "One")
    with pytest.raises(RateLimited) as limited:
        bluesky_connector.publish(bluesky_token.access_token, "Two")
    assert limited.value.reset_at is not None and 3500 <= (limited.value.reset_at - now()).total_seconds() <= 3601
    assert '"RateLimitExceeded"' in (limited.value.raw or "")
    bluesky_connector.delete(bluesky_token.access_token, post.id)  # a delete costs 1: still room for it


def test_session_window_of_the_sandbox(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector) -> None:
    bluesky_sandbox.config(rate_limits={"session_5min": 1})
    bluesky_connector.create_session(HANDLE, PASSWORD)
    with pytest.raises(RateLimited) as limited:
        bluesky_connector.create_session(HANDLE, PASSWORD)
    assert limited.value.reset_at is not None and (limited.value.reset_at - now()).total_seconds() <= 301


def test_every_xrpc_answer_carries_rate_limit_headers(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    created = xrpc(
        bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token, json=record_body(bluesky_token)
    )
    assert created.status_code == 200
    assert created.headers["RateLimit-Limit"] == "5000" and created.headers["RateLimit-Remaining"] == "4997"
    assert created.headers["RateLimit-Policy"] == "5000;w=3600"
    assert int(created.headers["RateLimit-Reset"]) > time.time()
    bad = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token, json={})
    assert bad.status_code == 400 and bad.headers["RateLimit-Remaining"].isdigit()


# ------------------------------------------------------------------------------------------- transient faults
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, status: int
) -> None:
    bluesky_sandbox.fault(status=status, count=1, path_prefix="/xrpc/")
    with pytest.raises(Transient) as failed:
        bluesky_connector.publish(bluesky_token.access_token, "During an outage")
    assert failed.value.status == status and failed.value.retryable


@pytest.mark.parametrize(("status", "body"), [(200, "<html>Bad gateway</html>"), (200, ""), (400, "<html>no</html>")])
def test_unreadable_bodies_are_transient(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, status: int, body: str
) -> None:
    bluesky_sandbox.fault(status=status, body=body, count=1, path_prefix="/xrpc/")
    with pytest.raises(Transient) as unreadable:
        bluesky_connector.publish(bluesky_token.access_token, "Unreadable")
    assert unreadable.value.status == status and (unreadable.value.raw or "") == body


def test_slow_answer_times_out_as_transient(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(delay=1.0, count=1, path_prefix="/xrpc/")
    started = time.monotonic()
    with pytest.raises(Transient):
        bluesky_connector.profile(bluesky_token.access_token)
    assert time.monotonic() - started < 0.9


def test_lost_answer_is_transient_and_the_post_exists(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(status=502, after=True, path_prefix="/xrpc/com.atproto.repo.createRecord", count=1)
    with pytest.raises(Transient):
        bluesky_connector.publish(bluesky_token.access_token, "Did it go out?")
    assert [p["text"] for p in bluesky_sandbox.posts()] == ["Did it go out?"]


def test_unreachable_pds_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = BlueskyConnector(pds_url=f"http://127.0.0.1:{port}", timeout=0.5)
    with pytest.raises(Transient):
        closed.create_session(HANDLE, PASSWORD)


def test_secrets_never_reach_the_logs(caplog: pytest.LogCaptureFixture, bluesky_connector: BlueskyConnector) -> None:
    with caplog.at_level(logging.DEBUG):
        token = bluesky_connector.create_session(HANDLE, PASSWORD)
        fresh = bluesky_connector.refresh(token)
        bluesky_connector.publish(fresh.access_token, "Quietly")
    assert caplog.records
    for secret in (PASSWORD, token.access_token, token.refresh_token, fresh.access_token, fresh.refresh_token):
        assert secret and secret not in caplog.text


# ----------------------------------------------------------------------------------- what the sandbox refuses
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"repo": ...}, 'Input must have the property "repo"'),
        ({"record": ...}, 'Input must have the property "record"'),
        ({"record": {"text": 5, "createdAt": "2026-01-02T03:04:05Z"}}, "Record/text must be a string"),
        ({"record": {"text": "hi"}}, 'Record must have the property "createdAt"'),
        ({"record": {"text": "hi", "createdAt": "yesterday"}}, "Record/createdAt must be an valid atproto datetime"),
        (
            {"record": {"text": "hi", "createdAt": "2026-01-02T03:04:05Z", "langs": ["en", "de", "fr", "it"]}},
            "Record/langs must not have more than 3 elements",
        ),
        (
            {
                "record": {
                    "text": "hi",
                    "createdAt": "2026-01-02T03:04:05Z",
                    "facets": [{"index": {"byteStart": -1, "byteEnd": 2}, "features": []}],
                }
            },
            "Record/facets/0/index/byteStart can not be less than 0",
        ),
        (
            {
                "record": {
                    "text": "hi",
                    "createdAt": "2026-01-02T03:04:05Z",
                    "facets": [{"index": {"byteStart": 0, "byteEnd": 2}, "features": [{"uri": "https://a.test"}]}],
                }
            },
            'Record/facets/0/features/0 must have the property "$type"',
        ),
        ({"collection": "app.bsky.feed.like"}, "only emulates app.bsky.feed.post"),
        ({"rkey": "not-a-tid"}, "must be a valid TID"),
    ],
)
def test_sandbox_rejects_records_breaking_the_lexicon(
    bluesky_sandbox: Any, bluesky_token: Token, change: dict[str, Any], expected: str
) -> None:
    body = record_body(bluesky_token)
    for key, value in change.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    answer = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token, json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidRequest" and expected in answer.json()["message"]
    assert bluesky_sandbox.posts() == []


def test_sandbox_refuses_writing_someone_elses_repo(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    other = bluesky_sandbox.user("bob.bsky.social")
    body = record_body(bluesky_token) | {"repo": other["did"]}
    answer = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token, json=body)
    assert answer.status_code == 401 and answer.json()["error"] == "AuthenticationRequired"
    assert bluesky_sandbox.posts() == []


def test_sandbox_wants_json_and_auth(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    broken = xrpc(
        bluesky_sandbox,
        "POST",
        "com.atproto.repo.createRecord",
        bluesky_token,
        data="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["error"] == "InvalidRequest"
    anonymous = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", None, json=record_body(bluesky_token))
    assert anonymous.status_code == 401 and anonymous.json() == {
        "error": "AuthMissing",
        "message": "Authentication Required",
    }
    unknown = xrpc(bluesky_sandbox, "GET", "app.bsky.feed.getTimeline", bluesky_token)
    assert unknown.status_code == 501 and unknown.json()["error"] == "MethodNotImplemented"


def test_control_api_refuses_junk(bluesky_sandbox: Any) -> None:
    for path, body in [
        ("config", {"access_lifetime": -1}),
        ("config", {"no_such_setting": 1}),
        ("faults", {"status": 999}),
        ("users", {"handle": "not a handle"}),
        ("users", {"handle": "carol.bsky.social", "app_password": "password123"}),
    ]:
        answer = requests.post(f"{bluesky_sandbox.url}/_sandbox/{path}", json=body, timeout=5)
        assert answer.status_code == 400 and answer.json()["error"], (path, body)


def test_accounts_appear_on_first_use_when_allowed(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector) -> None:
    with pytest.raises(Rejected):
        bluesky_connector.create_session("dana.bsky.social", "dana-dana-dana-dana")
    bluesky_sandbox.config(auto_create_accounts=True)  # the demo's setting: any app-password-shaped password works
    token = bluesky_connector.create_session("dana", "dana-dana-dana-dana")
    assert bluesky_connector.profile(token.access_token).handle == "dana.bsky.social"
    with pytest.raises(Rejected):
        bluesky_connector.create_session("dana.bsky.social", "eeee-eeee-eeee-eeee")


# ------------------------------------------------------------------------------------------- finding a lost post
def test_find_post_reads_the_repo(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    assert isinstance(bluesky_connector, FindsPosts)
    started = now() - dt.timedelta(seconds=5)
    wanted = bluesky_connector.publish(bluesky_token.access_token, "Ours", link="https://advocacy.test/r/Lost1")
    for i in range(120):  # newer posts push it onto the second page of 100
        xrpc(
            bluesky_sandbox,
            "POST",
            "com.atproto.repo.createRecord",
            bluesky_token,
            json=record_body(bluesky_token, text=f"Filler {i}", createdAt=now().isoformat()),
        )
    found = bluesky_connector.find_post(bluesky_token.access_token, "https://advocacy.test/r/Lost1", started)
    assert found == wanted
    assert bluesky_connector.find_post(bluesky_token.access_token, "https://advocacy.test/r/Never", started) is None
    later = now() + dt.timedelta(minutes=1)  # nothing that old is looked at
    assert bluesky_connector.find_post(bluesky_token.access_token, "https://advocacy.test/r/Lost1", later) is None


def test_a_lost_answer_is_found_instead_of_posting_twice(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(status=504, after=True, path_prefix="/xrpc/com.atproto.repo.createRecord", count=1)
    since = now() - dt.timedelta(seconds=5)
    with pytest.raises(Transient):
        bluesky_connector.publish(bluesky_token.access_token, "Lost answer https://advocacy.test/r/Lost2")
    found = bluesky_connector.find_post(bluesky_token.access_token, "https://advocacy.test/r/Lost2", since)
    assert found is not None and [p["id"] for p in bluesky_sandbox.posts()] == [found.id]


def test_list_records_refuses_bad_params(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    did = jwt_claims(bluesky_token.access_token)["sub"]
    for params, expected in [
        ({"collection": "app.bsky.feed.post"}, 'Params must have the property "repo"'),
        ({"repo": did, "collection": "app.bsky.feed.post", "limit": "500"}, "limit can not be greater than 100"),
        ({"repo": "did:plc:nobody", "collection": "app.bsky.feed.post"}, "Could not find repo"),
    ]:
        answer = xrpc(bluesky_sandbox, "GET", "com.atproto.repo.listRecords", bluesky_token, params=params)
        assert answer.status_code == 400 and expected in answer.json()["message"], params
